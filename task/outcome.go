// This file owns how a run's end is classified: its state, error text and
// exit code. Every call into code the host wrote (an error's methods, the
// exit code mapper) recovers a panic, which is then what the run recorded.

package task

import (
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

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
	defer recoverPanic(&err)
	return fn()
}

// recoverPanic, deferred, turns a panic into a *PanicError in *err.
func recoverPanic(err *error) {
	if v := recover(); v != nil {
		*err = &PanicError{Value: v, Stack: debug.Stack()}
	}
}

// The engine reads a run's error through methods the error's author wrote
// (Error, ExitCode, and Unwrap, Is and As while errors.Is and errors.As
// walk it), and classifies it with the host's WithExitCodeMapper. Each of
// these calls is made through a function below that recovers a panic: the
// run is then recorded failed with the panic and its stack, and the host
// goes on.

// errorText returns err.Error(), or, if that panics, a text saying so with
// the panic and its stack.
func errorText(err error) (text string) {
	defer func() {
		if v := recover(); v != nil {
			text = (&PanicError{Value: fmt.Sprintf("the error's Error method: %v", v), Stack: debug.Stack()}).Error()
		}
	}()
	return err.Error()
}

// safeErrorKind is errorKind, or notify.KindPanic if a method of err
// panics while errors.As and errors.Is walk it.
func safeErrorKind(state store.State, err error) (kind notify.ErrorKind) {
	defer func() {
		if v := recover(); v != nil {
			kind = notify.KindPanic
		}
	}()
	return errorKind(state, err)
}

// userPanic is the error recorded when the user code named by what
// panicked while the engine read a run's error; the error's own text (as
// fmt reads it: it recovers a panic in Error) comes first.
func userPanic(runErr error, what string, v any) error {
	pe := &PanicError{Value: fmt.Sprintf("%s: %v", what, v), Stack: debug.Stack()}
	if runErr == nil {
		return pe
	}
	return fmt.Errorf("%v\n%w", runErr, pe)
}

// safeClassify is classify, or a failed outcome if a method of the error
// panics while classify walks it.
func (r *run) safeClassify(failure, jobErr error) (o outcome) {
	defer func() {
		if v := recover(); v != nil {
			err := failure
			if err == nil {
				err = jobErr
			}
			o = outcome{state: store.StateFailed, err: userPanic(err, "a method of the run's error", v)}
		}
	}()
	return r.classify(failure, jobErr)
}

// safeExitCode returns the exit code of the failed run's err — the code
// of an ExitCoder in its chain if positive (a failed run never records 0),
// else the mapper's answer if positive, else 1 — and the error to record:
// err, or, if the error's ExitCode (or another of its methods) or the
// mapper panicked, err followed by that panic, with exit code 1.
func (r *run) safeExitCode(err error) (code int, recorded error) {
	what := "the error's ExitCode method"
	defer func() {
		if v := recover(); v != nil {
			code, recorded = 1, userPanic(err, what, v)
		}
	}()
	var ec ExitCoder
	if errors.As(err, &ec) {
		if c := ec.ExitCode(); c > 0 {
			return c, err
		}
	}
	if m := r.e.cfg.mapper; m != nil {
		what = "the exit code mapper (WithExitCodeMapper)"
		if c := m(err); c > 0 {
			return c, err
		}
	}
	return 1, err
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
	cause := r.cancelled()
	switch {
	case errors.Is(cause, ErrCancelled), errors.Is(cause, ErrShutdown), errors.Is(cause, ErrLeaseLost):
		// Whatever failed (the condition, a listener, the job) failed
		// because the run was cancelled. An error that already says so
		// (the job returned context.Cause) is kept as it is.
		if !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		return outcome{state: store.StateCancelled, err: err}
	case errors.Is(cause, ErrTimeout):
		if err == cause {
			err = fmt.Errorf("%w after %v", ErrTimeout, r.spec.o().Timeout)
		} else if !errors.Is(err, ErrTimeout) {
			err = fmt.Errorf("%w after %v: %w", ErrTimeout, r.spec.o().Timeout, err)
		}
		return outcome{state: store.StateFailed, err: err}
	}
	return outcome{state: store.StateFailed, err: err}
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
