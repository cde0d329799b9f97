// This file owns a task's state — suspended, its reason, consecutive
// failures, last slot — in memory and in the store: loading it at Start,
// changing it (Suspend, Resume, a run's outcome), writing it.

package task

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/store"
)

// getState returns the task's state (the default if none is kept).
func (ent *entry) getState() store.TaskState {
	if ent.state == nil {
		return store.TaskState{Task: ent.spec.Name}
	}
	return *ent.state
}

// suspended reports whether the task is suspended.
func (ent *entry) suspended() bool { return ent.state != nil && ent.state.Suspended }

// changeStateLocked changes the task's state in one read-modify-write;
// e.mu must be held. Every change of a task's state after Start goes
// through it (or countOutcomeLocked, which calls it), so no change is ever
// written back from a copy read earlier.
func (e *Engine) changeStateLocked(ent *entry, change func(*store.TaskState)) {
	st := ent.getState()
	change(&st)
	ent.setState(st)
}

// setState keeps st, or nothing if it is the default.
func (ent *entry) setState(st store.TaskState) {
	if !st.Suspended && st.SuspendedReason == "" && st.SuspendedAt.IsZero() && st.ConsecutiveFailures == 0 &&
		st.LastScheduledAt.IsZero() {
		ent.state = nil
		return
	}
	ent.state = &st
}

// loadStates reads the persisted states of many tasks at once
// (store.ListStates: one call on a store.StateLister) and applies them as
// loadState does.
func (e *Engine) loadStates(ents []*entry) error {
	names := make([]string, len(ents))
	for i, ent := range ents {
		names[i] = ent.spec.Name
	}
	states, err := store.ListStates(e.storeCtx, e.store, names)
	if err != nil {
		return fmt.Errorf("task: loading task states: %w", err)
	}
	for _, ent := range ents {
		if err := e.applyState(ent, states[ent.spec.Name]); err != nil {
			return err
		}
	}
	return nil
}

// loadState reads the task's persisted state, or persists the initial one
// (suspended when Spec.StartSuspended).
func (e *Engine) loadState(ent *entry) error {
	st, err := e.store.GetTaskState(e.storeCtx, ent.spec.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		st = nil
	case err != nil:
		return fmt.Errorf("task: task %q: loading state: %w", ent.spec.Name, err)
	}
	return e.applyState(ent, st)
}

// applyState sets the task's state to st, the persisted one, or when st is
// nil (none is stored) to the initial one, persisted if not the default.
func (e *Engine) applyState(ent *entry, st *store.TaskState) error {
	name := ent.spec.Name
	if st == nil {
		if !ent.spec.o().StartSuspended {
			e.mu.Lock()
			ent.setState(store.TaskState{}) // the default: nothing kept
			e.mu.Unlock()
			return nil
		}
		st = &store.TaskState{Task: name}
		{
			now := e.now()
			st.Suspended, st.SuspendedReason, st.SuspendedAt, st.UpdatedAt = true, "registered with StartSuspended", now, now
			if err := e.store.PutTaskState(e.storeCtx, st); err != nil {
				return fmt.Errorf("task: task %q: saving initial state: %w", name, err)
			}
		}
	}
	e.mu.Lock()
	ent.setState(*st)
	e.mu.Unlock()
	return nil
}

// Suspend stops the task's schedule from firing until Resume; the state is
// persisted, so it survives restarts, and engines sharing the store see it
// within their state poll interval (WithStatePoll). A run in progress goes
// on. RunNow still runs a suspended task. A task already suspended stays
// as it is, with its reason.
func (e *Engine) Suspend(ctx context.Context, name string) error {
	return e.setSuspended(ctx, name, true, "suspended by Suspend")
}

// Resume lets a suspended task fire again and resets its consecutive
// failure count.
func (e *Engine) Resume(ctx context.Context, name string) error {
	return e.setSuspended(ctx, name, false, "")
}

