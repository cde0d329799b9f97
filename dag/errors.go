package dag

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of Build. Build returns them wrapped in a *NodeError,
// *EdgeError, *CycleError, *RootsError or *LimitError that names the tasks
// involved; callers branch with errors.Is and read the names with errors.As.
var (
	// ErrInvalidOption is returned by Build when an option is given a bad
	// value, such as WithMaxNodes(0), or is nil.
	ErrInvalidOption = errors.New("dag: invalid option")

	// ErrEmptyName is returned for a node whose name is "" (in a *NodeError
	// whose Index says which one).
	ErrEmptyName = errors.New("dag: empty task name")

	// ErrDuplicateName is returned for two nodes with the same name.
	ErrDuplicateName = errors.New("dag: duplicate task name")

	// ErrUnknownRule is returned for a TriggerRule value that is not one of
	// the constants, and by ParseTriggerRule for an unknown name.
	ErrUnknownRule = errors.New("dag: unknown trigger rule")

	// ErrUnknownPredecessor is returned for a name in After that is not
	// the name of a node.
	ErrUnknownPredecessor = errors.New("dag: unknown predecessor")

	// ErrSelfDependency is returned for a node that lists itself in After.
	ErrSelfDependency = errors.New("dag: task runs after itself")

	// ErrDuplicateEdge is returned for a node that lists the same
	// predecessor twice in After.
	ErrDuplicateEdge = errors.New("dag: predecessor listed twice")

	// ErrCycle is returned, in a *CycleError, for a graph with a cycle.
	ErrCycle = errors.New("dag: cycle")

	// ErrMultipleRoots is returned, in a *RootsError, for a task that
	// depends on two roots: a task graph has exactly one root.
	ErrMultipleRoots = errors.New("dag: task reachable from more than one root")

	// ErrTooManyNodes is returned, in a *LimitError, for a graph with more
	// tasks than WithMaxNodes allows.
	ErrTooManyNodes = errors.New("dag: too many tasks in one graph")

	// ErrTooManyChildren is returned, in a *LimitError, for a task with
	// more direct dependents than WithMaxChildren allows.
	ErrTooManyChildren = errors.New("dag: too many dependents of one task")
)

// Sentinel errors of NewRun, Run.Complete and Run.Skip, returned in a
// *NodeError.
var (
	// ErrUnknownNode is returned for a name that is not a node of the graph,
	// or not a member of the graph run.
	ErrUnknownNode = errors.New("dag: unknown task")

	// ErrNotRoot is returned by NewRun for a node that has predecessors.
	ErrNotRoot = errors.New("dag: not a root")

	// ErrNotReady is returned by Complete and Skip for a node that is not
	// ready yet: not every predecessor it needs has finished.
	ErrNotReady = errors.New("dag: task not ready")

	// ErrAlreadyDecided is returned by Complete and Skip for a node that
	// already has an outcome.
	ErrAlreadyDecided = errors.New("dag: task already has an outcome")

	// ErrInvalidOutcome is returned by Complete for an Outcome that is not
	// Succeeded, Failed or Skipped.
	ErrInvalidOutcome = errors.New("dag: invalid outcome")
)

// NodeError reports a problem with one node: an empty or duplicate name or
// an unknown rule (from Build), or a misuse of a graph run. Err wraps one
// of the sentinels, possibly with detail added.
type NodeError struct {
	// Node is the task's name.
	Node string
	// Index is the node's position in the slice given to Build, or -1 for
	// errors that do not come from Build.
	Index int
	// Err is the cause; it wraps a sentinel of this package.
	Err error
}

// Error reads like
//
//	dag: task "load": duplicate task name (nodes[2] and nodes[5])
//	dag: nodes[3]: empty task name
func (e *NodeError) Error() string {
	if e.Node == "" && e.Index >= 0 {
		return fmt.Sprintf("dag: nodes[%d]: %s", e.Index, detail(e.Err))
	}
	return fmt.Sprintf("dag: task %q: %s", e.Node, detail(e.Err))
}

