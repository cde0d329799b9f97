package task

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// maxIdleWorkers bounds the goroutines kept waiting for runs: enough for a
// burst of RunNow calls or a fire's runs whose jobs wait on I/O. (A fire
// yields between its chunks so that its runs do not pile up: see fireAll.)
const maxIdleWorkers = 1024

// Workers idle through a whole trimEvery are ended, down to keepIdle: a
// burst does not leave a thousand goroutines behind for good. One timer
// per pool (real time: this is housekeeping, not scheduling, and a fake
// clock in tests must not count it) is armed while more than keepIdle
// workers wait.
const (
	trimEvery = time.Minute
	keepIdle  = 64
)

// workers runs executions on reused goroutines: a run handed to an idle
// worker skips creating a goroutine and growing its stack, which for short
// jobs cost more than the job. With no idle worker a new one starts.
//
// A run started on its own (submit: run-now, a graph step, a queued run)
// gets a worker of its own at once. A fire's runs (submitAll) go to a queue
// instead, drained by a few workers (drainers per batch) that take one run
// after another: handing each run to a worker of its own was a goroutine
// wake and park per run, a fifth of the CPU of a fire of 10,000 tasks
// (bench/README.md). Runs in the queue would wait behind jobs that block;
// a watchdog (real time: the engine's clock may be fake) sees when no run
// has left the queue for stallAfter and gives every queued run a worker of
// its own. So a run waits for another's job at most about stallAfter.
type workers struct {
	mu     sync.Mutex
	idle   []chan *run // idle workers, each waiting on its own channel; the last idled last
	closed bool
	// low is the fewest idle workers since the janitor was armed or last
	// ran: idle[:low] have waited since then.
	low     int
	janitor *time.Timer // armed while more than keepIdle wait

	queue    []*run // runs waiting for a drainer: queue[head:]
	head     int
	taken    uint64      // runs taken from the queue, ever
	watched  uint64      // taken when the watchdog last looked
	watch    *time.Timer // the watchdog; runs while watching
	watching bool
}

// stallAfter is how long the queue may make no progress before each of its
// runs gets a worker of its own.
const stallAfter = time.Millisecond

// drainers is how many workers a batch of runs wakes to drain the queue:
// as many as run at once.
var drainers = max(2, runtime.GOMAXPROCS(0))

// submit starts r on an idle worker or a new goroutine.
func (w *workers) submit(r *run) {
	w.mu.Lock()
	if ch := w.popIdleLocked(); ch != nil {
		w.mu.Unlock()
		ch <- r
		return
	}
	w.mu.Unlock()
	go w.work(r)
}

// submitAll queues rs, in order, and wakes drainers to take them.
func (w *workers) submitAll(rs []*run) {
	if len(rs) == 0 {
		return
	}
	w.mu.Lock()
	w.queue = append(w.queue, rs...)
	var (
		start [8]*run // the first runs of the new drainers, handed directly
		chans [8]chan *run
		n     = min(len(rs), drainers, len(start))
	)
	for i := range n {
		start[i] = w.takeLocked()
		chans[i] = w.popIdleLocked()
	}
	if !w.watching && w.head < len(w.queue) {
		w.watchLocked()
	}
	w.mu.Unlock()
	for i := range n {
		if chans[i] != nil {
			chans[i] <- start[i]
		} else {
			go w.work(start[i])
		}
	}
}

// popIdleLocked takes the idle worker that idled last, or returns nil;
// w.mu must be held.
func (w *workers) popIdleLocked() chan *run {
	n := len(w.idle)
	if n == 0 || w.closed {
		return nil
	}
	ch := w.idle[n-1]
	w.idle = w.idle[:n-1]
	w.low = min(w.low, n-1)
	return ch
}

// takeLocked takes the first queued run, or returns nil; w.mu must be held.
func (w *workers) takeLocked() *run {
	if w.head == len(w.queue) {
		return nil
	}
	r := w.queue[w.head]
	w.queue[w.head] = nil
	w.head++
	w.taken++
	if w.head == len(w.queue) {
		w.queue, w.head = w.queue[:0], 0
	}
	return r
}

// watchLocked arms the watchdog; w.mu must be held.
func (w *workers) watchLocked() {
	w.watching, w.watched = true, w.taken
	if w.watch == nil {
		w.watch = time.AfterFunc(stallAfter, w.look)
	} else {
		w.watch.Reset(stallAfter)
	}
}

