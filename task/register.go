// This file owns registration: Register and Update, validating a Spec and
// adding, replacing or removing an entry in the engine's task table.

package task

import (
	"fmt"
	"maps"
	"slices"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/dag"
)

// putTask adds a task; e.mu must be held.
func (e *Engine) putTask(ent *entry) {
	e.tasks[ent.spec.Name] = ent
	e.countDef(ent.spec, 1)
}

// dropTask removes a task; e.mu must be held.
func (e *Engine) dropTask(name string) {
	if ent, ok := e.tasks[name]; ok {
		e.countDef(ent.spec, -1)
		delete(e.tasks, name)
	}
}

// setDef replaces a task's definition; e.mu must be held.
func (e *Engine) setDef(ent *entry, d *def) {
	e.countDef(ent.spec, -1)
	ent.spec = d
	e.countDef(d, 1)
}

func (e *Engine) countDef(d *def, delta int) {
	if len(d.o().After) > 0 {
		e.nAfter += delta
	}
	if d.o().ErrorIntegration != "" {
		e.nInteg += delta
	}
}

// Register adds a task. Before Start it only validates and remembers the
// spec (the task graph is checked by Start); after Start the task graph is
// checked at once and the task armed. A bad spec is rejected with an error
// wrapping ErrInvalidSpec that names the task and the field; a name already
// registered with ErrDuplicateTask; a graph problem (an unknown
// predecessor, a cycle) with the dag package's error naming the tasks.
func (e *Engine) Register(spec Spec) error {
	if err := spec.prepare(&e.schedules); err != nil {
		return err
	}
	e.regMu.Lock()
	defer e.regMu.Unlock()
	e.mu.Lock()
	if e.status == statusClosed {
		e.mu.Unlock()
		return ErrEngineClosed
	}
	if _, ok := e.tasks[spec.Name]; ok {
		e.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrDuplicateTask, spec.Name)
	}
	d := newDef(&spec)
	ent := &entry{spec: d}
	if e.status != statusStarted {
		e.putTask(ent)
		if e.status == statusStarting {
			e.hookAdded = append(e.hookAdded, spec.Name)
		}
		e.mu.Unlock()
		return nil
	}
	if _, err := e.buildGraph(d); err != nil {
		e.mu.Unlock()
		return err
	}
	e.mu.Unlock()

	if err := e.loadState(ent); err != nil {
		return err
	}
	plan, err := e.planCatchUp(e.storeCtx, ent, e.clock.Now(), nil)
	if err != nil {
		return err
	}
	e.mu.Lock()
	g, err := e.buildGraph(d)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.putTask(ent)
	e.graph = g
	e.mu.Unlock()
	if err := e.arm(ent); err != nil {
		e.mu.Lock()
		e.dropTask(spec.Name)
		if g, gerr := e.buildGraph(nil); gerr == nil {
			e.graph = g
		}
		e.mu.Unlock()
		return err
	}
	if plan != nil {
		e.applyCatchUp(plan)
	}
	return nil
}

// Update replaces the definition of a registered task: its job, schedule,
// predecessors, condition, policies. Runs in progress keep the definition
// they started with, and so does a graph run in progress, for every task in
// it (Snowflake's task versioning): the change applies from the next run.
// Update validates like Register and leaves the task as it was on error.
func (e *Engine) Update(spec Spec) error {
	if err := spec.prepare(&e.schedules); err != nil {
		return err
	}
	d := newDef(&spec)
	e.regMu.Lock()
	defer e.regMu.Unlock()
	e.mu.Lock()
	ent, err := e.lookup(spec.Name)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	started := e.status == statusStarted
	var g *dag.Graph
	if started {
		if g, err = e.buildGraph(d); err != nil {
			e.mu.Unlock()
			return err
		}
	}
	old := ent.spec
	e.setDef(ent, d)
	if started {
		e.graph = g
	}
	e.mu.Unlock()
	if !started || scheduleKey(old.Schedule) == scheduleKey(spec.Schedule) {
		return nil
	}
	e.disarm(ent)
	if err := e.arm(ent); err != nil {
		e.mu.Lock()
		e.setDef(ent, old)
		if g, gerr := e.buildGraph(nil); gerr == nil {
			e.graph = g
		}
		e.mu.Unlock()
		if rerr := e.arm(ent); rerr != nil {
			e.log.Error("re-arming the old schedule after a failed update", zap.String("task", spec.Name), zap.Error(rerr))
		}
		return err
	}
	return nil
}

// prepare validates the spec (parsing Cron) and copies what the caller
// could change after handing it over.
func (s *Spec) prepare(cache *scheduleCache) error {
	if err := s.validate(cache); err != nil {
		return err
	}
	s.Listeners = slices.Clone(s.Listeners)
	s.Params = maps.Clone(s.Params)
	s.After = slices.Clone(s.After)
	return nil
}

func scheduleKey(s cron.Schedule) string {
	if s == nil {
		return ""
	}
	return s.String()
}
