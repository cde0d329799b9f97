package task

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// oneShot is what a test's one-shot process needs: a clock, a store and
// a locker, and its node id.
func oneShot(clock clockwork.Clock, st store.Store, locker lock.Locker, node string) OnceOption {
	return WithEngineOptions(WithClock(clock), WithStore(st), WithLocker(locker), WithNodeID(node))
}

// TestRunOnceSingleInstanceIsALease: a second one-shot process of the task
// is refused while the first runs, however long it runs; once the first
// dies (it stops renewing), the next start is refused until its lease
// expires, a TTL after its last renewal, and then runs, marking the dead
// run abandoned.
func TestRunOnceSingleInstanceIsALease(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	first := &crashable{store: &faultyStore{Store: st}, locker: &crashLocker{Locker: locker}}
	g := newGate()
	type result struct {
		x   *store.Execution
		err error
	}
	firstDone := make(chan result, 1)
	go func() {
		x, err := RunOnce(context.Background(), Spec{Name: "etl", Job: g}, SingleInstance(), oneShot(clock, first.store, first.locker, "batch-1"))
		firstDone <- result{x, err}
	}()
	g.waitStarted(t)

	ran := false
	second := Spec{Name: "etl", Job: JobFunc(func(context.Context) error { ran = true; return nil })}
	refused := func(when string) {
		t.Helper()
		_, err := RunOnce(context.Background(), second, SingleInstance(), oneShot(clock, st, locker, "batch-2"))
		if !errors.Is(err, ErrAlreadyRunning) || !errors.Is(err, lock.ErrHeld) || !strings.Contains(err.Error(), `"etl"`) ||
			!strings.Contains(err.Error(), "batch-1#") {
			t.Fatalf("RunOnce %s: %v, want ErrAlreadyRunning (lock.ErrHeld) naming the task and the holder", when, err)
		}
		if ran {
			t.Fatalf("RunOnce %s: the job ran", when)
		}
	}
	refused("while the first runs")
	// The first renews its lease with its node lease, in the same tick:
	// four intervals, past the TTL, and the task is still its.
	for i := 1; i <= 4; i++ {
		at := testStart.Add(time.Duration(i) * LeaseRenewDefault)
		clock.Advance(LeaseRenewDefault)
		waitFor(t, "the renewals at "+at.String(), func() bool {
			s, err := locker.Get(context.Background(), singleKey("etl"))
			return err == nil && s.Renewed.Equal(at) && getLease(t, locker, "batch-1").Renewed.Equal(at)
		})
	}
	refused("after the first renewed past its TTL")

	// The first process dies after its renewal at 20s.
	first.crash(t)
	lastRenewed := clock.Now()
	clock.Advance(LeaseTTLDefault - time.Second)
	refused("a second before the dead lease expires")
	clock.Advance(time.Second)
	x, err := RunOnce(context.Background(), second, SingleInstance(), oneShot(clock, st, locker, "batch-2"))
	if err != nil || x.State != store.StateSucceeded || !ran {
		t.Fatalf("RunOnce a TTL after the first's last renewal: %v, %v (ran %v), want it to run", x, err, ran)
	}
	xs, err := store.ListAll(context.Background(), st, store.ExecutionFilter{Task: "etl"})
	if err != nil || len(xs) != 2 {
		t.Fatalf("records of etl: %d, %v; want 2", len(xs), err)
	}
	dead := xs[1] // oldest last
	if dead.Node != "batch-1" || dead.State != store.StateAbandoned ||
		dead.Error != "node batch-1 last renewed "+lastRenewed.Format(time.RFC3339) {
		t.Fatalf("the dead process's run: node %q, %s %q; want abandoned, naming node batch-1 and its last renewal", dead.Node, dead.State, dead.Error)
	}
	if s, err := locker.Get(context.Background(), singleKey("etl")); err != nil || s.Live {
		t.Fatalf("single-instance lease after the run: %+v, %v; want released", s, err)
	}

	// The dead process comes back to life and ends: its end is fenced.
	first.locker.crashed.Store(false)
	first.store.mu.Lock()
	first.store.onCreate, first.store.onUpdate = nil, nil
	first.store.mu.Unlock()
	close(g.release)
	for {
		select {
		case r := <-firstDone:
			if r.err != nil {
				t.Fatalf("the first RunOnce: %v", r.err)
			}
			if got := getExecution(t, st, dead.ID); got.State != store.StateAbandoned {
				t.Fatalf("the dead process's run after its late end: %s, want abandoned", got.State)
			}
			return
		case <-time.After(time.Millisecond):
			clock.Advance(time.Second) // its end write's retries
		}
	}
}

