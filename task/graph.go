// This file owns task graphs (Spec.After): building the graph, a graph
// run from its root to its last member, and the graph's diagnostics.

package task

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/dag"
	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/store"
)

// TriggerRule says when a dependent task runs, given how its predecessors
// in the same graph run ended. See package dag.
type TriggerRule = dag.TriggerRule

// Trigger rules, as Airflow names them.
const (
	// AllSucceeded runs the task when every predecessor succeeded. The default.
	AllSucceeded = dag.AllSucceeded
	// AllDone runs the task when every predecessor ended, however.
	AllDone = dag.AllDone
	// OneFailed runs the task as soon as one predecessor failed.
	OneFailed = dag.OneFailed
	// NoneFailed runs the task when every predecessor ended, none failed
	// and at least one succeeded.
	NoneFailed = dag.NoneFailed
)

// Skip reasons of graph runs, beside the upstream reasons dag gives.
const (
	reasonSuspended = "suspended"
	reasonShutdown  = "engine shut down before the task could start"
)

// graphRun is one run of a task graph: the root's execution and every
// dependent it triggers, with the definitions frozen when the root's run was
// admitted.
type graphRun struct {
	id        uuid.UUID
	root      string
	graph     *dag.Graph
	specs     map[string]*def // frozen member definitions
	scheduled time.Time       // the root's nominal time

	mu    sync.Mutex
	run   *dag.Run
	seq   int
	ended map[string]memberEnd // members with an execution, by name
	// steps counts the member ends being fed in (graphStep until its
	// advanceGraph has recorded what followed): the dag.Run is done as
	// soon as the last member is decided, but the run is over only once
	// every step that decided one has written its records.
	steps int
	over  bool
	done  chan struct{}
	// span is the root's run's span, which members' spans link to.
	span trace.SpanContext
}

type memberEnd struct {
	exec uuid.UUID
	seq  int // order of completion within the graph run
}

