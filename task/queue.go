// This file owns the run queued behind a running one (OverlapQueueOne):
// promoting it when the run ahead ends, starting it, or recording it
// cancelled.

package task

import (
	"errors"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/store"
)

// promoteLocked detaches the queued run of a task that is no longer busy
// and counts it as running; e.mu must be held.
func (e *Engine) promoteLocked(ent *entry) *run {
	if ent.running > 0 || ent.graphRuns > 0 || ent.pending == nil {
		return nil
	}
	next := ent.pending
	ent.pending = nil
	if e.status == statusStarted {
		ent.running++
		next.counted = true
	}
	return next
}

// startPromoted starts a run promoteLocked detached, or records it
// cancelled if the engine is shutting down.
func (e *Engine) startPromoted(next *run, closing bool) {
	switch {
	case next == nil:
	case closing:
		go next.cancelQueued(ErrShutdown)
	default:
		go next.startPending()
	}
}

// startPending starts a queued run after the run ahead of it ended.
func (r *run) startPending() {
	e := r.e
	<-r.created.wait()
	if r.createErr != nil {
		r.release() // admit's error path undid the counters
		return
	}
	r.writeMu.Lock()
	e.mu.Lock()
	r.mu.Lock()
	if r.finalized {
		// Cancelled or given up by Shutdown while being promoted.
		r.mu.Unlock()
		e.mu.Unlock()
		r.writeMu.Unlock()
		r.release()
		return
	}
	if e.status != statusStarted {
		// Shutdown began after the run ahead decided to promote this
		// one (while it wrote its end): queued runs are recorded
		// cancelled, never started.
		r.mu.Unlock()
		e.mu.Unlock()
		r.writeMu.Unlock()
		r.cancelQueued(ErrShutdown)
		return
	}
	if r.queuedAt.IsZero() {
		r.queuedAt = r.exec.StartedAt // when it was queued
	}
	r.exec.State, r.exec.StartedAt = store.StateRunning, e.now()
	if gr := e.beginGraph(r.ent, r.exec); gr != nil {
		r.graph = gr
		e.graphRuns[gr.id] = gr
	}
	x := r.exec.Clone()
	r.mu.Unlock()
	e.mu.Unlock()
	err := e.store.UpdateExecution(e.storeCtx, x)
	r.writeMu.Unlock()
	if errors.Is(err, store.ErrBusy) || errors.Is(err, store.ErrConflict) {
		// The task started on another engine meanwhile (it waits, see
		// cluster.go), or the record ended without this engine.
		e.unstart(r)
		if errors.Is(err, store.ErrBusy) {
			x.State = store.StatePending
			e.waiting.add(x)
		}
		return
	}
	if err != nil {
		e.log.Warn("could not record the start of a queued run", zap.String("task", x.Task), zap.Stringer("execution", x.ID), zap.Error(err))
	}
	r.execute()
}

// unstart undoes the promotion of a queued run that will not start here:
// its counts, its graph run, its place in the run table.
func (e *Engine) unstart(r *run) {
	e.mu.Lock()
	ent := r.ent
	if r.counted {
		ent.running--
		r.counted = false
	}
	if r.graph != nil {
		ent.graphRuns--
		delete(e.graphRuns, r.graph.id)
		r.graph = nil
	}
	next := e.promoteLocked(ent)
	closing := e.status != statusStarted
	e.mu.Unlock()
	e.runs.remove(r.exec.ID)
	r.release()
	e.startPromoted(next, closing)
}

// cancelPending records a queued run cancelled and reports whether r was
// queued (and so is now cancelled).
func (r *run) cancelPending(cause error) bool {
	e := r.e
	e.mu.Lock()
	if r.ent.pending != r {
		e.mu.Unlock()
		return false
	}
	r.ent.pending = nil
	e.mu.Unlock()
	r.cancelQueued(cause)
	return true
}

// cancelQueued records a queued run, already detached from its task,
// cancelled.
func (r *run) cancelQueued(cause error) {
	r.finish(outcome{state: store.StateCancelled, err: cause, exitCode: ExitCodeCancelled})
	r.release()
}
