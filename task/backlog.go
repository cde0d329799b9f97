// This file owns the backlog: records the store refused (it was down or
// busy), held in memory up to WithMaxHeldRecords and written once the store
// answers again, oldest first.

package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

// While the store refuses writes, fires cannot claim their slots. Rather
// than leave them with no record, the engine holds what it could not write
// in a bounded backlog: a skipped execution for each fire (reason
// store.ReasonStoreUnavailable), the missed-slots records of late fires
// and catch-up, and the failed executions of schedules that broke. A
// retrier goroutine, owned by the engine's lifetime, writes them once the
// store answers again: after a doubling backoff on the engine's clock, or
// at once when a fire's record was written. Each keeps its claim (task and
// nominal time), so a slot another engine recorded meanwhile is dropped.
// Beyond the bound (WithMaxHeldRecords) a task's slots are only counted,
// and recorded as one skipped execution saying how many. What the store
// still refuses at Shutdown is logged at Error with the count.
//
// backlog.mu is a leaf: no other lock is taken while holding it.

// MaxHeldRecordsDefault is how many records the engine holds while the
// store refuses them, unless WithMaxHeldRecords says otherwise: a few
// hundred bytes each.
const MaxHeldRecordsDefault = 10_000

// heldRecord is a record the store refused, held to be written once it
// answers again.
type heldRecord struct {
	ent         *entry
	x           *store.Execution
	slots       int       // how many slots it stands for
	first, last time.Time // the oldest and newest of them
	// fire: a slot the store kept from running; the task's misfire policy
	// may still run it (see runHeld).
	fire bool
	// failed: a broken schedule's failed execution; the task's error
	// integration is told once it is written.
	failed bool
	// summary: the count of slots the full backlog did not hold; put back
	// into the counters if it cannot be written.
	summary bool
}

// droppedSlots counts the slots of a task that found the backlog full.
type droppedSlots struct {
	task        string
	n           int
	first, last time.Time
	at          time.Time // when the first was dropped
}

func (d *droppedSlots) add(n int, first, last, at time.Time) {
	if d.n == 0 || first.Before(d.first) {
		d.first = first
	}
	if d.n == 0 || last.After(d.last) {
		d.last = last
	}
	if d.n == 0 || at.Before(d.at) {
		d.at = at
	}
	d.n += n
}

type backlog struct {
	limit int

	mu       sync.Mutex
	recs     []heldRecord // oldest first; with inFlight, at most limit (but see putBack)
	inFlight int          // records a flush took and has not put back
	dropped  map[*entry]*droppedSlots
	broken   []*group // schedules that broke, whose tasks' records are to write
	full     bool     // a record was dropped since the backlog last had room

	pending atomic.Bool   // anything held: read on the fire path without the lock
	added   chan struct{} // (1) something was held: start the backoff
	now     chan struct{} // (1) try now: a fire was recorded, or a schedule broke
}

