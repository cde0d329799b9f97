package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	sqlite3 "modernc.org/sqlite/lib"
)

// The writes of a Store go through a writer, which commits them in groups.
//
// SQLite takes one writer at a time, and most of what a small write costs
// is its commit: the WAL frames of every page it touched, the locks. So
// the writes that queue while one transaction runs go together in the
// next, one statement each, committed once: with eight goroutines
// recording executions, a commit carries several. A write that finds none
// waiting runs alone, as one statement in autocommit mode.
//
// One of the waiting callers leads: it takes the head of the queue (up to
// maxBatch writes, its own first), runs it, hands the lead to the first
// caller still waiting and returns. No goroutine of the writer's own is
// needed, and writes run in the order they queued.
//
// A caller with many writes (CreateExecutions) queues them all at once
// (execMany), in order, so that the groups carry up to maxBatch of them:
// the records of a fire of many tasks, which one goroutine writes, cost a
// few commits rather than one each.
//
// In a group, a statement that fails on a unique constraint (a claimed
// slot, a duplicate ID, a second exclusive execution) fails alone: SQLite
// undoes that statement and the transaction goes on. A write of several
// statements (steps, which AbandonExecution with a recovery record needs)
// runs inside a savepoint in a group, and in a transaction of its own
// alone, so that it happens whole or not at all. Any other failure, or a
// failed commit, rolls the whole group back, and its writes then run again
// one by one, so each gets its own answer. The statements of a group run
// without their callers' contexts, since interrupting one statement would
// roll back the others'. A caller whose context ends while its write is
// queued gets the context's error at once, and its write never runs; once
// its group has been taken, the write runs unless its context has ended by
// its turn, and the caller waits for the answer.
type writer struct {
	db      *sql.DB
	mu      sync.Mutex
	queue   []*writeReq // waiting, in order; the leader's own first
	leading bool        // a caller is running a group
}

// maxBatch caps the writes of one group commit.
const maxBatch = 128

// States of a writeReq.
const (
	reqQueued    int32 = iota
	reqCancelled       // its caller's context ended before it was taken
	reqTaken           // in a group, or chosen to lead the next
)

// step is one statement of a write: a prepared statement (or, for the
// statements built per call or run rarely, a query) and its arguments.
type step struct {
	stmt  *sql.Stmt
	query string
	args  []any
}

// writeReq is one write: a statement and, rarely, more steps that run after
// it in the same transaction, each only if the one before changed a row; a
// step that fails undoes the steps before it.
type writeReq struct {
	ctx context.Context
	step
	more []step

	state atomic.Int32
	lead  chan struct{} // sent to when the request's caller is to lead
	done  chan struct{} // closed when n and err are set
	n     int64         // rows affected
	err   error
}

// exec runs a write of one statement and returns the rows it affected.
func (w *writer) exec(ctx context.Context, stmt *sql.Stmt, query string, args ...any) (int64, error) {
	return w.execSteps(ctx, step{stmt: stmt, query: query, args: args})
}

// execSteps runs a write of one or more steps, in one transaction: each
// step after the first runs only if the one before changed a row, and a
// step that fails undoes the others. It returns the rows the first step
// affected and the error of the step that failed.
func (w *writer) execSteps(ctx context.Context, first step, more ...step) (int64, error) {
	r := newReq(ctx, first, more)
	w.mu.Lock()
	w.queue = append(w.queue, r)
	if !w.leading {
		w.leading = true
		r.state.Store(reqTaken)
		w.mu.Unlock()
		w.runLead()
		return r.n, r.err
	}
	w.mu.Unlock()
	w.wait(r)
	return r.n, r.err
}

// execMany runs the writes rs describe, made by newReq, as exec runs each,
// and sets the result of each (n, err). They queue together under one
// lock, in order, so that the groups that take them carry up to maxBatch
// of them each, in that order: a batch of one caller's writes goes in a
// few transactions, not one each. The caller leads the first group if
// none runs, then waits on each write in turn, leading any group whose
// lead is handed to it. That cannot stall: groups run one at a time, in
// queue order, and the lead goes to the first write still queued, so
// every write of rs before the one handed the lead has its answer. A
// context that ends cancels the writes still queued at once, as for exec.
func (w *writer) execMany(rs []*writeReq) {
	if len(rs) == 0 {
		return
	}
	w.mu.Lock()
	w.queue = append(w.queue, rs...)
	if !w.leading {
		w.leading = true
		rs[0].state.Store(reqTaken)
		w.mu.Unlock()
		w.runLead()
	} else {
		w.mu.Unlock()
	}
	for _, r := range rs {
		w.wait(r)
	}
}

// newReq returns the request of a write of one or more steps.
func newReq(ctx context.Context, first step, more []step) *writeReq {
	return &writeReq{ctx: ctx, step: first, more: more,
		lead: make(chan struct{}, 1), done: make(chan struct{})}
}

// wait waits until the queued request r has its result, leading the
// group it is handed the lead of, if it is. If r's context ends while r
// is still queued, r is cancelled and its result is the context's error.
func (w *writer) wait(r *writeReq) {
	select {
	case <-r.done:
		return
	case <-r.lead:
		w.runLead()
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
		w.runLead()
	}
}

