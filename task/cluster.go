// This file owns what engines sharing a store do about each other's runs:
// exclusive records, fires refused because the task runs elsewhere, pending
// runs that wait for a task to be free, and abandoned runs re-run.

package task

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

// What engines sharing a store do together beyond the slot claim and the
// sweep (lease.go, sweep.go):
//
//   - One run at a time across the cluster. An engine with a node lease
//     marks the records of a task whose overlap policy is not OverlapAllow
//     exclusive (store.Execution.Exclusive), so the store itself refuses a
//     second running one (store.ErrBusy) whichever engine asks: the claim
//     and the single-instance check are one insert. A fire refused so is
//     recorded skipped ("overlap: running on another engine"), or with
//     OverlapQueueOne recorded pending and kept waiting (below); RunNow
//     is refused with ErrAlreadyRunning.
//   - Waiting runs. A pending record this engine owns but cannot start
//     yet — a queued fire of a task running on another engine, or the
//     re-run of an abandoned execution (Spec.RecoverAbandoned) — waits in
//     the engine's waiting list, and the engine tries to start each at
//     every lease renewal: a queued run starts within one renewal
//     interval of the other engine's run ending.
//   - Abandonment told. The engine whose sweep marks a record abandoned
//     calls the task's OnTaskFailed and OnTaskEnd listeners (error
//     wrapping ErrAbandoned) and sends TASK_FAILED with error kind
//     notify.KindAbandoned to the task's error integration — if the task
//     is registered on that engine.
//
// The waiting list has its own mutex, a leaf.

// waitingRuns are the pending records the engine owns and will start
// when it can.
type waitingRuns struct {
	mu sync.Mutex
	m  map[uuid.UUID]*store.Execution
}

func (w *waitingRuns) add(x *store.Execution) {
	w.mu.Lock()
	if w.m == nil {
		w.m = make(map[uuid.UUID]*store.Execution)
	}
	w.m[x.ID] = x
	w.mu.Unlock()
}

func (w *waitingRuns) remove(id uuid.UUID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.m[id]
	delete(w.m, id)
	return ok
}

func (w *waitingRuns) all() []*store.Execution {
	w.mu.Lock()
	defer w.mu.Unlock()
	xs := make([]*store.Execution, 0, len(w.m))
	for _, x := range w.m {
		xs = append(xs, x)
	}
	return xs
}

// exclusiveLocked reports whether the records of ent's runs are
// exclusive; e.mu must be held.
func (e *Engine) exclusiveLocked(ent *entry) bool {
	return e.cfg.lease.locker != nil && ent.spec.o().Overlap != OverlapAllow
}

// busyElsewhere records a fire of ent that the store refused because the
// task runs on another engine (store.ErrBusy); x is the refused record,
// its reservation undone. OverlapQueueOne records it pending and waiting,
// unless another engine has one queued; otherwise it is recorded skipped.
func (e *Engine) busyElsewhere(ent *entry, x *store.Execution) {
	e.busyElsewhereFor(ent, x, "running on another engine")
}

// busyElsewhereFor is busyElsewhere, why saying what runs elsewhere.
func (e *Engine) busyElsewhereFor(ent *entry, x *store.Execution, why string) {
	if ent.spec.o().Overlap == OverlapQueueOne {
		q := x.Clone()
		q.State, q.EndedAt, q.Exclusive = store.StatePending, time.Time{}, true
		err := e.store.CreateExecution(e.storeCtx, q)
		switch {
		case err == nil:
			e.waiting.add(q)
			return
		case errors.Is(err, store.ErrConflict):
			return // another engine recorded the slot
		case !errors.Is(err, store.ErrBusy):
			e.log.Warn("could not record a fire queued behind another engine's run", zap.String("task", x.Task), zap.Error(err))
			return
		}
	}
	s := x.Clone()
	s.State, s.EndedAt, s.SkipReason = store.StateSkipped, x.StartedAt, store.ReasonOverlap+": "+why
	err := e.store.CreateExecution(e.storeCtx, s)
	switch {
	case err == nil:
		e.mu.Lock()
		if ent.last == nil || !s.StartedAt.Before(ent.last.StartedAt) {
			ent.last = s
		}
		e.mu.Unlock()
		e.tel.skip(ent, s)
	case errors.Is(err, store.ErrConflict):
	default:
		e.log.Warn("could not record a fire skipped for another engine's run", zap.String("task", x.Task), zap.Error(err))
	}
}

// startWaiting tries to start each waiting run: one whose task is free
// here and in the store starts; the others wait for the next call.
func (e *Engine) startWaiting() {
	for _, x := range e.waiting.all() {
		e.startWaitingRun(x)
	}
}

