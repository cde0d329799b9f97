package memory

import (
	"context"
	"fmt"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/store"
)

var _ store.Abandoner = (*Store)(nil)

// AbandonExecution marks a pending or running record of p.Node abandoned,
// under the record's shard lock. See store.Abandoner.
func (s *Store) AbandonExecution(ctx context.Context, p store.AbandonParams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	// The write lock: the error text may add to the tables.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	sh := s.shardOf(p.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	n, ok := sh.ids.get(p.ID)
	if !ok {
		return notFound(p.ID)
	}
	r := s.rec(n)
	e := s.tables.decode(r, s.extrasOf(n, r))
	if e.State.Final() || e.Node != p.Node {
		return fmt.Errorf("%w: execution %s is %s on node %s, not pending or running on %s",
			store.ErrConflict, p.ID, e.State, quote.Short(e.Node), quote.Short(p.Node))
	}
	e.State, e.EndedAt, e.Error = store.StateAbandoned, p.EndedAt, p.Error
	if err := s.overwrite(sh, n, e, true); err != nil {
		return err
	}
	delete(sh.open, p.ID)
	return nil
}
