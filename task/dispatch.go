// This file owns firing: one gocron job per distinct schedule, the
// dispatch of its due slot (and missed ones), and admitting each task's
// run: reserve under the engine's lock, create the records, start them.

package task

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
)

// group is one distinct schedule: one gocron job whose body dispatches every
// task on that schedule.
type group struct {
	key   string
	sched cron.Schedule

	mu     sync.Mutex // serialises dispatches of this group
	cursor time.Time  // newest slot dispatched, or when the group was armed

	tasks []*entry   // guarded by Engine.mu
	job   gocron.Job // the group's timer

	// broken is set, once, when the schedule breaks its contract (see
	// Engine.next); it is never asked again.
	broken atomic.Pointer[brokenSchedule]
}

// dispatchTolerance lets a fire that comes a hair before its slot (a wall
// clock stepped back) still count as that slot's fire.
const dispatchTolerance = 50 * time.Millisecond

// maxSlotScan bounds how many missed slots one late fire walks through.
const maxSlotScan = 100_000

// arm adds a task with a schedule to its group, creating the group's gocron
// job when the schedule is new. e.sched must be set; e.mu must not be held.
func (e *Engine) arm(ent *entry) error {
	s := ent.spec.Schedule
	if s == nil {
		return nil
	}
	key := s.String()
	e.armMu.Lock()
	defer e.armMu.Unlock()
	e.mu.Lock()
	g := e.groups[key]
	sched := e.sched
	e.mu.Unlock()
	if sched == nil {
		return ErrEngineClosed
	}
	if g != nil {
		if b := g.broken.Load(); b != nil {
			return fmt.Errorf("task: task %q: schedule %q stopped firing: %w", ent.spec.Name, key, b.err)
		}
	}
	if g == nil {
		g = &group{key: key, sched: s, cursor: ent.since}
		job, err := sched.NewJob(
			gocron.CronJob(key, true),
			gocron.NewTask(e.dispatch, g),
			gocron.WithCronImplementation(gocronSchedule{e: e, g: g}),
			gocron.WithName(key),
		)
		if err != nil {
			return fmt.Errorf("task: task %q: arming schedule %q: %w", ent.spec.Name, key, err)
		}
		if b := g.broken.Load(); b != nil {
			// It broke as gocron asked it for the first fire.
			if err := sched.RemoveJob(job.ID()); err != nil {
				e.log.Warn("removing a schedule's timer", zap.String("schedule", key), zap.Error(err))
			}
			return fmt.Errorf("task: task %q: %w", ent.spec.Name, b.err)
		}
		g.job = job
	}
	e.mu.Lock()
	e.groups[key] = g
	g.tasks = append(g.tasks, ent)
	ent.group = g
	// Equal text means equal instants: every task of the group shares the
	// group's schedule, and a host that parsed one per task does not keep
	// them all. (Runs never read Schedule; readers hold e.mu.)
	ent.spec.Schedule = g.sched
	e.mu.Unlock()
	return nil
}

// disarm takes a task out of its group, removing the group's gocron job
// when it was the last task on that schedule.
func (e *Engine) disarm(ent *entry) {
	e.armMu.Lock()
	defer e.armMu.Unlock()
	e.mu.Lock()
	g := ent.group
	if g == nil {
		e.mu.Unlock()
		return
	}
	ent.group = nil
	g.tasks = slices.DeleteFunc(g.tasks, func(x *entry) bool { return x == ent })
	var job gocron.Job
	if len(g.tasks) == 0 {
		delete(e.groups, g.key)
		job = g.job
	}
	sched := e.sched
	e.mu.Unlock()
	if job != nil && sched != nil {
		if err := sched.RemoveJob(job.ID()); err != nil {
			e.log.Warn("removing a schedule's timer", zap.String("schedule", g.key), zap.Error(err))
		}
	}
}

