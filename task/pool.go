// This file owns the goroutines that execute runs: a queue, the workers
// that drain it, the watchdog for jobs that block and the janitor of idle
// workers.

package task

import (
	"runtime"
	"slices"
	"sync"
	"time"
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

// workers runs executions on reused goroutines, from a queue that a few
// awake workers (drainers) drain one run after another; a submission wakes
// an idle worker (or starts one) only while fewer than drainers are awake.
// Against a goroutine per run this buys the tick workload's CPU per fire
// and lateness (bench/README.md).
//
// Queued runs would wait behind jobs that block. A watchdog (real time:
// the engine's clock may be fake) is armed while runs are queued; when no
// run left the queue since it last looked (stallAfter), it gives queued
// runs workers of their own and stops counting the awake workers, which
// are in jobs that block (a new generation). The first stalled look hands
// out drainers runs, each further one in a row twice as many as the one
// before, so n runs queued behind jobs that block all start within about
// log2(n/drainers)+1 looks. (Handing every queued run a worker at once
// also fired when the workers only waited for a processor, and started
// thousands of goroutines that added to the contention.)
type workers struct {
	mu     sync.Mutex
	idle   []*worker // idle workers, the last idled last
	closed bool
	// low is the fewest idle workers since the janitor was armed or last
	// ran: idle[:low] have waited since then.
	low     int
	janitor *time.Timer // armed while more than keepIdle wait

	queue    []*run // runs waiting for a worker: queue[head:]
	head     int
	awake    int         // workers counted awake in generation gen
	gen      uint64      // bumped when the watchdog finds the queue stalled
	taken    uint64      // runs taken from the queue, ever
	watched  uint64      // taken when the watchdog last looked
	watch    *time.Timer // the watchdog
	watching bool        // the watchdog is armed
	stalls   int         // stalled looks in a row
}

// A worker is one goroutine that executes runs.
type worker struct {
	ch      chan *run // where an idle worker waits; made when it first does
	counted bool      // counted awake, in generation gen
	gen     uint64
}

// stallAfter is how long the queue may make no progress before queued runs
// get workers of their own.
const stallAfter = time.Millisecond

// maxStallShift caps the doubling of the runs handed out per stalled look
// (drainers << 20: every queue there is).
const maxStallShift = 20

// drainers is how many workers are kept awake to take queued runs: as many
// as run at once.
var drainers = max(2, runtime.GOMAXPROCS(0))

// submit queues rs, in order, and wakes workers to take them: up to 4 per
// call while fewer than drainers are awake; the rest stay queued for the
// awake workers, and later calls wake more.
func (w *workers) submit(rs ...*run) {
	w.mu.Lock()
	w.queue = append(w.queue, rs...)
	var (
		start [4]*run // the first runs of the workers woken, handed directly
		wake  [4]*worker
		n     int
	)
	for n < len(start) && w.awake < drainers && w.head < len(w.queue) {
		start[n], wake[n] = w.takeLocked(), w.wakeLocked(true)
		w.awake++
		n++
	}
	if !w.watching && w.head < len(w.queue) {
		w.watchLocked()
	}
	w.mu.Unlock()
	for i := range n {
		w.handOff(wake[i], start[i])
	}
}

// wakeLocked takes the worker that idled last, or makes a new one, counted
// awake or not; w.mu must be held.
func (w *workers) wakeLocked(counted bool) *worker {
	wk := w.popIdleLocked()
	if wk == nil {
		wk = &worker{}
	}
	wk.counted, wk.gen = counted, w.gen
	return wk
}

// handOff gives r to wk: through its channel if it waits, else on a new
// goroutine.
func (w *workers) handOff(wk *worker, r *run) {
	if wk.ch == nil {
		go w.work(wk, r)
		return
	}
	wk.ch <- r
}

// popIdleLocked takes the worker that idled last, or returns nil; w.mu
// must be held.
func (w *workers) popIdleLocked() *worker {
	n := len(w.idle)
	if n == 0 || w.closed {
		return nil
	}
	wk := w.idle[n-1]
	w.idle[n-1] = nil
	w.idle = w.idle[:n-1]
	w.low = min(w.low, n-1)
	return wk
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
// awake workers are in jobs that block (or wait for a processor): queued
// runs get workers of their own (not counted awake) — drainers of them,
// doubled for each stalled look in a row — and the awake ones stop
// counting (a new generation), so the next submission wakes others. It
// stays armed while runs are queued.
func (w *workers) look() {
	w.mu.Lock()
	var stuck []*run
	var wake []*worker
	if w.taken != w.watched {
		w.stalls = 0
	} else {
		n := drainers << min(w.stalls, maxStallShift)
		w.stalls++
		for len(stuck) < n {
			r := w.takeLocked()
			if r == nil {
				break
			}
			stuck = append(stuck, r)
			wake = append(wake, w.wakeLocked(false))
		}
		w.gen++
		w.awake = 0
	}
	w.watching = false
	if w.head < len(w.queue) {
		w.watchLocked()
	}
	w.mu.Unlock()
	for i, r := range stuck {
		w.handOff(wake[i], r)
	}
}

// work runs r, then queued runs, then waits for more while there is room
// among the idle.
func (w *workers) work(wk *worker, r *run) {
	returned := false
	defer func() {
		if !returned {
			// User code in a run ended this goroutine with
			// runtime.Goexit; the run was recorded on the way out
			// (guardGoexit). The worker goes on in a new goroutine.
			go func() { w.work(wk, w.following(wk)) }()
		}
	}()
	for r != nil {
		r.execute()
		r = w.following(wk)
	}
	returned = true
}

// following returns wk's next run: a queued one, or the next handed to it
// once it idles; nil if the worker should end.
func (w *workers) following(wk *worker) *run {
	r, ok := w.next(wk)
	if !ok {
		return nil
	}
	if r == nil {
		r = <-wk.ch // nil when closed
	}
	return r
}

// next takes a queued run for wk, or else parks it (see parkLocked). It
// reports false if the worker should end instead.
func (w *workers) next(wk *worker) (*run, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.takeLocked(); r != nil {
		return r, true
	}
	if wk.counted && wk.gen == w.gen {
		w.awake--
	}
	wk.counted = false
	if wk.ch == nil {
		wk.ch = make(chan *run)
	}
	return nil, w.parkLocked(wk)
}

// parkLocked adds an idle worker, arming the janitor when more than
// keepIdle wait. It reports false if the worker should end instead: the
// pool is closed or has maxIdleWorkers idle. w.mu must be held.
func (w *workers) parkLocked(wk *worker) bool {
	if w.closed || len(w.idle) >= maxIdleWorkers {
		return false
	}
	w.idle = append(w.idle, wk)
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
		for _, wk := range w.idle[keepIdle:w.low] {
			close(wk.ch)
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
	for _, wk := range w.idle {
		close(wk.ch)
	}
	w.idle = nil
}
