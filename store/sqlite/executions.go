package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/taskmill/taskmill/internal/rounds"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

// CreateExecution inserts e: one INSERT, which assigns the fence (see
// 0003_cluster.sql). The slot claim is the unique partial index on (task,
// scheduled_at) of the claiming triggers, and the check of an exclusive
// execution the unique partial indexes on task of the exclusive running
// and pending ones: a second claim, or a duplicate ID, fails the INSERT and
// returns an error wrapping store.ErrConflict; a second exclusive
// execution, store.ErrBusy. See store.Store.
func (s *Store) CreateExecution(ctx context.Context, e *store.Execution) error {
	const op = "create execution"
	args, err := insertable(e)
	if err != nil {
		return err
	}
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	defer s.leave()
	_, err = s.w.exec(ctx, s.stmts.insert, "", args...)
	return s.created(ctx, e, err)
}

// insertable validates e and returns the arguments of its insert, or
// CreateExecution's error for it.
func insertable(e *store.Execution) ([]any, error) {
	const op = "create execution"
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	args, err := encodeArgs(e.Args)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s %s: %w", op, e.ID, err)
	}
	return insertArgs(e, args), nil
}

// created is CreateExecution's answer for e from the error of its insert:
// nil, or the unique key it met, or the error wrapped by fail.
func (s *Store) created(ctx context.Context, e *store.Execution, err error) error {
	const op = "create execution"
	switch {
	case err == nil:
		return nil
	case sqliteCode(err) != sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fail(ctx, op+" "+e.ID.String(), err)
	}
	// The ID, the claim or an index of exclusive executions: SQLite
	// names no index, and stops at the first that fails, in an order of
	// its own. A conflict wins over busy. Unless e can meet only the ID's
	// index, a query says which (on this path only).
	idTaken, claimed := true, false
	busy := e.Exclusive && !e.State.Final()
	if busy || e.Trigger.Claims() {
		if idTaken, claimed, err = s.taken(ctx, e); err != nil {
			return fail(ctx, op+" "+e.ID.String(), err)
		}
	}
	switch {
	case idTaken:
		return fmt.Errorf("sqlite: %s %s: %w: the ID exists", op, e.ID, store.ErrConflict)
	case busy && !claimed:
		return fmt.Errorf("sqlite: %s %s: %w: task %q has an exclusive execution %s",
			op, e.ID, store.ErrBusy, e.Task, e.State)
	}
	// Claimed, or the row that held the slot was deleted since.
	return fmt.Errorf("sqlite: %s %s: %w: task %q: slot %s is claimed",
		op, e.ID, store.ErrConflict, e.Task, e.ScheduledAt.Format(time.RFC3339Nano))
}

var _ store.BatchCreator = (*Store)(nil)

// CreateExecutions creates each of es as CreateExecution would, through
// the writer's batch path (ExecMany of internal/groupcommit): in groups of up to maxBatch
// inserts, in the order of es, one transaction each, rather than one
// transaction per record. In a group an insert that meets a unique key
// fails alone (see writer), and its error is told apart as
// CreateExecution's is, by a query after the group. So that this query
// cannot see a later execution of es that took the same key, an execution
// that shares a key (its ID, its slot claim, its task's place among
// exclusive executions) with an earlier one of es is written in a later
// round, after that one's answer (see internal/rounds); a fire's batch is
// one round. A context that ends gives the executions not yet written its
// error. See store.BatchCreator.
func (s *Store) CreateExecutions(ctx context.Context, es []*store.Execution) []error {
	const op = "create execution"
	errs := make([]error, len(es))
	if err := s.enter(ctx, op); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	defer s.leave()
	args := make([][]any, len(es))
	for i, e := range es {
		args[i], errs[i] = insertable(e)
	}
	for _, round := range rounds.Split(es, func(i int) bool { return errs[i] != nil }) {
		if err := ctx.Err(); err != nil {
			for _, i := range round {
				errs[i] = fmt.Errorf("sqlite: %s: %w", op, err)
			}
			continue
		}
		ws := make([]write, len(round))
		for j, i := range round {
			ws[j] = write{step: step{stmt: s.stmts.insert, args: args[i]}}
		}
		res := s.w.ExecMany(ctx, ws)
		for j, i := range round {
			errs[i] = s.created(ctx, es[i], res[j].Err)
		}
	}
	return errs
}

