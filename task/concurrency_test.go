package task

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// Every run of a fire whose jobs all block starts (here 300, more than two
// chunks): no run waits for another's job. Each is recorded when released.
func TestFireOfBlockingJobsStartsEveryRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 300
	var started atomic.Int64
	release := make(chan struct{})
	job := JobFunc(func(ctx context.Context) error {
		started.Add(1)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	for i := range n {
		b.register(t, Spec{Name: fmt.Sprintf("block-%03d", i), Schedule: cron.Every(time.Minute), Job: job})
	}
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Minute))
	waitFor(t, fmt.Sprintf("%d jobs to start together", n), func() bool { return started.Load() == n })
	close(release)
	waitFor(t, "every run recorded", func() bool {
		xs, err := store.ListAll(context.Background(), b.store, store.ExecutionFilter{States: []store.State{store.StateSucceeded}, Limit: store.MaxListLimit})
		if err != nil {
			t.Fatal(err)
		}
		return len(xs) == n
	})
}

// While the first runs of a fire block, the others all run and end.
func TestFireRunsDoNotWaitBehindBlockingJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 200
	release := make(chan struct{})
	defer close(release)
	var blocked, ended atomic.Int64
	for i := range n {
		job := JobFunc(func(context.Context) error { ended.Add(1); return nil })
		if i < 4 { // the first admitted
			job = func(ctx context.Context) error {
				blocked.Add(1)
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}
		}
		b.register(t, Spec{Name: fmt.Sprintf("t-%03d", i), Schedule: cron.Every(time.Minute), Job: job})
	}
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Minute))
	waitFor(t, "the other runs to end while four jobs block", func() bool {
		return blocked.Load() == 4 && ended.Load() == n-4
	})
}

// Runs started by RunNow whose jobs block all start: none waits for
// another's job.
func TestRunNowOfBlockingJobsStartsEveryRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate()
	const n = 16
	for i := range n {
		b.register(t, Spec{Name: fmt.Sprintf("block-%d", i), Job: g})
	}
	b.start(t)
	ids := make([]uuid.UUID, n)
	for i := range n {
		ids[i] = b.runNow(t, fmt.Sprintf("block-%d", i))
	}
	for range n {
		g.waitStarted(t)
	}
	close(g.release)
	for _, id := range ids {
		if x := b.wait(t, id); x.State != store.StateSucceeded {
			t.Fatalf("run %s: %s", id, x.State)
		}
	}
}

// batchHookStore calls hook with the number of each batch of records a fire
// creates (0 first) before creating it.
type batchHookStore struct {
	*memory.Store
	batches atomic.Int64
	hook    func(batch int)
}

func (s *batchHookStore) CreateExecutions(ctx context.Context, es []*store.Execution) []error {
	s.hook(int(s.batches.Add(1) - 1))
	return s.Store.CreateExecutions(ctx, es)
}

// setupBatchHook registers n tasks on one schedule, whose jobs count their
// returns, on a batchHookStore, and starts the engine.
func setupBatchHook(t *testing.T, n int, hook func(b *bundle, returned *atomic.Int64, batch int)) *bundle {
	t.Helper()
	bs := &batchHookStore{Store: memory.New()}
	b := setup(t, WithStore(bs))
	b.store = bs.Store
	var returned atomic.Int64
	bs.hook = func(batch int) { hook(b, &returned, batch) }
	job := JobFunc(func(context.Context) error { returned.Add(1); return nil })
	for i := range n {
		b.register(t, Spec{Name: fmt.Sprintf("t-%04d", i), Schedule: cron.Every(time.Minute), Job: job})
	}
	b.start(t)
	return b
}

// eventually polls cond every millisecond for up to waitLimit and reports
// whether it came to hold: waitFor for goroutines other than the test's,
// where t.Fatal must not be called.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// stateCounts counts the stored records by state (up to
// store.MaxListLimit of them).
func (b *bundle) stateCounts(t *testing.T) map[store.State]int {
	t.Helper()
	page, err := b.store.ListExecutions(context.Background(), store.ExecutionFilter{Limit: store.MaxListLimit})
	got := map[store.State]int{}
	if err != nil {
		t.Errorf("ListExecutions: %v", err) // not Fatal: store hooks call this off the test's goroutine
		return got
	}
	for _, x := range page.Executions {
		got[x.State]++
	}
	return got
}

// A run's record reads running only while its job runs: while a fire
// still admits its last chunk (its batch of records blocked here), the
// runs of its first chunks, whose jobs returned, are already recorded
// ended, with the time their jobs returned.
func TestRunEndsWhileItsFireStillAdmits(t *testing.T) {
	t.Parallel()
	const n = 3 * fireChunk
	fireAt := testStart.Add(time.Minute)
	var checked atomic.Bool
	b := setupBatchHook(t, n, func(b *bundle, returned *atomic.Int64, batch int) {
		if batch != 2 {
			return
		}
		if !eventually(func() bool { return b.stateCounts(t)[store.StateSucceeded] == 2*fireChunk }) {
			t.Errorf("while the fire admits its last chunk, %d of the first two chunks' %d jobs returned; records: %v; want %d succeeded",
				returned.Load(), 2*fireChunk, b.stateCounts(t), 2*fireChunk)
			return
		}
		checked.Store(true)
	})
	b.advanceTo(t, 1, fireAt)
	waitFor(t, "every run to be recorded", func() bool { return b.stateCounts(t)[store.StateSucceeded] == n })
	if !checked.Load() {
		t.Fatal("the fire did not create a third batch of records")
	}
	page, err := b.store.ListExecutions(context.Background(), store.ExecutionFilter{Limit: store.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range page.Executions {
		if !x.EndedAt.Equal(fireAt) {
			t.Fatalf("run %s ended at %s; the clock stayed at %s", x.Task, x.EndedAt, fireAt)
		}
	}
}
