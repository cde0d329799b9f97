// Package dag builds and runs task graphs: tasks that run after other
// tasks, as with Snowflake's CREATE TASK ... AFTER, each with an
// Airflow-style trigger rule. It depends on the standard library only.
//
// # Graphs
//
// Build takes every task as a Node (a name, the names it runs after, a
// TriggerRule) and returns a Graph, or an error that names the tasks at
// fault. A node without predecessors is a root; a root and every node that
// runs after it, directly or not, form one graph, and each node belongs to
// exactly one graph: a node that two roots reach is rejected, as Snowflake
// rejects a task graph with two roots. A node alone is a graph of one.
//
//	g, err := dag.Build([]dag.Node{
//		{Name: "extract"},
//		{Name: "transform", After: []string{"extract"}},
//		{Name: "load-a", After: []string{"transform"}},
//		{Name: "load-b", After: []string{"transform"}},
//		{Name: "report", After: []string{"load-a", "load-b"}, Rule: dag.AllDone},
//	})
//
// Build also rejects empty and duplicate names, unknown or repeated
// predecessors, a node that runs after itself, and cycles, reported as a
// *CycleError whose Path is a real cycle ("a -> b -> c -> a"). Graphs are
// limited in size (WithMaxNodes, 1,000 tasks by default) and fan-out
// (WithMaxChildren, 100 direct dependents by default). Every error wraps a
// sentinel for errors.Is and is a struct for errors.As (see errors.go).
// Build is O((V+E) log V), does not recurse, and reports the same error
// for the same input.
//
// Order, Roots, Successors, Predecessors, Members and Edges answer in a
// deterministic order: names sorted, or topological order with the
// smallest name first among nodes that could come next (Kahn's algorithm).
// A Graph is immutable and safe for concurrent use.
//
// # Trigger rules
//
// A dependent's rule decides, from its predecessors' outcomes in the same
// graph run (Succeeded, Failed or Skipped), whether it runs. It is decided
// as soon as the rule is met or can no longer be met; until then it waits.
//
//	rule           runs when                       skipped when
//	AllSucceeded   every predecessor succeeded     one failed or was skipped
//	AllDone        every predecessor finished      never (by the rule)
//	OneFailed      one predecessor failed          all finished, none failed
//	NoneFailed     all finished, none failed,      one failed, or all were
//	               at least one succeeded          skipped
//
// So AllDone runs a clean-up whatever happened upstream, and OneFailed runs
// an alert at the first failure without waiting for the other branches.
//
// # Graph runs
//
// A Run is one execution of a graph, started when its root fires. The
// engine starts the nodes Ready returns (the root), and reports each
// node's end with Complete; a ready node that will not run (suspended, or
// its condition was false) is reported with Skip. Each call returns the
// nodes that became ready, in name order, and the nodes that can now never
// run, in topological order, each with a reason naming the upstream task
// and its outcome (`upstream "transform" failed`). A skipped node counts
// as Skipped for its own dependents, so a failure near the root decides a
// whole subgraph in one call. Every member is returned as ready or as
// skipped exactly once, and Done reports when all have an outcome.
//
// A Run reads its Graph but never changes it, so a run in progress keeps
// the definitions it started with when the engine builds a new Graph.
package dag
