package dag_test

import (
	"errors"
	"fmt"

	"github.com/taskmill/taskmill/dag"
)

func ExampleBuild() {
	g, err := dag.Build([]dag.Node{
		{Name: "extract"},
		{Name: "transform", After: []string{"extract"}},
		{Name: "load-a", After: []string{"transform"}},
		{Name: "load-b", After: []string{"transform"}},
		{Name: "report", After: []string{"load-a", "load-b"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.Order())
	fmt.Println(g.Roots(), g.Root("report"))
	fmt.Println(g.Edges("extract"))
	// Output:
	// [extract transform load-a load-b report]
	// [extract] extract
	// [{extract transform} {load-a report} {load-b report} {transform load-a} {transform load-b}]
}

func ExampleBuild_cycle() {
	_, err := dag.Build([]dag.Node{
		{Name: "root"},
		{Name: "a", After: []string{"root", "c"}},
		{Name: "b", After: []string{"a"}},
		{Name: "c", After: []string{"b"}},
	})
	var ce *dag.CycleError
	fmt.Println(errors.As(err, &ce), ce.Path)
	fmt.Println(err)
	// Output:
	// true [a b c a]
	// dag: cycle: a -> b -> c -> a
}

func ExampleBuild_limits() {
	nodes := []dag.Node{{Name: "fan"}}
	for _, c := range []string{"x", "y", "z"} {
		nodes = append(nodes, dag.Node{Name: c, After: []string{"fan"}})
	}
	_, err := dag.Build(nodes, dag.WithMaxChildren(2))
	fmt.Println(errors.Is(err, dag.ErrTooManyChildren))
	fmt.Println(err)
	// Output:
	// true
	// dag: task "fan" has 3 dependents, more than 2: too many dependents of one task
}

func ExampleRun() {
	g, err := dag.Build([]dag.Node{
		{Name: "extract"},
		{Name: "transform", After: []string{"extract"}},
		{Name: "load", After: []string{"transform"}},
		{Name: "alert", After: []string{"transform"}, Rule: dag.OneFailed},
		{Name: "cleanup", After: []string{"load", "alert"}, Rule: dag.AllDone},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	run, err := g.NewRun("extract")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The engine starts what is ready and reports each end.
	outcomes := map[string]dag.Outcome{"transform": dag.Failed}
	queue := run.Ready()
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		o, ok := outcomes[name]
		if !ok {
			o = dag.Succeeded
		}
		ready, skipped, err := run.Complete(name, o)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s %s: ready %v\n", name, o, ready)
		for _, s := range skipped {
			fmt.Printf("  skip %s: %s\n", s.Name, s.Reason)
		}
		queue = append(queue, ready...)
	}
	fmt.Println("done:", run.Done())
	// Output:
	// extract succeeded: ready [transform]
	// transform failed: ready [alert]
	//   skip load: upstream "transform" failed
	// alert succeeded: ready [cleanup]
	// cleanup succeeded: ready []
	// done: true
}

func ExampleParseTriggerRule() {
	r, err := dag.ParseTriggerRule("one_failed")
	fmt.Println(r, err, r == dag.OneFailed)
	_, err = dag.ParseTriggerRule("all_success")
	fmt.Println(err)
	// Output:
	// one_failed <nil> true
	// dag: unknown trigger rule "all_success"
}
