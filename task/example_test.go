package task_test

// The examples of package task, one idea each. They run on the default
// memory store; those with a schedule run on a fake clock that the example
// moves, and wait for each run through Wait, never by sleeping. Every engine
// is built WithoutInitHooks because OnInit hooks are process-wide and
// ExampleOnInit adds one to this test binary; a host leaves it out.
//
// Files by theme: this one (an engine's life, schedules, the run's
// context), example_exit_test.go (records, exit codes, listeners),
// example_ops_test.go (operations), example_graph_test.go (task graphs),
// example_oninit_test.go and example_main_test.go.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/dag"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
	"github.com/taskmill/taskmill/task"
)

// The life of an engine: New, Register, Start, use it, Shutdown.
func ExampleNew() {
	ctx := context.Background()
	eng, err := task.New(task.WithoutInitHooks()) // the memory store and the real clock
	if err != nil {
		panic(err)
	}
	err = eng.Register(task.Spec{
		Name: "hello",
		Job: task.JobFunc(func(ctx context.Context) error {
			fmt.Println("hello from the job")
			return nil
		}),
	})
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}

	id, err := eng.RunNow(ctx, "hello")
	if err != nil {
		panic(err)
	}
	x, err := eng.Wait(ctx, id)
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Task, x.State)

	// Shutdown stops the schedules and waits for the runs in progress
	// (until ctx ends); later calls, and RunNow, return ErrEngineClosed.
	fmt.Println(eng.Shutdown(ctx))
	fmt.Println(eng.Shutdown(ctx))
	_, err = eng.RunNow(ctx, "hello")
	fmt.Println(errors.Is(err, task.ErrEngineClosed))
	// Output:
	// hello from the job
	// hello succeeded
	// <nil>
	// task: engine shut down
	// true
}

// A task on a cron expression in a time zone. The fake clock stands for
// time: the example moves it to the next fire and waits for the run.
func ExampleEngine_Register() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) // a Monday
	ended := make(chan uuid.UUID, 1)
	eng, err := task.New(task.WithClock(clock), task.WithoutInitHooks(), task.WithListener(task.ListenerFuncs{
		End: func(_ context.Context, x *store.Execution) error { ended <- x.ID; return nil },
	}))
	if err != nil {
		panic(err)
	}
	err = eng.Register(task.Spec{
		Name:     "standup-reminder",
		Cron:     "0 30 9 * * MON-FRI", // 09:30:00 on weekdays
		TimeZone: "Europe/Berlin",
		Job:      task.JobFunc(func(context.Context) error { return nil }),
	})
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	_ = clock.BlockUntilContext(ctx, 1) // the schedule's timer is armed
	info := eng.Tasks()[0]
	fmt.Println(info.Schedule)
	fmt.Println("next:", info.Next) // 09:30 in Berlin's summer time
	clock.Advance(info.Next.Sub(clock.Now()))

	x, err := eng.Wait(ctx, <-ended)
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Trigger, x.ScheduledAt, x.State)
	// Output:
	// 0 30 9 * * 1-5 Europe/Berlin
	// next: 2026-06-01 07:30:00 +0000 UTC
	// schedule 2026-06-01 07:30:00 +0000 UTC succeeded
}

// Register refuses a bad spec at once, naming the task and the field.
func ExampleEngine_Register_errors() {
	eng, err := task.New(task.WithoutInitHooks())
	if err != nil {
		panic(err)
	}
	job := task.JobFunc(func(context.Context) error { return nil })

	err = eng.Register(task.Spec{Name: "report", Cron: "0 0 25 * * *", Job: job})
	var pe *cron.ParseError
	fmt.Println(errors.Is(err, task.ErrInvalidSpec), errors.As(err, &pe) && pe.Field == "hour")
	fmt.Println(err)

	err = eng.Register(task.Spec{Name: "report", Job: nil})
	fmt.Println(errors.Is(err, task.ErrInvalidSpec))

	_ = eng.Register(task.Spec{Name: "report", Job: job})
	err = eng.Register(task.Spec{Name: "report", Job: job})
	fmt.Println(errors.Is(err, task.ErrDuplicateTask))
	// Output:
	// true true
	// task: invalid spec: task "report": cron: hour "25" in "0 0 25 * * *": value out of range 0-23
	// true
	// true
}

