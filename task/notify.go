// This file owns error integrations: the messages a run's end sends to
// notify's hub, and TaskID.

package task

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

// taskIDSpace is the namespace of TaskID's name-based UUIDs.
var taskIDSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/taskmill/taskmill/task"))

// TaskID returns the stable id of a task name sent in notifications
// (taskId, rootTaskId): the name-based (version 5) UUID of the name, the
// same in every process and every release.
func TaskID(name string) string {
	return uuid.NewSHA1(taskIDSpace, []byte(name)).String()
}

// IntegrationStats returns the delivery counters of every integration
// (WithIntegration), by name.
func (e *Engine) IntegrationStats() map[string]notify.Stats { return e.hub.AllStats() }

// SetIntegrationEnabled switches an integration off or on at run time: a
// disabled one sends nothing; messages already queued are still
// delivered. An unknown name gives notify.ErrUnknownIntegration.
//
// (The engine's notify.Hub itself is not handed out: the engine owns it and
// closes it at Shutdown.)
func (e *Engine) SetIntegrationEnabled(name string, enabled bool) error {
	return e.hub.SetEnabled(name, enabled)
}

// errorKind says what kind of failure err is, for notifications.
func errorKind(state store.State, err error) notify.ErrorKind {
	switch {
	case state == store.StateSucceeded, state == store.StateSkipped:
		return ""
	case state == store.StateCancelled:
		return notify.KindCancelled
	case isPanic(err):
		return notify.KindPanic
	case errors.Is(err, ErrTimeout):
		return notify.KindTimeout
	}
	return notify.KindUnexpectedError
}

// isPanic reports whether err is or wraps a *PanicError. (Its own function:
// the target errors.As writes escapes, and runs that end well must not pay
// for that allocation.)
func isPanic(err error) bool {
	var pe *PanicError
	return errors.As(err, &pe)
}

// message maps an execution onto the notification payload; the package doc
// of notify gives the mapping.
func (e *Engine) message(t notify.MessageType, x *store.Execution, kind notify.ErrorKind) *notify.Message {
	m := notify.NewMessage(t, e.clock.Now())
	root := x.RootTask
	if root == "" {
		root = x.Task
	}
	runID := x.GraphRunID
	if runID == uuid.Nil {
		runID = x.ID
	}
	m.TenantID = e.cfg.tenant
	m.TaskName, m.TaskID = x.Task, TaskID(x.Task)
	m.RootTaskName, m.RootTaskID = root, TaskID(root)
	m.Messages = []notify.Detail{{
		RunID:          runID.String(),
		ScheduledTime:  notify.Time{Time: x.ScheduledAt},
		QueryStartTime: notify.Time{Time: x.StartedAt},
		CompletedTime:  notify.Time{Time: x.EndedAt},
		QueryID:        x.ID.String(),
		ErrorKind:      kind,
		ErrorCode:      strconv.Itoa(x.ExitCode),
		ErrorMessage:   notify.TruncateError(firstLine(x.Error), notify.MaxErrorMessage),
	}}
	return m
}

// notifyEnd sends what a run's end calls for to the task's error
// integration: TASK_FAILED for a failure, TASK_SUSPENDED when the failure
// suspended the task, TASK_SUCCEEDED for a success if the task asked.
// Sending never blocks; the hub counts and logs what it drops.
func (e *Engine) notifyEnd(spec *def, x *store.Execution, kind notify.ErrorKind, suspended bool) {
	name := spec.o().ErrorIntegration
	if name == "" {
		return
	}
	send := func(t notify.MessageType) {
		m := e.message(t, x, kind)
		if err := e.hub.Send(name, m); err != nil {
			// The hub logged disabled and dropped messages itself.
			if !errors.Is(err, notify.ErrDisabled) && !errors.Is(err, notify.ErrQueueFull) {
				e.log.Warn("could not queue a notification", zap.String("task", x.Task), zap.Stringer("execution", x.ID),
					zap.String("integration", name), zap.String("type", string(t)), zap.Error(err))
			}
		}
	}
	switch {
	case x.State == store.StateFailed:
		send(notify.TaskFailed)
		if suspended {
			send(notify.TaskSuspended)
		}
	case x.State == store.StateSucceeded && spec.o().NotifyOnSuccess:
		send(notify.TaskSucceeded)
	}
}

// checkIntegrations rejects a task naming an integration the engine does
// not have; e.mu must be held.
func (e *Engine) checkIntegration(spec *def) error {
	if spec.o().ErrorIntegration != "" && !e.hub.Has(spec.o().ErrorIntegration) {
		return fmt.Errorf("%w: task %q: error integration %s is not configured (task.WithIntegration)",
			ErrInvalidSpec, spec.Name, quote.Short(spec.o().ErrorIntegration))
	}
	return nil
}
