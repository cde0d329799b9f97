package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// insertCols are the columns an insert writes, in the order of its
// arguments, the fence last (see the insert query).
const insertCols = `id, task, trigger, scheduled_at, started_at, ended_at, state, exit_code, exit_message, ` +
	`error, args, external_id, parent_id, graph_run_id, root_task, node, skip_reason, exclusive, report, fence`

// execCols are the columns of an execution, in the order scanExecution
// reads them.
const execCols = `id, task, trigger, scheduled_at, started_at, ended_at, state, exit_code, exit_message, ` +
	`error, args, external_id, parent_id, graph_run_id, root_task, node, skip_reason, exclusive, ` +
	`cancel_requested, fence, report`

// notEnded is the SQL condition of a record that is pending or running:
// the only ones an update, an abandonment or a cancel request changes.
const notEnded = `state IN ('pending', 'running')`

// stateCols are the columns of a task state, in the order scanTaskState
// reads them.
const stateCols = `task, suspended, suspended_reason, suspended_at, consecutive_failures, ` +
	`last_scheduled_at, updated_at`

// queries holds the SQL of a Store with its table prefix written in. The
// prefix passed WithTablePrefix's check, so writing it into SQL is safe.
type queries struct {
	executions string // table names
	taskState  string

	insert, update, get, putState, getState string
	listStates                              string // run once per engine start: not prepared
	lastSlots                               string // the same
	// Run on error paths, or rarely, only: not prepared.
	stateOf string // the state of an ID
	taken   string // whether an ID exists, and a slot is claimed
	abandon string // AbandonExecution's mark
	cancel  string // RequestCancel's
	// ChangeTaskState's first step: the state row made if missing.
	ensureState string
}

func newQueries(prefix string) queries {
	ex, ts := prefix+"executions", prefix+"task_state"
	return queries{
		executions: ex,
		taskState:  ts,
		// The fence is one more than the greatest of the executions and
		// of those deleted (see 0003_cluster.sql).
		insert: `INSERT INTO ` + ex + ` (` + insertCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			(SELECT max(coalesce((SELECT max(fence) FROM ` + ex + `), 0), deleted) FROM ` + prefix + `fence) + 1)`,
		// Task, trigger, scheduled_at, exclusive, cancel_requested and
		// fence are not written; a record that has ended is not changed.
		update: `UPDATE ` + ex + ` SET started_at = ?, ended_at = ?, state = ?, exit_code = ?,
			exit_message = ?, error = ?, args = ?, external_id = ?, parent_id = ?, graph_run_id = ?,
			root_task = ?, node = ?, skip_reason = ?, report = ?
			WHERE id = ? AND ` + notEnded,
		get:     `SELECT ` + execCols + ` FROM ` + ex + ` WHERE id = ?`,
		stateOf: `SELECT state FROM ` + ex + ` WHERE id = ?`,
		taken: `SELECT EXISTS (SELECT 1 FROM ` + ex + ` WHERE id = ?),
			EXISTS (SELECT 1 FROM ` + ex + ` WHERE task = ? AND scheduled_at = ?
				AND trigger IN ('schedule', 'catch-up'))`,
		abandon: `UPDATE ` + ex + ` SET state = 'abandoned', ended_at = ?, error = ?
			WHERE id = ? AND node = ? AND ` + notEnded,
		cancel: `UPDATE ` + ex + ` SET cancel_requested = 1 WHERE id = ? AND ` + notEnded,
		putState: `INSERT INTO ` + ts + ` (task, suspended, suspended_reason, suspended_at,
			consecutive_failures, last_scheduled_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (task) DO UPDATE SET suspended = excluded.suspended,
			suspended_reason = excluded.suspended_reason, suspended_at = excluded.suspended_at,
			consecutive_failures = excluded.consecutive_failures,
			last_scheduled_at = excluded.last_scheduled_at, updated_at = excluded.updated_at`,
		getState:    `SELECT ` + stateCols + ` FROM ` + ts + ` WHERE task = ?`,
		ensureState: `INSERT INTO ` + ts + ` (task) VALUES (?) ON CONFLICT (task) DO NOTHING`,
		listStates:  `SELECT ` + stateCols + ` FROM ` + ts,
		// The claim index's own condition, so that the index answers.
		lastSlots: `SELECT task, MAX(scheduled_at) FROM ` + ex + `
			WHERE trigger IN ('schedule', 'catch-up') GROUP BY task`,
	}
}

// statements are the prepared forms of the queries run on every record.
type statements struct {
	insert, update, get, putState, getState *sql.Stmt
}

func (st *statements) prepare(ctx context.Context, db *sql.DB, q *queries) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&st.insert, q.insert},
		{&st.update, q.update},
		{&st.get, q.get},
		{&st.putState, q.putState},
		{&st.getState, q.getState},
	} {
		s, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			return errors.Join(fail(ctx, "prepare", err), st.close())
		}
		*p.stmt = s
	}
	return nil
}

func (st *statements) close() error {
	var errs []error
	for _, s := range []*sql.Stmt{st.insert, st.update, st.get, st.putState, st.getState} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}