// buildGraph builds the task graph of the registered tasks, with spec
// replacing (or adding) one of them when not nil, and checks what depends on
// the whole engine (error integrations). It returns a nil graph when no task
// has predecessors. e.mu must be held.
func (e *Engine) buildGraph(spec *def) (*dag.Graph, error) {
	if spec != nil {
		if err := e.checkIntegration(spec); err != nil {
			return nil, err
		}
	}
	if e.nAfter == 0 && e.nInteg == 0 && (spec == nil || len(spec.o().After) == 0) {
		// No task runs after another and none names an integration:
		// nothing to check, no graph to run.
		return nil, nil
	}
	nodes := make([]dag.Node, 0, len(e.tasks)+1)
	for name, ent := range e.tasks {
		if spec != nil && name == spec.Name {
			continue
		}
		if err := e.checkIntegration(ent.spec); err != nil {
			return nil, err
		}
		nodes = append(nodes, dag.Node{Name: name, After: ent.spec.o().After, Rule: ent.spec.o().TriggerRule})
	}
	if spec != nil {
		if err := e.checkIntegration(spec); err != nil {
			return nil, err
		}
		nodes = append(nodes, dag.Node{Name: spec.Name, After: spec.o().After, Rule: spec.o().TriggerRule})
	}
	edges := false
	for _, n := range nodes {
		if len(n.After) > 0 {
			edges = true
			break
		}
	}
	if !edges {
		// No task runs after another: no graph to check or to run.
		return nil, nil
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	g, err := dag.Build(nodes, e.cfg.dagOpts...)
	if err != nil {
		return nil, fmt.Errorf("task: task graph: %w", err)
	}
	return g, nil
}

// beginGraph starts a graph run for a root's execution if the root has
// dependents, freezing the definitions of every member. e.mu must be held.
func (e *Engine) beginGraph(ent *entry, exec *store.Execution) *graphRun {
	g := e.graph
	if g == nil || !g.Has(ent.spec.Name) || len(g.Successors(ent.spec.Name)) == 0 {
		return nil
	}
	members := g.Members(ent.spec.Name)
	specs := make(map[string]*def, len(members))
	for _, m := range members {
		if me, ok := e.tasks[m]; ok {
			specs[m] = me.spec
		}
	}
	run, err := g.NewRun(ent.spec.Name)
	if err != nil {
		// The graph was built from these tasks: a root is a root.
		e.log.Error("starting a graph run", zap.String("task", ent.spec.Name), zap.Error(err))
		return nil
	}
	gr := &graphRun{
		id: newID(), root: ent.spec.Name, graph: g, specs: specs, scheduled: exec.ScheduledAt,
		run: run, ended: make(map[string]memberEnd, len(members)), done: make(chan struct{}),
	}
	run.Ready() // the root, which this execution is
	exec.GraphRunID, exec.RootTask = gr.id, gr.root
	ent.graphRuns++
	return gr
}

// graphStep feeds a member's end into its graph run and starts or skips
// what follows.
func (e *Engine) graphStep(gr *graphRun, x *store.Execution) {
	if x.Task == gr.root && x.State == store.StateSkipped {
		// The root's condition was false (or its slot skipped): the
		// whole graph run is skipped, recorded once, on the root.
		gr.mu.Lock()
		gr.ended[x.Task] = memberEnd{exec: x.ID}
		gr.mu.Unlock()
		e.endGraph(gr)
		return
	}
	gr.mu.Lock()
	gr.seq++
	gr.ended[x.Task] = memberEnd{exec: x.ID, seq: gr.seq}
	gr.steps++
	ready, skipped, err := gr.run.Complete(x.Task, outcomeOf(x.State))
	gr.mu.Unlock()
	if err != nil {
		e.log.Error("graph run out of step", zap.Stringer("graph_run", gr.id), zap.String("task", x.Task), zap.Error(err))
	}
	e.advanceGraph(gr, ready, skipped)
}

// advanceGraph starts the ready members and records the skipped ones,
// following the propagation until nothing more can be decided now, then
// ends graphStep's step: the last step of a done graph run ends it. (Two
// members ending together: the one whose end decided the last member may
// still be writing that member's record when the other finds the dag.Run
// done; ending the run then let WaitGraphRun list the records without it.)
func (e *Engine) advanceGraph(gr *graphRun, ready []string, skipped []dag.Skip) {
	for len(ready) > 0 || len(skipped) > 0 {
		for _, s := range skipped {
			e.recordGraphSkip(gr, s.Name, s.Reason)
		}
		var nextReady []string
		var nextSkipped []dag.Skip
		for _, name := range ready {
			reason, err := e.startMember(gr, name)
			if err == nil && reason == "" {
				continue
			}
			if err != nil {
				reason = "could not start: " + err.Error()
				e.log.Warn("could not start a graph member", zap.Stringer("graph_run", gr.id), zap.String("task", name), zap.Error(err))
			}
			gr.mu.Lock()
			r, s, serr := gr.run.Skip(name, reason)
			gr.mu.Unlock()
			if serr != nil {
				e.log.Error("graph run out of step", zap.Stringer("graph_run", gr.id), zap.String("task", name), zap.Error(serr))
				continue
			}
			e.recordGraphSkip(gr, name, reason)
			nextReady = append(nextReady, r...)
			nextSkipped = append(nextSkipped, s...)
		}
		ready, skipped = nextReady, nextSkipped
	}
	gr.mu.Lock()
	gr.steps--
	done := gr.run.Done() && gr.steps == 0
	gr.mu.Unlock()
	if done {
		e.endGraph(gr)
	}
}

// parentOf returns the execution of name's predecessor that ended last in
// the graph run.
func (gr *graphRun) parentOf(name string) uuid.UUID {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	best, id := -1, uuid.Nil
	for _, p := range gr.graph.Predecessors(name) {
		if m, ok := gr.ended[p]; ok && m.seq > best {
			best, id = m.seq, m.exec
		}
	}
	return id
}

// memberExec is the record of a member's execution in a graph run.
func (gr *graphRun) memberExec(name string) store.Execution {
	return store.Execution{
		ID: newID(), Task: name, Trigger: store.TriggerDependency, ScheduledAt: gr.scheduled,
		GraphRunID: gr.id, RootTask: gr.root, ParentID: gr.parentOf(name),
	}
}

// startMember starts a ready member with its frozen definition. It returns
// a skip reason instead when the member must not run (suspended, engine
// shutting down).
func (e *Engine) startMember(gr *graphRun, name string) (string, error) {
	spec, ok := gr.specs[name]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrUnknownTask, name)
	}
	exec := gr.memberExec(name)
	exec.StartedAt, exec.Node, exec.State = e.now(), e.cfg.node, store.StateRunning

	e.mu.Lock()
	ent := e.tasks[name]
	switch {
	case e.status != statusStarted:
		e.mu.Unlock()
		return reasonShutdown, nil
	case ent == nil:
		e.mu.Unlock()
		return "", fmt.Errorf("%w: %q", ErrUnknownTask, name)
	case ent.suspended():
		e.mu.Unlock()
		return reasonSuspended, nil
	}
	r := e.initRunLocked(e.allocRun(), ent, spec, &exec)
	r.graph = gr
	ent.running++
	r.counted = true
	e.runs.add(r)
	e.wg.Add(1)
	e.mu.Unlock()

	if err := e.store.CreateExecution(e.storeCtx, r.exec); err != nil {
		e.mu.Lock()
		ent.running--
		r.counted = false
		e.runs.remove(exec.ID)
		e.mu.Unlock()
		r.createErr = err
		r.created.close()
		r.release()
		return "", err
	}
	r.created.close()
	e.pool.submit(r)
	return "", nil
}

// recordGraphSkip records a member that will not run in this graph run.
func (e *Engine) recordGraphSkip(gr *graphRun, name, reason string) {
	x := gr.memberExec(name)
	exec := &x
	now := e.now()
	exec.StartedAt, exec.EndedAt, exec.Node, exec.State, exec.SkipReason = now, now, e.cfg.node, store.StateSkipped, store.CleanText(reason)
	gr.mu.Lock()
	gr.seq++
	gr.ended[name] = memberEnd{exec: exec.ID, seq: gr.seq}
	gr.mu.Unlock()
	if err := e.store.CreateExecution(e.storeCtx, exec); err != nil {
		e.log.Warn("could not record a skipped graph member", zap.Stringer("graph_run", gr.id), zap.String("task", name),
			zap.String("reason", reason), zap.Error(err))
		return
	}
	e.mu.Lock()
	ent := e.tasks[name]
	if ent != nil {
		ent.last = exec
	}
	e.mu.Unlock()
	e.tel.skip(ent, exec)
}

