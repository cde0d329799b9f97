package task

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

// run is one execution in flight on this engine.
type run struct {
	e         *Engine
	ent       *entry
	spec      *Spec // the definition as it was when the run was admitted
	listeners []Listener
	graph     *graphRun // the graph run this run belongs to, if any

	ctx      context.Context
	cancelFn context.CancelCauseFunc

	created   chan struct{} // closed once the record's creation returned
	createErr error         // set before created is closed
	done      chan struct{} // closed once the final record is written

	relOnce sync.Once  // releases the run's count in Engine.wg
	writeMu sync.Mutex // serialises the run's store writes after its creation
	counted bool       // counted in entry.running; guarded by Engine.mu

	mu        sync.Mutex
	exec      *store.Execution // working copy of the record
	final     *store.Execution // the final record, once written
	view      *store.Execution // the copy listeners get
	finalized bool
	jobMsg    string
	jobMsgSet bool
}

// newRun prepares a run; e.mu must be held.
func (e *Engine) newRun(ent *entry, exec *store.Execution) *run {
	return e.newRunSpec(ent, ent.spec, exec)
}

// newRunSpec prepares a run of a given definition of the task (a graph
// run's frozen one); e.mu must be held.
func (e *Engine) newRunSpec(ent *entry, spec *Spec, exec *store.Execution) *run {
	ctx, cancel := context.WithCancelCause(context.Background())
	r := &run{
		e:         e,
		ent:       ent,
		spec:      spec,
		listeners: append(slices.Clip(e.cfg.listeners), spec.Listeners...),
		cancelFn:  cancel,
		created:   make(chan struct{}),
		done:      make(chan struct{}),
		exec:      exec, // the caller hands it over
	}
	r.ctx = withRun(ctx, r)
	return r
}

// release ends the run's count in Engine.wg (once, whoever calls it): when
// execute returns, or when the run will never execute.
func (r *run) release() { r.relOnce.Do(r.e.wg.Done) }

// cancel cancels the run's context with cause.
func (r *run) cancel(cause error) { r.cancelFn(cause) }

// stop cancels a queued run (recorded cancelled at once) or a running one's
// context.
func (r *run) stop(cause error) {
	if !r.cancelPending(cause) {
		r.cancel(cause)
	}
}

// outcome is how a run ended.
type outcome struct {
	state      store.State
	err        error
	exitCode   int
	skipReason string
	message    string
	hasMessage bool
}

