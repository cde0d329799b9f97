package task_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/task"
)

// After makes a task graph: a task runs when its predecessors have
// finished in the same graph run. Only the root has a schedule (or is run
// now); every run of the graph run shares its GraphRunID.
func ExampleSpec_after() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	step := func(name string) task.Job {
		return task.JobFunc(func(context.Context) error { fmt.Println("run", name); return nil })
	}
	_ = eng.Register(task.Spec{Name: "extract", Cron: "0 0 2 * * *", Job: step("extract")})
	_ = eng.Register(task.Spec{Name: "transform", After: []string{"extract"}, Job: step("transform")})
	_ = eng.Register(task.Spec{Name: "load", After: []string{"transform"}, Job: step("load")})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "extract") // starts a graph run
	root, _ := eng.Wait(ctx, id)
	runs, _ := eng.WaitGraphRun(ctx, root.GraphRunID)
	for _, x := range runs {
		fmt.Println(x.Task, x.Trigger, x.State, "root:", x.RootTask)
	}
	// Output:
	// run extract
	// run transform
	// run load
	// extract manual succeeded root: extract
	// transform dependency succeeded root: extract
	// load dependency succeeded root: extract
}

// TriggerRule decides, from how its predecessors ended, whether a task
// runs: AllSucceeded (the default), AllDone, OneFailed or NoneFailed. A
// task whose rule can no longer be met is recorded skipped with the reason.
func ExampleSpec_triggerRule() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	ok := task.JobFunc(func(context.Context) error { return nil })
	both := []string{"load-a", "load-b"}
	_ = eng.Register(task.Spec{Name: "extract", Job: ok})
	_ = eng.Register(task.Spec{Name: "load-a", After: []string{"extract"}, Job: ok})
	_ = eng.Register(task.Spec{Name: "load-b", After: []string{"extract"}, Job: task.JobFunc(func(context.Context) error {
		return errors.New("table locked")
	})})
	_ = eng.Register(task.Spec{Name: "report", After: both, Job: ok}) // AllSucceeded
	_ = eng.Register(task.Spec{Name: "cleanup", After: both, TriggerRule: task.AllDone, Job: ok})
	_ = eng.Register(task.Spec{Name: "page-oncall", After: both, TriggerRule: task.OneFailed, Job: ok})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "extract")
	root, _ := eng.Wait(ctx, id)
	runs, _ := eng.WaitGraphRun(ctx, root.GraphRunID)
	// Siblings run concurrently, so sort for a stable listing.
	slices.SortFunc(runs, func(a, b *store.Execution) int { return strings.Compare(a.Task, b.Task) })
	for _, x := range runs {
		if x.State == store.StateSkipped {
			fmt.Printf("%s %s (%s)\n", x.Task, x.State, x.SkipReason)
			continue
		}
		fmt.Println(x.Task, x.State)
	}
	// Output:
	// cleanup succeeded
	// extract succeeded
	// load-a succeeded
	// load-b failed
	// page-oncall succeeded
	// report skipped (upstream "load-b" failed)
}

// Graph describes a graph for drawing: its tasks in topological order and
// its edges.
func ExampleEngine_Graph() {
	eng, _ := task.New(task.WithoutInitHooks())
	ok := task.JobFunc(func(context.Context) error { return nil })
	_ = eng.Register(task.Spec{Name: "extract", Cron: "0 0 2 * * *", Job: ok})
	_ = eng.Register(task.Spec{Name: "load-a", After: []string{"extract"}, Job: ok})
	_ = eng.Register(task.Spec{Name: "load-b", After: []string{"extract"}, Job: ok})
	_ = eng.Register(task.Spec{Name: "report", After: []string{"load-a", "load-b"}, TriggerRule: task.AllDone, Job: ok})

	g, err := eng.Graph("extract") // before Start too
	if err != nil {
		panic(err)
	}
	for _, n := range g.Nodes {
		fmt.Printf("%s after %v rule %v schedule %q\n", n.Name, n.After, n.TriggerRule, n.Schedule)
	}
	for _, e := range g.Edges {
		fmt.Println(e.From, "->", e.To)
	}
	_, err = eng.Graph("report")
	fmt.Println(errors.Is(err, task.ErrNotRoot))
	// Output:
	// extract after [] rule all_succeeded schedule "0 0 2 * * * UTC"
	// load-a after [extract] rule all_succeeded schedule ""
	// load-b after [extract] rule all_succeeded schedule ""
	// report after [load-a load-b] rule all_done schedule ""
	// extract -> load-a
	// extract -> load-b
	// load-a -> report
	// load-b -> report
	// true
}
