package task

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
)

var errStoreDown = errors.New("store down")

// A run queued behind a run whose record could not be created must not be
// stranded: it starts.
func TestQueuedRunStartsWhenTheRunAheadFailsToRecord(t *testing.T) {
	t.Parallel()
	b, fs := setupFaulty(t)
	var ran atomic.Int32
	b.register(t, Spec{Name: "q", Overlap: OverlapQueueOne, Job: JobFunc(func(context.Context) error {
		ran.Add(1)
		return nil
	})})
	b.start(t)
	entered, fail := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	fs.mu.Lock()
	fs.onCreate = func(*store.Execution) error {
		if calls.Add(1) == 1 {
			close(entered)
			<-fail
			return errStoreDown
		}
		return nil
	}
	fs.mu.Unlock()

	firstErr := make(chan error, 1)
	go func() {
		_, err := b.eng.RunNow(context.Background(), "q")
		firstErr <- err
	}()
	<-entered // the first run is reserved; its record is being created
	queued := b.runNow(t, "q")
	close(fail)
	if err := <-firstErr; !errors.Is(err, errStoreDown) {
		t.Fatalf("first RunNow = %v, want the store's error", err)
	}
	if x := b.wait(t, queued); x.State != store.StateSucceeded {
		t.Fatalf("queued run: %s, want succeeded", x.State)
	}
	if n := ran.Load(); n != 1 {
		t.Fatalf("job ran %d times, want 1", n)
	}
	if info := b.eng.Tasks()[0]; info.Running != 0 || info.Pending {
		t.Fatalf("counters after the runs: %+v", info)
	}
}

// Shutdown giving up while a run's record is still being created: the run
// is recorded cancelled once the record exists and its job never runs.
func TestShutdownWhileARecordIsBeingCreated(t *testing.T) {
	t.Parallel()
	b, fs := setupFaulty(t)
	var ran atomic.Bool
	b.register(t, Spec{Name: "t", Job: JobFunc(func(context.Context) error { ran.Store(true); return nil })})
	b.start(t)
	entered, proceed := make(chan struct{}), make(chan struct{})
	fs.mu.Lock()
	fs.onCreate = func(*store.Execution) error {
		close(entered)
		<-proceed
		return nil
	}
	fs.mu.Unlock()
	ids := make(chan error, 1)
	go func() {
		_, err := b.eng.RunNow(context.Background(), "t")
		ids <- err
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- b.eng.Shutdown(ctx) }()
	waitFor(t, "Shutdown to cancel the run", func() bool {
		for _, r := range b.eng.runs.all() {
			return context.Cause(r.ctx) != nil
		}
		return false
	})
	close(proceed) // the record now exists
	if err := <-shut; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := <-ids; err != nil {
		t.Fatalf("RunNow = %v", err)
	}
	b.eng.wg.Wait()
	xs := b.history(t, "t")
	if len(xs) != 1 || xs[0].State != store.StateCancelled {
		t.Fatalf("records %v, want one cancelled", states(xs))
	}
	if ran.Load() {
		t.Fatal("the job ran after Shutdown gave up on it")
	}
}

// When the store refuses the final write for good, Wait still returns the
// final record.
func TestWaitWhenTheFinalWriteFails(t *testing.T) {
	t.Parallel()
	b, fs := setupFaulty(t)
	b.register(t, Spec{Name: "t", Job: JobFunc(ok)})
	b.start(t)
	fs.mu.Lock()
	fs.onUpdate = func(*store.Execution) error { return fmt.Errorf("%w: rejected", store.ErrInvalid) }
	fs.mu.Unlock()
	x := b.wait(t, b.runNow(t, "t"))
	if x.State != store.StateSucceeded {
		t.Fatalf("Wait = %s, want the engine's final record (succeeded)", x.State)
	}
	// Also when the run has left the engine's table before Wait looks:
	// the store's record still says running, the task's last is final.
	id := b.runNow(t, "t")
	waitFor(t, "the run to leave the table", func() bool { return b.eng.runs.get(id) == nil })
	if x := b.wait(t, id); x.State != store.StateSucceeded {
		t.Fatalf("Wait after the run ended = %s, want the engine's final record (succeeded)", x.State)
	}
}