// protect calls fn, turning a panic into a *PanicError.
func protect(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// evaluatesCondition reports whether the trigger evaluates Spec.When:
// fires do, explicit requests do not.
func evaluatesCondition(t store.Trigger) bool {
	return t == store.TriggerSchedule || t == store.TriggerCatchUp || t == store.TriggerDependency
}

// execute runs the condition, the listeners and the job, then records the
// end. It runs in its own goroutine.
func (r *run) execute() {
	e := r.e
	ctx := r.ctx
	defer r.release()
	if cause := context.Cause(ctx); cause != nil {
		// Cancelled (or given up by Shutdown) before it could start.
		r.finish(outcome{state: store.StateCancelled, err: cause, exitCode: ExitCodeCancelled})
		return
	}
	if r.spec.Timeout > 0 {
		t := e.clock.AfterFunc(r.spec.Timeout, func() { r.cancelFn(ErrTimeout) })
		defer t.Stop()
	}
	// Listeners told about the end must be able to do their own I/O even
	// when the run was cancelled.
	endCtx := ctx
	if len(r.listeners) > 0 {
		endCtx = context.WithoutCancel(ctx)
	}

	var failure error // what failed the run before or instead of the job
	if r.spec.When != nil && evaluatesCondition(r.exec.Trigger) {
		var ok bool
		err := protect(func() error {
			var err error
			ok, err = r.spec.When(ctx)
			return err
		})
		switch {
		case err != nil:
			failure = fmt.Errorf("task %q: condition: %w", r.spec.Name, err)
		case !ok:
			r.finish(outcome{state: store.StateSkipped, skipReason: store.ReasonCondition})
			return
		}
	}

	var startupMsg string
	var startupSet bool
	if failure == nil {
		startupMsg, startupSet, failure = r.notify(ctx, "OnTaskStartup", store.StateRunning, nil, "",
			func(l Listener, x *store.Execution) error { return l.OnTaskStartup(ctx, x) })
	}
	var jobErr error
	if failure == nil {
		if ce := e.log.Check(zap.DebugLevel, "run started"); ce != nil {
			ce.Write(zap.String("task", r.spec.Name), zap.Stringer("execution", r.exec.ID))
		}
		jobErr = protect(func() error { return r.spec.Job.Run(ctx) })
	}

	r.mu.Lock()
	gaveUp := r.finalized // Shutdown recorded the run while the job ran
	r.mu.Unlock()
	if gaveUp {
		e.log.Info("a job returned after its run was recorded cancelled", zap.String("task", r.spec.Name),
			zap.Stringer("execution", r.exec.ID), zap.NamedError("result", jobErr))
		return
	}
	o := r.classify(failure, jobErr)

	r.mu.Lock()
	msg, msgSet := startupMsg, startupSet
	if r.jobMsgSet {
		msg, msgSet = r.jobMsg, true
	}
	r.mu.Unlock()

	if o.state == store.StateFailed {
		failedErr := o.err
		m, set, err := r.notify(endCtx, "OnTaskFailed", o.state, o.err, msg,
			func(l Listener, x *store.Execution) error { return l.OnTaskFailed(endCtx, x, failedErr) })
		if set {
			msg, msgSet = m, true
		}
		if err != nil {
			e.log.Warn("listener failed on a failed run", zap.String("task", r.spec.Name), zap.Stringer("execution", r.exec.ID), zap.Error(err))
		}
	}
	m, set, err := r.notify(endCtx, "OnTaskEnd", o.state, o.err, msg,
		func(l Listener, x *store.Execution) error { return l.OnTaskEnd(endCtx, x) })
	if set {
		msg, msgSet = m, true
	}
	if err != nil {
		if o.state == store.StateSucceeded {
			o.state, o.err = store.StateFailed, err
		} else {
			e.log.Warn("listener failed at the end of a run", zap.String("task", r.spec.Name), zap.Stringer("execution", r.exec.ID), zap.Error(err))
		}
	}
	o.message, o.hasMessage = msg, msgSet
	switch o.state {
	case store.StateFailed:
		o.exitCode = exitCode(o.err, e.cfg.mapper)
	case store.StateCancelled:
		o.exitCode = ExitCodeCancelled
	}
	r.finish(o)
}

// classify turns what happened into a state and the error to record.
func (r *run) classify(failure, jobErr error) outcome {
	err := failure
	if err == nil {
		err = jobErr
	}
	if err == nil {
		return outcome{state: store.StateSucceeded}
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		return outcome{state: store.StateFailed, err: err}
	}
	cause := context.Cause(r.ctx)
	switch {
	case errors.Is(cause, ErrCancelled), errors.Is(cause, ErrShutdown):
		// Whatever failed (the condition, a listener, the job) failed
		// because the run was cancelled.
		return outcome{state: store.StateCancelled, err: fmt.Errorf("%w: %w", cause, err)}
	case errors.Is(cause, ErrTimeout):
		return outcome{state: store.StateFailed, err: fmt.Errorf("%w after %v: %w", ErrTimeout, r.spec.Timeout, err)}
	}
	return outcome{state: store.StateFailed, err: err}
}

// notify calls one event's listeners in order on a copy of the record whose
// state, error and exit message are as given. It stops at the first error or
// panic and returns it wrapped with the event's name. It also returns the
// exit message if a listener changed it.
func (r *run) notify(ctx context.Context, event string, state store.State, runErr error, msg string,
	call func(Listener, *store.Execution) error) (string, bool, error) {
	if len(r.listeners) == 0 {
		return "", false, nil
	}
	// One copy serves every event of the run; listeners must not keep it.
	r.mu.Lock()
	if r.view == nil {
		r.view = new(store.Execution)
	}
	x := r.view
	*x = *r.exec
	r.mu.Unlock()
	x.State, x.ExitMessage = state, msg
	if runErr != nil {
		x.Error = runErr.Error()
	}
	var err error
	for i, l := range r.listeners {
		if err = protect(func() error { return call(l, x) }); err != nil {
			err = fmt.Errorf("task %q: listener %d %s: %w", r.spec.Name, i, event, err)
			break
		}
	}
	if x.ExitMessage != msg {
		return x.ExitMessage, true, err
	}
	return "", false, err
}

// finish writes the final record once; later calls (a job returning after
// Shutdown gave up on it) do nothing. It reports whether it wrote. It waits
// for the record's creation, and does nothing if that failed.
func (r *run) finish(o outcome) bool {
	e := r.e
	<-r.created
	if r.createErr != nil {
		return false
	}
	r.mu.Lock()
	if r.finalized {
		r.mu.Unlock()
		return false
	}
	r.finalized = true
	x := r.exec
	x.State, x.EndedAt, x.ExitCode, x.SkipReason = o.state, e.now(), o.exitCode, o.skipReason
	if o.err != nil {
		x.Error = o.err.Error()
	}
	if o.hasMessage {
		x.ExitMessage = o.message
	}
	final := x // never changed again once finalized
	r.final = final
	r.mu.Unlock()
	r.cancelFn(context.Canceled) // release the context's resources

	// The job is over: the task is free for its next fire as soon as the
	// final record can be seen, so count it out before writing.
	e.mu.Lock()
	if r.counted {
		r.ent.running--
		r.counted = false
	}
	e.mu.Unlock()

	r.writeMu.Lock()
	err := e.recordEnd(final)
	r.writeMu.Unlock()
	if err != nil {
		e.log.Error("the end of a run is not recorded", zap.String("task", final.Task), zap.Stringer("execution", final.ID),
			zap.String("state", string(final.State)), zap.Error(err))
	}
	e.afterRun(r, final, errorKind(o.state, o.err))
	close(r.done)
	return true
}

// Backoff of the end-of-run write retries.
const (
	endWriteBackoff    = 100 * time.Millisecond
	endWriteBackoffMax = 30 * time.Second
)

// recordEnd writes a run's final record. A store that fails is retried with
// a doubling backoff (from endWriteBackoff up to endWriteBackoffMax, on the
// engine's clock) for as long as the engine runs: the record is not lost
// to a passing fault. It gives up on errors that cannot pass (the record
// is gone or invalid, the store is closed) and when Shutdown's context has
// ended.
func (e *Engine) recordEnd(x *store.Execution) error {
	d := endWriteBackoff
	for attempt := 1; ; attempt++ {
		err := e.store.UpdateExecution(e.storeCtx, x)
		if err == nil {
			if attempt > 1 {
				e.log.Info("recorded the end of a run after retrying", zap.String("task", x.Task),
					zap.Stringer("execution", x.ID), zap.Int("attempts", attempt))
			}
			return nil
		}
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrClosed) {
			return err
		}
		e.log.Warn("could not record the end of a run; retrying", zap.String("task", x.Task), zap.Stringer("execution", x.ID),
			zap.Int("attempt", attempt), zap.Duration("backoff", d), zap.Error(err))
		select {
		case <-e.clock.After(d):
		case <-e.forced:
			return fmt.Errorf("gave up after %d attempts when the shutdown deadline passed: %w", attempt, err)
		}
		d = min(2*d, endWriteBackoffMax)
	}
}