// gocronSchedule lets gocron fire a group's schedule. It returns UTC
// instants, which also keeps gocron's own DST fall-back de-duplication (a
// wall-clock comparison) from ever dropping a slot: taskmill applies its
// own DST policy. Next runs in gocron's goroutine, where a panic would
// crash the host and a time not after its argument would make gocron loop
// for ever: it asks through Engine.next, and a broken or finished schedule
// is parked on a time never reached.
type gocronSchedule struct {
	e *Engine
	g *group
}

func (a gocronSchedule) IsValid(string, *time.Location, time.Time) error { return nil }

func (a gocronSchedule) Next(last time.Time) time.Time {
	n, err := a.e.next(a.g, last)
	if err != nil || n.IsZero() {
		if now := a.e.clock.Now(); last.Before(now) {
			last = now
		}
		return last.Add(neverDelay).UTC()
	}
	return n.UTC()
}

// dispatch is the body of a group's gocron job. gocron does not say which
// slot fired, so the group keeps a cursor: the newest slot at or before now
// is due; older slots after the cursor were missed (the fire came late) and
// are recorded as skipped, never dropped silently.
func (e *Engine) dispatch(g *group) {
	// A fire counts as background work, so that Shutdown waits for its
	// writes even when gocron stops waiting for it (schedulerStopTimeout);
	// once Shutdown has begun, a fire does nothing.
	e.mu.Lock()
	if e.status != statusStarted {
		e.mu.Unlock()
		return
	}
	e.bg.Add(1)
	e.mu.Unlock()
	defer e.bg.Done()
	defer func() {
		if v := recover(); v != nil {
			e.log.Error("dispatch panicked", zap.String("schedule", g.key), zap.Any("panic", v), zap.Stack("stack"))
		}
	}()
	defer e.dispatches.Add(1)
	g.mu.Lock()
	defer g.mu.Unlock()
	now := e.clock.Now()
	limit := now.Add(dispatchTolerance)
	var due time.Time
	var missed []time.Time // slots passed over, oldest first
	// A schedule that breaks ends the walk (Engine.next reports it); the
	// slots it named before are good.
	s, err := e.next(g, g.cursor)
	for n := 0; err == nil && !s.IsZero() && !s.After(limit) && n < maxSlotScan; n++ {
		if !due.IsZero() {
			missed = append(missed, due)
		}
		due = s
		s, err = e.next(g, s)
	}
	if due.IsZero() {
		e.log.Debug("fire with no due slot", zap.String("schedule", g.key), zap.Time("cursor", g.cursor), zap.Time("now", now))
		return
	}
	g.cursor = due
	e.mu.Lock()
	tasks := slices.Clone(g.tasks)
	e.mu.Unlock()
	if len(missed) > 0 {
		var recs []heldRecord
		for _, ent := range tasks {
			recs = append(recs, e.lateRecords(ent, missed)...)
		}
		e.recordAll(recs)
	}
	e.fireAll(tasks, due)
}

// lateRecords returns the records of the slots a late fire passed over,
// those after the task began to be dispatched (entry.since). An engine
// alone records them as one skipped execution. Engines sharing a store
// give each slot a record of its own, which claims it: another engine
// may have run or recorded any of them (it fired on time, or late as well),
// and a record standing for slots it does not claim would then contradict
// the history. Past maxMissedClaims slots, the older ones share one record.
func (e *Engine) lateRecords(ent *entry, missed []time.Time) []heldRecord {
	const why = "passed before the timer fired"
	e.mu.Lock()
	since, suspended := ent.since, ent.suspended()
	e.mu.Unlock()
	if suspended {
		return nil
	}
	i, _ := slices.BinarySearchFunc(missed, since, func(a, b time.Time) int {
		if !a.After(b) {
			return -1
		}
		return 1
	})
	mine := missed[i:]
	if len(mine) == 0 {
		return nil
	}
	if e.cfg.lease.locker == nil {
		return []heldRecord{e.missedRecord(ent, store.TriggerSchedule, mine[0], mine[len(mine)-1], len(mine), why)}
	}
	var recs []heldRecord
	if old := len(mine) - maxMissedClaims; old > 0 {
		recs = append(recs, e.missedRecord(ent, store.TriggerSchedule, mine[0], mine[old-1], old, why))
		mine = mine[old:]
	}
	for _, s := range mine {
		recs = append(recs, e.missedRecord(ent, store.TriggerSchedule, s, s, 1, why))
	}
	return recs
}