// endGraph closes a graph run once, and starts the root's queued fire if
// one waits.
func (e *Engine) endGraph(gr *graphRun) {
	gr.mu.Lock()
	if gr.over {
		gr.mu.Unlock()
		return
	}
	gr.over = true
	gr.mu.Unlock()

	// The root is free before the waiters wake: a RunNow of it right
	// after WaitGraphRun must not find this graph run still counted.
	e.mu.Lock()
	var next *run
	closing := e.status != statusStarted
	root := e.tasks[gr.root]
	if root != nil {
		root.graphRuns--
		next = e.promoteLocked(root)
	}
	e.mu.Unlock()
	e.startPromoted(next, closing)
	// So is its graph lease, among engines sharing a store: another
	// engine's queued fire of the root can start as soon as the waiters
	// here know the graph run ended. The graph run stays in graphRuns
	// until then, so that WaitGraphRun waits for it.
	if root != nil {
		e.releaseIdleGraphLease(root)
	}
	e.mu.Lock()
	delete(e.graphRuns, gr.id)
	e.mu.Unlock()
	close(gr.done)
	e.log.Debug("graph run ended", zap.String("root", gr.root), zap.Stringer("graph_run", gr.id))
}

func outcomeOf(s store.State) dag.Outcome {
	switch s {
	case store.StateSucceeded:
		return dag.Succeeded
	case store.StateSkipped:
		return dag.Skipped
	}
	return dag.Failed
}

// WaitGraphRun blocks until the graph run ends and returns its executions
// in the order they started. It returns ctx.Err() if ctx ends first. A graph
// run that is not in progress on this engine is read from the store as it
// is.
func (e *Engine) WaitGraphRun(ctx context.Context, id uuid.UUID) ([]*store.Execution, error) {
	e.mu.Lock()
	gr := e.graphRuns[id]
	e.mu.Unlock()
	if gr != nil {
		select {
		case <-gr.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	all, err := store.ListAll(ctx, e.store, store.ExecutionFilter{GraphRunID: id, Limit: store.MaxListLimit})
	if err != nil {
		return nil, err
	}
	slices.Reverse(all)
	return all, nil
}

// GraphNode is one task of a graph, for drawing it.
type GraphNode struct {
	Name        string
	After       []string
	TriggerRule TriggerRule
	Schedule    string // the root's schedule; empty for dependents
	Suspended   bool
}

// GraphInfo is a task graph: its root, its tasks in topological order and
// its edges (predecessor to dependent).
type GraphInfo struct {
	Root  string
	Nodes []GraphNode
	Edges []dag.Edge
}

// Graph returns the graph whose root is root: every task that runs after
// it, directly or not, and the edges between them. Before Start it builds
// the graph from the tasks registered so far.
func (e *Engine) Graph(root string) (GraphInfo, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.graph
	if g == nil {
		var err error
		if g, err = e.buildGraph(nil); err != nil {
			return GraphInfo{}, err
		}
	}
	if g == nil {
		// No task has predecessors: every task is a graph of its own.
		ent, ok := e.tasks[root]
		if !ok {
			return GraphInfo{}, fmt.Errorf("%w: %s", ErrUnknownTask, quote.Short(root))
		}
		n := GraphNode{Name: root, Suspended: ent.suspended()}
		if ent.spec.Schedule != nil {
			n.Schedule = ent.spec.Schedule.String()
		}
		return GraphInfo{Root: root, Nodes: []GraphNode{n}}, nil
	}
	if !g.Has(root) {
		return GraphInfo{}, fmt.Errorf("%w: %s", ErrUnknownTask, quote.Short(root))
	}
	if r := g.Root(root); r != root {
		return GraphInfo{}, fmt.Errorf("%w: %q runs after other tasks; its graph's root is %q", ErrNotRoot, root, r)
	}
	info := GraphInfo{Root: root, Edges: g.Edges(root)}
	for _, name := range g.Members(root) {
		n := GraphNode{Name: name, After: g.Predecessors(name), TriggerRule: g.Rule(name)}
		if ent := e.tasks[name]; ent != nil {
			n.Suspended = ent.suspended()
			if ent.spec.Schedule != nil {
				n.Schedule = ent.spec.Schedule.String()
			}
		}
		info.Nodes = append(info.Nodes, n)
	}
	return info, nil
}

// ResumeGraph resumes a graph's root and every task in its graph
// (Snowflake's SYSTEM$TASK_DEPENDENTS_ENABLE).
func (e *Engine) ResumeGraph(ctx context.Context, root string) error {
	info, err := e.Graph(root)
	if err != nil {
		return err
	}
	for _, n := range info.Nodes {
		if err := e.Resume(ctx, n.Name); err != nil {
			return err
		}
	}
	return nil
}