// look is the watchdog: if no run left the queue since it last looked, the
// drainers are in jobs that block (or the machine is starved), and every
// queued run gets a worker of its own. It stays armed while runs are
// queued.
func (w *workers) look() {
	w.mu.Lock()
	var stuck []*run
	if w.taken == w.watched {
		stuck = make([]*run, 0, len(w.queue)-w.head)
		for r := w.takeLocked(); r != nil; r = w.takeLocked() {
			stuck = append(stuck, r)
		}
	}
	w.watching = false
	if w.head < len(w.queue) {
		w.watchLocked()
	}
	w.mu.Unlock()
	for _, r := range stuck {
		w.submit(r)
	}
}

// work runs r, then the queued runs, then waits for more while there is
// room among the idle.
func (w *workers) work(r *run) {
	var ch chan *run // made when the worker first waits
	for r != nil {
		r.execute()
		if ch == nil {
			ch = make(chan *run)
		}
		var ok bool
		if r, ok = w.next(ch); !ok {
			return
		}
		if r == nil {
			r = <-ch // nil when closed
		}
	}
}

// next takes a queued run, or else parks the worker: it adds its channel
// to the idle, arming the janitor when more than keepIdle wait. It reports
// false if the worker should end instead: nothing is queued and the pool is
// closed or has maxIdleWorkers idle.
func (w *workers) next(ch chan *run) (*run, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.takeLocked(); r != nil {
		return r, true
	}
	return nil, w.parkLocked(ch)
}

// park adds an idle worker's channel (see next).
func (w *workers) park(ch chan *run) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.parkLocked(ch)
}

func (w *workers) parkLocked(ch chan *run) bool {
	if w.closed || len(w.idle) >= maxIdleWorkers {
		return false
	}
	w.idle = append(w.idle, ch)
	if len(w.idle) > keepIdle && w.janitor == nil {
		w.low = len(w.idle)
		w.janitor = time.AfterFunc(trimEvery, w.trim)
	}
	return true
}

// trim is the janitor: it ends the workers idle since it was armed or last
// ran, keeping keepIdle, and stays armed while more than keepIdle wait.
func (w *workers) trim() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.trimLocked()
	switch {
	case len(w.idle) <= keepIdle:
		if w.janitor != nil {
			w.janitor.Stop()
			w.janitor = nil
		}
	case w.janitor == nil:
		w.janitor = time.AfterFunc(trimEvery, w.trim)
	default:
		w.janitor.Reset(trimEvery)
	}
}

// trimLocked ends the workers idle since the last trim, keeping keepIdle;
// w.mu must be held.
func (w *workers) trimLocked() {
	if w.low > keepIdle {
		for _, ch := range w.idle[keepIdle:w.low] {
			close(ch)
		}
		w.idle = slices.Delete(w.idle, keepIdle, w.low)
	}
	w.low = len(w.idle)
}

// close ends the idle workers; busy ones end after their run.
func (w *workers) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.janitor != nil {
		w.janitor.Stop()
	}
	for _, ch := range w.idle {
		close(ch)
	}
	w.idle = nil
}

// runTable is the runs in flight on an engine, by execution ID, under a
// lock of its own: a run's end removes itself without taking the engine's
// lock, which fires hold while they admit a chunk of runs.
type runTable struct {
	mu sync.Mutex
	m  map[uuid.UUID]*run
}

func (t *runTable) add(r *run) {
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[uuid.UUID]*run)
	}
	t.m[r.exec.ID] = r
	t.mu.Unlock()
}

// addAll adds the runs that are not nil.
func (t *runTable) addAll(rs []*run) {
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[uuid.UUID]*run)
	}
	for _, r := range rs {
		if r != nil {
			t.m[r.exec.ID] = r
		}
	}
	t.mu.Unlock()
}

func (t *runTable) remove(id uuid.UUID) {
	t.mu.Lock()
	delete(t.m, id)
	t.mu.Unlock()
}

// get returns the run with the ID, or nil.
func (t *runTable) get(id uuid.UUID) *run {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// all returns the runs in flight.
func (t *runTable) all() []*run {
	t.mu.Lock()
	defer t.mu.Unlock()
	rs := make([]*run, 0, len(t.m))
	for _, r := range t.m {
		rs = append(rs, r)
	}
	return rs
}

// empty reports whether no run is in flight.
func (t *runTable) empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m) == 0
}
