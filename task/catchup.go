// This file owns catch-up: what Start does with the slots that passed while
// no engine ran (MisfirePolicy), and the records of missed slots.

package task

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/store"
)

// MisfirePolicy says what Start does with the slots of a task that passed
// while no engine ran (Quartz's misfire instructions, Temporal's catch-up
// window), and what the engine does with the fires whose records the store
// refused, once it answers again (see the package doc). Whatever the
// policy, every missed slot is on record.
type MisfirePolicy int

// Misfire policies.
const (
	// MisfireSkip runs none of the missed slots and records one skipped
	// execution (reason "missed") saying how many slots were missed and
	// from when to when. The default.
	MisfireSkip MisfirePolicy = iota
	// MisfireRunOnce runs the task once now for the newest missed slot
	// (trigger catch-up, nominal time that slot); older missed slots are
	// recorded as one skipped execution.
	MisfireRunOnce
	// MisfireRunAll runs every missed slot within Spec.CatchUpWindow,
	// oldest first, one after another, each recorded with its own nominal
	// time and trigger catch-up; older slots (and any beyond
	// MaxCatchUpRuns) are recorded as one skipped execution.
	MisfireRunAll
)

// String returns "skip", "run-once" or "run-all".
func (p MisfirePolicy) String() string {
	switch p {
	case MisfireSkip:
		return "skip"
	case MisfireRunOnce:
		return "run-once"
	case MisfireRunAll:
		return "run-all"
	}
	return fmt.Sprintf("MisfirePolicy(%d)", int(p))
}

// Catch-up limits.
const (
	// CatchUpWindowDefault is Spec.CatchUpWindow's default: how far back
	// MisfireRunAll runs missed slots.
	CatchUpWindowDefault = time.Hour
	// MaxCatchUpRuns bounds how many missed slots MisfireRunAll runs for
	// one task at one Start; the oldest beyond it are recorded skipped.
	MaxCatchUpRuns = 1000
	// MisfireGrace is how old a slot must be at Start to count as missed.
	// A younger slot may still be fired by another engine sharing the
	// store (their clocks may differ by up to a second); this engine's
	// dispatcher takes it over instead: if nobody claimed it, its first
	// fire records it as missed.
	MisfireGrace = time.Second
	// maxSlotWalk bounds the walk through a long downtime's slots.
	maxSlotWalk = 10_000_000
)

// catchUp is the plan for one task's missed slots at Start.
type catchUp struct {
	ent         *entry
	first, last time.Time   // every missed slot, oldest and newest
	count       int         // how many
	run         []time.Time // the slots to run, oldest first
	lastSkipped time.Time   // the newest slot not run
}

