package store

import "errors"

// Sentinel errors every backend returns; callers branch on them with
// errors.Is. Backends map their native errors (sql.ErrNoRows, unique
// violations) onto these and never leak the native ones.
var (
	// ErrNotFound is returned when an execution or a task state does not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict is returned by CreateExecution when the slot it claims
	// (task name and nominal time of a scheduled or catch-up execution) is
	// already claimed, or when an execution with the same ID exists. It is
	// how many engines sharing one store run every slot exactly once.
	// UpdateExecution returns it for a record that has ended, and
	// Abandoner.AbandonExecution for one that has ended or moved.
	ErrConflict = errors.New("store: conflict")

	// ErrBusy is returned by CreateExecution and UpdateExecution when an
	// exclusive execution would be a task's second running (or pending)
	// one: another engine runs (or holds queued) the task. See
	// Execution.Exclusive.
	ErrBusy = errors.New("store: busy")

	// ErrInvalid is returned for a record or a filter that cannot be stored
	// or answered: an empty task name, a zero ID, a malformed cursor. The
	// wrapping error names the field.
	ErrInvalid = errors.New("store: invalid input")

	// ErrClosed is returned by a store used after Close.
	ErrClosed = errors.New("store: closed")
)
