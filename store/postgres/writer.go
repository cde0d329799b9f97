package postgres

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskmill/taskmill/store"
)

// The writes of a Store (CreateExecution, UpdateExecution, PutTaskState)
// go through a writer, which commits them in groups.
//
// Much of what a small write costs is its transaction: the round trip, the
// commit, its WAL flush. So the writes that queue while a group runs go
// together in a later one: one transaction whose statements (BEGIN, one
// per write, COMMIT, in a pgx.Batch on one connection) are pipelined in
// one round trip and committed once. With eight goroutines recording
// executions, a commit carries several. A write that finds no group
// running runs alone, as one statement in autocommit mode with its
// caller's context, as it would without the writer.
//
// Unlike SQLite, PostgreSQL runs transactions side by side, and flushes
// the WAL once for the commits that wait together. With one group at a time,
// the server would idle while the group's results travel back and the next
// one forms; so up to maxGroups groups run at once. Another group starts
// only when at least as many writes wait, the starter's own included, as
// the running groups carry on average: few writers get as much concurrency
// as they had without the writer, many get large groups. A caller that
// starts a group, or is handed the lead, takes its own write and up to
// maxBatch-1 from the head of the queue, runs them, hands the lead to the
// first caller still waiting and returns. No goroutine of the writer's own
// is needed.
//
// A caller with many writes (CreateExecutions) queues them all at once
// (execMany), so that the groups carry up to maxBatch of them: the records
// of a fire of many tasks, which one goroutine writes, cost a few round
// trips rather than one each. It leads a group if exec would, and then
// waits on each of its writes in turn, leading the groups it is handed.
//
// Within a group the statements run in the order of lockOrder, not in
// queue order: a group's writes come from callers that run at the same
// time, so any order is one they may see, and the same order in every
// group and process keeps two groups that want the same keys (say, two
// processes claiming a minute's slots of several tasks) from deadlocking.
//
// Any failing statement aborts a PostgreSQL transaction, so a group's
// statements do not fail on the conflicts callers branch on: an insert is
// INSERT ... ON CONFLICT DO NOTHING, and a conflict shows as no row
// inserted (CreateExecution then finds out alone which key it was); an
// update of an unknown ID updates no row. Any failure (a statement, the
// commit, a deadlock, the connection) rolls the whole group back, and its
// writes then run again one by one, so each gets its own answer. The
// statements of a group run without their callers' contexts, since
// interrupting one statement would roll back the others', but under one
// that ends once every caller's context in the group has ended: nobody then
// needs the group any longer, and a stuck connection cannot hold callers
// that gave up. A caller whose context ends while its write is queued gets
// the context's error at once, and its write never runs; once its group
// has been taken, the write runs unless its context has ended by then, and
// the caller waits for the answer.
type writer struct {
	pool    *pgxpool.Pool
	sql     statements
	mu      sync.Mutex
	queue   []*writeReq // waiting, in order
	groups  int         // groups running (or being handed on)
	running int         // writes in the groups running
}

// maxBatch caps the writes of one group commit; maxGroups, the groups that
// run at once.
const (
	maxBatch  = 128
	maxGroups = 2
)

// States of a writeReq.
const (
	reqQueued    int32 = iota
	reqCancelled       // its caller's context ended before it was taken
	reqTaken           // in a group, or chosen to lead the next
)

// Kinds of write.
type writeKind uint8

const (
	writeInsert    writeKind = iota // CreateExecution
	writeUpdate                     // UpdateExecution
	writeTaskState                  // PutTaskState
)

// writeReq is one write. The record it points to is read by whichever
// caller runs its group, while its own caller waits.
type writeReq struct {
	ctx  context.Context
	kind writeKind
	e    *store.Execution // writeInsert, writeUpdate
	ts   *store.TaskState // writeTaskState
	key  lockOrder        // set by exec

	state atomic.Int32
	lead  chan struct{} // sent to when the request's caller is to lead
	done  chan struct{} // closed when n and err are set
	n     int64         // rows affected
	err   error
}

// lockOrder is the place of a write in its group, from what the write
// locks until its transaction ends, as far as other transactions contend
// for it: a slot claim (the task and scheduled time of an insert that
// claims), a task's place among its exclusive executions (the task of an
// exclusive insert), an execution's ID, a task's state.
type lockOrder struct {
	rank int       // one of the ranks below
	name string    // a claim's task; a task state's task
	at   time.Time // a claim's scheduled time, to the microsecond
	id   uuid.UUID // an execution's ID
}

// Ranks of lockOrders: claims and exclusive inserts first, by task, then
// other inserts, updates, task states.
const (
	rankClaim = iota
	rankInsert
	rankUpdate
	rankTaskState
)

