package task

import (
	"context"
	"errors"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// An engine cut off from the store and the locker stops its run once its
// lease has lapsed for a TTL (the job's context ends with ErrLeaseLost);
// another engine marks the run abandoned; and when the cut-off engine
// reaches the store again, its late end write does not overwrite the
// abandoned record.
func TestStaleHolderStopsItsRunAndItsLateEndIsFenced(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := newCrashable(t, clock, st, locker, "host-1/1")
	b := member(t, clock, st, locker, "host-2/2")
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	started, causes, proceed := make(chan struct{}, 1), make(chan error, 1), make(chan struct{})
	job := JobFunc(func(ctx context.Context) error {
		started <- struct{}{}
		<-ctx.Done()
		causes <- context.Cause(ctx)
		<-proceed
		return ctx.Err()
	})
	if err := a.eng.Register(Spec{Name: "long", Job: job}); err != nil {
		t.Fatal(err)
	}
	if err := a.eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id, err := a.eng.RunNow(context.Background(), "long")
	if err != nil {
		t.Fatal(err)
	}
	<-started
	a.crash(t)

	var cause error
	var x *store.Execution
	for range 10 {
		sweepRound(t, clock, b)
		select {
		case cause = <-causes:
		default:
		}
		if x = getExecution(t, st, id); x.State == store.StateAbandoned && cause != nil {
			break
		}
	}
	if !errors.Is(cause, ErrLeaseLost) {
		t.Fatalf("the job's context cause = %v, want ErrLeaseLost", cause)
	}
	if x.State != store.StateAbandoned {
		t.Fatalf("state = %v, want abandoned by the other engine", x.State)
	}

	// A reaches the store again; its job returns; its end write is
	// refused, and the record stays as B wrote it.
	a.store.mu.Lock()
	a.store.onUpdate = nil
	a.store.mu.Unlock()
	close(proceed)
	waitFor(t, "the stale run's end", func() bool { return a.eng.runs.empty() })
	if got := getExecution(t, st, id); got.State != store.StateAbandoned || got.Error != x.Error || !got.EndedAt.Equal(x.EndedAt) {
		t.Errorf("after the stale end: %s at %v (%q), want abandoned at %v (%q)", got.State, got.EndedAt, got.Error, x.EndedAt, x.Error)
	}
}

// A run stopped because its lease lapsed, and not abandoned by anyone
// (no other engine), is recorded cancelled with ErrLeaseLost.
func TestLeaseLapseWithNoOtherEngineRecordsTheRunCancelled(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := newCrashable(t, clock, st, locker, "host-1/1")
	id := startLong(t, a.eng)
	a.locker.crashed.Store(true) // the locker only: the store still answers
	t.Cleanup(func() { a.locker.crashed.Store(false) })
	// The last renewal was at Start: the run goes on until a TTL later.
	for clock.Since(testStart)+LeaseRenewDefault < LeaseTTLDefault {
		sweepRound(t, clock, a.eng)
		if x := getExecution(t, st, id); x.State != store.StateRunning {
			t.Fatalf("state %v after %v, before the lease lapsed", x.State, clock.Since(testStart))
		}
	}
	sweepRound(t, clock, a.eng)
	waitFor(t, "the run's end", func() bool { return getExecution(t, st, id).State.Final() })
	x := getExecution(t, st, id)
	if x.State != store.StateCancelled {
		t.Fatalf("state = %v, want cancelled", x.State)
	}
	if want := ErrLeaseLost.Error(); len(x.Error) < len(want) || x.Error[:len(want)] != want {
		t.Errorf("Error = %q, want it to start with %q", x.Error, want)
	}
}

// Cancel called on one engine stops a run of another at that engine's
// next sweep.
func TestCancelFromAnotherEngine(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := member(t, clock, st, locker, "host-1/1")
	b := member(t, clock, st, locker, "host-2/2")
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := startLong(t, a)
	if err := b.Cancel(context.Background(), id); err != nil {
		t.Fatalf("Cancel on the other engine: %v", err)
	}
	if !getExecution(t, st, id).CancelRequested {
		t.Fatal("CancelRequested not stored")
	}
	sweepRound(t, clock, a, b)
	x, err := a.Wait(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if x.State != store.StateCancelled {
		t.Fatalf("state = %v, want cancelled", x.State)
	}
	// Ended: a second Cancel says so, from either engine.
	for _, eng := range []*Engine{a, b} {
		if err := eng.Cancel(context.Background(), id); !errors.Is(err, ErrNotRunning) {
			t.Errorf("Cancel of an ended run = %v, want ErrNotRunning", err)
		}
	}
}

// A job reads its fencing token; the token of a later run is greater.
func TestFencingToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tokens := make(chan int64, 4)
	job := JobFunc(func(ctx context.Context) error {
		for range 2 { // the second call returns the value read
			f, err := FencingToken(ctx)
			if err != nil {
				return err
			}
			tokens <- f
		}
		return nil
	})
	b.register(t, Spec{Name: "fenced", Job: job})
	b.start(t)
	var got []int64
	for range 2 {
		if x := b.wait(t, b.runNow(t, "fenced")); x.State != store.StateSucceeded {
			t.Fatalf("run: %s %s", x.State, x.Error)
		}
		got = append(got, <-tokens, <-tokens)
	}
	if got[0] <= 0 || got[1] != got[0] || got[2] <= got[0] || got[3] != got[2] {
		t.Errorf("tokens = %v, want two equal positive ones, then two equal greater ones", got)
	}
	if _, err := FencingToken(context.Background()); err == nil {
		t.Error("FencingToken outside a run: no error")
	}
}
