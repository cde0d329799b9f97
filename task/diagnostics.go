// This file owns the diagnostic view of the engine: Tasks and TaskInfo.

package task

import (
	"context"
	"slices"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/store"
)

// TaskInfo is the diagnostic view of one task.
type TaskInfo struct {
	Name                string
	Description         string
	Schedule            string    // the schedule's canonical text; empty if none
	Next                time.Time // next fire, zero if none or suspended
	Suspended           bool
	SuspendedReason     string
	ConsecutiveFailures int
	Running             int  // runs in progress on this engine
	Pending             bool // a run is queued (OverlapQueueOne)
	// LastExecution is the task's newest execution, nil if none: read
	// from the store (so it survives a restart, and names the node that
	// ran it, whichever engine that was), else the newest this engine
	// ended or skipped.
	LastExecution *store.Execution
	Predecessors  []string // tasks this one runs after (Spec.After)
	Dependents    []string // tasks that run after this one
	GraphRuns     int      // graph runs in progress with this task as root
}

// Tasks returns every registered task, sorted by name. Its
// LastExecution is read from the store: with a node lease (other engines
// run the task too) for every task, one query each; otherwise once per
// task that has not run on this engine (it may have run before a
// restart). A store that does not answer leaves the engine's own view.
func (e *Engine) Tasks() []TaskInfo {
	out := e.localTasks()
	e.readLastExecutions(out)
	return out
}

// lastReadTimeout bounds the store reads of one Tasks call.
const lastReadTimeout = 5 * time.Second

// readLastExecutions sets the LastExecution of the tasks of out from the
// store where it is newer (see Tasks).
func (e *Engine) readLastExecutions(out []TaskInfo) {
	e.mu.Lock()
	clustered := e.lease != nil
	var names []string
	for _, ti := range out {
		if ent := e.tasks[ti.Name]; ent != nil && (clustered || !ent.lastRead) {
			names = append(names, ti.Name)
		}
	}
	e.mu.Unlock()
	if len(names) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(e.storeCtx, lastReadTimeout)
	defer cancel()
	found := make(map[string]*store.Execution, len(names))
	for _, name := range names {
		page, err := e.store.ListExecutions(ctx, store.ExecutionFilter{Task: name, Limit: 1})
		if err != nil {
			e.log.Debug("Tasks: reading the last execution from the store", zap.String("task", name), zap.Error(err))
			return
		}
		if len(page.Executions) > 0 {
			found[name] = page.Executions[0]
		}
	}
	e.mu.Lock()
	for _, name := range names {
		ent := e.tasks[name]
		if ent == nil {
			continue
		}
		ent.lastRead = true
		if x := found[name]; x != nil && (ent.last == nil || store.Newer(x, ent.last)) && !clustered {
			ent.last = x // a restart's history: the newest until this engine runs it
		}
	}
	e.mu.Unlock()
	for i := range out {
		if x := found[out[i].Name]; x != nil && (out[i].LastExecution == nil || store.Newer(x, out[i].LastExecution)) {
			out[i].LastExecution = x.Clone()
		}
	}
}

// taskNames returns the names of the registered tasks, sorted.
func (e *Engine) taskNames() []string {
	e.mu.Lock()
	names := make([]string, 0, len(e.tasks))
	for name := range e.tasks {
		names = append(names, name)
	}
	e.mu.Unlock()
	sort.Strings(names)
	return names
}

// localTasks is Tasks as this engine knows them, without the store.
func (e *Engine) localTasks() []TaskInfo {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]TaskInfo, 0, len(e.tasks))
	for _, ent := range e.tasks {
		info := TaskInfo{
			Name:                ent.spec.Name,
			Description:         ent.spec.o().Description,
			Suspended:           ent.suspended(),
			SuspendedReason:     ent.getState().SuspendedReason,
			ConsecutiveFailures: ent.getState().ConsecutiveFailures,
			Running:             ent.running,
			Pending:             ent.pending != nil,
			Predecessors:        slices.Sorted(slices.Values(ent.spec.o().After)),
			GraphRuns:           ent.graphRuns,
		}
		if e.graph != nil && e.graph.Has(ent.spec.Name) {
			info.Dependents = e.graph.Successors(ent.spec.Name)
		}
		if s := ent.spec.Schedule; s != nil {
			info.Schedule = s.String()
			if !info.Suspended && e.status != statusClosed {
				info.Next = e.peekNext(ent, now)
			}
		}
		if ent.last != nil {
			info.LastExecution = ent.last.Clone()
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
