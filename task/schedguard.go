// This file owns the guard around a schedule's Next: a schedule that
// panics, goes backwards or stalls is recorded, not a crash or a hang.

package task

import (
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
)

// A schedule is the host's code: cron.Schedule asks its Next for a time
// strictly after its argument, and every loop that walks slots (the
// dispatcher's, catch-up's, gocron's own "for next.Before(now)") relies on
// that to end. Every call of a schedule goes through nextAfter, which turns
// a panic or an answer not after the argument into an error wrapping
// ErrBadSchedule. At Register and Start such an error is returned naming
// the task. Once a group's schedule has broken (see Engine.next) it is
// never asked again: its timer is parked, and each task on it gets one
// failed execution saying why.

// scheduleError is a schedule that broke its contract.
type scheduleError struct {
	msg   string
	stack []byte // where Next panicked; nil if it did not
}

func (e *scheduleError) Error() string { return e.msg }
func (e *scheduleError) Unwrap() error { return ErrBadSchedule }

// detail is the error's text with the stack of the panic, if any, as a
// record keeps it.
func (e *scheduleError) detail() string {
	if e.stack == nil {
		return e.msg
	}
	return e.msg + "\n\n" + string(e.stack)
}

// nextAfter returns s.Next(t), or an error wrapping ErrBadSchedule if Next
// panics or returns a time that is not after t. A zero time (no more
// activations) is not an error. key is the schedule's text, for the error.
func nextAfter(s cron.Schedule, key string, t time.Time) (n time.Time, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = time.Time{}, &scheduleError{
				msg: fmt.Sprintf("%v: %.200q: Next(%s) panicked: %s", ErrBadSchedule, key, t.Format(time.RFC3339Nano),
					bounded(fmt.Sprint(v))),
				stack: debug.Stack(),
			}
		}
	}()
	n = s.Next(t)
	if !n.IsZero() && !n.After(t) {
		return time.Time{}, &scheduleError{msg: fmt.Sprintf("%v: %.200q: Next(%s) returned %s, not a time after it",
			ErrBadSchedule, key, t.Format(time.RFC3339Nano), n.Format(time.RFC3339Nano))}
	}
	return n, nil
}

// brokenSchedule is why and where a group's schedule broke.
type brokenSchedule struct {
	err   *scheduleError
	after time.Time // the argument of the Next that broke
	at    time.Time // when
}

// next is nextAfter on a group's schedule. The first error breaks the
// group for good: later calls return it without asking the schedule, the
// break is logged, and each task on the schedule gets a failed execution
// (written by the held-record retrier, see backlog.go). It takes no lock
// but the backlog's: gocron calls it with the engine's lock held by Start.
func (e *Engine) next(g *group, t time.Time) (time.Time, error) {
	if b := g.broken.Load(); b != nil {
		return time.Time{}, b.err
	}
	n, err := nextAfter(g.sched, g.key, t)
	if err == nil {
		return n, nil
	}
	b := &brokenSchedule{err: err.(*scheduleError), after: t, at: e.now()}
	if g.broken.CompareAndSwap(nil, b) {
		e.log.Error("schedule broke; its tasks fire no more", zap.String("schedule", g.key), zap.Error(err))
		e.held.addBroken(g)
	}
	return time.Time{}, g.broken.Load().err
}

// peekNext is the task's next fire after now, zero if none (or if its
// schedule broke), for diagnostics; e.mu must be held.
func (e *Engine) peekNext(ent *entry, now time.Time) time.Time {
	var n time.Time
	if ent.group != nil {
		n, _ = e.next(ent.group, now)
	} else if s := ent.spec.Schedule; s != nil {
		n, _ = nextAfter(s, s.String(), now)
	}
	return n
}

// neverDelay is how far past its argument gocron is told a broken or
// finished schedule fires next: it must get a time after the argument
// (zero or an earlier time sends it looping), and this one is never
// reached.
const neverDelay = 100 * 365 * 24 * time.Hour

// brokenRecords returns the failed executions that say the group's
// schedule broke, one for each of its tasks. Each claims the instant just
// after the argument of the Next that broke, in the schedule's place of
// the fire it could not name: engines sharing a store that see the same
// break record it once.
func (e *Engine) brokenRecords(g *group) []heldRecord {
	b := g.broken.Load()
	slot := b.after.Truncate(time.Microsecond).Add(time.Microsecond)
	e.mu.Lock()
	ents := slices.Clone(g.tasks)
	names := make([]string, len(ents))
	for i, ent := range ents {
		names[i] = ent.spec.Name
	}
	e.mu.Unlock()
	out := make([]heldRecord, 0, len(ents))
	for i, ent := range ents {
		x := &store.Execution{
			ID: newID(), Task: names[i], Trigger: store.TriggerSchedule, ScheduledAt: slot,
			StartedAt: b.at, EndedAt: b.at, State: store.StateFailed, ExitCode: 1, Node: e.cfg.node,
			Error: b.err.detail(),
		}
		out = append(out, heldRecord{ent: ent, x: x, slots: 1, first: slot, last: slot, failed: true})
	}
	return out
}
