package task

import (
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
// jobs cost more than the job. With no idle worker a new one starts: runs
// never wait for each other.
type workers struct {
	mu     sync.Mutex
	idle   []chan *run // idle workers, each waiting on its own channel; the last idled last
	closed bool
	// low is the fewest idle workers since the janitor was armed or last
	// ran: idle[:low] have waited since then.
	low     int
	janitor *time.Timer // armed while more than keepIdle wait
}

// submit starts r on an idle worker or a new goroutine.
func (w *workers) submit(r *run) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 && !w.closed {
		ch := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.low = min(w.low, n-1)
		w.mu.Unlock()
		ch <- r
		return
	}
	w.mu.Unlock()
	go w.work(r)
}

// work runs r, then waits for more while there is room among the idle.
func (w *workers) work(r *run) {
	var ch chan *run // made when the worker first waits
	for r != nil {
		r.execute()
		if ch == nil {
			ch = make(chan *run)
		}
		if !w.park(ch) {
			return
		}
		r = <-ch // nil when closed
	}
}

// park adds an idle worker's channel, arming the janitor when more than
// keepIdle wait. It reports false if the worker should end instead: the
// pool is closed or has maxIdleWorkers idle.
func (w *workers) park(ch chan *run) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
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
