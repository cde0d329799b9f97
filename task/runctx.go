// This file owns a run's context: the run is its own context.Context, and
// the standard cancellable context it stands for is made only when needed.

package task

import (
	"context"
	"sync"
	"time"
)

// jobCtx is a run's context: the one its condition, listeners and job get.
// It lives inside the run (no allocation of its own) and makes the standard
// cancellable context it stands for only when something needs one — Done,
// context.Cause of a cancelled run, a context derived from it — so a job
// that never looks at cancellation pays nothing for it. Three allocations
// per run fewer buy the burst, record and tick targets (bench/README.md,
// issue 16). Once made, that
// context does the work: derived contexts attach to it directly, and
// context.Cause reports the cause the run was cancelled with (ErrTimeout,
// ErrCancelled, ErrShutdown).
type jobCtx struct {
	r *run

	mu sync.Mutex
	// parent gives the context its values (a RunNow caller's trace and
	// request-scoped values, the run's span), never its cancellation: it
	// is context.WithoutCancel of the caller's context, or nil for
	// context.Background. Set before the run is published, and by
	// setParent; read under mu but by parentCtx.
	parent context.Context
	inner  context.Context // made on first need
	cancel context.CancelCauseFunc
	cause  error // the first cause the run was cancelled with
}

var _ context.Context = (*jobCtx)(nil)

// Deadline reports no deadline: Spec.Timeout cancels the run with cause
// ErrTimeout instead.
func (c *jobCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done returns a channel closed when the run is cancelled or over.
func (c *jobCtx) Done() <-chan struct{} { return c.ctx().Done() }

// Err returns context.Canceled once the run is cancelled or over, else nil.
func (c *jobCtx) Err() error {
	if c.causeErr() != nil {
		return context.Canceled
	}
	return nil
}

// Value returns the run for the package's key. For every other key it asks
// the standard context once it exists or must (a cancelled run's, which
// context.Cause finds through Value), else the parent: until it is
// cancelled a run's context has only the parent's values (its parent
// cannot be cancelled, so it holds no cancellation of its own).
func (c *jobCtx) Value(key any) any {
	if key == (runKey{}) {
		return c.r
	}
	c.mu.Lock()
	inner, cancelled, parent := c.inner, c.cause != nil, c.parent
	c.mu.Unlock()
	if inner == nil && !cancelled {
		if parent == nil {
			return nil
		}
		return parent.Value(key)
	}
	return c.ctx().Value(key)
}

// parentCtx returns the parent, context.Background if none. Only the
// goroutine that executes the run, or code before it starts, calls it: it
// reads the parent without the lock, which only setParent, on that
// goroutine, changes.
func (c *jobCtx) parentCtx() context.Context {
	if c.parent == nil {
		return context.Background()
	}
	return c.parent
}

// setParent replaces the parent (with one carrying the run's span) before
// the run's condition, listeners and job get its context.
func (c *jobCtx) setParent(p context.Context) {
	c.mu.Lock()
	c.parent = p
	c.mu.Unlock()
}

// String names the context in panics and logs.
func (c *jobCtx) String() string { return "task.runContext" }

// ctx returns the standard context, making it (cancelled, if the run
// already is) on first use.
func (c *jobCtx) ctx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		c.inner, c.cancel = context.WithCancelCause(c.parentCtx())
		if c.cause != nil {
			c.cancel(c.cause)
		}
	}
	return c.inner
}

// cancelWith cancels the run's context; the first cause stays. The
// standard context is cancelled under the lock, with the recorded cause:
// two cancellations racing must not leave the job seeing one cause and the
// record another, nor Err non-nil while Done is open. (Cancelling never
// calls back into the parent.)
func (c *jobCtx) cancelWith(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cause == nil {
		c.cause = cause
	}
	if c.cancel != nil {
		c.cancel(c.cause) // a no-op but for the first call
	}
}

// causeErr returns what the run was cancelled with, or nil.
func (c *jobCtx) causeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}