// afterRun updates the task's counters and persisted state after a run
// ended, and starts the queued run if there is one.
func (e *Engine) afterRun(r *run, x *store.Execution, kind notify.ErrorKind) {
	ent := r.ent
	switch x.State {
	case store.StateFailed:
		e.log.Warn("run failed", zap.String("task", x.Task), zap.Stringer("execution", x.ID),
			zap.Int("exit_code", x.ExitCode), zap.String("error", x.Error))
	case store.StateCancelled:
		e.log.Info("run cancelled", zap.String("task", x.Task), zap.Stringer("execution", x.ID), zap.String("error", x.Error))
	default:
		if ce := e.log.Check(zap.DebugLevel, "run ended"); ce != nil {
			ce.Write(zap.String("task", x.Task), zap.Stringer("execution", x.ID),
				zap.String("state", string(x.State)), zap.Duration("duration", x.Duration()))
		}
	}

	e.mu.Lock()
	delete(e.runs, x.ID)
	if r.counted {
		ent.running--
		r.counted = false
	}
	if ent.last == nil || ent.last.ID == x.ID || !x.StartedAt.Before(ent.last.StartedAt) {
		ent.last = x
	}
	next := e.promoteLocked(ent)
	closing := e.status != statusStarted
	// Most ends change no state: a success after a success. Only the
	// others take the state lock and write.
	mayChange := x.State == store.StateFailed ||
		(x.State == store.StateSucceeded && ent.state != nil && ent.state.ConsecutiveFailures != 0)
	e.mu.Unlock()

	suspendedNow := false
	if mayChange {
		suspendedNow = e.countOutcome(r, x)
	}
	e.notifyEnd(r.spec, x, kind, suspendedNow)
	if r.graph != nil {
		e.graphStep(r.graph, x)
	}
	e.startPromoted(next, closing)
}

