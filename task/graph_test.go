package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/dag"
	"github.com/taskmill/taskmill/store"
)

// byTask indexes a graph run's executions by task name.
func byTask(t *testing.T, xs []*store.Execution) map[string]*store.Execution {
	t.Helper()
	m := make(map[string]*store.Execution, len(xs))
	for _, x := range xs {
		if _, dup := m[x.Task]; dup {
			t.Fatalf("task %q has two executions in one graph run", x.Task)
		}
		m[x.Task] = x
	}
	return m
}

// graphRunOf waits for the graph run of a root execution and returns its
// executions by task.
func (b *bundle) graphRunOf(t *testing.T, root *store.Execution) map[string]*store.Execution {
	t.Helper()
	if root.GraphRunID == uuid.Nil {
		t.Fatalf("root execution %s of %q has no graph run", root.ID, root.Task)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	xs, err := b.eng.WaitGraphRun(ctx, root.GraphRunID)
	if err != nil {
		t.Fatalf("WaitGraphRun: %v", err)
	}
	return byTask(t, xs)
}

// runGraph runs root now and waits for its whole graph run.
func (b *bundle) runGraph(t *testing.T, root string) map[string]*store.Execution {
	t.Helper()
	id := b.runNow(t, root)
	x, err := b.store.GetExecution(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return b.graphRunOf(t, x)
}

func TestDiamondGraphRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	loadA, loadB := newGate(), newGate()
	b.register(t,
		Spec{Name: "extract", Schedule: cron.MustParse("0 */5 * * * *", "UTC"), Job: JobFunc(ok)},
		Spec{Name: "transform", After: []string{"extract"}, Job: JobFunc(ok)},
		Spec{Name: "load-a", After: []string{"transform"}, Job: loadA},
		Spec{Name: "load-b", After: []string{"transform"}, Job: loadB},
		Spec{Name: "report", After: []string{"load-a", "load-b"}, TriggerRule: AllDone, Job: JobFunc(ok)},
	)
	b.start(t)
	slot := testStart.Add(5 * time.Minute)
	b.advanceTo(t, 1, slot)
	// Fan-out: both loads run at once.
	loadA.waitStarted(t)
	loadB.waitStarted(t)
	close(loadB.release) // load-b ends first, load-a last
	waitFor(t, "load-b to end", func() bool {
		xs := b.history(t, "load-b")
		return len(xs) == 1 && xs[0].State.Final()
	})
	close(loadA.release)

	root := b.history(t, "extract")[0]
	run := b.graphRunOf(t, root)
	if len(run) != 5 {
		t.Fatalf("graph run has %d executions, want 5", len(run))
	}
	for name, x := range run {
		if x.GraphRunID != root.GraphRunID || x.RootTask != "extract" || x.State != store.StateSucceeded || !x.ScheduledAt.Equal(slot) {
			t.Errorf("%s: graph run %s root %q state %s scheduled %v", name, x.GraphRunID, x.RootTask, x.State, x.ScheduledAt)
		}
		want := store.TriggerDependency
		if name == "extract" {
			want = store.TriggerSchedule
		}
		if x.Trigger != want {
			t.Errorf("%s: trigger %s, want %s", name, x.Trigger, want)
		}
	}
	parents := map[string]string{"transform": "extract", "load-a": "transform", "load-b": "transform", "report": "load-a"}
	for child, parent := range parents {
		if run[child].ParentID != run[parent].ID {
			t.Errorf("%s: parent %s, want %s's execution %s", child, run[child].ParentID, parent, run[parent].ID)
		}
	}
	if root.ParentID != uuid.Nil {
		t.Errorf("root has parent %s", root.ParentID)
	}
}

func TestTriggerRules(t *testing.T) {
	t.Parallel()
	fail := errors.New("boom")
	cases := []struct {
		name   string
		rule   TriggerRule
		a, b   string // "ok", "fail" or "skip"
		runs   bool
		reason string
	}{
		{"all succeeded: both ok", AllSucceeded, "ok", "ok", true, ""},
		{"all succeeded: one failed", AllSucceeded, "fail", "ok", false, `"a" failed`},
		{"all succeeded: one skipped", AllSucceeded, "ok", "skip", false, `"b" skipped`},
		{"all done: one failed", AllDone, "fail", "ok", true, ""},
		{"all done: both skipped", AllDone, "skip", "skip", true, ""},
		{"one failed: one failed", OneFailed, "ok", "fail", true, ""},
		{"one failed: none failed", OneFailed, "ok", "ok", false, "one_failed"},
		{"none failed: ok and skipped", NoneFailed, "ok", "skip", true, ""},
		{"none failed: one failed", NoneFailed, "fail", "ok", false, `"a" failed`},
		{"none failed: both skipped", NoneFailed, "skip", "skip", false, "none_failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			upstream := func(name, how string) Spec {
				s := Spec{Name: name, After: []string{"root"}, Job: JobFunc(func(context.Context) error {
					if how == "fail" {
						return fail
					}
					return nil
				})}
				if how == "skip" {
					s.When = func(context.Context) (bool, error) { return false, nil }
				}
				return s
			}
			b.register(t,
				Spec{Name: "root", Job: JobFunc(ok)},
				upstream("a", c.a), upstream("b", c.b),
				Spec{Name: "d", After: []string{"a", "b"}, TriggerRule: c.rule, Job: JobFunc(ok)},
			)
			b.start(t)
			run := b.runGraph(t, "root")
			d := run["d"]
			if d == nil {
				t.Fatalf("no execution of d in the graph run")
			}
			if c.runs {
				if d.State != store.StateSucceeded {
					t.Fatalf("d: %s (%q), want succeeded", d.State, d.SkipReason)
				}
				return
			}
			if d.State != store.StateSkipped || !strings.Contains(d.SkipReason, c.reason) {
				t.Fatalf("d: %s %q, want skipped naming %s", d.State, d.SkipReason, c.reason)
			}
		})
	}
}

