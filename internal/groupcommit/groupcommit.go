// Package groupcommit is the group-committing writer of the SQL stores
// (store/sqlite, store/postgres): the writes that queue while a group runs
// go together in a later group, one transaction committed once, so that
// many small writes cost a few commits rather than one each. The package
// holds the queue, the choice of who runs a group and the hand-over of
// results; how a group runs in its database is the store's (an Executor).
//
// # Leading
//
// The writer has no goroutine of its own. A caller whose write finds no
// group running, or is handed the lead, leads: it takes its own write and
// up to MaxBatch-1 from the head of the queue, runs them, hands the lead to
// the first caller still waiting and returns. Up to MaxGroups groups run at
// once; another starts only when at least as many writes wait, the
// starter's own included, as the running groups carry on average, so that
// a few writers keep the concurrency they had and many make large groups.
// With MaxGroups 1, writes run one group at a time, in the order they
// queued.
//
// A caller with many writes (ExecMany) queues them all at once, in order,
// so that the groups carry up to MaxBatch of them each; it leads a group if
// Exec would, and then waits on each of its writes in turn, leading the
// groups it is handed. That cannot stall: the lead goes to the first write
// still queued, so a write handed the lead has none of the caller's writes
// still queued before it, and while the caller waits on a queued write it
// holds no lead of a later one. (With more than one group at once, a lead
// handed to a later write while the caller waits on an earlier one, taken
// by another group, waits in its channel, of capacity 1, until the caller
// comes to it.)
//
// # Running a group
//
// A group of one write, or of one whose callers' contexts have not ended,
// runs alone (Executor.Alone), with its caller's context. A larger one runs
// as one transaction (Executor.Group); should that be rolled back after it
// began, its writes run again one by one, so that each gets its own
// answer.
//
// # Cancellation
//
// A caller whose context ends while its write is queued gets the context's
// error at once, and its write never runs. Once its group has been taken,
// the write runs unless its context has ended by the time the group starts
// (the executor may look again at its turn), and the caller waits for the
// answer. Should a leader panic while running a group, its writes get
// Config.Abandoned and the lead passes on.
package groupcommit

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// Executor runs writes in a database: what differs between the stores.
type Executor[T any] interface {
	// Alone runs w by itself, with w.Ctx, and sets w.N and w.Err.
	Alone(w *Write[T])
	// Group runs ws, two or more writes whose contexts had not ended,
	// in one transaction, and sets each one's N and Err. It reports
	// whether the transaction was rolled back after it began, so that
	// the writes must run again one by one (their N and Err are then
	// set again by Alone). It may reorder ws.
	Group(ws []*Write[T]) (rerun bool)
}

// Config is what a Writer is made of.
type Config[T any] struct {
	Executor  Executor[T]
	MaxBatch  int   // writes in one group, at most; at least 1
	MaxGroups int   // groups running at once, at most; at least 1
	Abandoned error // the result of a write whose group's leader panicked
}

// Writer commits writes in groups; see the package doc. Make one with New.
type Writer[T any] struct {
	cfg     Config[T]
	mu      sync.Mutex
	queue   []*Write[T] // waiting, in order
	groups  int         // groups running (or being handed on)
	running int         // writes in the groups running
}

// New returns a writer of cfg.
func New[T any](cfg Config[T]) *Writer[T] {
	cfg.MaxBatch, cfg.MaxGroups = max(cfg.MaxBatch, 1), max(cfg.MaxGroups, 1)
	return &Writer[T]{cfg: cfg}
}

// States of a Write.
const (
	queued    int32 = iota
	cancelled       // its caller's context ended before it was taken
	taken           // in a group, or chosen to lead the next
)

// Write is one write: what the store's executor needs to run it (Op), its
// caller's context, and its result, which the executor sets. Op is read by
// whichever caller runs the write's group, while its own caller waits.
type Write[T any] struct {
	Ctx context.Context
	Op  T
	N   int64 // rows affected
	Err error

	state atomic.Int32
	lead  chan struct{} // sent to when the write's caller is to lead
	done  chan struct{} // closed when N and Err are set
}

// init readies w to queue.
func (w *Write[T]) init() {
	w.lead, w.done = make(chan struct{}, 1), make(chan struct{})
}

// Result is the result of one write of ExecMany.
type Result struct {
	N   int64 // rows affected
	Err error
}

// Exec runs the write op with ctx, in a group or alone, and returns the
// rows it affected.
func (w *Writer[T]) Exec(ctx context.Context, op T) (int64, error) {
	r := &Write[T]{Ctx: ctx, Op: op}
	r.init()
	w.mu.Lock()
	if w.mayLead(1) {
		w.groups++
		r.state.Store(taken)
		w.mu.Unlock()
		w.runLead(r)
		return r.N, r.Err
	}
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	w.wait(r)
	return r.N, r.Err
}

