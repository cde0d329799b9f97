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
// In a group, a statement that fails on a unique constraint (a claimed
// slot, a duplicate ID) fails alone: SQLite undoes that statement and the
// transaction goes on. Any other failure, or a failed commit, rolls the
// whole group back, and its writes then run again one by one, so each gets
// its own answer. The statements of a group run without their callers'
// contexts, since interrupting one statement would roll back the others'.
// A caller whose context ends while its write is queued gets the context's
// error at once, and its write never runs; once its group has been taken,
// the write runs unless its context has ended by its turn, and the caller
// waits for the answer.
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

// writeReq is one write: a prepared statement (or, for the statements
// built per call, a query) and its arguments.
type writeReq struct {
	ctx   context.Context
	stmt  *sql.Stmt
	query string
	args  []any

	state atomic.Int32
	lead  chan struct{} // sent to when the request's caller is to lead
	done  chan struct{} // closed when n and err are set
	n     int64         // rows affected
	err   error
}

// exec runs a write and returns the rows it affected.
func (w *writer) exec(ctx context.Context, stmt *sql.Stmt, query string, args ...any) (int64, error) {
	r := &writeReq{ctx: ctx, stmt: stmt, query: query, args: args,
		lead: make(chan struct{}, 1), done: make(chan struct{})}
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

	select {
	case <-r.done:
		return r.n, r.err
	case <-r.lead:
		w.runLead()
		return r.n, r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqQueued, reqCancelled) {
			return 0, ctx.Err()
		}
	}
	// Taken after all: in a group that runs now, or chosen to lead one.
	select {
	case <-r.done:
	case <-r.lead:
		w.runLead()
	}
	return r.n, r.err
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

// runAlone runs r as one statement in autocommit mode, with its context.
func (w *writer) runAlone(r *writeReq) {
	if err := r.ctx.Err(); err != nil {
		r.n, r.err = 0, err
		return
	}
	var res sql.Result
	if r.stmt != nil {
		res, r.err = r.stmt.ExecContext(r.ctx, r.args...)
	} else {
		res, r.err = w.db.ExecContext(r.ctx, r.query, r.args...)
	}
	r.n = 0
	if r.err == nil {
		r.n, r.err = res.RowsAffected()
	}
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
		var res sql.Result
		if r.stmt != nil {
			ts := stmts[r.stmt]
			if ts == nil {
				ts = tx.StmtContext(ctx, r.stmt)
				stmts[r.stmt] = ts
			}
			res, r.err = ts.ExecContext(ctx, r.args...)
		} else {
			res, r.err = tx.ExecContext(ctx, r.query, r.args...)
		}
		if r.err == nil {
			r.n, r.err = res.RowsAffected()
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