// maxMissedClaims bounds the records of one task that one late fire of
// engines sharing a store writes, one per slot (see lateRecords).
const maxMissedClaims = 1000

// recordAll creates the records of missed slots, fireChunk at a time (one
// call each if the store is a store.BatchCreator), and settles each.
func (e *Engine) recordAll(recs []heldRecord) {
	xs := make([]*store.Execution, 0, min(len(recs), fireChunk))
	for len(recs) > 0 {
		chunk := recs[:min(len(recs), fireChunk)]
		recs = recs[len(chunk):]
		xs = xs[:0]
		for _, r := range chunk {
			xs = append(xs, r.x)
		}
		for i, err := range store.CreateMany(e.storeCtx, e.store, xs) {
			e.settleMissed(chunk[i], err)
		}
	}
}

// errSuspended tells fire's caller the task is suspended: no record.
var errSuspended = errors.New("task: suspended")

// admit decides what a fire or a RunNow does given the task's state and
// overlap policy, records it, and starts the run. It returns the run, or nil
// when the fire was recorded as skipped — or, for an explicit request
// (explicit true), refused, which records nothing.
func (e *Engine) admit(ent *entry, exec *store.Execution, explicit bool) (*run, error) {
	r, _, err := e.admitTask(ent, exec.Task, exec, explicit, nil)
	return r, err
}

// admitTask is admit of the task ent, or if ent is nil of the task named
// name, looked up under the same lock; it also returns the entry. spare,
// if not nil, is the run's memory from allocRun.
func (e *Engine) admitTask(ent *entry, name string, exec *store.Execution, explicit bool, spare *run) (*run, *entry, error) {
	exec.StartedAt, exec.Node = e.now(), e.cfg.node
	e.mu.Lock()
	if ent == nil {
		var err error
		if ent, err = e.lookup(name); err != nil {
			e.mu.Unlock()
			return nil, nil, err
		}
	}
	if e.status != statusStarted {
		err := e.notStarted()
		e.mu.Unlock()
		return nil, ent, err
	}
	if e.cfg.lease.locker != nil && !ent.graphLease.held && e.needsGraphLeaseLocked(ent) {
		e.mu.Unlock()
		if err := e.takeGraphLease(ent); err != nil {
			if explicit {
				return nil, ent, nil
			}
			x := exec.Clone()
			x.Exclusive = true
			e.busyElsewhereFor(ent, x, err.Error())
			return nil, ent, nil
		}
		defer e.releaseIdleGraphLease(ent)
		e.mu.Lock()
		if e.status != statusStarted {
			err := e.notStarted()
			e.mu.Unlock()
			return nil, ent, err
		}
	}
	r, rec, ok := e.reserveLocked(ent, exec, explicit, spare)
	if r != nil {
		e.runs.add(r)
	}
	e.mu.Unlock()
	if !ok {
		if explicit {
			return nil, ent, nil
		}
		return nil, ent, errSuspended
	}
	err := e.settle(ent, rec, r, e.store.CreateExecution(e.storeCtx, rec), nil)
	if errors.Is(err, store.ErrBusy) {
		// The task runs on another engine.
		if explicit {
			return nil, ent, nil
		}
		e.busyElsewhere(ent, rec)
		return nil, ent, nil
	}
	return r, ent, err
}