func (e *Engine) startWaitingRun(x *store.Execution) {
	e.mu.Lock()
	ent := e.tasks[x.Task]
	if ent == nil || e.status != statusStarted {
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	if err := e.takeGraphLease(ent); err != nil {
		return // a graph run of the task on another engine: later
	}
	defer e.releaseIdleGraphLease(ent)
	e.mu.Lock()
	if e.status != statusStarted {
		e.mu.Unlock()
		return
	}
	exec := x.Clone()
	exec.StartedAt = e.now()
	r, rec, ok := e.reserveLocked(ent, exec, true, nil)
	if r != nil {
		r.queuedAt = x.StartedAt // when it began to wait
		e.runs.add(r)
	}
	e.mu.Unlock()
	if !ok {
		return // busy here: later
	}
	if rec.State == store.StatePending {
		// Queued here behind a run of this engine, which starts it
		// when it ends; the record is pending already.
		e.waiting.remove(x.ID)
		_ = e.settle(ent, rec, r, nil, nil)
		return
	}
	err := e.store.UpdateExecution(e.storeCtx, rec)
	switch {
	case err == nil:
		e.waiting.remove(x.ID)
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		e.waiting.remove(x.ID) // ended meanwhile (abandoned, deleted)
	case errors.Is(err, store.ErrBusy):
	default:
		e.log.Warn("could not start a waiting run", zap.String("task", x.Task), zap.Stringer("execution", x.ID), zap.Error(err))
	}
	_ = e.settle(ent, rec, r, err, nil)
}

// cancelWaiting records a waiting run cancelled, and reports whether id
// was waiting.
func (e *Engine) cancelWaiting(id uuid.UUID, cause error) bool {
	e.waiting.mu.Lock()
	x, ok := e.waiting.m[id]
	delete(e.waiting.m, id)
	e.waiting.mu.Unlock()
	if !ok {
		return false
	}
	c := x.Clone()
	c.State, c.EndedAt, c.Error, c.ExitCode = store.StateCancelled, e.now(), cause.Error(), ExitCodeCancelled
	if err := e.store.UpdateExecution(e.storeCtx, c); err != nil {
		e.log.Warn("could not record a waiting run cancelled", zap.String("task", x.Task), zap.Stringer("execution", x.ID), zap.Error(err))
	}
	return true
}

// dropWaiting, at Shutdown, records the queued fires among the waiting
// runs cancelled. Recovery runs stay pending: once this node's lease is
// released, another engine's sweep marks them abandoned and re-runs the
// slot.
func (e *Engine) dropWaiting() {
	for _, x := range e.waiting.all() {
		if x.Trigger != store.TriggerRecovery {
			e.cancelWaiting(x.ID, ErrShutdown)
		}
	}
}

// recoveryOf returns the re-run of the abandoned record x if its task is
// registered here and asks for recovery, else nil.
func (e *Engine) recoveryOf(x *store.Execution) *store.Execution {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent := e.tasks[x.Task]
	if ent == nil || !ent.spec.o().RecoverAbandoned {
		return nil
	}
	return &store.Execution{
		ID: newID(), Task: x.Task, Trigger: store.TriggerRecovery, ScheduledAt: x.ScheduledAt,
		StartedAt: e.now(), State: store.StatePending, Args: x.Args, ExternalID: x.ExternalID,
		ParentID: x.ID, Node: e.cfg.node, Exclusive: e.exclusiveLocked(ent),
	}
}

// abandon marks x abandoned with the reason, with its re-run if its task
// asks for one, and tells the task's listeners and error integration. It
// returns the store's error: store.ErrConflict if another engine marked
// it, or it ended, first.
func (e *Engine) abandon(ctx context.Context, ab store.Abandoner, x *store.Execution, reason string) error {
	p := store.AbandonParams{ID: x.ID, Node: x.Node, EndedAt: e.now(), Error: reason, Recovery: e.recoveryOf(x)}
	if err := ab.AbandonExecution(ctx, p); err != nil {
		return err
	}
	e.abandoned.Add(1)
	e.mu.Lock()
	ent := e.tasks[x.Task] // nil if not registered here
	e.mu.Unlock()
	e.tel.abandonedEnded(ent, x)
	if p.Recovery != nil {
		e.waiting.add(p.Recovery)
	}
	a := x.Clone()
	a.State, a.EndedAt, a.Error = store.StateAbandoned, p.EndedAt, p.Error
	// In a goroutine of its own: a listener that calls runtime.Goexit
	// ends that one, not the sweep's.
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.tellAbandoned(ctx, a)
	}()
	<-done
	return nil
}

// tellAbandoned calls the failed and end listeners of the abandoned
// record's task and sends TASK_FAILED to its error integration, if the
// task is registered here. Listener errors are logged: the record is
// final.
func (e *Engine) tellAbandoned(ctx context.Context, x *store.Execution) {
	e.mu.Lock()
	ent := e.tasks[x.Task]
	e.mu.Unlock()
	if ent == nil {
		return
	}
	spec := ent.spec
	cause := fmt.Errorf("%w: %s", ErrAbandoned, x.Error)
	ls := append(append([]Listener(nil), e.cfg.listeners...), spec.o().Listeners...)
	for _, l := range ls {
		v := x.Clone()
		if err := protect(func() error { return l.OnTaskFailed(ctx, v, cause) }); err != nil {
			e.log.Warn("listener failed on an abandoned execution", zap.String("task", x.Task), zap.Stringer("execution", x.ID), zap.Error(err))
		}
	}
	for _, l := range ls {
		v := x.Clone()
		if err := protect(func() error { return l.OnTaskEnd(ctx, v) }); err != nil {
			e.log.Warn("listener failed on an abandoned execution", zap.String("task", x.Task), zap.Stringer("execution", x.ID), zap.Error(err))
		}
	}
	if name := spec.o().ErrorIntegration; name != "" {
		if err := e.hub.Send(name, e.message(notify.TaskFailed, x, notify.KindAbandoned)); err != nil &&
			!errors.Is(err, notify.ErrDisabled) && !errors.Is(err, notify.ErrQueueFull) {
			e.log.Warn("could not queue a notification", zap.String("task", x.Task), zap.Stringer("execution", x.ID),
				zap.String("integration", name), zap.Error(err))
		}
	}
}