func newBacklog(limit int) *backlog {
	return &backlog{limit: limit, added: make(chan struct{}, 1), now: make(chan struct{}, 1)}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// sizeLocked is how many records and counters are held; b.mu must be held.
func (b *backlog) sizeLocked() int {
	return len(b.recs) + b.inFlight + len(b.dropped) + len(b.broken)
}

// hold keeps r, or counts its slots if the backlog is full. It reports
// whether r was kept, and whether it is the first record dropped since
// the backlog last had room.
func (b *backlog) hold(r heldRecord) (kept, firstDrop bool) {
	b.mu.Lock()
	if len(b.recs)+b.inFlight < b.limit {
		b.recs = append(b.recs, r)
		kept = true
	} else {
		b.dropLocked(r, r.slots)
		firstDrop = !b.full
		b.full = true
	}
	b.pending.Store(true)
	b.mu.Unlock()
	wake(b.added)
	return kept, firstDrop
}

// dropLocked counts the n slots of r; b.mu must be held.
func (b *backlog) dropLocked(r heldRecord, n int) {
	if b.dropped == nil {
		b.dropped = make(map[*entry]*droppedSlots)
	}
	d := b.dropped[r.ent]
	if d == nil {
		d = &droppedSlots{task: r.x.Task}
		b.dropped[r.ent] = d
	}
	d.add(n, r.first, r.last, r.x.StartedAt)
}

// addBroken queues the report of a group whose schedule broke.
func (b *backlog) addBroken(g *group) {
	b.mu.Lock()
	b.broken = append(b.broken, g)
	b.pending.Store(true)
	b.mu.Unlock()
	wake(b.now)
}

// take hands everything held to a flush.
func (b *backlog) take() (recs []heldRecord, dropped map[*entry]*droppedSlots, broken []*group) {
	b.mu.Lock()
	defer b.mu.Unlock()
	recs, dropped, broken = b.recs, b.dropped, b.broken
	b.recs, b.dropped, b.broken = nil, nil, nil
	b.inFlight = len(recs)
	return recs, dropped, broken
}

// putBack returns what a flush could not write, ahead of what was held
// meanwhile, and returns how many records and counters are held. It keeps
// them all even past the limit: a flush took at most limit records, and
// adds at most the failed records of broken schedules.
func (b *backlog) putBack(rest []heldRecord) (held, dropped int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight = 0
	keep := make([]heldRecord, 0, len(rest)+len(b.recs))
	for _, r := range rest {
		if r.summary {
			b.dropLocked(r, r.slots)
			continue
		}
		keep = append(keep, r)
	}
	b.recs = append(keep, b.recs...)
	if len(b.recs) < b.limit {
		b.full = false
	}
	b.pending.Store(b.sizeLocked() > 0)
	for _, d := range b.dropped {
		dropped += d.n
	}
	return len(b.recs), dropped
}

// hold keeps a record the store refused with err, to write later, and
// logs it.
func (e *Engine) hold(r heldRecord, err error) {
	kept, firstDrop := e.held.hold(r)
	switch {
	case kept:
		e.log.Warn("could not record; holding the record until the store answers", zap.String("task", r.x.Task),
			zap.Time("slot", r.first), zap.Int("slots", r.slots), zap.Error(err))
	case firstDrop:
		e.log.Error("the store is unavailable and the held records are at their limit: further slots are only counted, one record per task",
			zap.Int("limit", e.held.limit), zap.String("task", r.x.Task), zap.Time("slot", r.first), zap.Error(err))
	}
}

// holdFire holds the record of a fire (or catch-up run) whose record the
// store refused with err: the execution exec was to be. A fire recorded
// skipped keeps its reason; a run becomes a skipped execution saying the
// store was unavailable.
func (e *Engine) holdFire(ent *entry, exec *store.Execution, err error) {
	x := &store.Execution{
		ID: newID(), Task: exec.Task, Trigger: exec.Trigger, ScheduledAt: exec.ScheduledAt,
		StartedAt: exec.StartedAt, EndedAt: exec.StartedAt, State: store.StateSkipped, Node: e.cfg.node,
		SkipReason: exec.SkipReason,
	}
	if x.StartedAt.IsZero() {
		x.StartedAt, x.EndedAt = e.now(), e.now()
	}
	run := exec.State != store.StateSkipped
	if run {
		x.SkipReason = store.ReasonStoreUnavailable + ": " + bounded(firstLine(err.Error()))
	}
	e.hold(heldRecord{ent: ent, x: x, slots: 1, first: x.ScheduledAt, last: x.ScheduledAt, fire: run}, err)
}

// bounded is s cut to 200 bytes, for a record or an error quoting text
// that may be long.
func bounded(s string) string {
	if len(s) > 200 {
		return strings.ToValidUTF8(s[:200], "") + "..."
	}
	return s
}

// startHeld starts the retrier; e.mu must be held.
func (e *Engine) startHeld() {
	ctx, cancel := context.WithCancel(e.storeCtx)
	stop, done := make(chan struct{}), make(chan struct{})
	e.heldStop = func() {
		cancel()
		close(stop)
		<-done
	}
	go e.retryHeld(ctx, stop, done)
}

// retryHeld writes the held records once the store answers: after a
// doubling backoff (endWriteBackoff to endWriteBackoffMax) on the engine's
// clock, reset by a pass that writes something, or at once when told.
func (e *Engine) retryHeld(ctx context.Context, stop, done chan struct{}) {
	defer close(done)
	b := e.held
	d := endWriteBackoff
	var timer clockwork.Timer
	var tick <-chan time.Time
	wait := func() {
		timer = e.clock.NewTimer(d)
		tick = timer.Chan()
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-stop:
			return
		case <-b.added:
			if tick == nil {
				wait()
			}
			continue
		case <-b.now:
		case <-tick:
		}
		if timer != nil {
			timer.Stop()
			timer, tick = nil, nil
		}
		wrote, held, dropped := e.flushHeld(ctx, true)
		if wrote > 0 {
			d = endWriteBackoff
		} else {
			d = min(2*d, endWriteBackoffMax)
		}
		if held == 0 && dropped == 0 {
			continue // a catch-up run it started may hold its fire again
		}
		e.log.Warn("the store still refuses held records; retrying", zap.Int("records", held),
			zap.Int("counted_slots", dropped), zap.Duration("backoff", d))
		wait()
	}
}

