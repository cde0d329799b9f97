package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// AbandonParams are the inputs of Abandoner.AbandonExecution.
type AbandonParams struct {
	ID uuid.UUID
	// Node is the node the record must still name: the one found dead.
	Node string
	// EndedAt and Error are written into the record.
	EndedAt time.Time
	Error   string
	// Recovery, if not nil, is created in the same step as the mark, and
	// only if the mark is made: the re-run of the abandoned execution for
	// a task that asks for recovery. It must be a valid new record (see
	// Execution.Validate) with Trigger TriggerRecovery, ParentID p.ID,
	// and State pending. So of several engines that sweep at once, the
	// one that marks the record creates its re-run, and no crash between
	// the two leaves the slot without one. (A pending recovery record does
	// not count against Execution.Exclusive's one pending execution: a
	// queued fire must not cost the slot its re-run.)
	Recovery *Execution
}

// Validate checks p as every backend does; the error wraps ErrInvalid and
// names the field.
func (p AbandonParams) Validate() error {
	switch {
	case p.ID == uuid.Nil:
		return fmt.Errorf("%w: abandon: execution ID is zero", ErrInvalid)
	case p.EndedAt.IsZero():
		return fmt.Errorf("%w: abandon execution %s: EndedAt is zero", ErrInvalid, p.ID)
	case !TimeOK(p.EndedAt):
		return timeError(p.ID, "EndedAt", p.EndedAt)
	case !TextOK(p.Node):
		return textError(p.ID, "Node", p.Node)
	case !TextOK(p.Error):
		return textError(p.ID, "Error", p.Error)
	}
	if r := p.Recovery; r != nil {
		switch {
		case r.Trigger != TriggerRecovery:
			return fmt.Errorf("%w: abandon execution %s: recovery %s: trigger %q, want %q", ErrInvalid, p.ID, r.ID, r.Trigger, TriggerRecovery)
		case r.ParentID != p.ID:
			return fmt.Errorf("%w: abandon execution %s: recovery %s: ParentID %s, want the abandoned execution", ErrInvalid, p.ID, r.ID, r.ParentID)
		case r.State != StatePending:
			return fmt.Errorf("%w: abandon execution %s: recovery %s: state %q, want %q", ErrInvalid, p.ID, r.ID, r.State, StatePending)
		case r.ID == p.ID:
			return fmt.Errorf("%w: abandon execution %s: recovery has the abandoned execution's ID", ErrInvalid, p.ID)
		}
		return r.Validate()
	}
	return nil
}

// Abandoner is implemented by stores that mark an execution abandoned in
// one conditional step: the engines' sweep for the runs of dead nodes
// goes through it, so that when several engines sweep at once each
// record is marked exactly once. An optional ability, found by type
// assertion; store/memory, store/sqlite and store/postgres have it.
type Abandoner interface {
	// AbandonExecution sets the record's State to StateAbandoned and its
	// EndedAt and Error to p's, keeping every other field, if it is
	// pending or running and names p.Node. It returns ErrNotFound if no
	// record has the ID, and ErrConflict, changing nothing, if the record
	// has ended (abandoned by another sweep among others) or names another
	// node. With p.Recovery, the recovery record is created with the mark
	// (an ErrConflict on its ID changes nothing either).
	AbandonExecution(ctx context.Context, p AbandonParams) error
}

// CancelRequester is implemented by stores that record a request to
// cancel a run, so that Cancel called on one engine reaches a run of
// another: the engine running it sees CancelRequested on its next look at
// its records (every lease renewal) and cancels it. An optional ability,
// found by type assertion; store/memory, store/sqlite and store/postgres
// have it.
type CancelRequester interface {
	// RequestCancel sets CancelRequested on the record with the ID if it
	// is pending or running, keeping every other field. It returns
	// ErrNotFound if no record has the ID, and ErrConflict, changing
	// nothing, if the record has ended. A second request succeeds and
	// changes nothing.
	RequestCancel(ctx context.Context, id uuid.UUID) error
}