// reserveLocked decides what a fire (or an explicit request) of a started
// engine does, given the task's state and overlap policy, and reserves the
// run: exec's state is set and, unless the fire is recorded skipped, a run
// is returned; the caller adds it to e.runs before
// releasing e.mu. rec is the record to create: the run's, or a copy of exec
// for a skipped fire (exec itself is not kept). ok is false when nothing is
// to be recorded (the task is suspended, or an explicit request is
// refused). spare, if not nil, is the run's memory from allocRun. e.mu
// must be held.
func (e *Engine) reserveLocked(ent *entry, exec *store.Execution, explicit bool, spare *run) (r *run, rec *store.Execution, ok bool) {
	if !explicit && ent.suspended() {
		return nil, nil, false
	}
	busy := ent.running > 0 || ent.pending != nil || ent.graphRuns > 0
	exec.Exclusive = e.exclusiveLocked(ent)
	if exec.Trigger.Claims() && exec.ScheduledAt.After(ent.lastSlot) {
		ent.lastSlot = exec.ScheduledAt
	}
	switch {
	case !busy || ent.spec.o().Overlap == OverlapAllow:
		exec.State = store.StateRunning
		gr := e.beginGraph(ent, exec)
		r = e.newRunIn(spare, ent, exec)
		ent.running++
		r.counted = true
		if gr != nil {
			r.graph = gr
			e.graphRuns[gr.id] = gr
		}
	case ent.spec.o().Overlap == OverlapQueueOne && ent.pending == nil:
		exec.State = store.StatePending
		r = e.newRunIn(spare, ent, exec)
		ent.pending = r
	case explicit:
		return nil, nil, false
	default:
		exec.State, exec.EndedAt, exec.SkipReason = store.StateSkipped, exec.StartedAt, store.ReasonOverlap
		return nil, exec.Clone(), true
	}
	e.wg.Add(1)
	return r, r.exec, true
}

// newRunIn is newRun in spare's memory, if not nil; e.mu must be held.
func (e *Engine) newRunIn(spare *run, ent *entry, exec *store.Execution) *run {
	if spare == nil {
		return e.newRun(ent, exec)
	}
	return e.initRunLocked(spare, ent, ent.spec, exec)
}

// settle finishes an admission once the record's creation returned err:
// a skipped record becomes the task's last; a run starts (or waits in the
// task's queue) — or, given a batch, is appended to it for the caller to
// start with the others; a failed creation undoes the reservation. It
// returns err.
func (e *Engine) settle(ent *entry, exec *store.Execution, r *run, err error, batch *[]*run) error {
	if r == nil {
		if err == nil {
			e.mu.Lock()
			ent.last = exec // never changed again: no run owns it
			e.mu.Unlock()
			if exec.State == store.StateSkipped {
				e.tel.skip(ent, exec)
			}
			if ce := e.log.Check(zap.DebugLevel, "fire skipped"); ce != nil {
				ce.Write(zap.String("task", exec.Task), zap.String("reason", exec.SkipReason))
			}
		}
		return err
	}
	if err != nil {
		e.mu.Lock()
		var next *run
		// A running run never executes now: release it here. A pending
		// one is released by whoever holds it (startPending,
		// cancelQueued) — or here, if it is still only queued.
		release := exec.State == store.StateRunning
		switch {
		case ent.pending == r:
			ent.pending = nil
			release = true
		case r.counted:
			// Running, or a queued run already promoted: undo the count
			// and let a run queued behind this one go.
			ent.running--
			r.counted = false
			if r.graph != nil {
				ent.graphRuns--
				delete(e.graphRuns, r.graph.id)
			}
			next = e.promoteLocked(ent)
		}
		e.runs.remove(exec.ID)
		closing := e.status != statusStarted
		e.mu.Unlock()
		r.createErr = err
		r.created.close()
		if release {
			r.release()
		}
		e.startPromoted(next, closing)
		return err
	}
	// Read before created is closed: a queued run may be promoted, and
	// its record made running by startPending, as soon as it is.
	running := exec.State == store.StateRunning
	r.created.close()
	if running {
		if batch != nil {
			*batch = append(*batch, r)
		} else {
			e.pool.submit(r)
		}
	}
	return nil
}

// fireChunk is how many tasks of one fire are admitted together: big
// enough to share locks and store round trips, small enough that the first
// jobs start before the last records are made.
const fireChunk = 128

