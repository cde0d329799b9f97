package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/taskmill/taskmill/store"
)

// GetTaskState returns the persisted state of task. See store.Store.
func (s *Store) GetTaskState(ctx context.Context, task string) (*store.TaskState, error) {
	const op = "get task state"
	if err := s.enter(ctx, op); err != nil {
		return nil, err
	}
	defer s.leave()
	ts, err := scanTaskState(s.stmts.getState.QueryRowContext(ctx, task))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("sqlite: %s %q: %w", op, task, store.ErrNotFound)
	case err != nil:
		return nil, fail(ctx, fmt.Sprintf("%s %q", op, task), err)
	}
	return ts, nil
}

var _ store.StateLister = (*Store)(nil)

// ListTaskStates returns every persisted task state: one SELECT over the
// task state table. See store.StateLister.
func (s *Store) ListTaskStates(ctx context.Context) ([]*store.TaskState, error) {
	const op = "list task states"
	if err := s.enter(ctx, op); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.db.QueryContext(ctx, s.q.listStates)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	defer rows.Close()
	var out []*store.TaskState
	for rows.Next() {
		ts, err := scanTaskState(rows)
		if err != nil {
			return nil, fail(ctx, op, err)
		}
		out = append(out, ts)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, op, err)
	}
	return out, nil
}

// scanTaskState reads a row of stateCols.
func scanTaskState(sc scanner) (*store.TaskState, error) {
	var (
		ts                                  store.TaskState
		suspended, failures                 int64
		suspendedAt, lastScheduled, updated sql.NullInt64
	)
	err := sc.Scan(&ts.Task, &suspended, &ts.SuspendedReason, &suspendedAt, &failures, &lastScheduled, &updated)
	if err != nil {
		return nil, err
	}
	ts.Suspended = suspended != 0
	ts.ConsecutiveFailures = int(failures)
	ts.SuspendedAt, ts.LastScheduledAt, ts.UpdatedAt = fromMicros(suspendedAt), fromMicros(lastScheduled), fromMicros(updated)
	return &ts, nil
}

// PutTaskState inserts or replaces the state of ts.Task in one upsert. See
// store.Store.
func (s *Store) PutTaskState(ctx context.Context, ts *store.TaskState) error {
	const op = "put task state"
	if err := ts.Validate(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	suspended := 0
	if ts.Suspended {
		suspended = 1
	}
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	defer s.leave()
	_, err := s.w.exec(ctx, s.stmts.putState, "", ts.Task, suspended, ts.SuspendedReason, micros(ts.SuspendedAt),
		int64(ts.ConsecutiveFailures), micros(ts.LastScheduledAt), micros(ts.UpdatedAt))
	if err != nil {
		return fail(ctx, fmt.Sprintf("%s %q", op, ts.Task), err)
	}
	return nil
}

var _ store.SlotLister = (*Store)(nil)

// LastSlots returns every task's latest claimed slot, in one SELECT over
// the claim index (one GROUP BY). See store.SlotLister.
func (s *Store) LastSlots(ctx context.Context) (map[string]time.Time, error) {
	const op = "last slots"
	if err := s.enter(ctx, op); err != nil {
		return nil, err
	}
	defer s.leave()
	rows, err := s.db.QueryContext(ctx, s.q.lastSlots)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	defer rows.Close()
	out := make(map[string]time.Time)
	for rows.Next() {
		var task string
		var slot sql.NullInt64
		if err := rows.Scan(&task, &slot); err != nil {
			return nil, fail(ctx, op, err)
		}
		out[task] = fromMicros(slot)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, op, err)
	}
	return out, nil
}
