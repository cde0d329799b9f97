// This file owns one run: its record and context, executing its
// condition, listeners and job, and recording its end.

package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

// run is one execution in flight on this engine.
type run struct {
	e         *Engine
	ent       *entry
	spec      *def // the definition as it was when the run was admitted
	listeners []Listener
	graph     *graphRun // the graph run this run belongs to, if any

	ctx   context.Context // the run's context: &jc
	jc    jobCtx
	timer clockwork.Timer // Spec.Timeout's, if set
	pre   begun           // what happened before the job

	created   event // closed once the record's creation returned
	createErr error // set before created is closed
	done      event // closed once the final record is written

	released atomic.Bool // the run's count in Engine.wg is released
	writeMu  sync.Mutex  // serialises the run's store writes after its creation
	counted  bool        // counted in entry.running; guarded by Engine.mu

	mu        sync.Mutex
	exec      *store.Execution // working copy of the record: &rec
	final     *store.Execution // the final record, once written
	view      *store.Execution // the copy listeners get
	finalized bool
	jobMsg    string
	jobMsgSet bool
	fence     int64     // the record's Fence, once FencingToken read it
	progress  *Progress // the live report, once the job asked for it
	// What telemetry's runStarted left for runEnded (telemetry.go).
	started bool       // runStarted counted the run
	active  bool       // counted in MetricRunsActive
	span    trace.Span // the run's span, if traced

	// queuedAt is when the run began to wait queued behind a run of its
	// task, zero if it did not; set before it starts, by whoever
	// starts it.
	queuedAt time.Time

	rec store.Execution // the record's memory, part of the run's
}

// newRun prepares a run of the task's current definition; e.mu must be
// held.
func (e *Engine) newRun(ent *entry, exec *store.Execution) *run {
	return e.initRunLocked(e.allocRun(), ent, ent.spec, exec)
}

// allocRun makes a run's memory, channels and context. It needs no lock: a
// fire makes its chunk's runs before it takes the engine's lock, which the
// ends of the runs before them wait for (bench/README.md, issue 16).
func (e *Engine) allocRun() *run { return e.allocRunIn(new(run)) }

// allocRunIn is allocRun in r's memory.
func (e *Engine) allocRunIn(r *run) *run {
	r.e = e
	r.exec = &r.rec
	r.jc.r = r
	r.ctx = &r.jc
	return r
}

// allocRuns is allocRun for n runs, made in blocks of runsPerBlock: one
// allocation per block rather than one per run buys the tick workload's
// CPU per fire (bench/README.md, issue 16). A block lives until each of
// its runs has ended and been replaced as its task's last record, which
// for the runs of one fire (tasks on one schedule) is their next fire.
func (e *Engine) allocRuns(n int) []*run {
	rs := make([]*run, n)
	for i := 0; i < n; {
		block := make([]run, min(runsPerBlock, n-i))
		for j := range block {
			rs[i+j] = e.allocRunIn(&block[j])
		}
		i += len(block)
	}
	return rs
}

// runsPerBlock is how many runs share an allocation: as many as fit in
// 32 KiB, the largest object the allocator serves from its per-processor
// caches (a larger one is taken under the heap's lock).
var runsPerBlock = max(1, 32<<10/int(unsafe.Sizeof(run{})))

// initRunLocked makes r, from allocRun, a run of a given definition of the
// task (a graph run's frozen one) with a copy of exec as its record
// (r.exec); e.mu must be held.
func (e *Engine) initRunLocked(r *run, ent *entry, spec *def, exec *store.Execution) *run {
	r.ent, r.spec, r.rec = ent, spec, *exec
	r.listeners = e.cfg.listeners
	if len(spec.o().Listeners) > 0 {
		r.listeners = append(slices.Clip(e.cfg.listeners), spec.o().Listeners...)
	}
	return r
}

// release ends the run's count in Engine.wg, once, whoever calls it: when
// execute returns, or when the run will never execute.
func (r *run) release() {
	if r.released.CompareAndSwap(false, true) {
		r.e.wg.Done()
	}
}

// cancel cancels the run's context; the first cause stays.
func (r *run) cancel(cause error) { r.jc.cancelWith(cause) }

// cancelled returns the cause the run was cancelled with, or nil.
func (r *run) cancelled() error { return r.jc.causeErr() }

// stop cancels a queued run (recorded cancelled at once) or a running one's
// context.
func (r *run) stop(cause error) {
	if !r.cancelPending(cause) {
		r.cancel(cause)
	}
}