// lastSlot is the newest slot the task is known to have claimed: from its
// persisted state and its claiming executions — the latest slot among them
// when slots (store.SlotLister) is given, else the slot of the newest one.
// Zero if none (a task that never fired, or whose history retention
// removed).
func (e *Engine) lastSlot(ctx context.Context, ent *entry, slots map[string]time.Time) (time.Time, error) {
	last := ent.getState().LastScheduledAt
	if slots != nil {
		// Read for every task at once (store.SlotLister).
		if s := slots[ent.spec.Name]; s.After(last) {
			last = s
		}
		return last, nil
	}
	page, err := e.store.ListExecutions(ctx, store.ExecutionFilter{
		Task: ent.spec.Name, Triggers: []store.Trigger{store.TriggerSchedule, store.TriggerCatchUp}, Limit: 1,
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("task: task %q: finding its last slot: %w", ent.spec.Name, err)
	}
	if len(page.Executions) > 0 && page.Executions[0].ScheduledAt.After(last) {
		last = page.Executions[0].ScheduledAt
	}
	return last, nil
}

// planCatchUp works out the slots a task missed while no engine ran, and
// sets where the task's own dispatching starts (entry.since). It returns nil
// when nothing was missed. slots, if not nil, holds every task's latest
// claimed slot (store.SlotLister); otherwise the store is asked. A schedule
// that breaks its contract, asked for its next slot after now or for the
// missed ones, is an error naming the task (wrapping ErrBadSchedule).
func (e *Engine) planCatchUp(ctx context.Context, ent *entry, now time.Time, slots map[string]time.Time) (*catchUp, error) {
	ent.since = now
	sched := ent.spec.Schedule
	if sched == nil {
		return nil, nil
	}
	key := sched.String()
	bad := func(err error) error { return fmt.Errorf("task: task %q: %w", ent.spec.Name, err) }
	if _, err := nextAfter(sched, key, now); err != nil {
		return nil, bad(err)
	}
	last, err := e.lastSlot(ctx, ent, slots)
	if err != nil || last.IsZero() {
		return nil, err
	}
	// Slots after until are left to the dispatcher (see MisfireGrace).
	until := now.Add(-MisfireGrace)
	ent.since = until
	if ent.suspended() {
		return nil, nil // a suspended task's slots are not fires
	}
	window := ent.spec.o().CatchUpWindow
	if window <= 0 {
		window = CatchUpWindowDefault
	}
	c := &catchUp{ent: ent}
	var beforeLast time.Time // the slot before c.last
	s, err := nextAfter(sched, key, last)
	for n := 0; err == nil && !s.IsZero() && !s.After(until) && n < maxSlotWalk; n++ {
		if c.count == 0 {
			c.first = s
		}
		beforeLast = c.last
		c.last = s
		c.count++
		if ent.spec.o().Misfire == MisfireRunAll && !s.Before(now.Add(-window)) {
			c.run = append(c.run, s)
			if len(c.run) > MaxCatchUpRuns {
				c.lastSkipped = c.run[0]
				c.run = c.run[1:]
			}
		} else {
			c.lastSkipped = s
		}
		s, err = nextAfter(sched, key, s)
	}
	if err != nil {
		return nil, bad(err)
	}
	if c.count == 0 {
		return nil, nil
	}
	if ent.spec.o().Misfire == MisfireRunOnce {
		c.run = []time.Time{c.last}
		c.lastSkipped = beforeLast
	}
	return c, nil
}

// applyCatchUp records the skipped part of a plan and runs the rest, one
// slot after another, in the background.
func (e *Engine) applyCatchUp(c *catchUp) {
	ent := c.ent
	skipped := c.count - len(c.run)
	if skipped > 0 {
		// The skipped slots are the older ones, up to the first run.
		e.recordMissedSlots(ent, store.TriggerCatchUp, c.first, c.lastSkipped, skipped,
			fmt.Sprintf("while no engine ran (misfire policy %s)", ent.spec.o().Misfire))
	}
	if len(c.run) > 0 {
		e.catchUpRuns(ent, c.run, nil)
	}
}

// catchUpRuns runs slots of a task, one after another, in the background,
// each recorded with trigger catch-up and claiming its slot: slots, or the
// slots of the held fires held. When the store refuses a record, that slot
// and the ones after it are held (see backlog.go; held fires as they
// were), and their runs left to the misfire policy once the store answers.
// It reports false, running nothing, if the engine is not started.
func (e *Engine) catchUpRuns(ent *entry, slots []time.Time, held []heldRecord) bool {
	e.mu.Lock()
	if e.status != statusStarted {
		e.mu.Unlock()
		return false
	}
	e.bg.Add(1)
	e.mu.Unlock()
	n := max(len(slots), len(held))
	slot := func(i int) time.Time {
		if held != nil {
			return held[i].first
		}
		return slots[i]
	}
	go func() {
		defer e.bg.Done()
		for i := 0; i < n; i++ {
			exec := &store.Execution{ID: newID(), Task: ent.spec.Name, Trigger: store.TriggerCatchUp, ScheduledAt: slot(i)}
			r, err := e.admit(ent, exec, false)
			switch {
			case errors.Is(err, ErrEngineClosed):
				for _, h := range held[min(i, len(held)):] {
					e.held.hold(h) // for Shutdown's last attempt
				}
				return
			case errors.Is(err, store.ErrConflict):
				continue // another engine caught it up
			case errors.Is(err, errSuspended) && held != nil:
				// Suspended since it fired: record the fire skipped.
				e.held.hold(held[i])
			case err != nil && !errors.Is(err, errSuspended):
				if held != nil {
					for _, h := range held[i:] {
						e.hold(h, err)
					}
					return
				}
				e.holdFire(ent, exec, err)
				for _, s := range slots[i+1:] {
					x := *exec
					x.ScheduledAt = s
					e.holdFire(ent, &x, err)
				}
				return
			case r != nil:
				<-r.done.wait() // one after another
			}
		}
	}()
	return true
}

// recordMissedSlots records n missed slots of a task, from first to last, as
// one skipped execution claiming the first of them.
func (e *Engine) recordMissedSlots(ent *entry, trig store.Trigger, first, last time.Time, n int, why string) {
	rec := e.missedRecord(ent, trig, first, last, n, why)
	e.settleMissed(rec, e.store.CreateExecution(e.storeCtx, rec.x))
}

// missedRecord returns the skipped execution that records n missed slots of
// a task, from first to last, claiming the first of them.
func (e *Engine) missedRecord(ent *entry, trig store.Trigger, first, last time.Time, n int, why string) heldRecord {
	now := e.now()
	reason := fmt.Sprintf("%s: %d slot(s) from %s to %s %s", store.ReasonMissed, n,
		first.UTC().Format(time.RFC3339Nano), last.UTC().Format(time.RFC3339Nano), why)
	return heldRecord{ent: ent, slots: n, first: first, last: last, x: &store.Execution{
		ID: newID(), Task: ent.spec.Name, Trigger: trig, ScheduledAt: first,
		StartedAt: now, EndedAt: now, State: store.StateSkipped, Node: e.cfg.node,
		SkipReason: reason,
	}}
}

// settleMissed finishes recording missed slots once the creation of their
// record returned err: the record becomes the task's last; a claim taken
// means another engine ran or recorded the (first) slot, and the record is
// dropped; any other error holds it to be written later.
func (e *Engine) settleMissed(rec heldRecord, err error) {
	exec, ent := rec.x, rec.ent
	switch {
	case err == nil:
		e.mu.Lock()
		if ent.last == nil || !exec.StartedAt.Before(ent.last.StartedAt) {
			ent.last = exec
		}
		e.mu.Unlock()
		if exec.State == store.StateSkipped {
			e.tel.skip(ent, exec)
		}
		e.log.Warn("slots missed", zap.String("task", exec.Task), zap.Int("missed", rec.slots), zap.Time("first", rec.first),
			zap.Time("last", rec.last), zap.String("reason", exec.SkipReason))
	case errors.Is(err, store.ErrConflict):
		// Another engine recorded or ran the first of them.
	default:
		e.hold(rec, err)
	}
}