// A task on a fixed interval. Interval slots count from the Unix epoch, not
// from Start: every 15 minutes fires at :00, :15, :30 and :45.
func ExampleSpec_interval() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 1, 8, 7, 0, 0, time.UTC))
	ended := make(chan uuid.UUID, 1)
	eng, _ := task.New(task.WithClock(clock), task.WithoutInitHooks(), task.WithListener(task.ListenerFuncs{
		End: func(_ context.Context, x *store.Execution) error { ended <- x.ID; return nil },
	}))
	_ = eng.Register(task.Spec{
		Name:     "poll-inbox",
		Schedule: cron.Every(15 * time.Minute), // or Cron: "@every 15m"
		Job:      task.JobFunc(func(context.Context) error { return nil }),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	fmt.Println(eng.Tasks()[0].Schedule)
	for range 3 {
		_ = clock.BlockUntilContext(ctx, 1) // the timer of the next fire is armed
		clock.Advance(eng.Tasks()[0].Next.Sub(clock.Now()))
		x, _ := eng.Wait(ctx, <-ended) // the run has ended: the task is free again
		fmt.Println(x.ScheduledAt.Format("15:04"), x.State)
	}
	// Output:
	// @every 15m0s
	// 08:15 succeeded
	// 08:30 succeeded
	// 08:45 succeeded
}

// A schedule built with package cron, with its zone's daylight saving
// rules: a daily 02:30 in Los Angeles on the night summer time starts.
func ExampleSpec_schedule() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC))
	ended := make(chan uuid.UUID, 1)
	eng, _ := task.New(task.WithClock(clock), task.WithoutInitHooks(), task.WithListener(task.ListenerFuncs{
		End: func(_ context.Context, x *store.Execution) error { ended <- x.ID; return nil },
	}))
	_ = eng.Register(task.Spec{
		Name:     "backup",
		Schedule: cron.MustParse("0 30 2 * * *", "America/Los_Angeles"), // 02:30 every day
		Job:      task.JobFunc(func(context.Context) error { return nil }),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	la, _ := time.LoadLocation("America/Los_Angeles")
	for range 2 {
		_ = clock.BlockUntilContext(ctx, 1)
		clock.Advance(eng.Tasks()[0].Next.Sub(clock.Now()))
		x, _ := eng.Wait(ctx, <-ended)
		fmt.Println(x.ScheduledAt.In(la).Format("Mon 15:04 MST"), x.State)
	}
	// 02:30 does not exist on 8 March 2026 in Los Angeles: that day runs
	// at 03:00 PDT, the first instant after the gap (cron.WithGap changes
	// that).

	// Output:
	// Sun 03:00 PDT succeeded
	// Mon 02:30 PDT succeeded
}

// Start checks what Register cannot check task by task: the task graph as
// a whole.
func ExampleEngine_Start() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	job := task.JobFunc(func(context.Context) error { return nil })
	_ = eng.Register(task.Spec{Name: "extract", Cron: "@hourly", Job: job})
	_ = eng.Register(task.Spec{Name: "transform", After: []string{"extract", "load"}, Job: job})
	_ = eng.Register(task.Spec{Name: "load", After: []string{"transform"}, Job: job})

	err := eng.Start(ctx)
	var cycle *dag.CycleError
	if errors.As(err, &cycle) {
		fmt.Println(strings.Join(cycle.Path, " -> "))
	}
	fmt.Println(err)
	_ = eng.Shutdown(ctx) // a failed Start leaves the engine good for Shutdown only
	// Output:
	// load -> transform -> load
	// task: task graph: dag: cycle: load -> transform -> load
}

