package memory

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
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
	if err := s.mark(p); err != nil {
		return err
	}
	if p.Recovery == nil {
		return nil
	}
	// The write lock excludes every other create and update: the mark
	// and the recovery's creation are one step, and mark has checked
	// that the recovery's ID is free.
	errs := [1]error{}
	s.createFrom([]*store.Execution{p.Recovery}, errs[:], 0, true)
	return errs[0]
}

// mark is AbandonExecution's mark, under s.mu's write lock; with
// p.Recovery it also checks that the recovery's ID is free.
func (s *Store) mark(p store.AbandonParams) error {
	if p.Recovery != nil {
		rs := s.shardOf(p.Recovery.ID)
		rs.mu.Lock()
		_, taken := rs.ids.get(p.Recovery.ID)
		rs.mu.Unlock()
		if taken {
			return fmt.Errorf("%w: abandon execution %s: recovery %s exists", store.ErrConflict, p.ID, p.Recovery.ID)
		}
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

var _ store.CancelRequester = (*Store)(nil)

// RequestCancel sets the record's CancelRequested, under its shard lock.
// See store.CancelRequester.
func (s *Store) RequestCancel(ctx context.Context, id uuid.UUID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := backend.CheckCancelID(id); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	sh := s.shardOf(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	n, ok := sh.ids.get(id)
	if !ok {
		return notFound(id)
	}
	r := s.rec(n)
	if st := states[r.state]; st.Final() {
		return fmt.Errorf("%w: request cancel: execution %s has ended (%s)", store.ErrConflict, id, st)
	}
	r.flags |= flagCancel
	return nil
}