// stopHeld stops the retrier and gives what is held one last attempt,
// within ctx (Shutdown's); what the store still refuses is logged at
// Error with the count.
func (e *Engine) stopHeld(ctx context.Context) {
	if e.heldStop != nil {
		e.heldStop()
	}
	if !e.held.pending.Load() {
		return
	}
	_, held, dropped := e.flushHeld(ctx, false)
	if held > 0 || dropped > 0 {
		e.log.Error("records lost at shutdown: the store refused them", zap.Int("records", held),
			zap.Int("counted_slots", dropped))
	}
}

// flushHeld writes what is held, in order, until the store refuses one;
// that one goes to the back, and it and the rest are held again. A record
// whose claim is taken was written by another engine (or by the attempt
// that seemed to fail) and is dropped; one the store calls invalid is
// logged and dropped. With live set (the engine runs), once the store took
// the rest, held fires go to their task's misfire policy (runHeld), which
// may run them rather than record them skipped. It returns how many
// records it wrote, and how many records and counted slots are still held.
func (e *Engine) flushHeld(ctx context.Context, live bool) (wrote, held, dropped int) {
	recs, drops, broken := e.held.take()
	var todo, fires []heldRecord
	for _, g := range broken {
		todo = append(todo, e.brokenRecords(g)...)
	}
	e.mu.Lock()
	for _, r := range recs {
		if live && r.fire && r.ent.spec.o().Misfire != MisfireSkip {
			fires = append(fires, r)
		} else {
			todo = append(todo, r)
		}
	}
	e.mu.Unlock()
	for ent, d := range drops {
		x := &store.Execution{
			ID: newID(), Task: d.task, Trigger: store.TriggerSchedule, ScheduledAt: d.first,
			StartedAt: d.at, EndedAt: d.at, State: store.StateSkipped, Node: e.cfg.node,
			SkipReason: fmt.Sprintf("%s: %d slot(s) from %s to %s were not held (the engine holds at most %d records while the store is unavailable)",
				store.ReasonStoreUnavailable, d.n, d.first.UTC().Format(time.RFC3339Nano), d.last.UTC().Format(time.RFC3339Nano), e.held.limit),
		}
		todo = append(todo, heldRecord{ent: ent, x: x, slots: d.n, first: d.first, last: d.last, summary: true})
	}
	rest, n := e.writeHeld(ctx, todo)
	wrote += n
	switch {
	case len(fires) == 0:
	case rest != nil:
		rest = append(rest, fires...) // the store is still down: run nothing yet
	default:
		rest, n = e.writeHeld(ctx, e.runHeld(fires))
		wrote += n
	}
	if wrote > 0 {
		e.log.Info("wrote records held while the store was unavailable", zap.Int("records", wrote), zap.Int("left", len(rest)))
	}
	held, dropped = e.held.putBack(rest)
	return wrote, held, dropped
}

