package sqlite

import (
	"context"
	"database/sql"
	"errors"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/taskmill/taskmill/internal/groupcommit"
)

// The writes of a Store go through a writer, which commits them in groups
// (see internal/groupcommit for the queue and who runs a group); this file
// holds how a group runs in SQLite.
//
// SQLite takes one writer at a time, and most of what a small write costs
// is its commit: the WAL frames of every page it touched, the locks. So
// the writes that queue while one transaction runs go together in the
// next, one statement each, committed once; groups run one at a time
// (maxGroups), in the order their writes queued. A write that finds none
// waiting runs alone, as one statement in autocommit mode.
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
// roll back the others'; a write whose caller's context has ended by its
// turn in the group is passed over.
type writer struct {
	*groupcommit.Writer[write]
}

// maxBatch caps the writes of one group commit; maxGroups, the groups that
// run at once: one, as SQLite takes one writer at a time.
const (
	maxBatch  = 128
	maxGroups = 1
)

// errAbandoned is the result of a write whose group's leader panicked.
var errAbandoned = errors.New("sqlite: write abandoned: the goroutine running it panicked")

func newWriter(db *sql.DB) writer {
	return writer{groupcommit.New(groupcommit.Config[write]{
		Executor: executor{db: db}, MaxBatch: maxBatch, MaxGroups: maxGroups, Abandoned: errAbandoned,
	})}
}

// step is one statement of a write: a prepared statement (or, for the
// statements built per call or run rarely, a query) and its arguments.
type step struct {
	stmt  *sql.Stmt
	query string
	args  []any
}

// write is one write: a statement and, rarely, more steps that run after
// it in the same transaction, each only if the one before changed a row; a
// step that fails undoes the steps before it.
type write struct {
	step
	more []step
}

// writeReq is a write queued in the writer, with its result.
type writeReq = groupcommit.Write[write]

// exec runs a write of one statement and returns the rows it affected.
func (w writer) exec(ctx context.Context, stmt *sql.Stmt, query string, args ...any) (int64, error) {
	return w.Exec(ctx, write{step: step{stmt: stmt, query: query, args: args}})
}

// execSteps runs a write of one or more steps, in one transaction: each
// step after the first runs only if the one before changed a row, and a
// step that fails undoes the others. It returns the rows the first step
// affected and the error of the step that failed.
func (w writer) execSteps(ctx context.Context, first step, more ...step) (int64, error) {
	return w.Exec(ctx, write{step: first, more: more})
}

// executor runs the writer's groups in db.
type executor struct {
	db *sql.DB
}

// Alone runs r with its context: one statement in autocommit mode, or
// the steps of r in a transaction of their own.
func (x executor) Alone(r *writeReq) {
	if len(r.Op.more) > 0 {
		x.runSteps(r)
		return
	}
	var res sql.Result
	if r.Op.stmt != nil {
		res, r.Err = r.Op.stmt.ExecContext(r.Ctx, r.Op.args...)
	} else {
		res, r.Err = x.db.ExecContext(r.Ctx, r.Op.query, r.Op.args...)
	}
	if r.Err == nil {
		r.N, r.Err = res.RowsAffected()
	}
}

// runSteps runs the steps of r alone, in a transaction.
func (x executor) runSteps(r *writeReq) {
	tx, err := x.db.BeginTx(r.Ctx, nil)
	if err != nil {
		r.Err = err
		return
	}
	r.N, r.Err = execSteps(r.Ctx, tx, nil, &r.Op)
	if r.Err == nil {
		r.Err = tx.Commit()
	}
	if r.Err != nil {
		r.N = 0
		// The transaction may be gone already; Rollback then says
		// so, which is no news.
		_ = tx.Rollback()
	}
}

// execSteps runs the steps of r in tx and returns the rows the first one
// affected. stmts caches tx's forms of prepared statements (nil: none).
func execSteps(ctx context.Context, tx *sql.Tx, stmts map[*sql.Stmt]*sql.Stmt, r *write) (int64, error) {
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

// Group runs the group in one transaction. It reports whether the
// transaction was rolled back after it began, so that the group must run
// again one by one.
func (x executor) Group(group []*writeReq) (rerun bool) {
	// Background: see the writer's doc. Open's connections begin
	// transactions IMMEDIATE; on a host's connections a DEFERRED one
	// takes the write lock at its first statement, a write, waiting
	// through the busy handler all the same.
	ctx := context.Background()
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		// Most likely the lock stayed busy for the whole busy timeout:
		// the answer for every write of the group, without trying
		// each again.
		for _, r := range group {
			r.N, r.Err = 0, err
		}
		return false
	}
	stmts := make(map[*sql.Stmt]*sql.Stmt, 4)
	for _, r := range group {
		r.N = 0
		if r.Err = r.Ctx.Err(); r.Err != nil {
			continue // its caller gave up: no effect
		}
		if len(r.Op.more) > 0 {
			r.N, r.Err = runSavepoint(ctx, tx, stmts, &r.Op)
		} else {
			r.N, r.Err = execSteps(ctx, tx, stmts, &r.Op)
		}
		if r.Err != nil && !statementOnly(r.Err) {
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
func runSavepoint(ctx context.Context, tx *sql.Tx, stmts map[*sql.Stmt]*sql.Stmt, r *write) (int64, error) {
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