// evaluatesCondition reports whether the trigger evaluates Spec.When:
// fires do, explicit requests do not.
func evaluatesCondition(t store.Trigger) bool {
	return t == store.TriggerSchedule || t == store.TriggerCatchUp || t == store.TriggerDependency
}

// execute runs the condition, the listeners and the job, then records the
// end; it runs on a goroutine of its own.
func (r *run) execute() {
	returned := false
	defer r.guardGoexit(&returned)
	if r.start() {
		err := r.runJob()
		r.stopTimer()
		r.end(err)
	} else {
		r.stopTimer()
	}
	r.release()
	returned = true
}

// stopTimer stops Spec.Timeout's timer, if the run has one.
func (r *run) stopTimer() {
	if r.timer != nil {
		r.timer.Stop()
	}
}

// guardGoexit, deferred by whatever executes a run, records the run failed
// with ErrGoexit when user code (the job, its condition, a listener, the
// exit code mapper) ended the goroutine with runtime.Goexit, as t.FailNow
// does: *returned is then false, and nothing after that call ran. A run
// already recorded is only released. A panic passing through (a defect of
// the engine: user code's panics are recovered where they are called) goes
// on unchanged.
func (r *run) guardGoexit(returned *bool) {
	if *returned {
		return
	}
	if v := recover(); v != nil {
		panic(v)
	}
	r.stopTimer()
	r.finish(outcome{state: store.StateFailed, err: ErrGoexit, exitCode: 1})
	r.release()
}

// start does what comes before the job: it checks that the run was not
// cancelled while it waited, arms Spec.Timeout, evaluates the condition and
// calls the startup listeners. It reports false when the run ended there
// (recorded cancelled or skipped).
func (r *run) start() bool {
	if cause := r.cancelled(); cause != nil {
		// Cancelled (or given up by Shutdown) before it could start.
		r.finish(outcome{state: store.StateCancelled, err: cause, exitCode: ExitCodeCancelled})
		return false
	}
	r.e.tel.runStarted(r)
	if r.spec.o().Timeout > 0 {
		r.timer = r.e.clock.AfterFunc(r.spec.o().Timeout, func() { r.cancel(ErrTimeout) })
	}
	if (r.spec.o().When != nil || len(r.listeners) > 0) && !r.begin(&r.pre) {
		return false
	}
	if r.pre.failure == nil && r.e.debugEnabled() {
		r.logStarted()
	}
	return true
}

// begun is what happened before the job.
type begun struct {
	failure    error // what failed the run before or instead of the job
	startupMsg string
	startupSet bool
}

// begin evaluates the condition and calls the startup listeners. It
// reports false when the run ended there (recorded skipped).
func (r *run) begin(b *begun) bool {
	ctx := r.ctx
	if r.spec.o().When != nil && evaluatesCondition(r.exec.Trigger) {
		var ok bool
		err := protect(func() error {
			var err error
			ok, err = r.spec.o().When(ctx)
			return err
		})
		switch {
		case err != nil:
			b.failure = fmt.Errorf("task %q: condition: %w", r.spec.Name, err)
			return true
		case !ok:
			r.finish(outcome{state: store.StateSkipped, skipReason: store.ReasonCondition})
			return false
		}
	}
	b.startupMsg, b.startupSet, b.failure = r.notify(ctx, "OnTaskStartup", store.StateRunning, nil, "",
		func(l Listener, x *store.Execution) error { return l.OnTaskStartup(ctx, x) })
	return true
}

// runJob runs the job, unless what came before it failed, turning a panic
// into a *PanicError.
func (r *run) runJob() (err error) {
	if r.pre.failure != nil {
		return nil
	}
	defer recoverPanic(&err)
	return r.spec.Job.Run(r.ctx)
}

func (r *run) logStarted() {
	r.e.log.Debug("run started", zap.String("task", r.spec.Name), zap.Stringer("execution", r.exec.ID))
}

// end classifies the run's end, calls the failed and end listeners and
// records it.
func (r *run) end(jobErr error) {
	b := &r.pre
	r.mu.Lock()
	gaveUp := r.finalized // Shutdown recorded the run while the job ran
	msg, msgSet := b.startupMsg, b.startupSet
	if r.jobMsgSet {
		msg, msgSet = r.jobMsg, true
	}
	r.mu.Unlock()
	if gaveUp {
		r.logGaveUp(jobErr)
		return
	}
	o := r.safeClassify(b.failure, jobErr)
	o.message, o.hasMessage = msg, msgSet
	if len(r.listeners) > 0 {
		r.endListeners(&o)
	}
	switch o.state {
	case store.StateFailed:
		o.exitCode, o.err = r.safeExitCode(o.err)
	case store.StateCancelled:
		o.exitCode = ExitCodeCancelled
	}
	r.finish(o)
}