// fireAll admits one slot of many tasks, a chunk at a time: one pass under
// the engine's lock reserves a chunk's runs, their records are created
// together (in one call if the store is a store.BatchCreator), then they
// start on the engine's workers.
//
// Between chunks the dispatch yields its processor, so that the chunk's
// runs, just queued on it, start before the next chunk is admitted: that
// buys the tick workload's CPU per fire and p99 targets (bench/README.md).
func (e *Engine) fireAll(ents []*entry, slot time.Time) {
	for len(ents) > 0 {
		n := min(len(ents), fireChunk)
		e.fireChunk(ents[:n], slot)
		ents = ents[n:]
		if len(ents) > 0 {
			runtime.Gosched()
		}
	}
}

func (e *Engine) fireChunk(ents []*entry, slot time.Time) {
	now := e.now()
	execs := make([]*store.Execution, 0, len(ents))
	owners := make([]*entry, 0, len(ents))
	runs := make([]*run, 0, len(ents))
	// The chunk's ids and runs are made before taking the lock.
	ids := make([]uuid.UUID, len(ents))
	for i := range ids {
		ids[i] = newID()
	}
	spare := e.allocRuns(len(ents))
	// Graph roots first take their lease (graphlease.go); those whose
	// graph runs elsewhere are recorded after the others.
	var elsewhere map[*entry]error
	var elsewhereExecs []*store.Execution
	var elsewhereEnts []*entry
	if cands := e.graphLeaseCandidates(ents); len(cands) > 0 {
		for _, ent := range cands {
			if err := e.takeGraphLease(ent); err != nil {
				if elsewhere == nil {
					elsewhere = make(map[*entry]error)
				}
				elsewhere[ent] = err
			}
		}
		defer func() {
			for _, ent := range cands {
				e.releaseIdleGraphLease(ent)
			}
		}()
	}
	e.mu.Lock()
	if e.status != statusStarted {
		e.mu.Unlock()
		return
	}
	for i, ent := range ents {
		exec := store.Execution{ID: ids[i], Task: ent.spec.Name, Trigger: store.TriggerSchedule,
			ScheduledAt: slot, StartedAt: now, Node: e.cfg.node}
		if elsewhere[ent] != nil {
			if !ent.suspended() {
				exec.Exclusive = true
				elsewhereExecs, elsewhereEnts = append(elsewhereExecs, &exec), append(elsewhereEnts, ent)
			}
			continue
		}
		r, rec, ok := e.reserveLocked(ent, &exec, false, spare[i])
		if !ok {
			continue
		}
		execs, owners, runs = append(execs, rec), append(owners, ent), append(runs, r)
	}
	e.runs.addAll(runs)
	e.mu.Unlock()
	errs := store.CreateMany(e.storeCtx, e.store, execs)
	start := runs[:0] // the runs to start, in place of those settled
	recorded := false
	for i, exec := range execs {
		err := e.settle(owners[i], exec, runs[i], errs[i], &start)
		switch {
		case err == nil:
			recorded = true
		case errors.Is(err, store.ErrConflict):
			if ce := e.log.Check(zap.DebugLevel, "slot already claimed"); ce != nil {
				ce.Write(zap.String("task", exec.Task), zap.Time("slot", slot))
			}
		case errors.Is(err, store.ErrBusy):
			e.busyElsewhere(owners[i], exec)
		default:
			e.holdFire(owners[i], exec, err) // written once the store answers
		}
	}
	if recorded && e.held.pending.Load() {
		wake(e.held.now) // the store answers again
	}
	e.pool.submit(start...)
	for i, x := range elsewhereExecs {
		ent := elsewhereEnts[i]
		e.busyElsewhereFor(ent, x, elsewhere[ent].Error())
	}
}

// gocronLogger sends gocron's logs to zap.
type gocronLogger struct{ l *zap.SugaredLogger }

func (g gocronLogger) Debug(msg string, args ...any) { g.l.Debugw(msg, args...) }
func (g gocronLogger) Info(msg string, args ...any)  { g.l.Infow(msg, args...) }
func (g gocronLogger) Warn(msg string, args ...any)  { g.l.Warnw(msg, args...) }
func (g gocronLogger) Error(msg string, args ...any) { g.l.Errorw(msg, args...) }
