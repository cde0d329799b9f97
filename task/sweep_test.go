package task

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

var errCrashed = errors.New("test: the node crashed")

// crashLocker is a locker that, once crashed, refuses everything: with a
// faultyStore refusing every write, how an engine in a test "dies"
// without a Shutdown (its goroutines go on, but nothing it does reaches
// the store or the locker any more).
type crashLocker struct {
	lock.Locker
	crashed atomic.Bool
}

func (c *crashLocker) Acquire(ctx context.Context, p lock.AcquireParams) (lock.Lease, error) {
	if c.crashed.Load() {
		return lock.Lease{}, errCrashed
	}
	return c.Locker.Acquire(ctx, p)
}

func (c *crashLocker) Renew(ctx context.Context, l lock.Lease, ttl time.Duration) (lock.Lease, error) {
	if c.crashed.Load() {
		return lock.Lease{}, errCrashed
	}
	return c.Locker.Renew(ctx, l, ttl)
}

func (c *crashLocker) Release(ctx context.Context, l lock.Lease) error {
	if c.crashed.Load() {
		return errCrashed
	}
	return c.Locker.Release(ctx, l)
}

// crashable is an engine of a test cluster that can be made to die: see
// crashLocker.
type crashable struct {
	eng    *Engine
	store  *faultyStore
	locker *crashLocker
	clock  clockwork.Clock
}

func newCrashable(t *testing.T, clock clockwork.Clock, st *memory.Store, locker lock.Locker, node string) *crashable {
	t.Helper()
	c := &crashable{store: &faultyStore{Store: st}, locker: &crashLocker{Locker: locker}, clock: clock}
	c.eng = member(t, clock, c.store, c.locker, node)
	return c
}

// crash makes the engine die, until the end of the test, which lets it
// shut down. (Fencing its late end write is fence_test.go's business.)
func (c *crashable) crash(t *testing.T) {
	t.Cleanup(func() {
		c.locker.crashed.Store(false)
		c.store.mu.Lock()
		c.store.onCreate, c.store.onUpdate = nil, nil
		c.store.mu.Unlock()
		// An end write refused while crashed (the engine stopped its
		// run when its lease lapsed) waits for its retry on the fake
		// clock: move it on until the engine's runs have ended.
		if fc, ok := c.clock.(*clockwork.FakeClock); ok {
			go func() {
				deadline := time.Now().Add(waitLimit)
				for !c.eng.runs.empty() && time.Now().Before(deadline) {
					fc.Advance(endWriteBackoffMax)
					time.Sleep(time.Millisecond)
				}
			}()
		}
	})
	c.locker.crashed.Store(true)
	c.store.mu.Lock()
	c.store.onCreate = func(*store.Execution) error { return errCrashed }
	c.store.onUpdate = func(*store.Execution) error { return errCrashed }
	c.store.mu.Unlock()
}

// startLong starts a run of a job that blocks until the test ends, on
// eng, and returns its ID once it runs.
func startLong(t *testing.T, eng *Engine) uuid.UUID {
	t.Helper()
	g := newGate()
	t.Cleanup(func() { close(g.release) })
	if err := eng.Register(Spec{Name: "long", Job: g}); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id, err := eng.RunNow(context.Background(), "long")
	if err != nil {
		t.Fatal(err)
	}
	g.waitStarted(t)
	return id
}

