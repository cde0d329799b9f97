package task_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
	"github.com/taskmill/taskmill/task"
)

// A When condition decides at each scheduled fire whether the job runs;
// false records the fire as skipped (reason "condition"). Here a daily
// report does not run on Sundays.
func ExampleSpec_when() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 5, 12, 0, 0, 0, time.UTC)) // a Friday
	checked := make(chan uuid.UUID, 1)
	eng, _ := task.New(task.WithClock(clock), task.WithoutInitHooks())
	_ = eng.Register(task.Spec{
		Name: "daily-report",
		Cron: "0 0 6 * * *",
		When: func(ctx context.Context) (bool, error) {
			x, _ := task.CurrentExecution(ctx)
			defer func() { checked <- x.ID }() // tells the example which run to wait for
			return x.ScheduledAt.Weekday() != time.Sunday, nil
		},
		Job: task.JobFunc(func(context.Context) error { return nil }),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	for range 3 {
		_ = clock.BlockUntilContext(ctx, 1)
		clock.Advance(eng.Tasks()[0].Next.Sub(clock.Now()))
		x, _ := eng.Wait(ctx, <-checked)
		if x.State == store.StateSkipped {
			fmt.Printf("%s %s (%s)\n", x.ScheduledAt.Format("Mon"), x.State, x.SkipReason)
			continue
		}
		fmt.Println(x.ScheduledAt.Format("Mon"), x.State)
	}
	// Output:
	// Sat succeeded
	// Sun skipped (condition)
	// Mon succeeded
}

// Suspend stops a task's schedule until Resume; the state is kept in the
// store. RunNow still runs a suspended task: it is an operator's request.
func ExampleEngine_Suspend() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 1, 8, 30, 0, 0, time.UTC))
	eng, _ := task.New(task.WithClock(clock), task.WithoutInitHooks())
	_ = eng.Register(task.Spec{Name: "sync", Cron: "@hourly", Job: task.JobFunc(func(context.Context) error { return nil })})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	_ = eng.Suspend(ctx, "sync")
	info := eng.Tasks()[0]
	fmt.Println("suspended:", info.Suspended, "next:", info.Next)

	id, _ := eng.RunNow(ctx, "sync")
	x, _ := eng.Wait(ctx, id)
	fmt.Println(x.Trigger, x.State)

	_ = eng.Resume(ctx, "sync")
	info = eng.Tasks()[0]
	fmt.Println("suspended:", info.Suspended, "next:", info.Next)
	// Output:
	// suspended: true next: 0001-01-01 00:00:00 +0000 UTC
	// manual succeeded
	// suspended: false next: 2026-06-01 09:00:00 +0000 UTC
}

