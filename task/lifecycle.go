// This file owns an engine's lifetime: Start (init hooks, node lease,
// task states, arming the schedules) and Shutdown (stop firing, wait for
// or give up on runs and background work, release leases, close what the
// engine made).

package task

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/go-co-op/gocron/v2"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/store"
)

// Start runs the init hooks (OnInit), takes the node lease if the engine
// has a locker, loads each task's persisted state, arms one timer per
// distinct schedule and begins firing. A node lease held by a killed
// earlier process of the node is waited for, at most its TTL and one
// renewal interval, within ctx; one held by a live engine fails Start with
// an error wrapping lock.ErrHeld (see the package doc). It returns an
// error naming the hook or task that failed; the engine is then unusable
// except for Shutdown.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	switch e.status {
	case statusStarting, statusStarted:
		e.mu.Unlock()
		return ErrAlreadyStarted
	case statusClosed:
		e.mu.Unlock()
		return ErrEngineClosed
	}
	e.status = statusStarting
	e.hookAdded = nil
	e.mu.Unlock()

	if err := e.start(ctx); err != nil {
		e.stopLease(ctx)
		// Undo what the hooks registered, so a corrected Start can run
		// them again.
		e.mu.Lock()
		for _, name := range e.hookAdded {
			e.dropTask(name)
		}
		e.hookAdded = nil
		e.graph = nil
		if e.status == statusStarting {
			e.status = statusNew
		}
		e.mu.Unlock()
		return err
	}
	return nil
}

func (e *Engine) start(ctx context.Context) error {
	if !e.cfg.noHooks {
		if err := runHooks(e); err != nil {
			return err
		}
	}
	if err := e.acquireLease(ctx); err != nil {
		return err
	}
	e.regMu.Lock()
	defer e.regMu.Unlock()
	e.mu.Lock()
	g, err := e.buildGraph(nil)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.graph = g
	ents := make([]*entry, 0, len(e.tasks))
	for _, ent := range e.tasks {
		ents = append(ents, ent)
	}
	e.mu.Unlock()
	startNow := e.clock.Now()
	if err := e.loadStates(ents); err != nil {
		return err
	}
	var slots map[string]time.Time
	if l, ok := e.store.(store.SlotLister); ok {
		if slots, err = l.LastSlots(ctx); err != nil {
			return fmt.Errorf("task: finding the tasks' last slots: %w", err)
		}
	}
	var plans []*catchUp
	for _, ent := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		plan, err := e.planCatchUp(ctx, ent, startNow, slots)
		if err != nil {
			return err
		}
		if plan != nil {
			plans = append(plans, plan)
		}
	}

	sched, err := gocron.NewScheduler(
		gocron.WithClock(e.clock),
		gocron.WithLocation(time.UTC),
		gocron.WithStopTimeout(e.schedStop),
		gocron.WithLogger(gocronLogger{e.log.Named("gocron").Sugar()}),
	)
	if err != nil {
		return fmt.Errorf("task: creating scheduler: %w", err)
	}
	e.mu.Lock()
	if e.status != statusStarting {
		// Shutdown came while we loaded state.
		e.mu.Unlock()
		e.stopScheduler(sched)
		return ErrEngineClosed
	}
	e.sched = sched
	names := make([]string, 0, len(e.tasks))
	for name := range e.tasks {
		names = append(names, name)
	}
	e.mu.Unlock()
	sort.Strings(names)
	for _, name := range names {
		e.mu.Lock()
		ent := e.tasks[name]
		e.mu.Unlock()
		if err := e.arm(ent); err != nil {
			e.mu.Lock()
			e.sched = nil
			e.groups = make(map[string]*group)
			for _, ent := range e.tasks {
				ent.group = nil
			}
			e.mu.Unlock()
			e.stopScheduler(sched)
			return err
		}
	}
	e.mu.Lock()
	if e.status != statusStarting {
		e.mu.Unlock()
		e.stopScheduler(sched)
		return ErrEngineClosed
	}
	sched.Start()
	e.status = statusStarted
	e.startHeld()
	e.startRenewer()
	e.log.Info("engine started", zap.Int("tasks", len(e.tasks)), zap.Int("timers", len(e.groups)), zap.String("node", e.cfg.node))
	e.mu.Unlock()
	for _, p := range plans {
		e.applyCatchUp(p)
	}
	return nil
}

func (e *Engine) stopScheduler(s gocron.Scheduler) {
	if err := s.Shutdown(); err != nil {
		e.log.Warn("stopping scheduler", zap.Error(err))
	}
}

// schedulerStopTimeout bounds how long stopping gocron waits for a dispatch
// in progress. Shutdown waits for every fire in progress all the same (they
// count in Engine.bg), so that none writes to a store its host has closed.
const schedulerStopTimeout = 5 * time.Second

// ShutdownCancelGrace is how long Shutdown, once its context has ended and
// it has cancelled the runs still going, lets them end by themselves
// before recording them cancelled.
const ShutdownCancelGrace = 100 * time.Millisecond

// Shutdown stops firing, then waits for a fire in progress to write its
// records and for running executions to end. If ctx
// ends first it cancels them (cause ErrShutdown), gives them
// ShutdownCancelGrace to return, records those that did not as cancelled
// (without calling their OnTaskEnd listeners: their job is still running)
// and returns ctx.Err(). It then drains the notification queues until ctx
// ends.
// Pending (queued) runs are recorded cancelled. A store the engine created
// itself is closed. Later calls return ErrEngineClosed.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.status == statusClosed {
		e.mu.Unlock()
		return ErrEngineClosed
	}
	e.status = statusClosed
	sched := e.sched
	var pending []*run
	for _, ent := range e.tasks {
		if ent.pending != nil {
			pending = append(pending, ent.pending)
		}
	}
	e.mu.Unlock()

	if sched != nil {
		e.stopScheduler(sched)
	}
	for _, r := range pending {
		r.cancelPending(ErrShutdown)
	}
	e.dropWaiting()

	done := make(chan struct{})
	go func() {
		e.bg.Wait()
		e.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		close(e.forced)
		runs := e.runs.all()
		for _, r := range runs {
			r.cancel(ErrShutdown)
		}
		// Jobs that return promptly when cancelled end through the normal
		// path (their error recorded, OnTaskEnd called); the others are
		// recorded cancelled now and their later result is dropped.
		select {
		case <-done:
		case <-time.After(ShutdownCancelGrace):
			for _, r := range runs {
				r.abort(ErrShutdown)
			}
		}
	}
	e.stopHeld(ctx)
	e.stopLease(ctx)
	e.pool.close()
	if herr := e.hub.Close(ctx); herr != nil && err == nil {
		err = herr // the notification queues did not drain in time
	}
	if e.cfg.storeOwned {
		if cerr := e.store.Close(); cerr != nil {
			e.log.Warn("closing store", zap.Error(cerr))
		}
	}
	e.log.Info("engine shut down", zap.Bool("forced", err != nil))
	return err
}
