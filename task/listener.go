// This file owns the Listener interface and ListenerFuncs.

package task

import (
	"context"

	"github.com/taskmill/taskmill/store"
)

// Listener is told about each run of a task, the way Spring Cloud Task's
// TaskExecutionListener is. The execution passed in is the engine's working
// copy of the record: a listener may set its ExitMessage (see the package
// doc for which message wins) and must not keep the pointer after returning.
//
// An error (or a panic) from a listener stops the remaining listeners of
// that event and fails the run, but OnTaskFailed and OnTaskEnd are still
// called.
type Listener interface {
	// OnTaskStartup is called after the record is created, before the job
	// runs. An error here fails the run and the job does not run.
	OnTaskStartup(ctx context.Context, e *store.Execution) error
	// OnTaskFailed is called when the run failed (the job, the condition or
	// a startup listener returned an error, panicked or timed out), before
	// OnTaskEnd. err is the failure.
	OnTaskFailed(ctx context.Context, e *store.Execution, err error) error
	// OnTaskEnd is called last, for every run that started, whatever its
	// outcome; e.State holds the outcome so far. An error here turns a
	// success into a failure.
	OnTaskEnd(ctx context.Context, e *store.Execution) error
}

// ListenerFuncs adapts up to three functions to Listener; nil ones do
// nothing.
type ListenerFuncs struct {
	Startup func(ctx context.Context, e *store.Execution) error
	Failed  func(ctx context.Context, e *store.Execution, err error) error
	End     func(ctx context.Context, e *store.Execution) error
}

var _ Listener = ListenerFuncs{}

// OnTaskStartup calls Startup if set.
func (l ListenerFuncs) OnTaskStartup(ctx context.Context, e *store.Execution) error {
	if l.Startup == nil {
		return nil
	}
	return l.Startup(ctx, e)
}

// OnTaskFailed calls Failed if set.
func (l ListenerFuncs) OnTaskFailed(ctx context.Context, e *store.Execution, err error) error {
	if l.Failed == nil {
		return nil
	}
	return l.Failed(ctx, e, err)
}

// OnTaskEnd calls End if set.
func (l ListenerFuncs) OnTaskEnd(ctx context.Context, e *store.Execution) error {
	if l.End == nil {
		return nil
	}
	return l.End(ctx, e)
}