func orderOf(r *writeReq) lockOrder {
	switch {
	case r.kind == writeTaskState:
		return lockOrder{rank: rankTaskState, name: r.ts.Task}
	case r.kind == writeUpdate:
		return lockOrder{rank: rankUpdate, id: r.e.ID}
	case r.e.Trigger.Claims():
		return lockOrder{rank: rankClaim, name: r.e.Task, at: r.e.ScheduledAt.Truncate(time.Microsecond), id: r.e.ID}
	case r.e.Exclusive && !r.e.State.Final():
		// It takes the task's place in an index of exclusive executions,
		// which claims of the task may take too.
		return lockOrder{rank: rankClaim, name: r.e.Task, id: r.e.ID}
	}
	return lockOrder{rank: rankInsert, id: r.e.ID}
}

func (a lockOrder) compare(b lockOrder) int {
	return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.name, b.name),
		a.at.Compare(b.at), bytes.Compare(a.id[:], b.id[:]))
}

// exec runs the write r describes (ctx, kind and record set) and returns
// the rows it affected.
func (w *writer) exec(r *writeReq) (int64, error) {
	prepare(r)
	w.mu.Lock()
	if w.mayLead(1) {
		w.groups++
		r.state.Store(reqTaken)
		w.mu.Unlock()
		w.runLead(r)
		return r.n, r.err
	}
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	w.wait(r)
	return r.n, r.err
}

// execMany runs the writes rs describe, as exec runs each, and sets the
// result of each (n, err). They queue together under one lock, in order,
// so that the groups that take them carry up to maxBatch of them each: a
// batch of one caller's writes goes in a few transactions, not one each.
// The first leads a group if exec's would; the caller then waits on each
// in turn, leading any group whose lead is handed to it.
//
// Waiting in turn cannot stall: the lead goes to the first write still
// queued, so a write of rs that is handed the lead has none of rs still
// queued before it, and while the caller waits on a write that is queued
// it holds no lead of a later one. (With maxGroups groups at once, a lead
// handed to a later write of rs while the caller waits on an earlier one,
// taken by another group, waits in its channel, of capacity 1, until the
// caller comes to it.) A context that ends cancels the writes still
// queued at once, as for exec.
func (w *writer) execMany(rs []*writeReq) {
	if len(rs) == 0 {
		return
	}
	for _, r := range rs {
		prepare(r)
	}
	w.mu.Lock()
	lead := w.mayLead(len(rs))
	queued := rs
	if lead {
		w.groups++
		rs[0].state.Store(reqTaken)
		queued = rs[1:]
	}
	w.queue = append(w.queue, queued...)
	w.mu.Unlock()
	if lead {
		w.runLead(rs[0])
	}
	for _, r := range queued {
		w.wait(r)
	}
}

// prepare sets what the writer needs of a request before it queues.
func prepare(r *writeReq) {
	r.key = orderOf(r)
	r.lead, r.done = make(chan struct{}, 1), make(chan struct{})
}

// mayLead reports whether a caller with n writes to queue starts a group
// now rather than waiting in the queue: when none runs, or when fewer than
// maxGroups do and at least as many writes wait, these included, as the
// running groups carry on average. w.mu is held.
func (w *writer) mayLead(n int) bool {
	return w.groups == 0 || w.groups < maxGroups && (len(w.queue)+n)*w.groups >= w.running
}

