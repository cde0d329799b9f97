package task

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
// jobs cost more than the job.
//
// Runs go to a queue, drained by a few awake workers (drainers) that take
// one run after another; a submission wakes an idle worker (or starts one)
// only while fewer than drainers are awake. Handing each run to a worker
// of its own was a goroutine wake and park per run: a quarter of the CPU of
// a fire of 10,000 tasks (bench/README.md).
//
// Queued runs would wait behind jobs that block. A watchdog (real time:
// the engine's clock may be fake) is armed while runs are queued; when no
// run left the queue since it last looked (stallAfter), it gives queued
// runs workers of their own and stops counting the awake workers, which
// are in jobs that block (a new generation). The first stalled look hands
// out drainers runs, each further one in a row twice as many as the one
// before: n runs queued behind jobs that block all start within about
// log2(n/drainers)+1 looks (10,000 runs: 13 ms).
//
// A queue also stalls when its workers wait for a processor, not for a
// job: on 2 processors, the goroutine submitting and a GC cycle's mark
// worker can hold both for a millisecond or more. Handing every queued run
// a worker of its own then started thousands of goroutines that only
// added to the contention: a cold burst of 10,000 RunNow calls started
// 800 to 3,500 goroutines in 7 runs of 8, and ran at ~230,000 runs/s
// against ~300,000 with the doubling (bench/README.md).
//
// While a fire admits its runs chunk by chunk, the ends of runs whose jobs
// returned wait until it is done (deferEnd), so that the fire's later runs
// start sooner.
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

	// admitting counts the fires admitting their runs; while it is not
	// zero the ends of runs whose jobs returned wait in ends (see
	// deferEnd), since endsAt (real time). It changes under mu; a run's
	// end reads it without mu first.
	admitting atomic.Int32
	ends      []deferred
	endsAt    time.Time
	endsFull  atomic.Bool   // len(ends) reached maxDeferredEnds
	spare     []deferred    // a done ends slice, for the next fire's
	endDelay  time.Duration // maxEndDelay if zero; tests set it
}

// deferred is a run whose job returned err at at, its end not yet done.
type deferred struct {
	r   *run
	err error
	at  time.Time
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
		w.execute(r)
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

// execute is run.execute, except that the end waits while a fire admits
// its runs (see deferEnd).
func (w *workers) execute(r *run) {
	returned := false
	defer r.guardGoexit(&returned)
	if err, ok := r.perform(); ok && !w.deferEnd(r, err) {
		r.end(err)
		r.release()
	}
	returned = true
}

// Bounds of deferEnd: how long a run's end waits for a fire's admission at
// most (looked at between chunks), and how many ends wait at once (later
// ones are done at once). Deferred ends are done long after their runs
// started, on memory that has left the processor's caches: deferring all
// of a fire of 10,000 cost a fifth more CPU per run, deferring the first
// 2,048 a twentieth, for about the same gain in when the last job starts
// (bench/README.md).
const (
	maxEndDelay     = 50 * time.Millisecond
	maxDeferredEnds = 2048
)

// deferEnd keeps the end of r, whose job returned err, for later if a fire
// is admitting runs, and reports whether it did.
//
// A fire of many tasks admits them a chunk at a time, and the awake
// workers start each chunk's runs as it comes — on the fire's processor,
// mostly: the dispatch yields to them between chunks. Ending a run (the
// listeners, the final record, the task's state) costs more than starting
// one; done at once, it delays the start of every later run of the fire.
// So while a fire admits, ends wait (within maxEndDelay and
// maxDeferredEnds) and are done once the fire has admitted all its runs
// (endAdmission), on goroutines of their own. The run's EndedAt is when its
// job returned, not when its end was done.
func (w *workers) deferEnd(r *run, err error) bool {
	if w.admitting.Load() == 0 || w.endsFull.Load() {
		return false
	}
	w.mu.Lock()
	if w.admitting.Load() == 0 || len(w.ends) >= maxDeferredEnds {
		w.mu.Unlock()
		return false
	}
	if len(w.ends) == 0 {
		w.endsAt = time.Now()
	}
	w.ends = append(w.ends, deferred{r, err, r.e.now()})
	if len(w.ends) == maxDeferredEnds {
		w.endsFull.Store(true)
	}
	w.mu.Unlock()
	return true
}

// beginAdmission tells the pool that a fire admits its runs.
func (w *workers) beginAdmission() {
	w.mu.Lock()
	w.admitting.Add(1)
	w.mu.Unlock()
}

// endAdmission tells the pool that a fire admitted its runs; when no other
// fire admits, the deferred ends are done.
func (w *workers) endAdmission() {
	w.mu.Lock()
	var ends []deferred
	if w.admitting.Add(-1) == 0 {
		ends = w.takeEndsLocked()
	}
	w.mu.Unlock()
	w.completeAll(ends)
}

// flushEnds does the deferred ends that waited maxEndDelay or more.
func (w *workers) flushEnds() {
	w.mu.Lock()
	var ends []deferred
	delay := w.endDelay
	if delay == 0 {
		delay = maxEndDelay
	}
	if len(w.ends) > 0 && time.Since(w.endsAt) >= delay {
		ends = w.takeEndsLocked()
	}
	w.mu.Unlock()
	w.completeAll(ends)
}

// takeEndsLocked takes the deferred ends, leaving the spare slice in their
// place; w.mu must be held.
func (w *workers) takeEndsLocked() []deferred {
	ends := w.ends
	w.ends, w.spare = w.spare, nil
	w.endsFull.Store(false)
	return ends
}

// completeAll does the ends of ds on goroutines of their own, as many as
// drainers, each taking a contiguous share; the last to finish keeps ds
// for reuse.
func (w *workers) completeAll(ds []deferred) {
	n := min(drainers, (len(ds)+endShare-1)/endShare)
	var left atomic.Int32
	left.Store(int32(n))
	done := func() {
		if left.Add(-1) == 0 {
			clear(ds)
			w.mu.Lock()
			if w.spare == nil {
				w.spare = ds[:0]
			}
			w.mu.Unlock()
		}
	}
	for i := range n {
		go completeShare(ds[i*len(ds)/n:(i+1)*len(ds)/n], done)
	}
}

// completeShare does the deferred ends of share, then calls done. If an
// end's listener ends the goroutine with runtime.Goexit (that run is
// recorded by guardGoexit), the rest goes on in a new goroutine.
func completeShare(share []deferred, done func()) {
	i := 0
	defer func() {
		if i < len(share) {
			go completeShare(share[i+1:], done)
		}
	}()
	for ; i < len(share); i++ {
		share[i].r.complete(share[i].err, share[i].at)
	}
	done()
}

// endShare is the fewest deferred ends given a goroutine of their own.
const endShare = 256

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