// SuspendAfterFailures suspends a task after that many failed runs in a
// row, and says why; a success in between starts the count again. Resume
// lets it run again and resets the count.
func ExampleSpec_suspendAfterFailures() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	_ = eng.Register(task.Spec{
		Name:                 "fetch-rates",
		SuspendAfterFailures: 2,
		Job: task.JobFunc(func(context.Context) error {
			return errors.New("rates.example.com: 503 Service Unavailable")
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	for range 2 {
		id, _ := eng.RunNow(ctx, "fetch-rates")
		_, _ = eng.Wait(ctx, id)
		info := eng.Tasks()[0]
		fmt.Println("failures:", info.ConsecutiveFailures, "suspended:", info.Suspended)
	}
	reason, _, _ := strings.Cut(eng.Tasks()[0].SuspendedReason, ";") // then the execution and its error
	fmt.Println(reason)

	_ = eng.Resume(ctx, "fetch-rates")
	info := eng.Tasks()[0]
	fmt.Println("failures:", info.ConsecutiveFailures, "suspended:", info.Suspended)
	// Output:
	// failures: 1 suspended: false
	// failures: 2 suspended: true
	// suspended after 2 consecutive failures
	// failures: 0 suspended: false
}

// By default a task never runs twice at once (OverlapSkip): RunNow of a
// task that is running returns ErrAlreadyRunning, and a scheduled fire is
// recorded skipped with reason "overlap".
func ExampleSpec_overlap() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	started, release := make(chan struct{}), make(chan struct{})
	_ = eng.Register(task.Spec{
		Name: "rebuild-index",
		Job: task.JobFunc(func(context.Context) error {
			started <- struct{}{}
			<-release
			return nil
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "rebuild-index")
	<-started
	_, err := eng.RunNow(ctx, "rebuild-index")
	fmt.Println(errors.Is(err, task.ErrAlreadyRunning))
	fmt.Println(err)

	close(release)
	x, _ := eng.Wait(ctx, id)
	fmt.Println(x.State)
	// Output:
	// true
	// task: already running: task "rebuild-index" (overlap policy skip)
	// succeeded
}

// OverlapQueueOne keeps one run waiting (recorded pending) while the task
// runs, and starts it when the running one ends; a third is refused.
func ExampleOverlapPolicy() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	started, release := make(chan struct{}, 2), make(chan struct{})
	_ = eng.Register(task.Spec{
		Name:    "apply-migrations",
		Overlap: task.OverlapQueueOne,
		Job: task.JobFunc(func(context.Context) error {
			started <- struct{}{}
			<-release
			return nil
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	first, _ := eng.RunNow(ctx, "apply-migrations")
	<-started
	queued, err := eng.RunNow(ctx, "apply-migrations")
	fmt.Println("second:", err)
	x, _ := eng.Store().GetExecution(ctx, queued)
	fmt.Println("second is", x.State)
	_, err = eng.RunNow(ctx, "apply-migrations")
	fmt.Println("third:", errors.Is(err, task.ErrAlreadyRunning))

	close(release) // both runs may finish
	for _, id := range []uuid.UUID{first, queued} {
		x, _ := eng.Wait(ctx, id)
		fmt.Println(x.State)
	}
	// Output:
	// second: <nil>
	// second is pending
	// third: true
	// succeeded
	// succeeded
}

// Spec.Timeout cancels a run that takes too long: the job sees ctx.Done
// with cause ErrTimeout, and the run is recorded failed. The timeout runs
// on the engine's clock, here a fake one.
func ExampleSpec_timeout() {
	ctx := context.Background()
	clock := clockwork.NewFakeClock()
	eng, _ := task.New(task.WithClock(clock), task.WithoutInitHooks())
	started := make(chan struct{})
	_ = eng.Register(task.Spec{
		Name:    "crawl",
		Timeout: 30 * time.Minute,
		Job: task.JobFunc(func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			fmt.Println("job stops:", context.Cause(ctx))
			return context.Cause(ctx)
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "crawl")
	<-started // the timeout is armed before the job starts
	clock.Advance(30 * time.Minute)
	x, _ := eng.Wait(ctx, id)
	fmt.Println(x.State, x.ExitCode, x.Error)
	// Output:
	// job stops: task: timed out
	// failed 1 task: timed out after 30m0s
}

// Cancel stops a run: the job sees ctx.Done with cause ErrCancelled, and
// the run is recorded cancelled with exit code 130.
func ExampleEngine_Cancel() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	started := make(chan struct{})
	_ = eng.Register(task.Spec{
		Name: "reprocess",
		Job: task.JobFunc(func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			fmt.Println("job stops:", context.Cause(ctx))
			return context.Cause(ctx)
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "reprocess")
	<-started
	if err := eng.Cancel(ctx, id); err != nil { // returns at once; Wait for the end
		panic(err)
	}
	x, _ := eng.Wait(ctx, id)
	fmt.Println(x.State, x.ExitCode, x.Error)
	fmt.Println(errors.Is(eng.Cancel(ctx, id), task.ErrNotRunning)) // it has ended
	// Output:
	// job stops: task: cancelled
	// cancelled 130 task: cancelled
	// true
}

// Tasks lists every task for diagnostics: its schedule, next fire, state
// and last execution.
func ExampleEngine_Tasks() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 1, 8, 30, 0, 0, time.UTC))
	eng, _ := task.New(task.WithClock(clock), task.WithoutInitHooks())
	job := task.JobFunc(func(context.Context) error { return nil })
	_ = eng.Register(task.Spec{Name: "cleanup", Description: "deletes temp files", Cron: "0 0 3 * * *", TimeZone: "Europe/Paris", Job: job})
	_ = eng.Register(task.Spec{Name: "reindex", Description: "run by hand", Job: job})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)
	id, _ := eng.RunNow(ctx, "reindex")
	_, _ = eng.Wait(ctx, id)

	for _, t := range eng.Tasks() {
		last := "never"
		if t.LastExecution != nil {
			last = fmt.Sprint(t.LastExecution.Trigger, " ", t.LastExecution.State)
		}
		fmt.Printf("%s (%s): schedule %q, next %v, last run %s\n", t.Name, t.Description, t.Schedule, t.Next, last)
	}
	// Output:
	// cleanup (deletes temp files): schedule "0 0 3 * * * Europe/Paris", next 2026-06-02 01:00:00 +0000 UTC, last run never
	// reindex (run by hand): schedule "", next 0001-01-01 00:00:00 +0000 UTC, last run manual succeeded
}

// WithRetention adds a recorded task that deletes old history on a
// schedule (hourly by default): here it keeps the 2 newest records of
// each task. Run now, it says what it deleted.
func ExampleWithRetention() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	eng, _ := task.New(task.WithClock(clock), task.WithoutInitHooks(),
		task.WithRetention(task.Retention{KeepPerTask: 2}))
	_ = eng.Register(task.Spec{Name: "ping", Job: task.JobFunc(func(context.Context) error { return nil })})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	for range 5 {
		id, _ := eng.RunNow(ctx, "ping")
		_, _ = eng.Wait(ctx, id)
		clock.Advance(time.Minute) // records of one instant count as one
	}
	id, _ := eng.RunNow(ctx, task.RetentionTaskName)
	x, _ := eng.Wait(ctx, id)
	fmt.Println(x.Task, x.State, x.ExitMessage)

	page, _ := eng.Store().ListExecutions(ctx, store.ExecutionFilter{Task: "ping"})
	fmt.Println("ping records left:", len(page.Executions))
	// Output:
	// taskmill.retention succeeded deleted 3 execution records
	// ping records left: 2
}

// WithIntegration names a notifier that tasks send their failures to
// (Spec.ErrorIntegration). Messages are delivered in the background; this
// notifier hands them to the example through a channel.
func ExampleWithIntegration() {
	ctx := context.Background()
	got := make(chan *notify.Message, 1)
	toChannel := notify.NotifierFunc(func(_ context.Context, m *notify.Message) error {
		got <- m
		return nil
	})
	eng, _ := task.New(task.WithoutInitHooks(), task.WithIntegration("ops", toChannel))
	_ = eng.Register(task.Spec{
		Name:             "sync-crm",
		ErrorIntegration: "ops",
		Job: task.JobFunc(func(context.Context) error {
			return task.Exit(75, errors.New("crm.example.com: connection refused"))
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "sync-crm")
	_, _ = eng.Wait(ctx, id)
	m := <-got
	d := m.Messages[0]
	fmt.Println(m.MessageType, m.TaskName, m.TaskID == task.TaskID("sync-crm"))
	fmt.Println(d.ErrorKind, d.ErrorCode, d.ErrorMessage, d.QueryID == id.String())
	// Output:
	// TASK_FAILED sync-crm true
	// UnexpectedError 75 crm.example.com: connection refused true
}

// A signed webhook as the error integration. The receiver checks the
// signature with notify.Verify before it trusts the body.
func ExampleWithIntegration_webhook() {
	ctx := context.Background()
	secret := []byte("shared secret")
	received := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var m notify.Message
		_ = json.Unmarshal(body, &m)
		received <- fmt.Sprint(m.MessageType, " ", m.TaskName, ": ", m.Messages[0].ErrorMessage)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	hook, err := notify.NewWebhook(srv.URL, notify.WithSecret(secret))
	if err != nil {
		panic(err)
	}
	eng, _ := task.New(task.WithoutInitHooks(), task.WithIntegration("ops-webhook", hook))
	_ = eng.Register(task.Spec{
		Name:             "nightly-etl",
		ErrorIntegration: "ops-webhook",
		Job:              task.JobFunc(func(context.Context) error { return errors.New("warehouse is read-only") }),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "nightly-etl")
	_, _ = eng.Wait(ctx, id)
	fmt.Println(<-received)
	// Output:
	// TASK_FAILED nightly-etl: warehouse is read-only
}

// Slots that pass while no engine runs are not lost silently. With
// MisfireRunOnce the next Start runs the newest missed slot (trigger
// catch-up) and records the older ones as one skipped execution. Two
// engines on one memory store stand for a process and its restart.
func ExampleMisfirePolicy() {
	ctx := context.Background()
	st := memory.New() // on a real host: store/sqlite or store/postgres
	defer st.Close()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 1, 0, 30, 0, 0, time.UTC))
	spec := task.Spec{
		Name:    "hourly-import",
		Cron:    "0 0 * * * *",
		Misfire: task.MisfireRunOnce,
		Job:     task.JobFunc(func(context.Context) error { return nil }),
	}
	ended := make(chan uuid.UUID, 1)
	start := func() *task.Engine {
		eng, _ := task.New(task.WithStore(st), task.WithClock(clock), task.WithoutInitHooks(),
			task.WithListener(task.ListenerFuncs{
				End: func(_ context.Context, x *store.Execution) error { ended <- x.ID; return nil },
			}))
		_ = eng.Register(spec)
		if err := eng.Start(ctx); err != nil {
			panic(err)
		}
		return eng
	}

	eng := start()
	_ = clock.BlockUntilContext(ctx, 1)
	clock.Advance(30 * time.Minute) // 01:00 runs
	_, _ = eng.Wait(ctx, <-ended)
	_ = eng.Shutdown(ctx)

	clock.Advance(3*time.Hour + 20*time.Minute) // down over 02:00, 03:00 and 04:00
	eng = start()
	defer eng.Shutdown(ctx)
	_, _ = eng.Wait(ctx, <-ended) // the catch-up run

	history, _ := store.ListAll(ctx, st, store.ExecutionFilter{Task: "hourly-import"})
	slices.SortFunc(history, func(a, b *store.Execution) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	for _, x := range history {
		fmt.Println(x.ScheduledAt.Format("15:04"), x.Trigger, x.State)
		if x.SkipReason != "" {
			fmt.Println("  ", x.SkipReason)
		}
	}
	// Output:
	// 01:00 schedule succeeded
	// 02:00 catch-up skipped
	//    missed: 2 slot(s) from 2026-06-01T02:00:00Z to 2026-06-01T03:00:00Z while no engine ran (misfire policy run-once)
	// 04:00 catch-up succeeded
}