// runLead runs one group from the head of the queue, which holds the
// leader's own request, then hands the lead on.
func (w *writer) runLead() {
	w.mu.Lock()
	n := min(len(w.queue), maxBatch)
	group := make([]*writeReq, 0, n)
	for _, r := range w.queue[:n] {
		if r.state.Load() == reqTaken || r.state.CompareAndSwap(reqQueued, reqTaken) {
			group = append(group, r)
		}
	}
	w.queue = slices.Delete(w.queue, 0, n)
	w.mu.Unlock()

	// Deferred, so that a panic cannot leave the other callers waiting.
	defer w.handOff(group)
	for _, r := range group {
		r.err = errAbandoned // until run sets the result
	}
	w.run(group)
}

// errAbandoned is the result of a write whose group's leader panicked.
var errAbandoned = errors.New("sqlite: write abandoned: the goroutine running it panicked")

// handOff delivers the results of a group and hands the lead to the first
// caller still waiting, if any.
func (w *writer) handOff(group []*writeReq) {
	for _, r := range group {
		close(r.done)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.queue) > 0 {
		r := w.queue[0]
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			r.lead <- struct{}{}
			return
		}
		w.queue = w.queue[1:] // cancelled
	}
	w.queue = nil
	w.leading = false
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

// runAlone runs r with its context: one statement in autocommit mode, or
// the steps of r in a transaction of their own.
func (w *writer) runAlone(r *writeReq) {
	r.n = 0
	if r.err = r.ctx.Err(); r.err != nil {
		return
	}
	if len(r.more) > 0 {
		w.runSteps(r)
		return
	}
	var res sql.Result
	if r.stmt != nil {
		res, r.err = r.stmt.ExecContext(r.ctx, r.args...)
	} else {
		res, r.err = w.db.ExecContext(r.ctx, r.query, r.args...)
	}
	if r.err == nil {
		r.n, r.err = res.RowsAffected()
	}
}

// runSteps runs the steps of r alone, in a transaction.
func (w *writer) runSteps(r *writeReq) {
	tx, err := w.db.BeginTx(r.ctx, nil)
	if err != nil {
		r.err = err
		return
	}
	r.n, r.err = execSteps(r.ctx, tx, nil, r)
	if r.err == nil {
		r.err = tx.Commit()
	}
	if r.err != nil {
		r.n = 0
		// The transaction may be gone already; Rollback then says
		// so, which is no news.
		_ = tx.Rollback()
	}
}

// execSteps runs the steps of r in tx and returns the rows the first one
// affected. stmts caches tx's forms of prepared statements (nil: none).
func execSteps(ctx context.Context, tx *sql.Tx, stmts map[*sql.Stmt]*sql.Stmt, r *writeReq) (int64, error) {
	var first int64
	for i := 0; i <= len(r.more); i++ {
		st := r.step
		if i > 0 {
			st = r.more[i-1]
		}
		var res sql.Result
		var err error
		switch {
		case st.stmt == nil:
			res, err = tx.ExecContext(ctx, st.query, st.args...)
		case stmts == nil:
			res, err = tx.StmtContext(ctx, st.stmt).ExecContext(ctx, st.args...)
		default:
			ts := stmts[st.stmt]
			if ts == nil {
				ts = tx.StmtContext(ctx, st.stmt)
				stmts[st.stmt] = ts
			}
			res, err = ts.ExecContext(ctx, st.args...)
		}
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			return 0, err
		}
		if i == 0 {
			first = n
		}
		if n == 0 {
			break
		}
	}
	return first, nil
}

// runGroup runs the group in one transaction. It reports whether the
// transaction was rolled back after it began, so that the group must run
// again one by one.
func (w *writer) runGroup(group []*writeReq) (rerun bool) {
	// Background: see the writer's doc. Open's connections begin
	// transactions IMMEDIATE; on a host's connections a DEFERRED one
	// takes the write lock at its first statement, a write, waiting
	// through the busy handler all the same.
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		// Most likely the lock stayed busy for the whole busy timeout:
		// the answer for every write of the group, without trying
		// each again.
		for _, r := range group {
			r.n, r.err = 0, err
		}
		return false
	}
	stmts := make(map[*sql.Stmt]*sql.Stmt, 4)
	for _, r := range group {
		r.n = 0
		if r.err = r.ctx.Err(); r.err != nil {
			continue // its caller gave up: no effect
		}
		if len(r.more) > 0 {
			r.n, r.err = runSavepoint(ctx, tx, stmts, r)
		} else {
			r.n, r.err = execSteps(ctx, tx, stmts, r)
		}
		if r.err != nil && !statementOnly(r.err) {
			// SQLite may have rolled the transaction back already; a
			// failed Rollback then says so, and is no news: the group
			// runs again either way.
			_ = tx.Rollback()
			return true
		}
	}
	return tx.Commit() != nil
}

// runSavepoint runs the steps of r in tx, inside a savepoint: a step that
// fails on a unique constraint undoes the steps before it and leaves the
// group's transaction going, as a statement of one step does.
func runSavepoint(ctx context.Context, tx *sql.Tx, stmts map[*sql.Stmt]*sql.Stmt, r *writeReq) (int64, error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT steps"); err != nil {
		return 0, err
	}
	n, err := execSteps(ctx, tx, stmts, r)
	if err != nil {
		if !statementOnly(err) {
			return 0, err // the group rolls back
		}
		n = 0
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO steps"); rerr != nil {
			return 0, rerr // the group rolls back, and runs again
		}
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE steps"); rerr != nil {
		return 0, rerr
	}
	return n, err
}

// statementOnly reports whether err undid only its own statement and left
// the transaction going: the unique and primary key violations that are
// claims and duplicate IDs. (Other constraint errors may not: a trigger's
// RAISE(ROLLBACK) is a constraint error too.)
func statementOnly(err error) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}