// countOutcome applies a run's end to its task's state — the failure count,
// auto-suspension, the last slot — and persists it. It reports whether the
// task was suspended now.
func (e *Engine) countOutcome(r *run, x *store.Execution) (suspendedNow bool) {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	e.mu.Lock()
	st := r.ent.getState()
	switch x.State {
	case store.StateSucceeded:
		st.ConsecutiveFailures = 0
	case store.StateFailed:
		st.ConsecutiveFailures++
		if n := r.spec.SuspendAfterFailures; n > 0 && st.ConsecutiveFailures >= n && !st.Suspended {
			st.Suspended, st.SuspendedAt, suspendedNow = true, x.EndedAt, true
			st.SuspendedReason = fmt.Sprintf("suspended after %d consecutive failures; last: execution %s: %s",
				st.ConsecutiveFailures, x.ID, firstLine(x.Error))
			e.log.Warn("task suspended", zap.String("task", x.Task), zap.Int("consecutive_failures", st.ConsecutiveFailures))
		}
	}
	if x.Trigger.Claims() && x.ScheduledAt.After(st.LastScheduledAt) {
		st.LastScheduledAt = x.ScheduledAt
	}
	st.Task, st.UpdatedAt = x.Task, e.now()
	r.ent.setState(st)
	e.mu.Unlock()
	if err := e.store.PutTaskState(e.storeCtx, &st); err != nil {
		e.log.Warn("could not save task state", zap.String("task", x.Task), zap.Error(err))
	}
	return suspendedNow
}

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
	<-r.created
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
	if err != nil {
		e.log.Warn("could not record the start of a queued run", zap.String("task", x.Task), zap.Stringer("execution", x.ID), zap.Error(err))
	}
	r.execute()
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

// abort records a run that did not return in time as cancelled; if the job
// returns later its result is dropped.
func (r *run) abort(cause error) {
	r.finish(outcome{
		state:    store.StateCancelled,
		err:      fmt.Errorf("%w: the job had not returned when the shutdown deadline passed", cause),
		exitCode: ExitCodeCancelled,
	})
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