// ExecMany runs the writes ops, all with ctx, as Exec runs each, and
// returns their results in the order of ops. They queue together under one
// lock, in order, so that the groups that take them carry up to MaxBatch
// of them each: a batch of one caller's writes goes in a few transactions,
// not one each. A context that ends cancels the writes still queued at
// once, as for Exec.
func (w *Writer[T]) ExecMany(ctx context.Context, ops []T) []Result {
	if len(ops) == 0 {
		return nil
	}
	ws := make([]Write[T], len(ops))
	rs := make([]*Write[T], len(ops))
	for i, op := range ops {
		ws[i].Ctx, ws[i].Op = ctx, op
		ws[i].init()
		rs[i] = &ws[i]
	}
	w.mu.Lock()
	lead := w.mayLead(len(rs))
	queue := rs
	if lead {
		w.groups++
		rs[0].state.Store(taken)
		queue = rs[1:]
	}
	w.queue = append(w.queue, queue...)
	w.mu.Unlock()
	if lead {
		w.runLead(rs[0])
	}
	for _, r := range queue {
		w.wait(r)
	}
	res := make([]Result, len(ws))
	for i := range ws {
		res[i] = Result{N: ws[i].N, Err: ws[i].Err}
	}
	return res
}

// mayLead reports whether a caller with n writes to queue starts a group
// now rather than waiting in the queue: when none runs, or when fewer than
// MaxGroups do and at least as many writes wait, these included, as the
// running groups carry on average. w.mu is held.
func (w *Writer[T]) mayLead(n int) bool {
	return w.groups == 0 || w.groups < w.cfg.MaxGroups && (len(w.queue)+n)*w.groups >= w.running
}

// wait waits until the queued write r has its result, leading the group it
// is handed the lead of, if it is. If r's context ends while r is still
// queued, r is cancelled and its result is the context's error.
func (w *Writer[T]) wait(r *Write[T]) {
	select {
	case <-r.done:
		return
	case <-r.lead:
		w.runLead(r)
		return
	case <-r.Ctx.Done():
		if r.state.CompareAndSwap(queued, cancelled) {
			r.N, r.Err = 0, r.Ctx.Err()
			return
		}
	}
	// Taken after all: in a group that runs now, or chosen to lead one.
	select {
	case <-r.done:
	case <-r.lead:
		w.runLead(r)
	}
}

// runLead runs one group, the leader's own write and those at the head of
// the queue, then hands the lead on.
func (w *Writer[T]) runLead(own *Write[T]) {
	w.mu.Lock()
	n := min(len(w.queue), w.cfg.MaxBatch-1)
	group := make([]*Write[T], 1, n+1)
	group[0] = own
	for _, r := range w.queue[:n] {
		if r.state.CompareAndSwap(queued, taken) {
			group = append(group, r)
		}
	}
	w.queue = slices.Delete(w.queue, 0, n)
	w.running += len(group)
	w.mu.Unlock()

	// Deferred, so that a panic cannot leave the other callers waiting.
	defer w.handOff(group)
	w.Run(group)
}

// handOff delivers the results of a group and hands the lead to the first
// caller still waiting, if any.
func (w *Writer[T]) handOff(group []*Write[T]) {
	for _, r := range group {
		close(r.done)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running -= len(group)
	for len(w.queue) > 0 {
		r := w.queue[0]
		w.queue = w.queue[1:]
		if r.state.CompareAndSwap(queued, taken) {
			r.lead <- struct{}{}
			return
		}
		// else cancelled
	}
	w.queue = nil
	w.groups--
}

// Run runs group as the writer runs a group it has taken from its queue,
// and sets the result of each write. The writer calls it; tests call it
// to run a group of their making.
func (w *Writer[T]) Run(group []*Write[T]) {
	live := make([]*Write[T], 0, len(group))
	for _, r := range group {
		r.N, r.Err = 0, r.Ctx.Err()
		if r.Err == nil {
			r.Err = w.cfg.Abandoned // until the executor sets the result
			live = append(live, r)
		}
		// else its caller gave up: no effect
	}
	if len(live) == 1 {
		w.alone(live[0])
		return
	}
	if len(live) > 1 && w.cfg.Executor.Group(live) {
		for _, r := range live {
			w.alone(r)
		}
	}
}

// alone runs r by itself, unless its context has ended.
func (w *Writer[T]) alone(r *Write[T]) {
	if r.N, r.Err = 0, r.Ctx.Err(); r.Err == nil {
		w.cfg.Executor.Alone(r)
	}
}

// Hold makes w act as if a group of very many writes were running, so that
// the writes that come queue (for tests, which need writes to queue
// together). The function returned ends it as a group ends, handing the
// lead to the first write queued, which takes the others along.
func (w *Writer[T]) Hold() (release func()) {
	const many = 1 << 30
	w.mu.Lock()
	w.groups++
	w.running += many
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		w.running -= many
		w.mu.Unlock()
		w.handOff(nil)
	}
}

// Status returns the groups running, the writes they carry and the writes
// queued (for tests, which wait for writes to queue and check that the
// writer ends idle).
func (w *Writer[T]) Status() (groups, running, queued int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.groups, w.running, len(w.queue)
}

// Context returns the context a group of ws runs with, for an executor
// whose group may block in its database: it ends once the contexts of all
// of ws have ended, since nobody then needs the group any longer. The
// function returned releases it.
func Context[T any](ws []*Write[T]) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var left atomic.Int64
	left.Store(int64(len(ws)))
	stops := make([]func() bool, len(ws))
	for i, r := range ws {
		stops[i] = context.AfterFunc(r.Ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