// insertArgs are the arguments of the insert statement for e, whose Args
// are args in JSON.
func insertArgs(e *store.Execution, args string) []any {
	id := e.ID // the arguments are read by whichever caller runs the group
	return []any{
		id[:], e.Task, string(e.Trigger), micros(e.ScheduledAt), e.StartedAt.UnixMicro(), micros(e.EndedAt),
		string(e.State), int64(e.ExitCode), e.ExitMessage, e.Error, args, e.ExternalID,
		nullID(e.ParentID), nullID(e.GraphRunID), e.RootTask, e.Node, e.SkipReason, e.Exclusive, e.Report,
	}
}

// taken reports whether e's ID exists and whether e claims a slot that
// another execution has claimed.
func (s *Store) taken(ctx context.Context, e *store.Execution) (idTaken, claimed bool, err error) {
	var slot any // NULL: matches no claim
	if e.Trigger.Claims() {
		slot = micros(e.ScheduledAt)
	}
	id := e.ID
	err = s.db.QueryRowContext(ctx, s.q.taken, id[:], e.Task, slot).Scan(&idTaken, &claimed)
	return idTaken, claimed, err
}

// UpdateExecution overwrites the record with e's ID, keeping its stored
// Task, Trigger, ScheduledAt, Exclusive, CancelRequested and Fence: one
// UPDATE that does not write them, of a record that is pending or running.
// When it changes no row, a query tells store.ErrNotFound from
// store.ErrConflict (a final record); a second exclusive execution fails
// it on an exclusive index, store.ErrBusy. See store.Store.
func (s *Store) UpdateExecution(ctx context.Context, e *store.Execution) error {
	const op = "update execution"
	if err := e.ValidateUpdate(); err != nil {
		return s.invalidUpdate(ctx, op, e.ID, err)
	}
	args, err := encodeArgs(e.Args)
	if err != nil {
		return fmt.Errorf("sqlite: %s %s: %w", op, e.ID, err)
	}
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	defer s.leave()
	id := e.ID
	n, err := s.w.exec(ctx, s.stmts.update, "",
		e.StartedAt.UnixMicro(), micros(e.EndedAt), string(e.State), int64(e.ExitCode), e.ExitMessage, e.Error,
		args, e.ExternalID, nullID(e.ParentID), nullID(e.GraphRunID), e.RootTask, e.Node, e.SkipReason,
		e.Report, id[:])
	switch {
	case sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		// An update writes none of the claim index's columns, and no
		// ID: one of the exclusive indexes.
		return fmt.Errorf("sqlite: %s %s: %w: task %q has an exclusive execution %s",
			op, e.ID, store.ErrBusy, e.Task, e.State)
	case err != nil:
		return fail(ctx, op+" "+e.ID.String(), err)
	case n == 0:
		return s.notChanged(ctx, op, id)
	}
	return nil
}

// notChanged is the error of a write to the record with the ID, which is
// meant for a pending or running record and changed no row:
// store.ErrNotFound if no record has the ID, else store.ErrConflict naming
// the record's state. It costs a query only on this path.
func (s *Store) notChanged(ctx context.Context, op string, id uuid.UUID) error {
	var st string
	switch err := s.db.QueryRowContext(ctx, s.q.stateOf, id[:]).Scan(&st); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: %s %s: %w", op, id, store.ErrNotFound)
	case err != nil:
		return fail(ctx, op+" "+id.String(), err)
	}
	return fmt.Errorf("sqlite: %s %s: %w: the execution has ended (%s): a final record does not change",
		op, id, store.ErrConflict, st)
}

