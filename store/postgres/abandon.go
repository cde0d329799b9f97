package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

var _ store.Abandoner = (*Store)(nil)

// AbandonExecution marks a pending or running record of p.Node abandoned:
// one conditional UPDATE, so that of engines sweeping at once one wins.
// With p.Recovery it is one statement still, the UPDATE in a WITH clause of
// the recovery record's INSERT ... SELECT, which inserts the record only if
// the mark is made, and whose failure (the recovery's ID exists) undoes the
// mark. See store.Abandoner.
func (s *Store) AbandonExecution(ctx context.Context, p store.AbandonParams) error {
	const op = "abandon execution"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	sql, args := s.sql.abandon, []any{pgUUID(p.ID), pgTime(p.EndedAt), p.Error, p.Node}
	if p.Recovery != nil {
		sql, args = s.sql.abandonWith, append(args, insertArgs(p.Recovery)...)
	}
	tag, err := s.pool.Exec(ctx, sql, args...)
	var pe *pgconn.PgError
	switch {
	case p.Recovery != nil && errors.As(err, &pe) && pe.Code == "23505": // unique_violation
		return fmt.Errorf("postgres: %s %s: %w: recovery %s exists", op, p.ID, store.ErrConflict, p.Recovery.ID)
	case err != nil:
		return s.fail(ctx, op, err)
	case tag.RowsAffected() == 1:
		return nil
	}
	e, err := s.GetExecution(ctx, p.ID)
	if err != nil {
		return err
	}
	return fmt.Errorf("postgres: %s: %w: execution %s is %s on node %s, not pending or running on %s",
		op, store.ErrConflict, p.ID, e.State, quote.Short(e.Node), quote.Short(p.Node))
}

var _ store.CancelRequester = (*Store)(nil)

// RequestCancel sets cancel_requested on a pending or running record: one
// conditional UPDATE, and a query of the record's state only when it
// changes no row. See store.CancelRequester.
func (s *Store) RequestCancel(ctx context.Context, id uuid.UUID) error {
	const op = "request cancel"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	if err := backend.CheckCancelID(id); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	tag, err := s.pool.Exec(ctx, s.sql.cancel, pgUUID(id))
	switch {
	case err != nil:
		return s.fail(ctx, op, err)
	case tag.RowsAffected() == 0:
		return s.notChanged(ctx, op, id)
	}
	return nil
}