// wait waits until the queued request r has its result, leading the
// group it is handed the lead of, if it is. If r's context ends while r
// is still queued, r is cancelled and its result is the context's error.
func (w *writer) wait(r *writeReq) {
	select {
	case <-r.done:
		return
	case <-r.lead:
		w.runLead(r)
		return
	case <-r.ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqCancelled) {
			r.n, r.err = 0, r.ctx.Err()
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

// runLead runs one group, the leader's own request and those at the head
// of the queue, then hands the lead on.
func (w *writer) runLead(own *writeReq) {
	w.mu.Lock()
	n := min(len(w.queue), maxBatch-1)
	group := make([]*writeReq, 1, n+1)
	group[0] = own
	for _, r := range w.queue[:n] {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			group = append(group, r)
		}
	}
	w.queue = slices.Delete(w.queue, 0, n)
	w.running += len(group)
	w.mu.Unlock()

	// Deferred, so that a panic cannot leave the other callers waiting.
	defer w.handOff(group)
	for _, r := range group {
		r.err = errAbandoned // until run sets the result
	}
	w.run(group)
}

// errAbandoned is the result of a write whose group's leader panicked.
var errAbandoned = errors.New("postgres: write abandoned: the goroutine running it panicked")

// handOff delivers the results of a group and hands the lead to the first
// caller still waiting, if any.
func (w *writer) handOff(group []*writeReq) {
	for _, r := range group {
		close(r.done)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running -= len(group)
	for len(w.queue) > 0 {
		r := w.queue[0]
		w.queue = w.queue[1:]
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			r.lead <- struct{}{}
			return
		}
		// else cancelled
	}
	w.queue = nil
	w.groups--
}

// run runs a group and sets the result of each request.
func (w *writer) run(group []*writeReq) {
	if len(group) == 1 {
		w.runAlone(group[0])
		return
	}
	if w.runGroup(group) {
		for _, r := range group {
			w.runAlone(r)
		}
	}
}

// statement returns r's statement, alone or in a group, and its arguments.
func (w *writer) statement(r *writeReq, inGroup bool) (string, []any) {
	switch r.kind {
	case writeInsert:
		if inGroup {
			return w.sql.insertGroup, insertArgs(r.e)
		}
		return w.sql.insert, insertArgs(r.e)
	case writeUpdate:
		return w.sql.update, updateArgs(r.e)
	}
	return w.sql.putState, taskStateArgs(r.ts)
}

// runAlone runs r as one statement in autocommit mode, with its context.
func (w *writer) runAlone(r *writeReq) {
	if err := r.ctx.Err(); err != nil {
		r.n, r.err = 0, err
		return
	}
	sql, args := w.statement(r, false)
	tag, err := w.pool.Exec(r.ctx, sql, args...)
	r.n, r.err = tag.RowsAffected(), err
}

// runGroup runs the group in one transaction, pipelined. It reports whether
// the transaction failed after it was sent, so that the group must run
// again one by one.
func (w *writer) runGroup(group []*writeReq) (rerun bool) {
	live := make([]*writeReq, 0, len(group))
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.n, r.err = 0, err // its caller gave up: no effect
		} else {
			live = append(live, r)
		}
	}
	switch len(live) {
	case 0:
		return false
	case 1:
		w.runAlone(live[0])
		return false
	}
	slices.SortStableFunc(live, func(a, b *writeReq) int { return a.key.compare(b.key) })

	ctx, stop := groupContext(live)
	defer stop()
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		// The pool is closed, or cannot connect: the answer for every
		// write of the group, without trying each again.
		for _, r := range live {
			r.err = err
		}
		return false
	}
	defer conn.Release()

	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(live)+2)}
	b.Queue("BEGIN")
	for _, r := range live {
		sql, args := w.statement(r, true)
		b.Queue(sql, args...)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	committed := readGroup(br, live)
	// Once COMMIT was answered COMMIT the group is durable: an error
	// closing the batch (the connection lost before the final
	// ReadyForQuery) concerns only the connection, which pgx has closed
	// and Release then destroys. Rerunning the writes would report the
	// group's own inserts as conflicts.
	// (Without a COMMIT answer the group is not committed either way.)
	_ = br.Close()
	if committed {
		for _, r := range live {
			r.err = nil
		}
		return false
	}
	// A failed statement leaves the transaction aborted (in the same
	// Sync, the statements after it and COMMIT are skipped): end it so
	// the connection can go back to the pool. Should this fail, Release
	// closes the connection instead, as it does any not idle.
	if pc := conn.Conn().PgConn(); !pc.IsClosed() && pc.TxStatus() != 'I' {
		_, _ = conn.Exec(ctx, "ROLLBACK")
	}
	return true
}

// readGroup reads the results of a group's batch, BEGIN, the statements of
// live, COMMIT, setting the rows each statement affected (not err). It
// reports whether the transaction committed.
func readGroup(br pgx.BatchResults, live []*writeReq) bool {
	if _, err := br.Exec(); err != nil {
		return false
	}
	for _, r := range live {
		tag, err := br.Exec()
		if err != nil {
			return false
		}
		r.n = tag.RowsAffected()
	}
	// COMMIT of an aborted transaction succeeds, saying ROLLBACK.
	tag, err := br.Exec()
	return err == nil && tag.String() == "COMMIT"
}

// groupContext returns the context a group runs with: it ends once the
// contexts of all of live have ended. The function returned releases it.
// (pgx v5.8.0, by default, breaks off a connection whose batch's context
// ends, and then leaves one goroutine behind for good, pgx issue 1999: a
// small cost of a rare event, for writers that cannot be held forever.)
func groupContext(live []*writeReq) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var left atomic.Int64
	left.Store(int64(len(live)))
	stops := make([]func() bool, len(live))
	for i, r := range live {
		stops[i] = context.AfterFunc(r.ctx, func() {
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
