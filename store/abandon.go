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
	// node.
	AbandonExecution(ctx context.Context, p AbandonParams) error
}
