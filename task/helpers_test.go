package task

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
	"github.com/taskmill/taskmill/store/memory"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testStart is where the fake clock starts: a Monday, 00:00 UTC.
var testStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// waitLimit bounds every wait on a signal in these tests (real time).
const waitLimit = 10 * time.Second

type bundle struct {
	eng   *Engine
	clock *clockwork.FakeClock
	store *memory.Store
}

// setup returns an engine on a fake clock and a memory store, shut down at
// the end of the test. It is not started.
func setup(t *testing.T, opts ...Option) *bundle {
	t.Helper()
	return setupAt(t, testStart, opts...)
}

func setupAt(t *testing.T, at time.Time, opts ...Option) *bundle {
	t.Helper()
	b := &bundle{clock: clockwork.NewFakeClockAt(at), store: memory.New()}
	all := append([]Option{WithClock(b.clock), WithStore(b.store), WithNodeID("node-1"), WithoutInitHooks()}, opts...)
	eng, err := New(all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.eng = eng
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := eng.Shutdown(ctx); err != nil && !errors.Is(err, ErrEngineClosed) {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return b
}

func (b *bundle) register(t *testing.T, specs ...Spec) {
	t.Helper()
	for _, s := range specs {
		if err := b.eng.Register(s); err != nil {
			t.Fatalf("Register(%q): %v", s.Name, err)
		}
	}
}

func (b *bundle) start(t *testing.T) {
	t.Helper()
	if err := b.eng.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// timers waits until the fake clock has at least n timers armed.
func (b *bundle) timers(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := b.clock.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("waiting for %d armed timers: %v", n, err)
	}
}

// advanceTo waits for the schedule's timer (n armed timers) and moves the
// clock to at.
func (b *bundle) advanceTo(t *testing.T, n int, at time.Time) {
	t.Helper()
	b.timers(t, n)
	d := at.Sub(b.clock.Now())
	if d < 0 {
		t.Fatalf("advanceTo(%v): clock is already at %v", at, b.clock.Now())
	}
	b.clock.Advance(d)
}

// waitFor polls cond every millisecond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// history returns a task's executions, oldest first.
func (b *bundle) history(t *testing.T, task string) []*store.Execution {
	t.Helper()
	page, err := b.store.ListExecutions(context.Background(), store.ExecutionFilter{Task: task, Limit: store.MaxListLimit})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	xs := page.Executions
	slices.Reverse(xs)
	return xs
}

// waitRecords waits until the task has n executions in a final state and
// returns its history.
func (b *bundle) waitRecords(t *testing.T, task string, n int) []*store.Execution {
	t.Helper()
	var xs []*store.Execution
	waitFor(t, "records of "+task, func() bool {
		xs = b.history(t, task)
		final := 0
		for _, x := range xs {
			if x.State.Final() {
				final++
			}
		}
		return final >= n
	})
	return xs
}

func (b *bundle) wait(t *testing.T, id uuid.UUID) *store.Execution {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	x, err := b.eng.Wait(ctx, id)
	if err != nil {
		t.Fatalf("Wait(%s): %v", id, err)
	}
	return x
}

func (b *bundle) runNow(t *testing.T, name string, opts ...RunOption) uuid.UUID {
	t.Helper()
	id, err := b.eng.RunNow(context.Background(), name, opts...)
	if err != nil {
		t.Fatalf("RunNow(%q): %v", name, err)
	}
	return id
}

func ok(context.Context) error { return nil }

// gate is a job that blocks until released (or its context ends) and
// reports each start.
type gate struct {
	started chan struct{}
	release chan struct{}
}

func newGate() *gate {
	return &gate{started: make(chan struct{}, 100), release: make(chan struct{})}
}

func (g *gate) Run(ctx context.Context) error {
	g.started <- struct{}{}
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(waitLimit):
		t.Fatal("job did not start")
	}
}

func scheduledTimes(xs []*store.Execution) []time.Time {
	out := make([]time.Time, len(xs))
	for i, x := range xs {
		out[i] = x.ScheduledAt.UTC()
	}
	return out
}

func states(xs []*store.Execution) []store.State {
	out := make([]store.State, len(xs))
	for i, x := range xs {
		out[i] = x.State
	}
	return out
}

// faultyStore wraps the memory store with hooks that can delay or fail
// writes.
type faultyStore struct {
	*memory.Store
	mu       sync.Mutex
	onCreate func(x *store.Execution) error // nil: pass through
	onUpdate func(x *store.Execution) error
}

func (f *faultyStore) hooks() (func(*store.Execution) error, func(*store.Execution) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.onCreate, f.onUpdate
}

func (f *faultyStore) CreateExecution(ctx context.Context, x *store.Execution) error {
	if h, _ := f.hooks(); h != nil {
		if err := h(x); err != nil {
			return err
		}
	}
	return f.Store.CreateExecution(ctx, x)
}

// CreateExecutions is the batch create (store.BatchCreator) with the same
// hook, one record at a time: fires create their records through it.
func (f *faultyStore) CreateExecutions(ctx context.Context, xs []*store.Execution) []error {
	h, _ := f.hooks()
	if h == nil {
		return f.Store.CreateExecutions(ctx, xs)
	}
	errs := make([]error, len(xs))
	for i, x := range xs {
		if errs[i] = h(x); errs[i] == nil {
			errs[i] = f.Store.CreateExecution(ctx, x)
		}
	}
	return errs
}

func (f *faultyStore) UpdateExecution(ctx context.Context, x *store.Execution) error {
	if _, h := f.hooks(); h != nil {
		if err := h(x); err != nil {
			return err
		}
	}
	return f.Store.UpdateExecution(ctx, x)
}

// setupFaulty is setup on a faultyStore.
func setupFaulty(t *testing.T) (*bundle, *faultyStore) {
	t.Helper()
	fs := &faultyStore{Store: memory.New()}
	b := setup(t, WithStore(fs))
	b.store = fs.Store
	return b, fs
}

func TestNewIDIsAVersion7UUID(t *testing.T) {
	t.Parallel()
	seen := map[uuid.UUID]bool{}
	before := time.Now().UnixMilli()
	prev := newID()
	for i := 0; i < 10000; i++ {
		id := newID()
		if backend.CompareIDs(prev, id) >= 0 {
			t.Fatalf("newID() = %s after %s: not increasing", id, prev)
		}
		prev = id
		if id.Version() != 7 || id.Variant() != uuid.RFC4122 || seen[id] {
			t.Fatalf("newID() = %s: version %d variant %v duplicate %v", id, id.Version(), id.Variant(), seen[id])
		}
		seen[id] = true
		ms := int64(id[0])<<40 | int64(id[1])<<32 | int64(id[2])<<24 | int64(id[3])<<16 | int64(id[4])<<8 | int64(id[5])
		if after := time.Now().UnixMilli() + 10; ms < before || ms > after { // the sequence may run ahead
			t.Fatalf("newID() = %s holds time %d, want between %d and %d", id, ms, before, after)
		}
	}
}
