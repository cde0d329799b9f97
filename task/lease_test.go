package task

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
	"github.com/taskmill/taskmill/store/sqlite"
)

// newLocker is an in-memory locker on clock, as the engines of a test
// cluster share it.
func newLocker(t *testing.T, clock clockwork.Clock) *lock.Memory {
	t.Helper()
	l, err := lock.NewMemory(lock.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// member is an engine of a test cluster: on clock, st and locker, named
// node, shut down at the end of the test. It is not started.
func member(t *testing.T, clock clockwork.Clock, st store.Store, locker lock.Locker, node string, opts ...Option) *Engine {
	t.Helper()
	all := append([]Option{WithClock(clock), WithStore(st), WithLocker(locker), WithNodeID(node), WithoutInitHooks()}, opts...)
	eng, err := New(all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := eng.Shutdown(ctx); err != nil && !errors.Is(err, ErrEngineClosed) {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return eng
}

func getLease(t *testing.T, l lock.Locker, node string) lock.Lease {
	t.Helper()
	ls, err := l.Get(context.Background(), nodeKey(node))
	if err != nil {
		t.Fatalf("Get(%s): %v", nodeKey(node), err)
	}
	return ls
}

func TestWithLeaseRejectsBadIntervals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ttl, every time.Duration
		want       string
	}{
		{0, time.Second, "TTL 0s must be positive"},
		{-time.Second, time.Millisecond, "TTL -1s must be positive"},
		{time.Second, 0, "renewal interval 0s must be positive"},
		{time.Second, -time.Second, "renewal interval -1s must be positive"},
		{time.Second, time.Second, "renewal interval 1s must be shorter than the TTL 1s"},
		{time.Second, 2 * time.Second, "renewal interval 2s must be shorter than the TTL 1s"},
	} {
		_, err := New(WithLease(c.ttl, c.every))
		if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "WithLease") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WithLease(%v, %v): error %v, want ErrInvalidOption naming WithLease and saying %q", c.ttl, c.every, err, c.want)
		}
	}
	if _, err := New(WithLease(3*time.Second, time.Second)); err != nil {
		t.Errorf("WithLease(3s, 1s): %v", err)
	}
}

func TestNodeLeaseHeldFromStartRenewedAndReleasedAtShutdown(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	locker := newLocker(t, clock)
	eng := member(t, clock, memory.New(), locker, "node-1")
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	l := getLease(t, locker, "node-1")
	if !l.Live || !l.Expires.Equal(testStart.Add(LeaseTTLDefault)) || !strings.HasPrefix(l.Owner, "node-1#") {
		t.Fatalf("lease after Start = %+v, want live until Start + %v, owned by node-1#...", l, LeaseTTLDefault)
	}
	// Four renewal intervals: well past the TTL, renewed every interval.
	for i := 1; i <= 4; i++ {
		at := testStart.Add(time.Duration(i) * LeaseRenewDefault)
		clock.Advance(LeaseRenewDefault)
		waitFor(t, "the renewal at "+at.String(), func() bool { return getLease(t, locker, "node-1").Renewed.Equal(at) })
	}
	if l2 := getLease(t, locker, "node-1"); !l2.Live || l2.Token != l.Token {
		t.Fatalf("lease after renewals = %+v, want live with token %d", l2, l.Token)
	}
	if err := eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l := getLease(t, locker, "node-1"); l.Live {
		t.Fatalf("lease after Shutdown = %+v, want released", l)
	}
}

func TestStartFailsWhenTheNodeIDIsInUse(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	locker := newLocker(t, clock)
	st := memory.New()
	a := member(t, clock, st, locker, "host-1/4242")
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := member(t, clock, st, locker, "host-1/4242")
	// B waits for the lease, which A renews: A is alive.
	err := startAdvancing(t, clock, b)
	if !errors.Is(err, lock.ErrHeld) || !strings.Contains(err.Error(), `"host-1/4242"`) {
		t.Fatalf("second Start on node id host-1/4242: %v, want lock.ErrHeld naming the node", err)
	}
	// Once the first engine has gone, the node id is free again.
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("Start after the other engine's Shutdown: %v", err)
	}
}

func TestNodeLeaseLostIsAcquiredAgain(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	locker := newLocker(t, clock)
	eng := member(t, clock, memory.New(), locker, "node-1")
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := getLease(t, locker, "node-1")
	// One step past the TTL: the lease expired before the renewer ran.
	clock.Advance(LeaseTTLDefault + time.Second)
	waitFor(t, "a new grant", func() bool {
		l := getLease(t, locker, "node-1")
		return l.Live && l.Token > first.Token
	})
}

// lockerStore is a memory store that provides a locker, as the SQL stores do.
type lockerStore struct {
	*memory.Store
	l lock.Locker
}

func (s lockerStore) Locker() lock.Locker { return s.l }

func TestNodeLeaseDefaultsToTheStoresLocker(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	locker := newLocker(t, clock)
	st := lockerStore{memory.New(), locker}
	eng, err := New(WithClock(clock), WithStore(st), WithNodeID("node-1"), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l := getLease(t, locker, "node-1"); !l.Live {
		t.Fatalf("lease = %+v, want live", l)
	}
	if err := eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// WithLocker(nil) turns the lease off, even on such a store.
	off, err := New(WithClock(clock), WithStore(st), WithNodeID("node-2"), WithLocker(nil), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	if err := off.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer off.Shutdown(context.Background())
	if _, err := locker.Get(context.Background(), nodeKey("node-2")); !errors.Is(err, lock.ErrNotFound) {
		t.Fatalf("Get(node/node-2) with WithLocker(nil): %v, want lock.ErrNotFound", err)
	}
}

// TestNodeLeaseOnSQLite takes the node lease from the store's own locker,
// and a second engine on the same file with the same node id is refused.
func TestNodeLeaseOnSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "taskmill.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := clockwork.NewFakeClockAt(testStart)
	a, err := New(WithClock(clock), WithStore(st), WithNodeID("node-1"), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if l := getLease(t, st.Locker(), "node-1"); !l.Live {
		t.Fatalf("lease after Start = %+v, want live", l)
	}
	b, err := New(WithClock(clock), WithStore(st), WithNodeID("node-1"), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	if err := startAdvancing(t, clock, b); !errors.Is(err, lock.ErrHeld) {
		t.Errorf("second Start with node id node-1: %v, want lock.ErrHeld", err)
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Error(err)
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if l := getLease(t, st.Locker(), "node-1"); l.Live {
		t.Fatalf("lease after Shutdown = %+v, want released", l)
	}
}
