package sqlite

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

var _ store.Abandoner = (*Store)(nil)

// AbandonExecution marks a pending or running record of p.Node abandoned:
// one conditional UPDATE through the writer. With p.Recovery, the writer
// runs the INSERT of the recovery record after it, in the same
// transaction, if the mark is made; an INSERT that fails (the recovery's ID
// exists) undoes the mark. See store.Abandoner.
func (s *Store) AbandonExecution(ctx context.Context, p store.AbandonParams) error {
	const op = "abandon execution"
	if err := p.Validate(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	var more []step
	if r := p.Recovery; r != nil {
		args, err := encodeArgs(r.Args)
		if err != nil {
			return fmt.Errorf("sqlite: %s %s: recovery %s: %w", op, p.ID, r.ID, err)
		}
		more = []step{{stmt: s.stmts.insert, args: insertArgs(r, args)}}
	}
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	defer s.leave()
	id := p.ID
	n, err := s.w.execSteps(ctx, step{query: s.q.abandon,
		args: []any{p.EndedAt.UnixMicro(), p.Error, id[:], p.Node}}, more...)
	switch {
	case err != nil && p.Recovery != nil && sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("sqlite: %s %s: %w: recovery %s exists", op, id, store.ErrConflict, p.Recovery.ID)
	case err != nil:
		return fail(ctx, op+" "+id.String(), err)
	case n == 1:
		return nil
	}
	e, err := s.GetExecution(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w: execution %s is %s on node %s, not pending or running on %s",
		op, store.ErrConflict, id, e.State, quote.Short(e.Node), quote.Short(p.Node))
}

var _ store.CancelRequester = (*Store)(nil)

// RequestCancel sets cancel_requested on a pending or running record: one
// conditional UPDATE through the writer, and a query of the record's state
// only when it changes no row. See store.CancelRequester.
func (s *Store) RequestCancel(ctx context.Context, id uuid.UUID) error {
	const op = "request cancel"
	if err := backend.CheckCancelID(id); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if err := s.enter(ctx, op); err != nil {
		return err
	}
	defer s.leave()
	n, err := s.w.exec(ctx, nil, s.q.cancel, id[:])
	switch {
	case err != nil:
		return fail(ctx, op+" "+id.String(), err)
	case n == 0:
		return s.notChanged(ctx, op, id)
	}
	return nil
}
