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

// idleWorkers parks n workers on buffered channels (a hand-off does not
// wait for a goroutine) and returns them, the first parked first.
func idleWorkers(t *testing.T, w *workers, n int) []*worker {
	t.Helper()
	wks := make([]*worker, n)
	for i := range wks {
		wks[i] = &worker{ch: make(chan *run, 1)}
		w.mu.Lock()
		ok := w.parkLocked(wks[i])
		w.mu.Unlock()
		if !ok {
			t.Fatalf("park %d refused", i)
		}
	}
	return wks
}

// handed returns the run handed to a worker, if any, and whether its
// channel was closed (the worker ended).
func handed(wk *worker) (r *run, ended bool) {
	select {
	case r, ok := <-wk.ch:
		return r, !ok
	default:
		return nil, false
	}
}

// The janitor ends the workers idle since it last ran, the longest idle
// first, down to keepIdle; the ones woken meanwhile stay.
func TestWorkersTrimIdle(t *testing.T) {
	w := &workers{}
	const n = 100
	wks := idleWorkers(t, w, n)
	w.mu.Lock()
	w.low = n // as when the janitor was armed
	// 30 workers are woken: those that idled last.
	for range 30 {
		w.wakeLocked(false)
	}
	w.trimLocked()
	w.mu.Unlock()
	if len(w.idle) != keepIdle || w.low != keepIdle {
		t.Fatalf("%d idle (low %d) after the trim, want %d", len(w.idle), w.low, keepIdle)
	}
	for i, wk := range wks {
		_, ended := handed(wk)
		switch {
		case i < keepIdle && ended:
			t.Errorf("worker %d ended; the first %d stay", i, keepIdle)
		case i >= keepIdle && i < n-30 && !ended:
			t.Errorf("worker %d, idle all along, not ended", i)
		case i >= n-30 && ended:
			t.Errorf("worker %d, woken, ended", i)
		}
	}
}