func TestSkipPropagatesDownstream(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t,
		Spec{Name: "root", Job: JobFunc(ok)},
		Spec{Name: "a", After: []string{"root"}, Job: JobFunc(func(context.Context) error { return errors.New("bad") })},
		Spec{Name: "b", After: []string{"a"}, Job: JobFunc(ok)},
		Spec{Name: "c", After: []string{"b"}, Job: JobFunc(ok)},
		Spec{Name: "cleanup", After: []string{"c"}, TriggerRule: AllDone, Job: JobFunc(ok)},
	)
	b.start(t)
	run := b.runGraph(t, "root")
	want := map[string]string{"b": `upstream "a" failed`, "c": `upstream "b" skipped`}
	for name, reason := range want {
		if x := run[name]; x.State != store.StateSkipped || !strings.Contains(x.SkipReason, reason) {
			t.Errorf("%s: %s %q, want skipped with %q", name, x.State, x.SkipReason, reason)
		}
	}
	if run["c"].ParentID != run["b"].ID {
		t.Errorf("skipped c's parent %s, want b's execution %s", run["c"].ParentID, run["b"].ID)
	}
	if x := run["cleanup"]; x.State != store.StateSucceeded {
		t.Errorf("cleanup (all done): %s, want succeeded", x.State)
	}
}

func TestThousandTaskChain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 1000
	var mu sync.Mutex
	var order []int
	for i := 0; i < n; i++ {
		s := Spec{Name: fmt.Sprintf("step-%04d", i), Job: JobFunc(func(context.Context) error {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			return nil
		})}
		if i > 0 {
			s.After = []string{fmt.Sprintf("step-%04d", i-1)}
		}
		b.register(t, s)
	}
	b.start(t)
	run := b.runGraph(t, "step-0000")
	if len(run) != n {
		t.Fatalf("graph run has %d executions, want %d", len(run), n)
	}
	for i := 1; i < n; i++ {
		x, prev := run[fmt.Sprintf("step-%04d", i)], run[fmt.Sprintf("step-%04d", i-1)]
		if x.State != store.StateSucceeded || x.ParentID != prev.ID {
			t.Fatalf("step %d: %s parent %s, want succeeded after %s", i, x.State, x.ParentID, prev.ID)
		}
	}
	if !slices.IsSorted(order) || len(order) != n {
		t.Fatalf("steps ran out of order or not all: %d ran", len(order))
	}
}