// A store that fails the end-of-run write a few times: the engine retries
// with backoff on its clock and the record lands.
func TestEndOfRunWriteIsRetried(t *testing.T) {
	t.Parallel()
	b, fs := setupFaulty(t)
	b.register(t, Spec{Name: "t", Job: JobFunc(ok)})
	b.start(t)
	var failures atomic.Int32
	fs.mu.Lock()
	fs.onUpdate = func(*store.Execution) error {
		if failures.Add(1) <= 4 {
			return errStoreDown
		}
		return nil
	}
	fs.mu.Unlock()
	id := b.runNow(t, "t")
	for i := 0; i < 4; i++ {
		b.timers(t, 1) // the backoff's timer
		b.clock.Advance(endWriteBackoffMax)
	}
	x := b.wait(t, id)
	stored, err := b.store.GetExecution(context.Background(), id)
	if err != nil || stored.State != store.StateSucceeded || x.State != store.StateSucceeded {
		t.Fatalf("stored %v (%v), Wait %s; want the succeeded record in the store", stored, err, x.State)
	}
	if n := failures.Load(); n != 5 {
		t.Fatalf("%d write attempts, want 5", n)
	}
}

// While the store stays down, Shutdown's deadline ends the retries.
func TestEndOfRunRetriesStopAtShutdown(t *testing.T) {
	t.Parallel()
	b, fs := setupFaulty(t)
	b.register(t, Spec{Name: "t", Job: JobFunc(ok)})
	b.start(t)
	fs.mu.Lock()
	fs.onUpdate = func(*store.Execution) error { return errStoreDown }
	fs.mu.Unlock()
	b.runNow(t, "t")
	b.timers(t, 1) // retrying
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := b.eng.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	b.eng.wg.Wait() // the run's goroutine gave up and ended
}

func TestCancelDuringConditionRecordsCancelled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	evaluating := make(chan struct{})
	b.register(t, Spec{Name: "t", Schedule: cron.Every(time.Second), Job: JobFunc(ok),
		When: func(ctx context.Context) (bool, error) {
			close(evaluating)
			<-ctx.Done()
			return false, ctx.Err()
		}})
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Second))
	<-evaluating
	x := b.history(t, "t")[0]
	if err := b.eng.Cancel(context.Background(), x.ID); err != nil {
		t.Fatal(err)
	}
	if x = b.wait(t, x.ID); x.State != store.StateCancelled {
		t.Fatalf("record %s %q, want cancelled", x.State, x.Error)
	}
}

func TestRunOnceIgnoresSchedules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	x, err := RunOnce(context.Background(), Spec{Name: "t", Cron: "* * * * * *", After: []string{"nothing"}, Job: JobFunc(ok)},
		WithEngineOptions(WithStore(b.store), WithClock(b.clock)))
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(5 * time.Second)
	if xs := b.history(t, "t"); len(xs) != 1 || x.Trigger != store.TriggerOneShot {
		t.Fatalf("records %d (%v), want only the one-shot run", len(xs), states(xs))
	}
}

// A Start that fails (a hook's error) can be retried once fixed: the tasks
// the hooks registered do not linger as duplicates.
func TestStartCanBeRetriedAfterAHookFails(t *testing.T) {
	fail := true
	withHooks(t, hook{"mod", func(r Registrar) error {
		if err := r.Register(Spec{Name: "mod-task", Job: JobFunc(ok)}); err != nil {
			return err
		}
		if fail {
			return errors.New("config missing")
		}
		return nil
	}})
	eng, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Shutdown(context.Background())
	if err := eng.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "config missing") {
		t.Fatalf("first Start = %v", err)
	}
	fail = false
	if err := eng.Start(context.Background()); err != nil {
		t.Fatalf("second Start = %v", err)
	}
	if n := len(eng.Tasks()); n != 1 {
		t.Fatalf("%d tasks, want 1", n)
	}
}

// Suspend and a failing run's end must not lose each other's change.
func TestSuspendWhileARunFails(t *testing.T) {
	t.Parallel()
	for i := 0; i < 20; i++ {
		b := setup(t)
		g := newGate()
		b.register(t, Spec{Name: "t", Job: JobFunc(func(ctx context.Context) error {
			if err := g.Run(ctx); err != nil {
				return err
			}
			return errors.New("failed")
		})})
		b.start(t)
		id := b.runNow(t, "t")
		g.waitStarted(t)
		done := make(chan error)
		go func() { done <- b.eng.Suspend(context.Background(), "t") }()
		close(g.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		b.wait(t, id)
		waitFor(t, "the run's failure counted", func() bool {
			st, err := b.store.GetTaskState(context.Background(), "t")
			return err == nil && st.ConsecutiveFailures == 1
		})
		st, err := b.store.GetTaskState(context.Background(), "t")
		if err != nil || !st.Suspended || st.ConsecutiveFailures != 1 {
			t.Fatalf("round %d: state %+v, %v; want suspended with 1 failure", i, st, err)
		}
		if info := b.eng.Tasks()[0]; !info.Suspended || info.ConsecutiveFailures != 1 {
			t.Fatalf("round %d: in memory %+v", i, info)
		}
	}
}