// The janitor is armed once more than keepIdle workers wait; when it runs
// it ends those idle all along and disarms at keepIdle; close ends the rest
// and stops it.
func TestWorkersJanitor(t *testing.T) {
	w := &workers{}
	var wks []*worker
	for i := range keepIdle + 2 {
		wks = append(wks, idleWorkers(t, w, 1)...)
		if armed, want := w.janitor != nil, i+1 > keepIdle; armed != want {
			t.Fatalf("after %d parked: janitor armed %v, want %v", i+1, armed, want)
		}
	}
	// The janitor runs: the worker idle since it was armed ends; the one
	// that parked after stays, and the janitor with it.
	w.trim()
	if len(w.idle) != keepIdle+1 || w.janitor == nil {
		t.Fatalf("after the janitor's first run: %d idle, armed %v; want %d, armed", len(w.idle), w.janitor != nil, keepIdle+1)
	}
	if _, ended := handed(wks[keepIdle]); !ended {
		t.Errorf("the worker idle since the janitor was armed was not ended")
	}
	// It runs again: the other has now been idle a whole period.
	janitor := w.janitor
	w.trim()
	if len(w.idle) != keepIdle || w.janitor != nil {
		t.Fatalf("after the janitor's second run: %d idle, armed %v; want %d, disarmed", len(w.idle), w.janitor != nil, keepIdle)
	}
	if _, ended := handed(wks[keepIdle+1]); !ended {
		t.Errorf("the worker idle through a whole period was not ended")
	}
	if janitor.Stop() {
		t.Errorf("the janitor's timer was still armed after it disarmed")
	}
	w.close()
	for _, wk := range wks[:keepIdle] {
		if _, ended := handed(wk); !ended {
			t.Errorf("close left a worker waiting")
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.parkLocked(&worker{ch: make(chan *run)}) {
		t.Errorf("park after close accepted a worker")
	}
}

// A submission wakes workers only while fewer than drainers are awake; the
// rest waits in the queue for them. A worker that finds the queue empty
// counts itself out.
func TestWorkersWakeOnlyDrainers(t *testing.T) {
	w := &workers{}
	wks := idleWorkers(t, w, drainers+2)
	rs := make([]*run, drainers+3)
	for i := range rs {
		rs[i] = &run{}
	}
	w.submit(rs[:1]...)
	w.submit(rs[1:]...)
	w.mu.Lock()
	w.watch.Stop() // the test looks itself
	queued, awake := len(w.queue)-w.head, w.awake
	w.mu.Unlock()
	if queued != 3 || awake != drainers {
		t.Fatalf("%d queued, %d awake; want 3, %d", queued, awake, drainers)
	}
	for i, wk := range wks {
		r, _ := handed(wk)
		switch woken := i >= 2; {
		case woken && r != rs[len(wks)-1-i]:
			t.Errorf("worker %d (woken %d-th) was handed %p, want run %d", i, len(wks)-1-i, r, len(wks)-1-i)
		case !woken && r != nil:
			t.Errorf("worker %d was woken; only %d should be", i, drainers)
		}
	}
	// An awake worker takes the queued runs, then parks and counts out.
	wk := wks[len(wks)-1]
	for i := drainers; i < len(rs); i++ {
		if r, ok := w.next(wk); r != rs[i] || !ok {
			t.Fatalf("next = %p, %v; want queued run %d", r, ok, i)
		}
	}
	if r, ok := w.next(wk); r != nil || !ok || w.awake != drainers-1 {
		t.Fatalf("next on an empty queue = %p, %v with %d awake; want nil, true (parked), %d awake", r, ok, w.awake, drainers-1)
	}
}

// A fire's runs are drained from a queue by a few workers; when their jobs
// block, the watchdog gives every queued run a worker of its own: all the
// runs of a fire whose jobs all block start (here 300, more than two
// chunks), and are recorded when released.
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

// Runs queued behind jobs that block do not wait for them: while the first
// runs of a fire block, the others all run and end.
func TestFireRunsDoNotWaitBehindBlockingJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 200
	release := make(chan struct{})
	defer close(release)
	var blocked, ended atomic.Int64
	for i := range n {
		job := JobFunc(func(context.Context) error { ended.Add(1); return nil })
		if i < 4 { // the first in the queue, taken by the first workers
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

// The watchdog hands queued runs to workers of their own when none left
// the queue since it last looked, and only then: drainers runs at the
// first stalled look, twice as many at each further one in a row, and
// drainers again after a look that saw progress. The workers counted awake
// stop counting, so the next submission wakes others.
func TestWorkersWatchdog(t *testing.T) {
	queued := 5 * drainers
	w := &workers{}
	wks := idleWorkers(t, w, queued)
	w.mu.Lock()
	w.awake = drainers // busy with jobs that block
	w.mu.Unlock()
	rs := make([]*run, queued)
	for i := range rs {
		rs[i] = &run{}
	}
	w.submit(rs...)
	w.mu.Lock()
	w.watch.Stop() // the test calls look itself
	w.taken++      // as if an awake worker took a run (one not queued here)
	w.mu.Unlock()

	w.look() // progress since it was armed: nothing handed out
	if got := len(w.queue) - w.head; got != queued || !w.watching || len(w.idle) != queued || w.awake != drainers {
		t.Fatalf("after a look with progress: %d queued, watching %v, %d idle, %d awake; want %d, true, %d, %d",
			got, w.watching, len(w.idle), w.awake, queued, queued, drainers)
	}
	left := queued
	// Stalled looks in a row hand out drainers, then 2 × drainers runs.
	for i, n := range []int{drainers, 2 * drainers} {
		w.watch.Stop()
		gen := w.gen
		w.look()
		left -= n
		if got := len(w.queue) - w.head; got != left || !w.watching || len(w.idle) != left || w.awake != 0 || w.gen != gen+1 {
			t.Fatalf("after stalled look %d: %d queued, watching %v, %d idle, %d awake, generation +%d; want %d, true, %d, 0, +1",
				i+1, got, w.watching, len(w.idle), w.awake, w.gen-gen, left, left)
		}
	}
	// A look that saw progress starts the doubling again.
	w.watch.Stop()
	w.mu.Lock()
	w.taken++
	w.mu.Unlock()
	w.look()
	w.watch.Stop()
	w.look()
	left -= drainers
	if got := len(w.queue) - w.head; got != left || w.awake != 0 {
		t.Fatalf("after progress, then a stalled look: %d queued, %d awake; want %d, 0", got, w.awake, left)
	}
	// The next stalled look hands out the rest (fewer than it may).
	w.watch.Stop()
	w.look()
	if got := len(w.queue) - w.head; got != 0 || w.watching || len(w.idle) != 0 {
		t.Fatalf("after the last stalled look: %d queued, watching %v, %d idle; want 0, false, 0", got, w.watching, len(w.idle))
	}
	got := map[*run]bool{}
	for _, wk := range wks {
		r, _ := handed(wk)
		if r == nil {
			t.Fatal("an idle worker was handed no run")
		}
		if wk.counted {
			t.Errorf("a worker the watchdog woke is counted awake")
		}
		got[r] = true
	}
	for i, r := range rs {
		if !got[r] {
			t.Errorf("queued run %d was not handed out", i)
		}
	}
	// A worker of the old generation that ends its job does not count out
	// of the new one.
	old := &worker{counted: true, gen: w.gen - 1}
	idleWorkers(t, w, 1)
	w.submit(&run{}) // wakes it: none are awake now
	if w.awake != 1 {
		t.Fatalf("%d awake after a submission, want 1", w.awake)
	}
	if _, ok := w.next(old); !ok || w.awake != 1 {
		t.Fatalf("an old-generation worker parked: %d awake, want 1", w.awake)
	}
}

// Run-now goes through the same queue: with more runs whose jobs block
// than workers kept awake, every one still starts.
func TestRunNowOfBlockingJobsStartsEveryRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate()
	n := drainers + 3
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
	b.eng.pool.endDelay = time.Hour // the tests age the deferred ends themselves
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

// While a fire admits its runs a chunk at a time, the runs whose jobs
// returned are ended only once every chunk is admitted; their EndedAt is
// when the job returned.
func TestFireDefersEndsUntilItsRunsAreAdmitted(t *testing.T) {
	t.Parallel()
	const n = 3 * fireChunk
	fireAt := testStart.Add(time.Minute)
	var checked atomic.Bool
	b := setupBatchHook(t, n, func(b *bundle, returned *atomic.Int64, batch int) {
		if batch != 2 {
			return
		}
		// (The engine is set up with no delay bound: a slow machine must
		// not have the ends done between chunks.)
		// The first two chunks' jobs return while the third is being
		// admitted; their ends wait, their records stay running.
		p := &b.eng.pool
		deferred := func() int {
			p.mu.Lock()
			defer p.mu.Unlock()
			return len(p.ends)
		}
		if !eventually(func() bool { return deferred() == 2*fireChunk }) {
			t.Errorf("%d of the first two chunks' %d jobs returned, %d ends deferred",
				returned.Load(), 2*fireChunk, deferred())
			return
		}
		if got := b.stateCounts(t); got[store.StateRunning] != 2*fireChunk {
			t.Errorf("records while the fire admits its last chunk: %v; want %d running", got, 2*fireChunk)
		}
		b.clock.Advance(time.Second) // the ends happen later than the jobs' returns
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
	late := 0
	for _, x := range page.Executions {
		if !x.EndedAt.Equal(fireAt) {
			late++
		}
	}
	// The last chunk's jobs may return after the clock moved.
	if late > fireChunk {
		t.Errorf("%d records end after the fire's time; the deferred ends must record when their jobs returned", late)
	}
}

// A fire whose admission is slow does not hold the ends back for long: at
// the next chunk after maxEndDelay, the ends deferred so far are done.
func TestDeferredEndsAreDoneAfterMaxEndDelay(t *testing.T) {
	t.Parallel()
	const n = 4 * fireChunk
	var checked atomic.Bool
	b := setupBatchHook(t, n, func(b *bundle, returned *atomic.Int64, batch int) {
		switch batch {
		case 2:
			if !eventually(func() bool { return returned.Load() == 2*fireChunk }) {
				t.Errorf("%d of the first two chunks' %d jobs returned", returned.Load(), 2*fireChunk)
				return
			}
			p := &b.eng.pool
			p.mu.Lock()
			p.endsAt = time.Now().Add(-p.endDelay) // as if the admission had been slow
			p.mu.Unlock()
		case 3:
			// Before the last chunk: the first two chunks' runs ended.
			if !eventually(func() bool { return b.stateCounts(t)[store.StateSucceeded] >= 2*fireChunk }) {
				t.Errorf("before the last chunk, records %v; want the first two chunks' %d succeeded",
					b.stateCounts(t), 2*fireChunk)
			}
			checked.Store(true)
		}
	})
	b.advanceTo(t, 1, testStart.Add(time.Minute))
	waitFor(t, "every run to be recorded", func() bool { return b.stateCounts(t)[store.StateSucceeded] == n })
	if !checked.Load() {
		t.Fatal("the fire did not create a fourth batch of records")
	}
}

// At most maxDeferredEnds ends wait for a fire's admission; the ends of
// runs that return after that are done at once.
func TestDeferredEndsAreBounded(t *testing.T) {
	t.Parallel()
	chunks := maxDeferredEnds/fireChunk + 2
	n := chunks * fireChunk
	var checked atomic.Bool
	b := setupBatchHook(t, n, func(b *bundle, returned *atomic.Int64, batch int) {
		if batch != chunks-1 {
			return
		}
		before := int64(n - fireChunk) // the jobs of every chunk but the last
		if !eventually(func() bool { return returned.Load() == before }) {
			t.Errorf("%d of the first chunks' %d jobs returned", returned.Load(), before)
			return
		}
		if !eventually(func() bool { return b.stateCounts(t)[store.StateRunning] <= maxDeferredEnds }) {
			t.Errorf("before the last chunk, records %v; want at most %d running (deferred)",
				b.stateCounts(t), maxDeferredEnds)
		}
		checked.Store(true)
	})
	b.advanceTo(t, 1, testStart.Add(time.Minute))
	waitFor(t, "every run to be recorded", func() bool { return b.stateCounts(t)[store.StateSucceeded] == n })
	if !checked.Load() {
		t.Fatal("the fire did not create its last batch of records")
	}
}