// invalidUpdate is UpdateExecution's answer to a record that fails
// ValidateUpdate with err: store.ErrNotFound if no record has the ID
// (whatever else is wrong, as in the other backends), else err. It costs a
// query only on this error path.
func (s *Store) invalidUpdate(ctx context.Context, op string, id uuid.UUID, err error) error {
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	defer s.leave()
	var st string
	switch qerr := s.db.QueryRowContext(ctx, s.q.stateOf, id[:]).Scan(&st); {
	case errors.Is(qerr, sql.ErrNoRows):
		return fmt.Errorf("sqlite: %s %s: %w", op, id, store.ErrNotFound)
	case qerr != nil:
		return fail(ctx, op+" "+id.String(), qerr)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// GetExecution returns the record with the ID. See store.Store.
func (s *Store) GetExecution(ctx context.Context, id uuid.UUID) (*store.Execution, error) {
	const op = "get execution"
	if err := s.enter(ctx, op); err != nil {
		return nil, err
	}
	defer s.leave()
	e, err := scanExecution(s.stmts.get.QueryRowContext(ctx, id[:]))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: %s %s: %w", op, id, store.ErrNotFound)
	case err != nil:
		return nil, fail(ctx, op+" "+id.String(), err)
	}
	return e, nil
}

// ListExecutions returns one page of the records matching f, newest first,
// with keyset pagination on (started_at, id). See store.Store.
func (s *Store) ListExecutions(ctx context.Context, f store.ExecutionFilter) (*store.Page, error) {
	const op = "list executions"
	var (
		where []string
		args  []any
	)
	if f.Task != "" {
		where = append(where, "task = ?")
		args = append(args, f.Task)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if len(f.Triggers) > 0 {
		where = append(where, "trigger IN ("+placeholders(len(f.Triggers))+")")
		for _, t := range f.Triggers {
			args = append(args, string(t))
		}
	}
	if f.GraphRunID != uuid.Nil {
		where = append(where, "graph_run_id = ?")
		args = append(args, f.GraphRunID[:])
	}
	if !f.From.IsZero() {
		where = append(where, "started_at >= ?")
		args = append(args, ceilMicros(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "started_at < ?")
		args = append(args, ceilMicros(f.To))
	}
	if f.Cursor != "" {
		c, err := backend.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		// (started_at, id) < (c.StartedAt, c.ID), written out; the
		// first term gives the planner a range on the index. A cursor
		// time between two microseconds (from a record that was not
		// stored here) has no ties among stored times.
		at := c.StartedAt.UnixMicro()
		if c.StartedAt.Nanosecond()%1000 != 0 {
			where = append(where, "started_at <= ?")
			args = append(args, at)
		} else {
			where = append(where, "started_at <= ? AND (started_at < ? OR id < ?)")
			args = append(args, at, at, c.ID[:])
		}
	}
	limit := backend.PageLimit(f.Limit)
	var q strings.Builder
	q.WriteString("SELECT " + execCols + " FROM " + s.q.executions)
	if len(where) > 0 {
		q.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	// One more than the page tells whether more rows follow.
	q.WriteString(" ORDER BY started_at DESC, id DESC LIMIT ?")
	args = append(args, limit+1)

	if err := s.enter(ctx, op); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	defer rows.Close()
	page := &store.Page{Executions: make([]*store.Execution, 0, min(limit+1, 128))}
	for rows.Next() {
		e, err := scanExecution(rows)
		if err != nil {
			return nil, fail(ctx, op, err)
		}
		page.Executions = append(page.Executions, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, op, err)
	}
	if len(page.Executions) > limit {
		page.Executions = page.Executions[:limit]
		page.NextCursor = backend.EncodeCursor(page.Executions[limit-1])
	}
	return page, nil
}

// finalStates are the states DeleteExecutions deletes.
var finalStates = func() []any {
	var out []any
	for _, st := range []store.State{
		store.StatePending, store.StateRunning, store.StateSucceeded, store.StateFailed,
		store.StateSkipped, store.StateCancelled, store.StateAbandoned,
	} {
		if st.Final() {
			out = append(out, string(st))
		}
	}
	return out
}()

// DeleteExecutions deletes final records that started before p.Before,
// oldest first when p.Limit caps them, in one statement. Deleting a row
// removes it from the claim index, which frees its slot. See store.Store.
func (s *Store) DeleteExecutions(ctx context.Context, p store.DeleteParams) (int, error) {
	const op = "delete executions"
	if err := p.Validate(); err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	// "+state" keeps the planner off the state index, which most rows
	// match (every final state): a batch walks (task,) started_at from the
	// oldest and stops at Limit, instead of sorting every final row.
	cond := "+state IN (" + placeholders(len(finalStates)) + ") AND started_at < ?"
	args := append(append([]any(nil), finalStates...), ceilMicros(p.Before))
	if p.Task != "" {
		cond += " AND task = ?"
		args = append(args, p.Task)
	}
	var q string
	if p.Limit == 0 {
		q = "DELETE FROM " + s.q.executions + " WHERE " + cond
	} else {
		q = "DELETE FROM " + s.q.executions + " WHERE rowid IN (SELECT rowid FROM " + s.q.executions +
			" WHERE " + cond + " ORDER BY started_at, id LIMIT ?)"
		args = append(args, p.Limit)
	}

	if err := s.enter(ctx, op); err != nil {
		return 0, err
	}
	defer s.leave()
	n, err := s.w.exec(ctx, nil, q, args...)
	if err != nil {
		return 0, fail(ctx, op, err)
	}
	return int(n), nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanExecution(sc scanner) (*store.Execution, error) {
	var (
		e                    store.Execution
		id, parent, graph    []byte
		trigger, state, args string
		scheduled, ended     sql.NullInt64
		started, exitCode    int64
	)
	err := sc.Scan(&id, &e.Task, &trigger, &scheduled, &started, &ended, &state, &exitCode, &e.ExitMessage,
		&e.Error, &args, &e.ExternalID, &parent, &graph, &e.RootTask, &e.Node, &e.SkipReason, &e.Exclusive,
		&e.CancelRequested, &e.Fence, &e.Report)
	if err != nil {
		return nil, err
	}
	if e.ID, err = toID(id); err != nil {
		return nil, fmt.Errorf("id: %w", err)
	}
	if e.ParentID, err = toID(parent); err != nil {
		return nil, fmt.Errorf("execution %s: parent_id: %w", e.ID, err)
	}
	if e.GraphRunID, err = toID(graph); err != nil {
		return nil, fmt.Errorf("execution %s: graph_run_id: %w", e.ID, err)
	}
	if e.Args, err = decodeArgs(args); err != nil {
		return nil, fmt.Errorf("execution %s: args: %w", e.ID, err)
	}
	e.Trigger, e.State = store.Trigger(trigger), store.State(state)
	e.ScheduledAt, e.StartedAt, e.EndedAt = fromMicros(scheduled), time.UnixMicro(started).UTC(), fromMicros(ended)
	e.ExitCode = int(exitCode)
	return &e, nil
}

// micros returns t as microseconds since the Unix epoch (rounded down), or
// NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// ceilMicros returns the smallest microsecond count m with m µs >= t: a
// bound that compares stored (whole-microsecond) times with t exactly.
func ceilMicros(t time.Time) int64 {
	m := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		m++
	}
	return m
}

// fromMicros is the inverse of micros, in UTC.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// nullID returns the bytes of id, or NULL for uuid.Nil.
func nullID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id[:]
}

// toID is the inverse of nullID.
func toID(b []byte) (uuid.UUID, error) {
	if b == nil {
		return uuid.Nil, nil
	}
	return uuid.FromBytes(b)
}

// encodeArgs returns args as a JSON array, "[]" for nil or empty. It does
// not escape <, > and & as HTML, so the column reads as written.
func encodeArgs(args []string) (string, error) {
	if len(args) == 0 {
		return "[]", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(args); err != nil {
		return "", fmt.Errorf("args: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// decodeArgs is the inverse of encodeArgs; "[]" gives nil.
func decodeArgs(s string) ([]string, error) {
	if s == "[]" || s == "" {
		return nil, nil
	}
	var args []string
	if err := json.Unmarshal([]byte(s), &args); err != nil {
		return nil, err
	}
	return args, nil
}

// placeholders returns n question marks separated by commas.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