func (e *Engine) setSuspended(ctx context.Context, name string, suspended bool, reason string) error {
	c := store.StateChange{Task: name, At: e.now(), Suspend: suspended, Resume: !suspended, Reason: reason}
	// The store is written first, so that a refused write changes
	// nothing; the change is then applied to the state as it is by then
	// (a run's end may have counted meanwhile: its write, waiting for
	// saveMu, persists the two together).
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	ent, err := e.lookup(name)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	st := ent.getState()
	c.Slot = ent.lastSlot // the newest slot fired: LastScheduledAt never lags it
	e.mu.Unlock()
	if sc, ok := e.store.(store.StateChanger); ok {
		// One atomic change of the stored state, which other engines
		// change too; its result replaces this engine's copy.
		after, _, err := sc.ChangeTaskState(ctx, c)
		if err != nil {
			return fmt.Errorf("task: task %q: saving state: %w", name, err)
		}
		e.mu.Lock()
		ent.setState(*after)
		e.mu.Unlock()
	} else {
		change := func(st *store.TaskState) { c.Apply(st) }
		change(&st)
		if err := e.store.PutTaskState(ctx, &st); err != nil {
			return fmt.Errorf("task: task %q: saving state: %w", name, err)
		}
		e.mu.Lock()
		e.changeStateLocked(ent, change)
		e.mu.Unlock()
	}
	e.log.Info("task state changed", zap.String("task", name), zap.Bool("suspended", suspended), zap.String("reason", reason))
	return nil
}

// countOutcomeLocked applies a run's end to its task's state — the failure
// count, auto-suspension, the last slot — and returns the change and
// whether it suspended the task; e.mu must be held. persistState
// persists it.
func (e *Engine) countOutcomeLocked(r *run, x *store.Execution) (*store.StateChange, bool) {
	c := &store.StateChange{Task: x.Task, At: e.now()}
	switch x.State {
	case store.StateSucceeded:
		c.Succeeded = true
	case store.StateFailed:
		c.Failed = true
		if n := r.spec.o().SuspendAfterFailures; n > 0 {
			c.SuspendAfter = n
			c.Reason = fmt.Sprintf("suspended after %d consecutive failures; last: execution %s: %s", n, x.ID, firstLine(x.Error))
		}
	}
	if x.Trigger.Claims() {
		c.Slot = x.ScheduledAt
	}
	var suspendedNow bool
	e.changeStateLocked(r.ent, func(st *store.TaskState) { suspendedNow = c.Apply(st) })
	if suspendedNow {
		e.log.Warn("task suspended", zap.String("task", x.Task), zap.Int("consecutive_failures", r.ent.getState().ConsecutiveFailures))
	}
	return c, suspendedNow
}

// persistState writes a change of the task's state that the engine made
// (and applied to its own copy) to the store, and returns whether it
// suspended the task. A store.StateChanger applies the change to the
// stored state, which other engines change too: the result, and whether
// the change suspended the task, are the store's, and replace the
// engine's copy. Other stores get the engine's copy whole (saveState).
func (e *Engine) persistState(ent *entry, c *store.StateChange, suspendedNow bool) bool {
	sc, ok := e.store.(store.StateChanger)
	if !ok || c == nil {
		e.saveState(ent)
		return suspendedNow
	}
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	after, now, err := sc.ChangeTaskState(e.storeCtx, *c)
	if err != nil {
		e.log.Warn("could not save task state", zap.String("task", c.Task), zap.Error(err))
		return suspendedNow
	}
	e.mu.Lock()
	ent.setState(*after)
	e.mu.Unlock()
	return now
}

// saveState persists the task's state as it is now. The state is read
// under saveMu, so of two writes the later holds the newer state.
func (e *Engine) saveState(ent *entry) {
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	st := ent.getState()
	e.mu.Unlock()
	if err := e.store.PutTaskState(e.storeCtx, &st); err != nil {
		e.log.Warn("could not save task state", zap.String("task", st.Task), zap.Error(err))
	}
}