// A one-shot run holds the lease from before it records its run until it
// has ended, then releases it; the next start needs no wait.
func TestRunOnceSingleInstanceReleasesTheLease(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	var held atomic.Bool
	spec := Spec{Name: "etl", Job: JobFunc(func(ctx context.Context) error {
		l, err := locker.Get(ctx, singleKey("etl"))
		held.Store(err == nil && l.Live && strings.HasPrefix(l.Owner, "batch-1#"))
		return nil
	})}
	for i := range 2 {
		x, err := RunOnce(context.Background(), spec, SingleInstance(), oneShot(clock, st, locker, "batch-1"))
		if err != nil || x.State != store.StateSucceeded {
			t.Fatalf("RunOnce %d: %v, %v", i, x, err)
		}
		if !held.Load() {
			t.Fatalf("RunOnce %d: the job ran without the lease held by its process", i)
		}
		if l, err := locker.Get(context.Background(), singleKey("etl")); err != nil || l.Live {
			t.Fatalf("lease after RunOnce %d: %+v, %v; want released", i, l, err)
		}
	}
}

// With the lease, a run of the task on a live engine (RunNow, a schedule),
// which holds no single-instance lease, still refuses a one-shot start.
func TestRunOnceSingleInstanceRefusesARunOfALiveEngine(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	eng := member(t, clock, st, locker, "host-1")
	id := startLong(t, eng)
	_, err := RunOnce(context.Background(), Spec{Name: "long", Job: JobFunc(ok)}, SingleInstance(), oneShot(clock, st, locker, "batch-1"))
	if !errors.Is(err, ErrAlreadyRunning) || errors.Is(err, lock.ErrHeld) || !strings.Contains(err.Error(), id.String()) {
		t.Fatalf("RunOnce while host-1 runs the task: %v, want ErrAlreadyRunning naming its execution", err)
	}
	if l, err := locker.Get(context.Background(), singleKey("long")); err != nil || l.Live {
		t.Fatalf("lease after the refused RunOnce: %+v, %v; want released", l, err)
	}
}

// loseSingles is a locker whose renewals of single-instance leases fail
// with lock.ErrLost, as when another process took an expired one.
type loseSingles struct{ lock.Locker }

func (l loseSingles) Renew(ctx context.Context, ls lock.Lease, ttl time.Duration) (lock.Lease, error) {
	if strings.HasPrefix(ls.Key, "single/") {
		return lock.Lease{}, lock.LostError(ls, lock.Lease{Key: ls.Key, Owner: "batch-9#1", Token: ls.Token + 1}, true)
	}
	return l.Locker.Renew(ctx, ls, ttl)
}

// A single-instance lease lost mid-run is logged at Error, once (the
// renewer's singleLeaseLost), and the run is stopped with ErrLeaseLost:
// another process may run the task now. Nothing is released at its end.
func TestSingleInstanceLeaseLostMidRunStopsTheRun(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	locker := newLocker(t, clock)
	core, logs := observer.New(zap.WarnLevel)
	g := newGate()
	done := make(chan error, 1)
	go func() {
		x, err := RunOnce(context.Background(), Spec{Name: "etl", Job: g}, SingleInstance(),
			oneShot(clock, memory.New(), loseSingles{locker}, "batch-1"), WithEngineOptions(WithLogger(zap.New(core))))
		if err == nil && (x.State != store.StateCancelled || !strings.HasPrefix(x.Error, ErrLeaseLost.Error())) {
			err = errors.New("the run is " + string(x.State) + ": " + x.Error)
		}
		done <- err
	}()
	g.waitStarted(t)
	lost := func() int {
		return logs.FilterMessageSnippet("single-instance lease lost").FilterField(zap.String("key", "single/etl")).Len()
	}
	clock.Advance(LeaseRenewDefault)
	waitFor(t, "the loss logged", func() bool { return lost() > 0 })
	if err := <-done; err != nil {
		t.Fatalf("the run whose lease was lost: %v, want it cancelled with ErrLeaseLost", err)
	}
	close(g.release)
	if n := lost(); n != 1 {
		t.Errorf("the loss was logged %d times, want once", n)
	}
	if e := logs.FilterMessageSnippet("single-instance lease lost").All(); len(e) > 0 && e[0].Level != zap.ErrorLevel {
		t.Errorf("the loss was logged at %v, want Error", e[0].Level)
	}
	if n := logs.FilterMessageSnippet("releasing the single-instance lease").Len(); n != 0 {
		t.Errorf("a lost lease was released (%d warnings)", n)
	}
	// The lease itself lives on until its expiry: nothing released it.
	if l, err := locker.Get(context.Background(), singleKey("etl")); err != nil || !l.Live {
		t.Errorf("lease after the run: %+v, %v; want still live, unreleased", l, err)
	}
}