func getExecution(t *testing.T, st store.Store, id uuid.UUID) *store.Execution {
	t.Helper()
	x, err := st.GetExecution(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// sweepRound advances the clock by one renewal interval and waits until
// each engine has swept once more.
func sweepRound(t *testing.T, clock *clockwork.FakeClock, engs ...*Engine) {
	t.Helper()
	before := make([]int64, len(engs))
	for i, e := range engs {
		before[i] = e.sweeps.Load()
	}
	clock.Advance(LeaseRenewDefault)
	for i, e := range engs {
		waitFor(t, "a sweep", func() bool { return e.sweeps.Load() > before[i] })
	}
}

func TestSweepMarksADeadNodesRunAbandonedWithinTTLAndOneInterval(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := newCrashable(t, clock, st, locker, "host-1/4242")
	b := member(t, clock, st, locker, "host-2/77")
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := startLong(t, a.eng)

	// A is alive: two intervals later, its run is still running.
	sweepRound(t, clock, b)
	sweepRound(t, clock, b)
	if x := getExecution(t, st, id); x.State != store.StateRunning {
		t.Fatalf("state while the node lives = %v, want running", x.State)
	}
	// A dies after its renewal at 10s; its lease ends at 25s.
	lastRenewed := testStart.Add(2 * LeaseRenewDefault)
	waitFor(t, "A's renewal at 10s", func() bool {
		l, err := locker.Get(context.Background(), nodeKey("host-1/4242"))
		return err == nil && l.Renewed.Equal(lastRenewed)
	})
	a.crash(t)
	ends := lastRenewed.Add(LeaseTTLDefault)
	for clock.Now().Add(LeaseRenewDefault).Before(ends) {
		sweepRound(t, clock, b)
		if x := getExecution(t, st, id); x.State != store.StateRunning {
			t.Fatalf("state at %v, before A's lease ends at %v = %v, want running", clock.Now(), ends, x.State)
		}
	}
	// Detection within TTL + one interval of the last renewal.
	limit := ends.Add(LeaseRenewDefault)
	var x *store.Execution
	for {
		sweepRound(t, clock, b)
		if x = getExecution(t, st, id); x.State == store.StateAbandoned {
			break
		}
		if !clock.Now().Before(limit) {
			t.Fatalf("state at %v = %v, want abandoned by the last renewal + TTL + one interval, %v", clock.Now(), x.State, limit)
		}
	}
	if x.EndedAt.After(limit) || x.EndedAt.Before(ends) {
		t.Errorf("EndedAt = %v, want between the lease's end %v and %v", x.EndedAt, ends, limit)
	}
	t.Logf("detected %v after the last renewal (TTL %v, interval %v)", x.EndedAt.Sub(lastRenewed), LeaseTTLDefault, LeaseRenewDefault)
	if want := "node host-1/4242 last renewed 2026-01-05T00:00:10Z"; x.Error != want {
		t.Errorf("Error = %q, want %q", x.Error, want)
	}
}

func TestSweepBySeveralEnginesMarksARunOnce(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := newCrashable(t, clock, st, locker, "node-a")
	b := member(t, clock, st, locker, "node-b")
	c := member(t, clock, st, locker, "node-c")
	for _, e := range []*Engine{b, c} {
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	id := startLong(t, a.eng)
	a.crash(t)
	for range LeaseTTLDefault/LeaseRenewDefault + 1 {
		sweepRound(t, clock, b, c)
	}
	if x := getExecution(t, st, id); x.State != store.StateAbandoned {
		t.Fatalf("state = %v, want abandoned", x.State)
	}
	if nb, nc := b.abandoned.Load(), c.abandoned.Load(); nb+nc != 1 {
		t.Fatalf("engines b and c marked %d and %d executions abandoned, want 1 in all", nb, nc)
	}
}

func TestSweepLeavesLiveNodesAndNodesWithoutLease(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	// A node that never held a lease (an engine without a locker).
	noLease := &store.Execution{ID: newID(), Task: "x", Trigger: store.TriggerManual, StartedAt: testStart,
		State: store.StateRunning, Node: "no-lease"}
	if err := st.CreateExecution(context.Background(), noLease); err != nil {
		t.Fatal(err)
	}
	a := member(t, clock, st, locker, "node-a")
	b := member(t, clock, st, locker, "node-b")
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := startLong(t, a)
	for range 2 * LeaseTTLDefault / LeaseRenewDefault {
		sweepRound(t, clock, a, b)
	}
	for _, id := range []uuid.UUID{id, noLease.ID} {
		if x := getExecution(t, st, id); x.State != store.StateRunning {
			t.Errorf("state of %s = %v, want running", x.Node, x.State)
		}
	}
}

func TestStartMarksTheRunsOfTheNodesEarlierProcessAbandoned(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := newCrashable(t, clock, st, locker, "host-1")
	id := startLong(t, a.eng)
	a.crash(t)
	// No other engine sweeps. The process restarts under the same node id
	// once the dead one's lease has ended: its Start marks the run.
	clock.Advance(LeaseTTLDefault)
	a2 := member(t, clock, st, locker, "host-1")
	if err := a2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	x := getExecution(t, st, id)
	if x.State != store.StateAbandoned || !x.EndedAt.Equal(clock.Now()) {
		t.Fatalf("record after the restart: state %v, ended %v; want abandoned at %v", x.State, x.EndedAt, clock.Now())
	}
	if want := "node host-1 last renewed 2026-01-05T00:00:00Z"; x.Error != want {
		t.Errorf("Error = %q, want %q", x.Error, want)
	}
	if n := a2.abandoned.Load(); n != 1 {
		t.Errorf("the new process marked %d executions abandoned, want 1", n)
	}
}
