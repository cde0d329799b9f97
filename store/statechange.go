package store

import (
	"context"
	"fmt"
	"time"

	"github.com/taskmill/taskmill/internal/quote"
)

// StateChange is one change of a task's state, made in one atomic step by
// a StateChanger: the way engines sharing a store count a task's failures
// once and see each other's Suspend and Resume, rather than each writing
// back its own copy. Apply says what each field does.
type StateChange struct {
	Task string
	// At is the change's time: the new UpdatedAt, and SuspendedAt if the
	// change suspends the task. Required.
	At time.Time
	// Succeeded resets ConsecutiveFailures. Failed adds one to it and, if
	// SuspendAfter is positive and the count reaches it while the task is
	// not suspended, suspends the task with Reason. At most one of the
	// two.
	Succeeded, Failed bool
	SuspendAfter      int
	// Suspend suspends the task with Reason, unless it is suspended (it
	// then keeps its reason and time). Resume lifts a suspension and
	// resets ConsecutiveFailures. At most one of the two.
	Suspend, Resume bool
	Reason          string
	// Slot, if after LastScheduledAt, becomes it: LastScheduledAt never
	// goes back.
	Slot time.Time
}

// Validate checks c as every backend does; the error wraps ErrInvalid and
// names the field.
func (c *StateChange) Validate() error {
	what := func() string { return "task state change " + quote.Short(c.Task) }
	switch {
	case c.Task == "":
		return fmt.Errorf("%w: task state change: task name is empty", ErrInvalid)
	case !TextOK(c.Task):
		return fmt.Errorf("%w: task state change: Task %s", ErrInvalid, textProblem(c.Task))
	case c.At.IsZero():
		return fmt.Errorf("%w: %s: At is zero", ErrInvalid, what())
	case !TimeOK(c.At):
		return fmt.Errorf("%w: %s: At %s", ErrInvalid, what(), timeProblem(c.At))
	case !TimeOK(c.Slot):
		return fmt.Errorf("%w: %s: Slot %s", ErrInvalid, what(), timeProblem(c.Slot))
	case !TextOK(c.Reason):
		return fmt.Errorf("%w: %s: Reason %s", ErrInvalid, what(), textProblem(c.Reason))
	case c.Succeeded && c.Failed:
		return fmt.Errorf("%w: %s: both Succeeded and Failed", ErrInvalid, what())
	case c.Suspend && c.Resume:
		return fmt.Errorf("%w: %s: both Suspend and Resume", ErrInvalid, what())
	case c.SuspendAfter < 0:
		return fmt.Errorf("%w: %s: SuspendAfter %d is negative", ErrInvalid, what(), c.SuspendAfter)
	}
	return nil
}

// Apply makes the change to st, the task's state before it (the zero
// state, with Task set, if none was stored), and reports whether it
// suspended a task that was not suspended. Every StateChanger gives this
// result; backends that read and write the state in one transaction call
// it.
func (c *StateChange) Apply(st *TaskState) (suspendedNow bool) {
	was := st.Suspended
	suspend := func() {
		if !st.Suspended {
			st.Suspended, st.SuspendedReason, st.SuspendedAt = true, c.Reason, c.At
		}
	}
	switch {
	case c.Succeeded:
		st.ConsecutiveFailures = 0
	case c.Failed:
		st.ConsecutiveFailures++
		if c.SuspendAfter > 0 && st.ConsecutiveFailures >= c.SuspendAfter {
			suspend()
		}
	}
	switch {
	case c.Suspend:
		suspend()
	case c.Resume:
		st.Suspended, st.SuspendedReason, st.SuspendedAt, st.ConsecutiveFailures = false, "", time.Time{}, 0
	}
	if c.Slot.After(st.LastScheduledAt) {
		st.LastScheduledAt = c.Slot
	}
	st.Task, st.UpdatedAt = c.Task, c.At
	return st.Suspended && !was
}

// StateChanger is implemented by stores that change a task's state in one
// atomic step. Engines sharing a store need it for one task state across
// them; an engine on a store without it writes whole states
// (PutTaskState). An optional ability, found by type assertion;
// store/memory, store/sqlite and store/postgres have it.
type StateChanger interface {
	// ChangeTaskState applies c (see StateChange.Apply) to the stored state
	// of c.Task, or to its zero state if none is stored, as one atomic
	// step, and returns the state after it and whether the change
	// suspended the task. Concurrent changes of one task are applied one
	// after the other: none is lost.
	ChangeTaskState(ctx context.Context, c StateChange) (after *TaskState, suspendedNow bool, err error)
}