// writeHeld writes recs in order until the store refuses one, and returns
// what is left to hold again (nil if nothing) and how many it wrote.
func (e *Engine) writeHeld(ctx context.Context, recs []heldRecord) (rest []heldRecord, wrote int) {
	for i, r := range recs {
		err := e.store.CreateExecution(ctx, r.x)
		switch {
		case err == nil:
			wrote++
			e.wroteHeld(r)
		case errors.Is(err, store.ErrConflict):
		case errors.Is(err, store.ErrInvalid):
			e.log.Error("the store refuses a held record; dropping it", zap.String("task", r.x.Task),
				zap.Time("slot", r.first), zap.Int("slots", r.slots), zap.Error(err))
		default:
			// Still down, or this record cannot be written: it goes last,
			// so that it does not hold the others back.
			return append(slices.Clone(recs[i+1:]), r), wrote
		}
	}
	return nil, wrote
}

// wroteHeld makes a held record, now written, its task's last execution if
// none newer is, and tells the task's integration of a broken schedule.
func (e *Engine) wroteHeld(r heldRecord) {
	e.mu.Lock()
	if r.ent.last == nil || !r.x.StartedAt.Before(r.ent.last.StartedAt) {
		r.ent.last = r.x
	}
	spec := r.ent.spec
	e.mu.Unlock()
	if r.x.State == store.StateSkipped {
		e.tel.skip(r.ent, r.x)
	}
	switch {
	case r.failed:
		e.notifyEnd(spec, r.x, notify.KindUnexpectedError, false)
	case r.summary:
		e.log.Error("slots of a task were not held while the store was unavailable; recorded as one skipped execution",
			zap.String("task", r.x.Task), zap.Int("slots", r.slots), zap.Time("first", r.first), zap.Time("last", r.last))
	}
}

// runHeld applies each task's misfire policy to its held fires, as Start
// does to the slots missed while no engine ran: MisfireRunOnce runs the
// newest if no later slot has come since, MisfireRunAll those within
// Spec.CatchUpWindow (at most MaxCatchUpRuns), one after another, trigger
// catch-up (see catchUpRuns). It returns the others, to record skipped.
func (e *Engine) runHeld(fires []heldRecord) []heldRecord {
	now := e.clock.Now()
	byTask := make(map[*entry][]heldRecord)
	for _, r := range fires {
		byTask[r.ent] = append(byTask[r.ent], r)
	}
	var skip []heldRecord
	for ent, rs := range byTask {
		slices.SortFunc(rs, func(a, b heldRecord) int { return a.first.Compare(b.first) })
		e.mu.Lock()
		spec, g, suspended := ent.spec, ent.group, ent.suspended()
		e.mu.Unlock()
		var run []heldRecord
		switch {
		case suspended:
		case spec.o().Misfire == MisfireRunOnce:
			if g == nil {
				break
			}
			if next, err := e.next(g, rs[len(rs)-1].first); err == nil && (next.IsZero() || next.After(now)) {
				run = rs[len(rs)-1:]
			}
		case spec.o().Misfire == MisfireRunAll:
			window := spec.o().CatchUpWindow
			if window <= 0 {
				window = CatchUpWindowDefault
			}
			i, _ := slices.BinarySearchFunc(rs, now.Add(-window), func(r heldRecord, t time.Time) int { return r.first.Compare(t) })
			run = rs[max(i, len(rs)-MaxCatchUpRuns):]
		}
		if len(run) == 0 || !e.catchUpRuns(ent, nil, run) {
			skip = append(skip, rs...)
			continue
		}
		skip = append(skip, rs[:len(rs)-len(run)]...)
	}
	return skip
}
