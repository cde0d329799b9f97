package postgres

import (
	"context"
	"fmt"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/store"
)

var _ store.Abandoner = (*Store)(nil)

// AbandonExecution marks a pending or running record of p.Node abandoned:
// one conditional UPDATE, so that of engines sweeping at once one wins.
// See store.Abandoner.
func (s *Store) AbandonExecution(ctx context.Context, p store.AbandonParams) error {
	const op = "abandon execution"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE `+s.t.executions+` SET state = 'abandoned', ended_at = $2, error = $3
		WHERE id = $1 AND node = $4 AND state IN ('pending', 'running')`,
		pgUUID(p.ID), pgTime(p.EndedAt), p.Error, p.Node)
	if err != nil {
		return s.fail(ctx, op, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	e, err := s.GetExecution(ctx, p.ID)
	if err != nil {
		return err
	}
	return fmt.Errorf("postgres: %s: %w: execution %s is %s on node %s, not pending or running on %s",
		op, store.ErrConflict, p.ID, e.State, quote.Short(e.Node), quote.Short(p.Node))
}