func TestGraphRejections(t *testing.T) {
	t.Parallel()
	chain := func(n int) []Spec {
		specs := make([]Spec, n)
		for i := range specs {
			specs[i] = Spec{Name: fmt.Sprintf("t%04d", i), Job: JobFunc(ok)}
			if i > 0 {
				specs[i].After = []string{specs[i-1].Name}
			}
		}
		return specs
	}
	fan := func(children int) []Spec {
		specs := []Spec{{Name: "parent", Job: JobFunc(ok)}}
		for i := 0; i < children; i++ {
			specs = append(specs, Spec{Name: fmt.Sprintf("child-%03d", i), After: []string{"parent"}, Job: JobFunc(ok)})
		}
		return specs
	}
	cases := []struct {
		name   string
		specs  []Spec
		target error
		words  []string
	}{
		{"cycle", []Spec{
			{Name: "a", After: []string{"c"}, Job: JobFunc(ok)},
			{Name: "b", After: []string{"a"}, Job: JobFunc(ok)},
			{Name: "c", After: []string{"b"}, Job: JobFunc(ok)},
		}, dag.ErrCycle, []string{"a -> b -> c -> a"}},
		{"unknown predecessor", []Spec{{Name: "load", After: []string{"extrakt"}, Job: JobFunc(ok)}}, dag.ErrUnknownPredecessor, []string{`"load"`, `"extrakt"`}},
		{"self", []Spec{{Name: "me", After: []string{"me"}, Job: JobFunc(ok)}}, dag.ErrSelfDependency, []string{`"me"`}},
		{"1,001 tasks", chain(1001), dag.ErrTooManyNodes, []string{`"t0000"`, "1001"}},
		{"101 children", fan(101), dag.ErrTooManyChildren, []string{`"parent"`, "101"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.register(t, c.specs...)
			err := b.eng.Start(context.Background())
			if !errors.Is(err, c.target) {
				t.Fatalf("Start = %v, want %v", err, c.target)
			}
			for _, w := range c.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
	// At the limits: accepted.
	for name, specs := range map[string][]Spec{"1,000 tasks": chain(1000), "100 children": fan(100)} {
		b := setup(t)
		b.register(t, specs...)
		if err := b.eng.Start(context.Background()); err != nil {
			t.Errorf("%s: Start = %v, want nil", name, err)
		}
	}
	// The limits are configurable.
	b := setup(t, WithMaxGraphTasks(3), WithMaxDependents(1))
	b.register(t, chain(4)...)
	if err := b.eng.Start(context.Background()); !errors.Is(err, dag.ErrTooManyNodes) {
		t.Errorf("Start with WithMaxGraphTasks(3) = %v, want ErrTooManyNodes", err)
	}
	// A dependent with a schedule is rejected when registered.
	b = setup(t)
	err := b.eng.Register(Spec{Name: "dep", After: []string{"x"}, Schedule: cron.Every(time.Minute), Job: JobFunc(ok)})
	if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), `"dep"`) || !strings.Contains(err.Error(), "schedule") {
		t.Errorf("Register(scheduled dependent) = %v, want ErrInvalidSpec naming it", err)
	}
	// After Start, Register checks the graph at once.
	b.register(t, Spec{Name: "x", Job: JobFunc(ok)})
	b.start(t)
	if err := b.eng.Register(Spec{Name: "y", After: []string{"nope"}, Job: JobFunc(ok)}); !errors.Is(err, dag.ErrUnknownPredecessor) {
		t.Errorf("Register after Start with an unknown predecessor = %v", err)
	}
	if err := b.eng.Update(Spec{Name: "x", After: []string{"x"}, Job: JobFunc(ok)}); !errors.Is(err, dag.ErrSelfDependency) {
		t.Errorf("Update to a self-dependency = %v", err)
	}
}

func TestDefinitionChangeAppliesToNextGraphRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	var ran []string
	job := func(label string) Job {
		return JobFunc(func(context.Context) error {
			mu.Lock()
			ran = append(ran, label)
			mu.Unlock()
			return nil
		})
	}
	g := newGate()
	b.register(t,
		Spec{Name: "root", Job: g},
		Spec{Name: "child", After: []string{"root"}, Job: job("child v1")},
		Spec{Name: "other", Job: JobFunc(ok)},
	)
	b.start(t)
	first := b.runNow(t, "root")
	g.waitStarted(t)
	// While the graph run is in progress: a new job for child, and a new
	// task after root. Neither applies to this graph run.
	if err := b.eng.Update(Spec{Name: "child", After: []string{"root"}, Job: job("child v2")}); err != nil {
		t.Fatal(err)
	}
	if err := b.eng.Update(Spec{Name: "other", After: []string{"child"}, Job: job("other v2")}); err != nil {
		t.Fatal(err)
	}
	g.release <- struct{}{}
	rootExec, _ := b.store.GetExecution(context.Background(), first)
	run1 := b.graphRunOf(t, rootExec)
	if _, ok := run1["other"]; ok || len(run1) != 2 {
		t.Fatalf("first graph run has %d executions (%v), want root and child only", len(run1), keys(run1))
	}
	second := b.runNow(t, "root")
	g.waitStarted(t)
	g.release <- struct{}{}
	rootExec, _ = b.store.GetExecution(context.Background(), second)
	run2 := b.graphRunOf(t, rootExec)
	if len(run2) != 3 {
		t.Fatalf("second graph run has %v, want root, child, other", keys(run2))
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"child v1", "child v2", "other v2"}; !slices.Equal(ran, want) {
		t.Fatalf("jobs ran %q, want %q", ran, want)
	}
}

