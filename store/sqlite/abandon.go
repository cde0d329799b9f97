package sqlite

import (
	"context"
	"fmt"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/store"
)

var _ store.Abandoner = (*Store)(nil)

// AbandonExecution marks a pending or running record of p.Node abandoned:
// one conditional UPDATE through the writer. See store.Abandoner.
func (s *Store) AbandonExecution(ctx context.Context, p store.AbandonParams) error {
	const op = "abandon execution"
	if err := p.Validate(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	defer s.leave()
	id := p.ID
	n, err := s.w.exec(ctx, nil, `UPDATE `+s.q.executions+` SET state = ?, ended_at = ?, error = ?
		WHERE id = ? AND node = ? AND state IN (?, ?)`,
		string(store.StateAbandoned), p.EndedAt.UnixMicro(), p.Error, id[:], p.Node,
		string(store.StatePending), string(store.StateRunning))
	if err != nil {
		return fail(ctx, op+" "+id.String(), err)
	}
	if n == 1 {
		return nil
	}
	e, err := s.GetExecution(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w: execution %s is %s on node %s, not pending or running on %s",
		op, store.ErrConflict, id, e.State, quote.Short(e.Node), quote.Short(p.Node))
}