// Unwrap returns e.Err.
func (e *NodeError) Unwrap() error { return e.Err }

// EdgeError reports a bad entry in a node's After list: an unknown
// predecessor, the node itself, or a predecessor listed twice.
type EdgeError struct {
	// From is the predecessor as written in After.
	From string
	// To is the task whose After lists From.
	To string
	// Err is ErrUnknownPredecessor, ErrSelfDependency or ErrDuplicateEdge.
	Err error
}

// Error reads like
//
//	dag: task "load" after "extrct": unknown predecessor
func (e *EdgeError) Error() string {
	return fmt.Sprintf("dag: task %q after %q: %s", e.To, e.From, detail(e.Err))
}

// Unwrap returns e.Err.
func (e *EdgeError) Unwrap() error { return e.Err }

// CycleError reports a cycle. Path follows the edges (each task runs after
// the one before it) and ends with its first task again; the first task is
// the cycle's smallest name. errors.Is(err, ErrCycle) holds.
type CycleError struct {
	Path []string
}

// maxPathInError bounds how much of a cycle's path Error prints.
const maxPathInError = 32

// Error reads like
//
//	dag: cycle: a -> b -> c -> a
//
// A path longer than 32 tasks is shortened in the middle.
func (e *CycleError) Error() string {
	p := e.Path
	if len(p) <= maxPathInError {
		return "dag: cycle: " + strings.Join(p, " -> ")
	}
	half := maxPathInError / 2
	return fmt.Sprintf("dag: cycle: %s -> ... (%d more) -> %s",
		strings.Join(p[:half], " -> "), len(p)-2*half, strings.Join(p[len(p)-half:], " -> "))
}

// Unwrap returns ErrCycle.
func (e *CycleError) Unwrap() error { return ErrCycle }

// RootsError reports a task that two different roots reach: it would
// belong to two task graphs. errors.Is(err, ErrMultipleRoots) holds.
type RootsError struct {
	// Node is the first such task in topological order: the task where
	// the two graphs meet.
	Node string
	// Roots are two of the roots that reach Node, in name order.
	Roots [2]string
}

// Error reads like
//
//	dag: task "report" is reachable from two roots, "daily" and "hourly"
func (e *RootsError) Error() string {
	return fmt.Sprintf("dag: task %q is reachable from two roots, %q and %q", e.Node, e.Roots[0], e.Roots[1])
}

// Unwrap returns ErrMultipleRoots.
func (e *RootsError) Unwrap() error { return ErrMultipleRoots }

// LimitError reports a graph or a fan-out over its limit.
type LimitError struct {
	// Node is the graph's root for ErrTooManyNodes, the task with too many
	// dependents for ErrTooManyChildren.
	Node string
	// Count is the number of tasks in the graph, or of direct dependents.
	Count int
	// Max is the limit in force.
	Max int
	// Err is ErrTooManyNodes or ErrTooManyChildren.
	Err error
}

// Error reads like
//
//	dag: graph of root "extract" has 1001 tasks, more than 1000: too many tasks in one graph
//	dag: task "extract" has 101 dependents, more than 100: too many dependents of one task
func (e *LimitError) Error() string {
	if errors.Is(e.Err, ErrTooManyNodes) {
		return fmt.Sprintf("dag: graph of root %q has %d tasks, more than %d: %s", e.Node, e.Count, e.Max, detail(e.Err))
	}
	return fmt.Sprintf("dag: task %q has %d dependents, more than %d: %s", e.Node, e.Count, e.Max, detail(e.Err))
}

// Unwrap returns e.Err.
func (e *LimitError) Unwrap() error { return e.Err }

// detail is err's message without the package prefix, for embedding.
func detail(err error) string {
	if err == nil {
		return "error"
	}
	return strings.TrimPrefix(err.Error(), "dag: ")
}
