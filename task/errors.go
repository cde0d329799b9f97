// This file owns the package's errors: sentinels, PanicError, ExitError
// and ExitCoder.

package task

import (
	"errors"
	"fmt"
)

// Sentinel errors of the engine; callers branch on them with errors.Is. The
// errors returned wrap them and name the input (the task, the hook, the
// option).
var (
	// ErrInvalidSpec is wrapped by every error Register returns for a bad
	// Spec: an empty name, a nil job, a bad schedule, a negative timeout.
	ErrInvalidSpec = errors.New("task: invalid spec")
	// ErrDuplicateTask is returned by Register for a name already registered.
	ErrDuplicateTask = errors.New("task: duplicate task name")
	// ErrUnknownTask is returned for a task name the engine does not know.
	ErrUnknownTask = errors.New("task: unknown task")
	// ErrNotRoot is returned by Graph and ResumeGraph for a task that runs
	// after other tasks.
	ErrNotRoot = errors.New("task: not a graph root")
	// ErrDuplicateHook is returned by Start when two init hooks share a name.
	ErrDuplicateHook = errors.New("task: duplicate init hook")
	// ErrInvalidOption is wrapped by errors of options given bad values.
	ErrInvalidOption = errors.New("task: invalid option")
	// ErrNotStarted is returned by calls that need a started engine.
	ErrNotStarted = errors.New("task: engine not started")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("task: engine already started")
	// ErrEngineClosed is returned by calls made after Shutdown began
	// (http.ErrServerClosed style); a second Shutdown returns it too.
	ErrEngineClosed = errors.New("task: engine shut down")
	// ErrAlreadyRunning is returned by RunNow when the task is running and
	// its overlap policy refuses another run, and by RunMain/RunOnce with the
	// single-instance option while the store holds a running execution.
	ErrAlreadyRunning = errors.New("task: already running")
	// ErrNotRunning is returned by Cancel for an execution that is not
	// pending or running on this engine.
	ErrNotRunning = errors.New("task: execution not running")
	// ErrBadSchedule is wrapped by the error of a schedule that broke
	// cron.Schedule's contract: its Next panicked, or returned a time not
	// after its argument. Register and Start return it naming the task; a
	// schedule that breaks later stops firing, and each of its tasks gets
	// a failed execution whose error says so.
	ErrBadSchedule = errors.New("task: bad schedule")

	// ErrTimeout is the cause of a run stopped by Spec.Timeout; the recorded
	// error wraps it and the run is recorded failed.
	ErrTimeout = errors.New("task: timed out")
	// ErrCancelled is the cause of a run stopped by Engine.Cancel; the run is
	// recorded cancelled.
	ErrCancelled = errors.New("task: cancelled")
	// ErrShutdown is the cause of a run stopped because the engine shut down
	// (or RunMain got a signal); the run is recorded cancelled.
	ErrShutdown = errors.New("task: shut down")
	// ErrLeaseLost is the cause of a run stopped because its engine could
	// not renew its node lease for a TTL, or found it taken: other
	// engines may by then have marked the run abandoned and re-run it
	// (see the package doc, "Several engines on one store"). The run is
	// recorded cancelled, unless another engine recorded it first.
	ErrLeaseLost = errors.New("task: node lease lost")
	// ErrAbandoned is wrapped by the error the listeners of a task get in
	// OnTaskFailed when an engine marks one of its executions abandoned
	// (its node stopped renewing its lease without recording an end).
	ErrAbandoned = errors.New("task: abandoned")
	// ErrGoexit is the error recorded for a run whose job (or condition,
	// listener or exit code mapper) ended its goroutine with
	// runtime.Goexit instead of returning, as testing's t.FailNow does;
	// the run is recorded failed with exit code 1.
	ErrGoexit = errors.New("task: the job's goroutine exited without returning (runtime.Goexit)")
)

// PanicError is the error recorded for a job, condition or listener that
// panicked. The recorded error text holds the value and the stack.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the goroutine's stack at the panic
}

// Error returns the panic value followed by the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("task: panic: %v\n\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

// ExitCoder is implemented by errors that carry a process exit code; a job
// returning one records that code.
type ExitCoder interface {
	ExitCode() int
}

// ExitError is a ready-made ExitCoder: an error with an exit code.
type ExitError struct {
	Code int
	Err  error
}

// Exit returns an error that records exit code code, wrapping err (which
// may be nil; the message is then "exit code N").
func Exit(code int, err error) *ExitError { return &ExitError{Code: code, Err: err} }

// Error returns the wrapped error's text, or "exit code N".
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit code %d", e.Code)
	}
	return e.Err.Error()
}

// ExitCode returns Code.
func (e *ExitError) ExitCode() int { return e.Code }

// Unwrap returns Err.
func (e *ExitError) Unwrap() error { return e.Err }
