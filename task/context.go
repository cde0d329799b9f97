// This file owns what a job reads from its context: the run's record,
// scheduled time, arguments, params, exit message and fencing token.

package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/taskmill/taskmill/store"
)

type runKey struct{}

// runFrom returns the run ctx carries, or nil outside a run.
func runFrom(ctx context.Context) *run {
	r, _ := ctx.Value(runKey{}).(*run)
	return r
}

// CurrentExecution returns a copy of the record of the run ctx belongs to, as
// it was when the job started, and false outside a run.
func CurrentExecution(ctx context.Context) (x store.Execution, ok bool) {
	r := runFrom(ctx)
	if r == nil {
		return x, false
	}
	r.mu.Lock()
	x = *r.exec
	r.mu.Unlock()
	x.Args = slices.Clone(x.Args)
	return x, true
}

// ScheduledAt returns the nominal time of the current run's slot — the
// instant its schedule named, not when it started — and the zero time for a
// manual run or outside a run. It is CurrentExecution(ctx).ScheduledAt
// without copying the record.
func ScheduledAt(ctx context.Context) time.Time {
	r := runFrom(ctx)
	if r == nil {
		return time.Time{}
	}
	return r.exec.ScheduledAt // never changed after the run is admitted
}

// Args returns the arguments of the current run (RunNow's WithArgs), or nil.
func Args(ctx context.Context) []string {
	r := runFrom(ctx)
	if r == nil || len(r.exec.Args) == 0 {
		return nil
	}
	return append([]string(nil), r.exec.Args...)
}

// Param returns the value of the task's Spec.Params entry key.
func Param(ctx context.Context, key string) (string, bool) {
	r := runFrom(ctx)
	if r == nil {
		return "", false
	}
	v, ok := r.spec.o().Params[key]
	return v, ok
}

// SetExitMessage sets the exit message the current run records. A message
// set by an OnTaskFailed or OnTaskEnd listener beats it; it beats one set by
// an OnTaskStartup listener. Outside a run it does nothing.
func SetExitMessage(ctx context.Context, msg string) {
	r := runFrom(ctx)
	if r == nil {
		return
	}
	r.mu.Lock()
	r.jobMsg, r.jobMsgSet = msg, true
	r.mu.Unlock()
}

// FencingToken returns the fencing token of the current run: the Fence
// its store assigned to its record (store.Execution.Fence), greater than
// that of every run created before it in the store, so greater for the
// re-run of an abandoned run than for the run it re-runs. A job whose
// writes to another system must not be overtaken by a stale run (one
// whose engine lost its node lease, see ErrLeaseLost) passes the token
// with each write, and the system refuses a write whose token is lower
// than the highest it has seen. The first call reads the record from the
// store once; later calls return the value read. Outside a run it returns
// an error; with a store that assigns no tokens, 0.
func FencingToken(ctx context.Context) (int64, error) {
	r := runFrom(ctx)
	if r == nil {
		return 0, errors.New("task: FencingToken called outside a run")
	}
	r.mu.Lock()
	f := r.fence
	r.mu.Unlock()
	if f != 0 {
		return f, nil
	}
	x, err := r.e.store.GetExecution(ctx, r.exec.ID)
	if err != nil {
		return 0, fmt.Errorf("task: FencingToken: reading execution %s: %w", r.exec.ID, err)
	}
	r.mu.Lock()
	r.fence = x.Fence
	r.mu.Unlock()
	return x.Fence, nil
}
