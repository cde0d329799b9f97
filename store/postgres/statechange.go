package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/taskmill/taskmill/store"
)

var _ store.StateChanger = (*Store)(nil)

// ChangeTaskState applies c to the task's state in one transaction: the
// row is made if missing, locked (SELECT ... FOR UPDATE), changed by
// store.StateChange.Apply and written back, so that concurrent changes of
// one task, from any process, apply one after the other. It does not go
// through the writer: the changes are rare (a run's failure, a success
// after failures, Suspend, Resume). See store.StateChanger.
func (s *Store) ChangeTaskState(ctx context.Context, c store.StateChange) (*store.TaskState, bool, error) {
	const op = "change task state"
	if err := s.begin(ctx, op); err != nil {
		return nil, false, err
	}
	if err := c.Validate(); err != nil {
		return nil, false, err
	}
	var (
		after        *store.TaskState
		suspendedNow bool
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.sql.ensureState, c.Task); err != nil {
			return err
		}
		st, err := scanTaskState(tx.QueryRow(ctx, s.sql.lockState, c.Task))
		if err != nil {
			return err
		}
		suspendedNow = c.Apply(st)
		if _, err := tx.Exec(ctx, s.sql.putState, taskStateArgs(st)...); err != nil {
			return err
		}
		after = st
		return nil
	})
	if err != nil {
		return nil, false, s.fail(ctx, fmt.Sprintf("%s %q", op, c.Task), err)
	}
	return after, suspendedNow, nil
}