// Shutdown waits for the runs in progress until its context ends, then
// cancels them: a job sees ctx.Done with cause ErrShutdown, and its run is
// recorded cancelled.
func ExampleEngine_Shutdown() {
	ctx := context.Background()
	st := memory.New() // the engine closes a store it made itself at Shutdown, so bring one to read after
	defer st.Close()
	eng, _ := task.New(task.WithStore(st), task.WithoutInitHooks())
	started := make(chan struct{})
	causes := make(chan error, 1)
	_ = eng.Register(task.Spec{
		Name: "long-export",
		Job: task.JobFunc(func(ctx context.Context) error {
			close(started)
			<-ctx.Done() // a job that honours its context
			causes <- context.Cause(ctx)
			return ctx.Err()
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	id, _ := eng.RunNow(ctx, "long-export")
	<-started

	deadline, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	fmt.Println(eng.Shutdown(deadline))
	fmt.Println("the job saw:", <-causes)
	x, _ := st.GetExecution(ctx, id)
	fmt.Println(x.State, x.ExitCode)
	// Output:
	// context deadline exceeded
	// the job saw: task: shut down
	// cancelled 130
}

// RunNow runs a task at once, with arguments; Wait returns its record.
func ExampleEngine_RunNow() {
	ctx := context.Background()
	eng, err := task.New(task.WithoutInitHooks())
	if err != nil {
		panic(err)
	}
	_ = eng.Register(task.Spec{
		Name: "reindex",
		Job: task.JobFunc(func(ctx context.Context) error {
			task.SetExitMessage(ctx, "reindexed "+strings.Join(task.Args(ctx), ", "))
			return nil
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, err := eng.RunNow(ctx, "reindex", task.WithArgs("orders", "invoices"))
	if err != nil {
		panic(err)
	}
	x, err := eng.Wait(ctx, id)
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Trigger, x.State, x.ExitCode, x.ExitMessage)
	// Output: manual succeeded 0 reindexed orders, invoices
}

// Wait returns the finished record: its state, exit code, exit message and
// error say how the run went.
func ExampleEngine_Wait() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	_ = eng.Register(task.Spec{
		Name: "upload",
		Job: task.JobFunc(func(ctx context.Context) error {
			task.SetExitMessage(ctx, "uploaded 2 of 3 files")
			return errors.New("upload c.csv: permission denied")
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "upload")
	x, err := eng.Wait(ctx, id)
	if err != nil {
		panic(err)
	}
	fmt.Println("state:", x.State, x.State.Final())
	fmt.Println("exit code:", x.ExitCode)
	fmt.Println("exit message:", x.ExitMessage)
	fmt.Println("error:", x.Error)
	fmt.Println("ended:", !x.EndedAt.IsZero(), x.Duration() >= 0)
	// Output:
	// state: failed true
	// exit code: 1
	// exit message: uploaded 2 of 3 files
	// error: upload c.csv: permission denied
	// ended: true true
}

// Arguments come with each run (RunNow's WithArgs); parameters with the
// task (Spec.Params). The job reads both from its context.
func ExampleParam() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	_ = eng.Register(task.Spec{
		Name:   "export",
		Params: map[string]string{"bucket": "s3://reports"},
		Job: task.JobFunc(func(ctx context.Context) error {
			bucket, _ := task.Param(ctx, "bucket")
			_, hasRegion := task.Param(ctx, "region")
			fmt.Println("export", task.Args(ctx), "to", bucket, "region set:", hasRegion)
			return nil
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "export", task.WithArgs("orders", "2026-06"))
	_, _ = eng.Wait(ctx, id)
	// Output:
	// export [orders 2026-06] to s3://reports region set: false
}

// A job reads its own record: which task, why it runs, with which
// arguments and ids.
func ExampleCurrentExecution() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	_ = eng.Register(task.Spec{
		Name: "reindex",
		Job: task.JobFunc(func(ctx context.Context) error {
			x, ok := task.CurrentExecution(ctx)
			fmt.Println(ok, x.Task, x.Trigger, x.State, x.Args, x.ExternalID)
			return nil
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "reindex", task.WithArgs("--full"), task.WithExternalID("airflow-run-42"))
	_, _ = eng.Wait(ctx, id)

	_, ok := task.CurrentExecution(ctx) // outside a run
	fmt.Println(ok)
	// Output:
	// true reindex manual running [--full] airflow-run-42
	// false
}

// ScheduledAt is the slot a run stands for, not the instant it started:
// an hourly rollup sums the hour that ends at it. A manual run has none.
func ExampleScheduledAt() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 6, 1, 9, 59, 0, 0, time.UTC))
	ended := make(chan uuid.UUID, 1)
	eng, _ := task.New(task.WithClock(clock), task.WithoutInitHooks(), task.WithListener(task.ListenerFuncs{
		End: func(_ context.Context, x *store.Execution) error { ended <- x.ID; return nil },
	}))
	_ = eng.Register(task.Spec{
		Name: "hourly-rollup",
		Cron: "0 0 * * * *",
		Job: task.JobFunc(func(ctx context.Context) error {
			slot := task.ScheduledAt(ctx)
			if slot.IsZero() {
				fmt.Println("a manual run: no slot")
				return nil
			}
			fmt.Println("rollup of", slot.Add(-time.Hour).Format("15:04"), "to", slot.Format("15:04"))
			return nil
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	_ = clock.BlockUntilContext(ctx, 1)
	clock.Advance(eng.Tasks()[0].Next.Sub(clock.Now()))
	_, _ = eng.Wait(ctx, <-ended)

	id, _ := eng.RunNow(ctx, "hourly-rollup")
	_, _ = eng.Wait(ctx, id)
	// Output:
	// rollup of 09:00 to 10:00
	// a manual run: no slot
}
