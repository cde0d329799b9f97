// This file owns the operator's calls on runs: RunNow and its options,
// Wait and Cancel.

package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// lastFinal returns a copy of the task's last execution if it is the one
// with the ID and final, else nil.
func (e *Engine) lastFinal(task string, id uuid.UUID) *store.Execution {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent := e.tasks[task]
	if ent == nil || ent.last == nil || ent.last.ID != id || !ent.last.State.Final() {
		return nil
	}
	return ent.last.Clone()
}

// RunOption configures one run: one started by RunNow, or the run of
// RunOnce and RunMain (a RunOption is also a OnceOption).
type RunOption func(*runConfig) error

// OnceOption configures RunOnce and RunMain: a RunOption, or
// WithEngineOptions. RunNow takes RunOption only: its engine exists
// already.
type OnceOption interface {
	applyOnce(*runConfig) error
}

func (o RunOption) applyOnce(c *runConfig) error {
	if o == nil {
		return fmt.Errorf("%w: nil run option", ErrInvalidOption)
	}
	return o(c)
}

type runConfig struct {
	args           []string
	externalID     string
	parentID       uuid.UUID
	singleInstance bool
	engineOpts     []Option
}

// WithArgs sets the run's arguments, recorded in Execution.Args and read by
// the job with Args(ctx). Each must be valid UTF-8 without NUL bytes, text
// that every store can keep.
func WithArgs(args ...string) RunOption {
	return func(c *runConfig) error {
		for i, a := range args {
			if err := storableText(a); err != nil {
				return fmt.Errorf("%w: WithArgs: argument %d %w", ErrInvalidOption, len(c.args)+i, err)
			}
		}
		c.args = append(c.args, args...)
		return nil
	}
}

// WithExternalID records the id an outside system gave this run. It must
// be valid UTF-8 without NUL bytes.
func WithExternalID(id string) RunOption {
	return func(c *runConfig) error {
		if err := storableText(id); err != nil {
			return fmt.Errorf("%w: WithExternalID: id %w", ErrInvalidOption, err)
		}
		c.externalID = id
		return nil
	}
}

// WithParentID records the execution that caused this run.
func WithParentID(id uuid.UUID) RunOption {
	return func(c *runConfig) error {
		c.parentID = id
		return nil
	}
}

// SingleInstance refuses the run, with ErrAlreadyRunning naming the task,
// while another runs it.
//
// With RunOnce and RunMain on a store with a locker (store/sqlite and
// store/postgres have their own; WithEngineOptions(WithLocker(l)) gives
// another) it is a lease, on the key "single/<task name>": the process
// takes it before it records its run, holds it until the run has ended,
// renewing it with its node lease (WithLease: same TTL and interval), and
// releases it. A process that finds it held by another is refused, so of
// processes started at the same instant exactly one runs. A process killed
// mid-run (kill -9) leaves the lease to expire: it blocks the next start
// for at most the TTL after its last renewal (LeaseTTLDefault, 15 s by
// default; one renewal interval more if the kill fell between the renewals
// of its two leases). Once it holds the lease, the process marks abandoned
// the runs of nodes whose lease has ended, the killed process's among them
// (the sweep of the package doc), then also refuses while the store holds
// a pending or running execution of the task: a run of a live engine
// (RunNow, a schedule), which the lease does not cover, or of an engine
// without a lease. A lease lost mid-run (not renewed for a TTL) is logged
// at Error; if the node lease lapsed with it, the engine stops the run
// (cause ErrLeaseLost), as it does any run of a node whose lease lapsed.
//
// Without a locker (store/memory, WithLocker(nil)), and for RunNow, it is
// only that read of the store, not a lock: it holds against runs recorded
// before the check, but two runs checking at the same instant can both
// pass, and a record left running by a killed process refuses every later
// run until something marks it ended.
func SingleInstance() RunOption {
	return func(c *runConfig) error {
		c.singleInstance = true
		return nil
	}
}

// WithEngineOptions passes options to the engine RunOnce and RunMain build.
func WithEngineOptions(opts ...Option) OnceOption { return engineOptions(opts) }

type engineOptions []Option

func (o engineOptions) applyOnce(c *runConfig) error {
	c.engineOpts = append(c.engineOpts, o...)
	return nil
}