func (r *run) logGaveUp(jobErr error) {
	r.e.log.Info("a job returned after its run was recorded cancelled", zap.String("task", r.spec.Name),
		zap.Stringer("execution", r.exec.ID), zap.NamedError("result", jobErr))
}

// endListeners calls the failed and end listeners, which may change the
// exit message and (an end listener's error on a success) the state.
func (r *run) endListeners(o *outcome) {
	e := r.e
	// Listeners told about the end must be able to do their own I/O even
	// when the run was cancelled.
	endCtx := context.WithoutCancel(r.ctx)
	if o.state == store.StateFailed {
		failedErr := o.err
		m, set, err := r.notify(endCtx, "OnTaskFailed", o.state, o.err, o.message,
			func(l Listener, x *store.Execution) error { return l.OnTaskFailed(endCtx, x, failedErr) })
		if set {
			o.message, o.hasMessage = m, true
		}
		if err != nil {
			e.log.Warn("listener failed on a failed run", zap.String("task", r.spec.Name), zap.Stringer("execution", r.exec.ID), zap.Error(err))
		}
	}
	m, set, err := r.notify(endCtx, "OnTaskEnd", o.state, o.err, o.message,
		func(l Listener, x *store.Execution) error { return l.OnTaskEnd(endCtx, x) })
	if set {
		o.message, o.hasMessage = m, true
	}
	if err != nil {
		if o.state == store.StateSucceeded {
			o.state, o.err = store.StateFailed, err
		} else {
			e.log.Warn("listener failed at the end of a run", zap.String("task", r.spec.Name), zap.Stringer("execution", r.exec.ID), zap.Error(err))
		}
	}
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
		x.Error = errorText(runErr)
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
	<-r.created.wait()
	if r.createErr != nil {
		return false
	}
	var errText string
	if o.err != nil {
		errText = errorText(o.err)
	}
	r.mu.Lock()
	progress := r.progress
	r.mu.Unlock()
	var report string // the final live report, if the job asked for one
	if progress != nil {
		report = progress.finalJSON()
		progress.stop()
	}
	r.mu.Lock()
	if r.finalized {
		r.mu.Unlock()
		return false
	}
	r.finalized = true
	x := r.exec
	endedAt := e.now()
	x.State, x.EndedAt, x.ExitCode, x.SkipReason = o.state, endedAt, o.exitCode, o.skipReason
	if o.err != nil {
		x.Error = errText
	}
	if o.hasMessage {
		x.ExitMessage = o.message
	}
	// No string a job makes may keep its end from being stored.
	x.Error, x.ExitMessage = store.CleanText(x.Error), store.CleanText(x.ExitMessage)
	if report != "" {
		x.Report = store.CleanText(report)
	}
	final := x // never changed again once finalized
	r.final = final
	out := ranOut{started: r.started, active: r.active, span: r.span}
	r.mu.Unlock()
	r.cancel(context.Canceled) // release the context's resources

	// The job is over: the task is free for its next fire as soon as the
	// final record can be seen, so count it out before writing.
	e.mu.Lock()
	a := e.countOutLocked(r)
	e.mu.Unlock()

	r.writeMu.Lock()
	err := e.recordEnd(final)
	r.writeMu.Unlock()
	if err != nil {
		e.logEndLost(final, err)
	}
	e.tel.runEnded(r, final, out)
	e.afterRun(r, final, safeErrorKind(o.state, o.err), a)
	r.done.close()
	return true
}

// countOutLocked frees r's task of it and decides what else its end
// changes in the task, in the same pass; e.mu must be held.
func (e *Engine) countOutLocked(r *run) ended {
	final, ent := r.final, r.ent
	if r.counted {
		ent.running--
		r.counted = false
	}
	if ent.last == nil || ent.last.ID == final.ID || !final.StartedAt.Before(ent.last.StartedAt) {
		ent.last = final
	}
	a := ended{
		next:    e.promoteLocked(ent),
		closing: e.status != statusStarted,
		// Most ends change no state: a success after a success. Only
		// the others take the state lock and write.
		mayChange: final.State == store.StateFailed ||
			(final.State == store.StateSucceeded && ent.state != nil && ent.state.ConsecutiveFailures != 0),
	}
	// The outcome counts in the same pass that frees the task: the next
	// run of the task cannot count its own first (which let a failure
	// after a success see the failures from before it, and suspend).
	if a.mayChange {
		a.change, a.suspendedNow = e.countOutcomeLocked(r, final)
	}
	return a
}