func keys(m map[string]*store.Execution) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

func TestLongGraphRunSkipsNextRootFire(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate()
	b.register(t,
		Spec{Name: "root", Schedule: cron.Every(time.Second), Job: JobFunc(ok)},
		Spec{Name: "slow", After: []string{"root"}, Job: g},
	)
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Second))
	g.waitStarted(t) // the root ended; its graph run goes on
	b.advanceTo(t, 1, testStart.Add(2*time.Second))
	xs := b.waitRecords(t, "root", 2)
	if xs[1].State != store.StateSkipped || xs[1].SkipReason != store.ReasonOverlap {
		t.Fatalf("root's second fire: %s %q, want skipped overlap", xs[1].State, xs[1].SkipReason)
	}
	close(g.release)
	b.graphRunOf(t, xs[0])
	b.advanceTo(t, 1, testStart.Add(3*time.Second))
	xs = b.waitRecords(t, "root", 3)
	if xs[2].State != store.StateSucceeded || xs[2].GraphRunID == uuid.Nil || xs[2].GraphRunID == xs[0].GraphRunID {
		t.Fatalf("root's third fire: %s graph run %s, want a new graph run", xs[2].State, xs[2].GraphRunID)
	}
}

func TestSuspendedDependentIsSkippedAndResumeGraph(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t,
		Spec{Name: "root", Job: JobFunc(ok)},
		Spec{Name: "mid", After: []string{"root"}, Job: JobFunc(ok)},
		Spec{Name: "leaf", After: []string{"mid"}, Job: JobFunc(ok)},
		Spec{Name: "always", After: []string{"mid"}, TriggerRule: AllDone, Job: JobFunc(ok)},
	)
	b.start(t)
	ctx := context.Background()
	if err := b.eng.Suspend(ctx, "mid"); err != nil {
		t.Fatal(err)
	}
	if err := b.eng.Suspend(ctx, "root"); err != nil {
		t.Fatal(err)
	}
	run := b.runGraph(t, "root") // RunNow runs a suspended root
	if x := run["mid"]; x.State != store.StateSkipped || x.SkipReason != "suspended" {
		t.Fatalf("mid: %s %q, want skipped suspended", x.State, x.SkipReason)
	}
	if x := run["leaf"]; x.State != store.StateSkipped || !strings.Contains(x.SkipReason, `upstream "mid" skipped`) {
		t.Fatalf("leaf: %s %q", x.State, x.SkipReason)
	}
	if x := run["always"]; x.State != store.StateSucceeded {
		t.Fatalf("always: %s", x.State)
	}
	if err := b.eng.ResumeGraph(ctx, "root"); err != nil {
		t.Fatal(err)
	}
	for _, info := range b.eng.Tasks() {
		if info.Suspended {
			t.Fatalf("%s still suspended after ResumeGraph", info.Name)
		}
	}
	if err := b.eng.ResumeGraph(ctx, "mid"); !errors.Is(err, ErrNotRoot) {
		t.Fatalf("ResumeGraph(dependent) = %v, want ErrNotRoot", err)
	}
	run = b.runGraph(t, "root")
	if x := run["leaf"]; x.State != store.StateSucceeded {
		t.Fatalf("leaf after resume: %s", x.State)
	}
}

func TestRootConditionFalseSkipsTheGraphRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t,
		Spec{Name: "root", Schedule: cron.Every(time.Second), When: func(context.Context) (bool, error) { return false, nil }, Job: JobFunc(ok)},
		Spec{Name: "child", After: []string{"root"}, TriggerRule: AllDone, Job: JobFunc(ok)},
	)
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Second))
	root := b.waitRecords(t, "root", 1)[0]
	run := b.graphRunOf(t, root)
	if len(run) != 1 || root.State != store.StateSkipped || root.SkipReason != store.ReasonCondition {
		t.Fatalf("graph run %v, root %s %q; want only the root, skipped for its condition", keys(run), root.State, root.SkipReason)
	}
}

func TestRunNowOfDependentRunsOnlyIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t,
		Spec{Name: "root", Job: JobFunc(ok)},
		Spec{Name: "child", After: []string{"root"}, Job: JobFunc(ok)},
		Spec{Name: "grandchild", After: []string{"child"}, Job: JobFunc(ok)},
	)
	b.start(t)
	x := b.wait(t, b.runNow(t, "child"))
	if x.Trigger != store.TriggerManual || x.GraphRunID != uuid.Nil || x.RootTask != "" {
		t.Fatalf("child run: trigger %s graph %s root %q, want a manual run outside any graph run", x.Trigger, x.GraphRunID, x.RootTask)
	}
	if n := len(b.history(t, "grandchild")); n != 0 {
		t.Fatalf("grandchild ran %d times", n)
	}
}

func TestGraphDiagnostics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t,
		Spec{Name: "extract", Schedule: cron.Every(time.Hour), Job: JobFunc(ok)},
		Spec{Name: "transform", After: []string{"extract"}, Job: JobFunc(ok)},
		Spec{Name: "load", After: []string{"transform"}, TriggerRule: NoneFailed, Job: JobFunc(ok)},
		Spec{Name: "alone", Job: JobFunc(ok)},
	)
	b.start(t)
	info, err := b.eng.Graph("extract")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range info.Nodes {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"extract", "transform", "load"}) {
		t.Fatalf("nodes %v", names)
	}
	wantEdges := []dag.Edge{{From: "extract", To: "transform"}, {From: "transform", To: "load"}}
	if !slices.Equal(info.Edges, wantEdges) {
		t.Fatalf("edges %v, want %v", info.Edges, wantEdges)
	}
	if info.Nodes[2].TriggerRule != NoneFailed || info.Nodes[0].Schedule == "" {
		t.Fatalf("nodes %+v", info.Nodes)
	}
	if _, err := b.eng.Graph("load"); !errors.Is(err, ErrNotRoot) {
		t.Fatalf("Graph(dependent) = %v", err)
	}
	for _, ti := range b.eng.Tasks() {
		if ti.Name == "transform" && (!slices.Equal(ti.Predecessors, []string{"extract"}) || !slices.Equal(ti.Dependents, []string{"load"})) {
			t.Fatalf("transform: predecessors %v dependents %v", ti.Predecessors, ti.Dependents)
		}
	}
}

