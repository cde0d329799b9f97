package task

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// abandonWatch is a listener that keeps what it is told of abandoned
// executions.
type abandonWatch struct {
	mu     sync.Mutex
	failed []error
	ended  []*store.Execution
}

func (w *abandonWatch) listener() Listener {
	return ListenerFuncs{
		Failed: func(_ context.Context, x *store.Execution, err error) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			if x.State == store.StateAbandoned {
				w.failed = append(w.failed, err)
			}
			return nil
		},
		End: func(_ context.Context, x *store.Execution) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			if x.State == store.StateAbandoned {
				w.ended = append(w.ended, x.Clone())
			}
			return nil
		},
	}
}

func (w *abandonWatch) counts() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.failed), len(w.ended)
}

// A dead node's run of a task with RecoverAbandoned is marked abandoned
// and re-run exactly once, though two engines sweep; the engine that
// marked it tells the listeners and the error integration.
func TestAbandonedRunIsRecoveredOnceAndTold(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := newCrashable(t, clock, st, locker, "host-1/1")

	var reran sync.Map // execution ID -> the engine that ran it
	survivor := func(node string, w *abandonWatch, c *collector) *Engine {
		eng := member(t, clock, st, locker, node, WithIntegration("ops", c))
		job := JobFunc(func(ctx context.Context) error {
			x, _ := CurrentExecution(ctx)
			reran.Store(x.ID, node)
			return nil
		})
		if err := eng.Register(Spec{Name: "long", Job: job, RecoverAbandoned: true, ErrorIntegration: "ops",
			Listeners: []Listener{w.listener()}}); err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		return eng
	}
	wb, wc := &abandonWatch{}, &abandonWatch{}
	cb, cc := newCollector(), newCollector()
	b := survivor("host-2/2", wb, cb)
	c := survivor("host-3/3", wc, cc)

	g := newGate()
	t.Cleanup(func() { close(g.release) })
	if err := a.eng.Register(Spec{Name: "long", Job: g, RecoverAbandoned: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id, err := a.eng.RunNow(context.Background(), "long", WithArgs("x", "y"))
	if err != nil {
		t.Fatal(err)
	}
	g.waitStarted(t)
	a.crash(t)

	var recs []*store.Execution
	for range 8 {
		sweepRound(t, clock, b, c)
		recs = listTask(t, st, "long", store.TriggerRecovery)
		if len(recs) > 0 && recs[0].State.Final() {
			break
		}
	}
	if x := getExecution(t, st, id); x.State != store.StateAbandoned {
		t.Fatalf("the dead node's run is %s, want abandoned", x.State)
	}
	for range 3 { // more sweeps change nothing
		sweepRound(t, clock, b, c)
	}
	recs = listTask(t, st, "long", store.TriggerRecovery)
	if len(recs) != 1 {
		t.Fatalf("%d recovery executions, want 1", len(recs))
	}
	r := recs[0]
	if r.State != store.StateSucceeded || r.ParentID != id || len(r.Args) != 2 || r.Args[0] != "x" {
		t.Errorf("recovery = %s, parent %s, args %q; want succeeded, parent %s, args [x y]", r.State, r.ParentID, r.Args, id)
	}
	node, ok := reran.Load(r.ID)
	if !ok || node != r.Node {
		t.Errorf("the recovery ran on %v, its record names %s", node, r.Node)
	}

	// Exactly one engine marked it, and told its listeners and
	// integration.
	fb, eb := wb.counts()
	fc, ec := wc.counts()
	if fb+fc != 1 || eb+ec != 1 {
		t.Fatalf("abandonment told to OnTaskFailed %d+%d and OnTaskEnd %d+%d times, want once each", fb, fc, eb, ec)
	}
	w, col := wb, cb
	if fc == 1 {
		w, col = wc, cc
	}
	if !errors.Is(w.failed[0], ErrAbandoned) {
		t.Errorf("OnTaskFailed error = %v, want ErrAbandoned", w.failed[0])
	}
	msgs := col.wait(t, 1)
	if m := msgs[0]; m.MessageType != notify.TaskFailed || m.Messages[0].ErrorKind != notify.KindAbandoned ||
		m.Messages[0].QueryID != id.String() {
		t.Errorf("notification %s %+v, want TASK_FAILED of kind Abandoned for %s", m.MessageType, m.Messages[0], id)
	}
}

// listTask lists the executions of a task with the trigger, newest first.
func listTask(t *testing.T, st store.Store, task string, trig store.Trigger) []*store.Execution {
	t.Helper()
	xs, err := store.ListAll(context.Background(), st, store.ExecutionFilter{Task: task, Triggers: []store.Trigger{trig}})
	if err != nil {
		t.Fatal(err)
	}
	return xs
}

// Without RecoverAbandoned, nothing is re-run.
func TestAbandonedRunIsNotRecoveredByDefault(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := newCrashable(t, clock, st, locker, "host-1/1")
	b := member(t, clock, st, locker, "host-2/2")
	if err := b.Register(Spec{Name: "long", Job: JobFunc(ok)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := startLong(t, a.eng)
	a.crash(t)
	for range 6 {
		sweepRound(t, clock, b)
	}
	if x := getExecution(t, st, id); x.State != store.StateAbandoned {
		t.Fatalf("state = %s, want abandoned", x.State)
	}
	if recs := listTask(t, st, "long", store.TriggerRecovery); len(recs) != 0 {
		t.Fatalf("%d recovery executions, want none", len(recs))
	}
}

// The default overlap policy holds across engines: a task running on one
// engine is not started by another, whose fire is recorded skipped and
// whose RunNow is refused.
func TestOverlapHoldsAcrossEngines(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := member(t, clock, st, locker, "host-1/1")
	b := member(t, clock, st, locker, "host-2/2")
	ga, gb := newGate(), newGate()
	t.Cleanup(func() { close(ga.release); close(gb.release) })
	if err := a.Register(Spec{Name: "etl", Job: ga}); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(Spec{Name: "etl", Job: gb, Schedule: cron.Every(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for _, eng := range []*Engine{a, b} {
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	id, err := a.RunNow(context.Background(), "etl")
	if err != nil {
		t.Fatal(err)
	}
	ga.waitStarted(t)
	if _, err := b.RunNow(context.Background(), "etl"); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("RunNow on the other engine = %v, want ErrAlreadyRunning", err)
	}
	for range time.Minute / LeaseRenewDefault { // in steps: the leases stay renewed
		sweepRound(t, clock, a, b)
	}
	var skipped *store.Execution
	waitFor(t, "the fire's record", func() bool {
		xs := listTask(t, st, "etl", store.TriggerSchedule)
		if len(xs) == 1 {
			skipped = xs[0]
		}
		return skipped != nil
	})
	if skipped.State != store.StateSkipped || skipped.SkipReason != store.ReasonOverlap+": running on another engine" {
		t.Fatalf("the fire on the other engine: %s (%q), want skipped for overlap", skipped.State, skipped.SkipReason)
	}
	if x := getExecution(t, st, id); x.State != store.StateRunning {
		t.Fatalf("the first run is %s, want running", x.State)
	}
}

// OverlapQueueOne queues across engines: a fire while another engine runs
// the task waits, pending, and starts once that run ended, within one
// renewal interval; the time it waited is B's run.wait_time.
func TestQueueOneWaitsForAnotherEnginesRun(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	k := newOtelKit(t)
	a := member(t, clock, st, locker, "host-1/1")
	b := member(t, clock, st, locker, "host-2/2", k.options()...)
	ga := newGate()
	var bRan sync.WaitGroup
	bRan.Add(1)
	var once sync.Once
	if err := a.Register(Spec{Name: "etl", Job: ga, Overlap: OverlapQueueOne}); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(Spec{Name: "etl", Overlap: OverlapQueueOne, Schedule: cron.Every(time.Minute),
		Job: JobFunc(func(context.Context) error { once.Do(bRan.Done); return nil })}); err != nil {
		t.Fatal(err)
	}
	for _, eng := range []*Engine{a, b} {
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	id, err := a.RunNow(context.Background(), "etl")
	if err != nil {
		t.Fatal(err)
	}
	ga.waitStarted(t)
	for range time.Minute / LeaseRenewDefault { // in steps: the leases stay renewed
		sweepRound(t, clock, a, b)
	}
	var queued *store.Execution
	waitFor(t, "the queued fire", func() bool {
		xs := listTask(t, st, "etl", store.TriggerSchedule)
		if len(xs) == 1 {
			queued = xs[0]
		}
		return queued != nil
	})
	if queued.State != store.StatePending || queued.Node != "host-2/2" {
		t.Fatalf("the fire on the other engine: %s on %s, want pending on host-2/2", queued.State, queued.Node)
	}
	sweepRound(t, clock, a, b) // still running on A: it waits
	if x := getExecution(t, st, queued.ID); x.State != store.StatePending {
		t.Fatalf("queued fire while A runs: %s, want pending", x.State)
	}
	close(ga.release)
	first, err := a.Wait(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	sweepRound(t, clock, a, b)
	bRan.Wait()
	x, err := b.Wait(context.Background(), queued.ID)
	if err != nil {
		t.Fatal(err)
	}
	if x.State != store.StateSucceeded || x.StartedAt.Before(first.EndedAt) {
		t.Errorf("queued run: %s, started %v; want succeeded, after the first ended at %v", x.State, x.StartedAt, first.EndedAt)
	}
	wantHist(t, MetricRunWaitTime, hists(t, k.collect(t)[MetricRunWaitTime]), map[string][]float64{
		"taskmill.task=etl": {x.StartedAt.Sub(queued.StartedAt).Seconds()},
	})
}