// ended is what a run's end decided under the engine's lock, for afterRun.
type ended struct {
	next         *run               // the queued run promoted to start
	closing      bool               // the engine is shutting down
	mayChange    bool               // the task's state may have changed: persist it
	change       *store.StateChange // the change, when mayChange
	suspendedNow bool               // the run's end suspended the task
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
	err := e.store.UpdateExecution(e.storeCtx, x)
	if err == nil {
		return nil
	}
	return e.retryEnd(x, err)
}

// retryEnd is recordEnd after its first attempt failed with err.
func (e *Engine) retryEnd(x *store.Execution, err error) error {
	d := endWriteBackoff
	for attempt := 1; ; attempt++ {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrClosed) ||
			errors.Is(err, store.ErrConflict) {
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
		if err = e.store.UpdateExecution(e.storeCtx, x); err == nil {
			e.log.Info("recorded the end of a run after retrying", zap.String("task", x.Task),
				zap.Stringer("execution", x.ID), zap.Int("attempts", attempt+1))
			return nil
		}
	}
}

func (e *Engine) logEndLost(x *store.Execution, err error) {
	if errors.Is(err, store.ErrConflict) {
		// The record ended without this engine: another engine found
		// this node's lease expired and marked the run abandoned. Its
		// record stands (a final record does not change).
		e.log.Warn("the end of a run is not recorded: its record was marked ended by another engine (abandoned while this node's lease had lapsed)",
			zap.String("task", x.Task), zap.Stringer("execution", x.ID), zap.String("state", string(x.State)), zap.Error(err))
		return
	}
	e.log.Error("the end of a run is not recorded", zap.String("task", x.Task), zap.Stringer("execution", x.ID),
		zap.String("state", string(x.State)), zap.Error(err))
}

// afterRun does what follows a run's end once its final record is written:
// the run leaves the table, the task's persisted state is updated (when it
// may change), notifications and the graph step go out, and the queued run
// starts.
func (e *Engine) afterRun(r *run, x *store.Execution, kind notify.ErrorKind, a ended) {
	if x.State != store.StateSucceeded || e.debugEnabled() {
		e.logRunEnd(x)
	}
	e.runs.remove(x.ID)
	if a.mayChange {
		a.suspendedNow = e.persistState(r.ent, a.change, a.suspendedNow)
	}
	e.notifyEnd(r.spec, x, kind, a.suspendedNow)
	if r.graph != nil {
		e.graphStep(r.graph, x)
	}
	e.startPromoted(a.next, a.closing)
}

func (e *Engine) logRunEnd(x *store.Execution) {
	switch x.State {
	case store.StateFailed:
		e.log.Warn("run failed", zap.String("task", x.Task), zap.Stringer("execution", x.ID),
			zap.Int("exit_code", x.ExitCode), zap.String("error", x.Error))
	case store.StateCancelled:
		e.log.Info("run cancelled", zap.String("task", x.Task), zap.Stringer("execution", x.ID), zap.String("error", x.Error))
	default:
		e.log.Debug("run ended", zap.String("task", x.Task), zap.Stringer("execution", x.ID),
			zap.String("state", string(x.State)), zap.Duration("duration", x.Duration()))
	}
}

// debugEnabled reports whether debug logs are written (the level may
// change at any time: an atomic level).
func (e *Engine) debugEnabled() bool { return e.log.Core().Enabled(zap.DebugLevel) }

// abort records a run that did not return in time as cancelled; if the job
// returns later its result is dropped.
func (r *run) abort(cause error) {
	r.finish(outcome{
		state:    store.StateCancelled,
		err:      fmt.Errorf("%w: the job had not returned when the shutdown deadline passed", cause),
		exitCode: ExitCodeCancelled,
	})
}

// An event is closed once and waited on by any number of callers. Its
// channel is made only when someone waits before it is closed, which for
// most runs no one does: two channels per run cost the tick workload's CPU
// per fire (bench/README.md, issue 16).
type event struct {
	mu     sync.Mutex
	ch     chan struct{}
	closed bool
}

// closedChan is the channel of an event closed before anyone waited.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// wait returns a channel closed when s is.
func (s *event) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ch != nil:
	case s.closed:
		return closedChan
	default:
		s.ch = make(chan struct{})
	}
	return s.ch
}

// close closes s; it must be called once.
func (s *event) close() {
	s.mu.Lock()
	s.closed = true
	if s.ch != nil {
		close(s.ch)
	}
	s.mu.Unlock()
}