func TestGraphOfATaskWhenNoTaskHasPredecessors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, Spec{Name: "solo", Schedule: cron.Every(time.Hour), Job: JobFunc(ok)})
	b.start(t)
	info, err := b.eng.Graph("solo")
	if err != nil || info.Root != "solo" || len(info.Nodes) != 1 || len(info.Edges) != 0 || info.Nodes[0].Schedule == "" {
		t.Fatalf("Graph(solo) = %+v, %v", info, err)
	}
	if _, err := b.eng.Graph("nope"); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("Graph(unknown) = %v", err)
	}
	x := b.wait(t, b.runNow(t, "solo"))
	if x.GraphRunID != uuid.Nil {
		t.Fatalf("a task with no dependents ran in graph run %s", x.GraphRunID)
	}
}

// A graph run is over for its root by the time WaitGraphRun returns: a
// RunNow of the root right after it is not refused as overlapping (the
// root's count of graph runs once dropped only after the waiters woke).
func TestRootRunsAgainRightAfterWaitGraphRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t,
		Spec{Name: "root", Job: JobFunc(ok)},
		Spec{Name: "child", After: []string{"root"}, Job: JobFunc(ok)},
	)
	b.start(t)
	for i := 0; i < 300; i++ {
		run := b.runGraph(t, "root")
		if x := run["child"]; x == nil || x.State != store.StateSucceeded {
			t.Fatalf("round %d: child %v", i, x)
		}
	}
}

// A graph run is over only once every record it decided is written: when
// one member's end decides the last member (here b's skip decides d's) and
// another member ends while that record is being written, WaitGraphRun
// still returns it.
func TestGraphRunEndsAfterItsLastRecord(t *testing.T) {
	t.Parallel()
	b, fs := setupFaulty(t)
	writingD := make(chan struct{})
	waited := make(chan struct{})
	fs.mu.Lock()
	fs.onCreate = func(x *store.Execution) error {
		if x.Task != "d" {
			return nil
		}
		close(writingD)
		// Hold d's record until WaitGraphRun has returned, or long
		// enough for a's end to have been fed in.
		select {
		case <-waited:
		case <-time.After(200 * time.Millisecond):
		}
		return nil
	}
	fs.mu.Unlock()
	b.register(t,
		Spec{Name: "root", Job: JobFunc(ok)},
		// a ends once d is being recorded skipped (b skipped).
		Spec{Name: "a", After: []string{"root"}, Job: JobFunc(func(context.Context) error {
			<-writingD
			return nil
		})},
		Spec{Name: "b", After: []string{"root"}, Job: JobFunc(ok),
			When: func(context.Context) (bool, error) { return false, nil }},
		Spec{Name: "d", After: []string{"a", "b"}, TriggerRule: AllSucceeded, Job: JobFunc(ok)},
	)
	b.start(t)
	id := b.runNow(t, "root")
	x, err := b.store.GetExecution(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	run := b.graphRunOf(t, x)
	close(waited)
	if d := run["d"]; d == nil || d.State != store.StateSkipped {
		t.Fatalf("d in the graph run: %v; want its skipped record", d)
	}
	if a := run["a"]; a == nil || a.State != store.StateSucceeded {
		t.Fatalf("a in the graph run: %v; want succeeded", a)
	}
}
