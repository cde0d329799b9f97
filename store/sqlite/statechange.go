package sqlite

import (
	"context"
	"fmt"

	"github.com/taskmill/taskmill/store"
)

var _ store.StateChanger = (*Store)(nil)

// ChangeTaskState applies c to the task's state in one transaction: the
// row is made if missing (a write first, so that the transaction holds the
// file's write lock before it reads), read, changed by
// store.StateChange.Apply and written back. Writes to the file are
// serialised, so concurrent changes of one task, from any handle or
// process, apply one after the other. It does not go through the writer:
// the changes are rare (a run's failure, a success after failures,
// Suspend, Resume). See store.StateChanger.
func (s *Store) ChangeTaskState(ctx context.Context, c store.StateChange) (*store.TaskState, bool, error) {
	const op = "change task state"
	if err := c.Validate(); err != nil {
		return nil, false, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := s.enter(ctx, op); err != nil {
		return nil, false, err
	}
	defer s.leave()
	what := fmt.Sprintf("%s %q", op, c.Task)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fail(ctx, what, err)
	}
	defer tx.Rollback() // after Commit, a no-op
	if _, err := tx.ExecContext(ctx, s.q.ensureState, c.Task); err != nil {
		return nil, false, fail(ctx, what, err)
	}
	st, err := scanTaskState(tx.StmtContext(ctx, s.stmts.getState).QueryRowContext(ctx, c.Task))
	if err != nil {
		return nil, false, fail(ctx, what, err)
	}
	suspendedNow := c.Apply(st)
	suspended := 0
	if st.Suspended {
		suspended = 1
	}
	if _, err := tx.StmtContext(ctx, s.stmts.putState).ExecContext(ctx, st.Task, suspended, st.SuspendedReason,
		micros(st.SuspendedAt), int64(st.ConsecutiveFailures), micros(st.LastScheduledAt), micros(st.UpdatedAt)); err != nil {
		return nil, false, fail(ctx, what, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fail(ctx, what, err)
	}
	return st, suspendedNow, nil
}
