package task

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// startAdvancing runs eng.Start, which may wait for a held node lease,
// advancing clock by one of its polls every millisecond until it returns,
// and returns its error.
func startAdvancing(t *testing.T, clock *clockwork.FakeClock, eng *Engine) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- eng.Start(context.Background()) }()
	limit := time.After(waitLimit)
	for {
		select {
		case err := <-done:
			return err
		case <-limit:
			t.Fatal("Start did not return")
		case <-time.After(time.Millisecond):
			clock.Advance(eng.cfg.lease.every / nodeLeaseWaitPolls)
		}
	}
}

// restartStart starts b, an engine with the node id of another on
// lockClock, while that one holds the node lease. b runs on a fake clock
// of its own, pollClock, so that only its Start waits on it: each step
// waits until b waits for its next poll, then advances both clocks by a
// poll and calls step (if not nil) with the locker's time. It returns
// Start's error and the locker's time when Start returned.
func restartStart(t *testing.T, lockClock, pollClock *clockwork.FakeClock, b *Engine, ctx context.Context, step func(now time.Time)) (error, time.Time) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.Start(ctx) }()
	wctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	poll := b.cfg.lease.every / nodeLeaseWaitPolls
	var seen int64
	for {
		select {
		case err := <-done:
			return err, lockClock.Now()
		default:
		}
		// Once Start has read the lease and waits for its next poll:
		// both clocks move one poll on, and nothing else moves them.
		n := b.leaseWaits.Load()
		if n == seen {
			if wctx.Err() != nil {
				t.Fatal("Start neither returned nor waited for its next poll")
			}
			time.Sleep(time.Millisecond)
			continue
		}
		seen = n
		lockClock.Advance(poll)
		pollClock.Advance(poll)
		if step != nil {
			step(lockClock.Now())
		}
	}
}

// A process restarted under the same node id after its earlier process
// was killed: Start waits for the dead lease to expire, then takes it and
// marks the dead process's run abandoned.
func TestStartWaitsForTheLeaseOfADeadEarlierProcess(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := newCrashable(t, clock, st, locker, "host-1")
	id := startLong(t, a.eng)
	dead := getLease(t, locker, "host-1")
	a.crash(t)

	pollClock := clockwork.NewFakeClockAt(testStart)
	b := member(t, pollClock, st, locker, "host-1")
	err, at := restartStart(t, clock, pollClock, b, context.Background(), nil)
	if err != nil {
		t.Fatalf("Start after the earlier process died: %v", err)
	}
	l := getLease(t, locker, "host-1")
	// Within one poll of the dead lease's expiry (restartStart moves the
	// clocks one poll at a time, each once Start waits for its next).
	poll := b.cfg.lease.every / nodeLeaseWaitPolls
	if !l.Live || l.Token <= dead.Token || l.Acquired.Before(dead.Expires) || l.Acquired.After(dead.Expires.Add(poll)) {
		t.Fatalf("lease after Start = %+v, want a new grant made within %v after the dead lease's expiry %v", l, poll, dead.Expires)
	}
	t.Logf("the new grant came %v after the dead lease's last renewal (TTL %v); Start returned by %v", l.Acquired.Sub(dead.Renewed), LeaseTTLDefault, at.Sub(dead.Renewed))
	x := getExecution(t, st, id)
	if x.State != store.StateAbandoned || x.Error != "node host-1 last renewed 2026-01-05T00:00:00Z" {
		t.Fatalf("the dead process's run: %s %q, want abandoned, naming the node", x.State, x.Error)
	}
}

// A live engine holding the node id renews its lease: the second Start
// fails as soon as it sees the renewal, not at the end of its wait.
func TestStartFailsOnceItSeesTheHolderRenew(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	locker := newLocker(t, clock)
	st := memory.New()
	a := member(t, clock, st, locker, "host-1")
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	held := getLease(t, locker, "host-1")
	pollClock := clockwork.NewFakeClockAt(testStart)
	b := member(t, pollClock, st, locker, "host-1")
	renewal := testStart.Add(LeaseRenewDefault)
	err, at := restartStart(t, clock, pollClock, b, context.Background(), func(now time.Time) {
		if now.Equal(renewal) {
			waitFor(t, "A's renewal", func() bool { return getLease(t, locker, "host-1").Renewed.Equal(renewal) })
		}
	})
	if !errors.Is(err, lock.ErrHeld) || !strings.Contains(err.Error(), "renewed since Start found it held") {
		t.Fatalf("Start while A renews: %v, want lock.ErrHeld saying the lease was renewed", err)
	}
	if at.After(renewal.Add(LeaseRenewDefault / nodeLeaseWaitPolls)) {
		t.Errorf("Start returned at %v, want by one poll after A's renewal at %v", at, renewal)
	}
	if l := getLease(t, locker, "host-1"); !l.Live || l.Token != held.Token {
		t.Fatalf("lease = %+v, want A's (token %d), live", l, held.Token)
	}
}

// Start's wait for a held node lease ends with its context.
func TestStartWaitForANodeLeaseEndsWithItsContext(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	locker := newLocker(t, clock)
	st := memory.New()
	a := newCrashable(t, clock, st, locker, "host-1")
	startLong(t, a.eng)
	a.crash(t)
	pollClock := clockwork.NewFakeClockAt(testStart)
	b := member(t, pollClock, st, locker, "host-1")
	ctx, cancel := context.WithCancel(context.Background())
	err, _ := restartStart(t, clock, pollClock, b, ctx, func(now time.Time) {
		if now.Equal(testStart.Add(2 * time.Second)) {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `"host-1"`) {
		t.Fatalf("Start with its context cancelled while waiting: %v, want context.Canceled naming the node", err)
	}
}