// buildRunConfig applies opts in order.
func buildRunConfig[O OnceOption](opts []O) (runConfig, error) {
	var c runConfig
	for _, o := range opts {
		if any(o) == nil {
			return c, fmt.Errorf("%w: nil run option", ErrInvalidOption)
		}
		if err := o.applyOnce(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// RunNow starts a run of the task now (trigger manual) and returns its
// execution id; Wait returns the finished record. It runs suspended tasks
// too and does not evaluate the task's When condition: it is an operator's
// explicit request. If the task is running, its overlap policy decides:
// OverlapSkip returns ErrAlreadyRunning, OverlapQueueOne queues the run (or
// returns ErrAlreadyRunning if one is queued), OverlapAllow runs it.
//
// The run's context carries the values of ctx (a trace's span, so that the
// run joins the caller's trace; request-scoped values) but not its
// deadline or cancellation: the run outlives the call, and Cancel stops it.
func (e *Engine) RunNow(ctx context.Context, name string, opts ...RunOption) (uuid.UUID, error) {
	rc, err := buildRunConfig(opts)
	if err != nil {
		return uuid.Nil, err
	}
	return e.runNow(ctx, name, store.TriggerManual, rc)
}

func (e *Engine) runNow(ctx context.Context, name string, trig store.Trigger, rc runConfig) (uuid.UUID, error) {
	if err := ctx.Err(); err != nil {
		return uuid.Nil, err
	}
	if rc.singleInstance {
		e.mu.Lock()
		_, err := e.lookup(name)
		if err == nil && e.status != statusStarted {
			err = e.notStarted()
		}
		e.mu.Unlock()
		if err != nil {
			return uuid.Nil, err
		}
		page, err := e.store.ListExecutions(ctx, store.ExecutionFilter{
			Task: name, States: []store.State{store.StatePending, store.StateRunning}, Limit: 1,
		})
		if err != nil {
			return uuid.Nil, fmt.Errorf("task: task %q: checking for a running execution: %w", name, err)
		}
		if len(page.Executions) > 0 {
			x := page.Executions[0]
			return uuid.Nil, fmt.Errorf("%w: task %q has execution %s %s on node %q since %s",
				ErrAlreadyRunning, name, x.ID, x.State, x.Node, x.StartedAt.Format(time.RFC3339))
		}
	}
	exec := &store.Execution{
		ID:         newID(),
		Task:       name,
		Trigger:    trig,
		Args:       slices.Clone(rc.args),
		ExternalID: rc.externalID,
		ParentID:   rc.parentID,
	}
	// The run's context carries ctx's values (a trace, request-scoped
	// values), not its cancellation: the run outlives the call.
	spare := e.allocRun()
	spare.jc.parent = context.WithoutCancel(ctx)
	r, ent, err := e.admitTask(nil, name, exec, true, spare)
	if err != nil {
		return uuid.Nil, err
	}
	if r == nil {
		return uuid.Nil, fmt.Errorf("%w: task %q (overlap policy %s)", ErrAlreadyRunning, name, ent.spec.o().Overlap)
	}
	return exec.ID, nil
}

// Wait blocks until the execution has a final state and returns its record.
// It returns ctx.Err() if ctx ends first, and store.ErrNotFound for an
// unknown id. An execution running on another engine is polled.
func (e *Engine) Wait(ctx context.Context, id uuid.UUID) (*store.Execution, error) {
	r := e.runs.get(id)
	if r != nil {
		select {
		case <-r.done.wait():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		r.mu.Lock()
		final := r.final
		r.mu.Unlock()
		if final != nil {
			// The run ended here: its final record is what was written
			// (or, if the store refused it, the truth).
			return final.Clone(), nil
		}
	}
	for {
		x, err := e.store.GetExecution(ctx, id)
		if err != nil {
			return nil, err
		}
		if x.State.Final() {
			return x, nil
		}
		if last := e.lastFinal(x.Task, id); last != nil {
			// It ended here after all, and the store refused its final
			// record (the run had left the table before Wait looked).
			return last, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-e.clock.After(waitPollInterval):
		}
	}
}

// waitPollInterval is how often Wait polls the store for a run that is not
// on this engine.
const waitPollInterval = 500 * time.Millisecond

// Cancel cancels a pending or running execution: a running job's context
// is cancelled (cause ErrCancelled) and the run is recorded cancelled when
// the job returns; a pending run is recorded cancelled at once. It returns
// without waiting; use Wait. The execution of another engine sharing the
// store is cancelled by that engine: the request is stored
// (store.CancelRequester) and the engine running it stops it at its next
// lease renewal (within LeaseRenewDefault by default; an engine without a
// node lease never sees the request). An execution that has ended, or that
// is not on this engine and cannot be requested, returns ErrNotRunning;
// an unknown id store.ErrNotFound.
func (e *Engine) Cancel(ctx context.Context, id uuid.UUID) error {
	r := e.runs.get(id)
	if r == nil {
		x, err := e.store.GetExecution(ctx, id)
		if err != nil {
			return err
		}
		if cr, ok := e.store.(store.CancelRequester); ok && !x.State.Final() && x.Node != e.cfg.node {
			// Another engine's run: the request is stored, and that
			// engine stops the run at its next sweep.
			err := cr.RequestCancel(ctx, id)
			if !errors.Is(err, store.ErrConflict) {
				return err
			}
			if x, err = e.store.GetExecution(ctx, id); err != nil {
				return err
			}
		}
		return fmt.Errorf("%w: execution %s of task %q is %s", ErrNotRunning, id, x.Task, x.State)
	}
	r.stop(ErrCancelled)
	return nil
}

// cancelRun stops a run on this engine, if it is here, with cause.
func (e *Engine) cancelRun(id uuid.UUID, cause error) {
	r := e.runs.get(id)
	if r != nil {
		r.stop(cause)
	}
}
