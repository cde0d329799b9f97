package dag

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Node is one task as Build sees it: its name, the tasks it runs after,
// and the rule that decides whether it runs once they have finished.
type Node struct {
	// Name identifies the task; it must be unique and not empty.
	Name string
	// After lists the task's predecessors by name, each once. A node with
	// none is a root: it starts a graph run.
	After []string
	// Rule decides, from the outcomes of the predecessors, whether the
	// task runs or is skipped. It is ignored on roots. Default:
	// AllSucceeded.
	Rule TriggerRule
}

// Edge is one dependency, for drawing a graph: To runs after From.
type Edge struct {
	From, To string
}

// Graph is a validated set of task graphs, each with one root. It is
// immutable and safe for concurrent use.
//
// Nodes are numbered by name order, so comparing numbers compares names.
// Predecessor and successor lists are stored flat, in name order.
type Graph struct {
	names []string
	index map[string]int32
	rules []TriggerRule

	predOff []int32 // predecessors of v: preds[predOff[v]:predOff[v+1]]
	preds   []int32
	succOff []int32 // successors of v: succs[succOff[v]:succOff[v+1]]
	succs   []int32

	order []int32 // a topological order of all nodes
	roots []int32 // in name order
	root  []int32 // root of each node
	pos   []int32 // position of each node in its graph's members

	// members holds every graph's nodes in topological order, graph after
	// graph; the graph of root r is members[start[r]:start[r]+size[r]].
	members []int32
	start   []int32
	size    []int32
}

// Build validates nodes and returns their graphs. It fails, with an error
// that names the tasks involved, on:
//
//   - a bad option (ErrInvalidOption);
//   - an empty or duplicate name, or an unknown TriggerRule value
//     (*NodeError: ErrEmptyName, ErrDuplicateName, ErrUnknownRule);
//   - an After entry that names no node, the node itself, or a node
//     already listed (*EdgeError: ErrUnknownPredecessor,
//     ErrSelfDependency, ErrDuplicateEdge);
//   - a cycle (*CycleError, ErrCycle);
//   - a task reachable from two roots (*RootsError, ErrMultipleRoots);
//   - a task with more direct dependents than WithMaxChildren allows, or a
//     graph with more tasks than WithMaxNodes allows (*LimitError,
//     ErrTooManyChildren, ErrTooManyNodes).
//
// Checks run in that order, each over the nodes in name order, so the
// error reported for a given input is always the same. Build runs in
// O((V+E) log V) time and never recurses.
func Build(nodes []Node, opts ...Option) (*Graph, error) {
	cfg := config{maxNodes: MaxNodesDefault, maxChildren: MaxChildrenDefault}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if len(nodes) >= math.MaxInt32 {
		return nil, &LimitError{Count: len(nodes), Max: math.MaxInt32 - 1, Err: ErrTooManyNodes}
	}
	n := len(nodes)

	// Number the nodes by name, duplicates in input order.
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(a, b int32) int {
		if c := strings.Compare(nodes[a].Name, nodes[b].Name); c != 0 {
			return c
		}
		return int(a - b)
	})
	if n > 0 && nodes[perm[0]].Name == "" {
		return nil, &NodeError{Index: int(perm[0]), Err: ErrEmptyName}
	}
	g := &Graph{
		names: make([]string, n),
		index: make(map[string]int32, n),
		rules: make([]TriggerRule, n),
	}
	for v, i := range perm {
		nd := &nodes[i]
		if v > 0 && nd.Name == g.names[v-1] {
			return nil, &NodeError{Node: nd.Name, Index: int(i),
				Err: fmt.Errorf("%w (nodes[%d] and nodes[%d])", ErrDuplicateName, perm[v-1], i)}
		}
		g.names[v] = nd.Name
		g.index[nd.Name] = int32(v)
		g.rules[v] = nd.Rule
	}
	for v, i := range perm {
		if r := nodes[i].Rule; !r.valid() {
			return nil, &NodeError{Node: g.names[v], Index: int(i), Err: fmt.Errorf("%w %d", ErrUnknownRule, int(r))}
		}
	}

	// Edges. preds first holds each node's predecessors in After order.
	g.predOff = make([]int32, n+1)
	for v, i := range perm {
		g.predOff[v+1] = g.predOff[v] + int32(len(nodes[i].After))
	}
	g.preds = make([]int32, g.predOff[n])
	seen := make([]int32, n) // seen[u] == v+1: u already in v's After
	succCount := make([]int32, n+1)
	for v, i := range perm {
		to := g.names[v]
		at := g.predOff[v]
		for _, from := range nodes[i].After {
			u, ok := g.index[from]
			switch {
			case !ok:
				return nil, &EdgeError{From: from, To: to, Err: ErrUnknownPredecessor}
			case int(u) == v:
				return nil, &EdgeError{From: from, To: to, Err: ErrSelfDependency}
			case seen[u] == int32(v)+1:
				return nil, &EdgeError{From: from, To: to, Err: ErrDuplicateEdge}
			}
			seen[u] = int32(v) + 1
			g.preds[at] = u
			at++
			succCount[u+1]++
		}
	}
	// Successors: visiting v in order fills each list in name order. Then
	// predecessors again, the same way, so they too are in name order.
	g.succOff = succCount
	for u := range n {
		g.succOff[u+1] += g.succOff[u]
	}
	g.succs = make([]int32, len(g.preds))
	fill := seen // reused: next free slot of each list
	copy(fill, g.succOff[:n])
	for v := range n {
		for _, u := range g.preds[g.predOff[v]:g.predOff[v+1]] {
			g.succs[fill[u]] = int32(v)
			fill[u]++
		}
	}
	copy(fill, g.predOff[:n])
	for u := range n {
		for _, v := range g.succs[g.succOff[u]:g.succOff[u+1]] {
			g.preds[fill[v]] = int32(u)
			fill[v]++
		}
	}

	// Kahn's algorithm, smallest name first. The roots, already in order,
	// are merged with a heap of the nodes freed since, so that many small
	// graphs do not make one big heap.
	indeg := fill // reused
	for v := range n {
		indeg[v] = g.predOff[v+1] - g.predOff[v]
		if indeg[v] == 0 {
			g.roots = append(g.roots, int32(v))
		}
	}
	g.order = make([]int32, 0, n)
	var ready minHeap
	for next := 0; next < len(g.roots) || len(ready) > 0; {
		var u int32
		if len(ready) == 0 || next < len(g.roots) && g.roots[next] < ready[0] {
			u = g.roots[next]
			next++
		} else {
			u = ready.pop()
		}
		g.order = append(g.order, u)
		for _, v := range g.succ(u) {
			indeg[v]--
			if indeg[v] == 0 {
				ready.push(v)
			}
		}
	}
	if len(g.order) < n {
		return nil, &CycleError{Path: g.cycle(indeg)}
	}

	// Roots: a node's root is that of its predecessors, which must agree.
	g.root = make([]int32, n)
	for _, v := range g.order {
		p := g.pred(v)
		if len(p) == 0 {
			g.root[v] = v
			continue
		}
		r := g.root[p[0]]
		for _, u := range p[1:] {
			if r2 := g.root[u]; r2 != r {
				a, b := g.names[min(r, r2)], g.names[max(r, r2)]
				return nil, &RootsError{Node: g.names[v], Roots: [2]string{a, b}}
			}
		}
		g.root[v] = r
	}

	// Limits.
	for u := range n {
		if c := int(g.succOff[u+1] - g.succOff[u]); c > cfg.maxChildren {
			return nil, &LimitError{Node: g.names[u], Count: c, Max: cfg.maxChildren, Err: ErrTooManyChildren}
		}
	}
	g.size = make([]int32, n)
	for _, r := range g.root {
		g.size[r]++
	}
	for _, r := range g.roots {
		if c := int(g.size[r]); c > cfg.maxNodes {
			return nil, &LimitError{Node: g.names[r], Count: c, Max: cfg.maxNodes, Err: ErrTooManyNodes}
		}
	}

	// Group the nodes by graph, each group in topological order.
	g.start = make([]int32, n)
	next := int32(0)
	for _, r := range g.roots {
		g.start[r] = next
		next += g.size[r]
	}
	g.members = make([]int32, n)
	g.pos = make([]int32, n)
	at := fill // reused: next free slot of each group
	for _, r := range g.roots {
		at[r] = g.start[r]
	}
	for _, v := range g.order {
		r := g.root[v]
		g.pos[v] = at[r] - g.start[r]
		g.members[at[r]] = v
		at[r]++
	}
	return g, nil
}

// cycle returns a cycle among the nodes Kahn's algorithm could not order
// (indeg > 0). Each such node has a predecessor that is also one, so
// walking back through the smallest such predecessor must come round; the
// walk, reversed, is the cycle. It is rotated to start at its smallest
// name, and closed.
func (g *Graph) cycle(indeg []int32) []string {
	start := int32(-1)
	for v, d := range indeg {
		if d > 0 {
			start = int32(v)
			break
		}
	}
	step := make(map[int32]int)
	var walk []int32
	v := start
	for {
		if _, ok := step[v]; ok {
			break
		}
		step[v] = len(walk)
		walk = append(walk, v)
		for _, u := range g.pred(v) {
			if indeg[u] > 0 {
				v = u
				break
			}
		}
	}
	loop := walk[step[v]:] // loop[i+1] runs before loop[i]
	slices.Reverse(loop)   // now each runs after the one before, and loop[0] after the last
	first := 0
	for i, u := range loop {
		if u < loop[first] {
			first = i
		}
	}
	path := make([]string, 0, len(loop)+1)
	for i := range loop {
		path = append(path, g.names[loop[(first+i)%len(loop)]])
	}
	return append(path, path[0])
}

// pred returns v's predecessors, shared.
func (g *Graph) pred(v int32) []int32 { return g.preds[g.predOff[v]:g.predOff[v+1]:g.predOff[v+1]] }

// succ returns v's successors, shared.
func (g *Graph) succ(v int32) []int32 { return g.succs[g.succOff[v]:g.succOff[v+1]:g.succOff[v+1]] }

// namesOf returns the names of nodes, in their order.
func (g *Graph) namesOf(nodes []int32) []string {
	if len(nodes) == 0 {
		return nil
	}
	out := make([]string, len(nodes))
	for i, v := range nodes {
		out[i] = g.names[v]
	}
	return out
}

// lookup returns the number of a node, or -1.
func (g *Graph) lookup(name string) int32 {
	if v, ok := g.index[name]; ok {
		return v
	}
	return -1
}

// Has reports whether name is a node of g.
func (g *Graph) Has(name string) bool {
	_, ok := g.index[name]
	return ok
}

// Len returns the number of nodes in g, across all its graphs.
func (g *Graph) Len() int { return len(g.names) }

// Order returns every node, each once, in a topological order: each after
// all its predecessors. Among nodes whose predecessors are all placed, the
// smallest name comes first (Kahn's algorithm), so the order depends only
// on the graph.
func (g *Graph) Order() []string { return g.namesOf(g.order) }

// Roots returns the nodes without predecessors, in name order: one per
// graph.
func (g *Graph) Roots() []string { return g.namesOf(g.roots) }

// Predecessors returns the nodes name runs after, in name order, or nil
// if name is not a node or a root.
func (g *Graph) Predecessors(name string) []string {
	v := g.lookup(name)
	if v < 0 {
		return nil
	}
	return g.namesOf(g.pred(v))
}

// Successors returns the nodes that run after name, in name order, or nil
// if there are none or name is not a node.
func (g *Graph) Successors(name string) []string {
	v := g.lookup(name)
	if v < 0 {
		return nil
	}
	return g.namesOf(g.succ(v))
}

// Root returns the root of the graph name belongs to (name itself for a
// root), or "" if name is not a node.
func (g *Graph) Root(name string) string {
	v := g.lookup(name)
	if v < 0 {
		return ""
	}
	return g.names[g.root[v]]
}

// IsRoot reports whether name is a node without predecessors.
func (g *Graph) IsRoot(name string) bool {
	v := g.lookup(name)
	return v >= 0 && g.root[v] == v
}

// Members returns root and every node that runs after it, directly or not,
// in topological order (the order Order gives them in), or nil if root is
// not a root.
func (g *Graph) Members(root string) []string {
	r := g.lookup(root)
	if r < 0 || g.root[r] != r {
		return nil
	}
	return g.namesOf(g.group(r))
}

// group returns the members of root r, shared.
func (g *Graph) group(r int32) []int32 {
	end := g.start[r] + g.size[r]
	return g.members[g.start[r]:end:end]
}

// Edges returns the edges of root's graph, sorted by From and then To, or
// nil if root is not a root or has no dependents.
func (g *Graph) Edges(root string) []Edge {
	r := g.lookup(root)
	if r < 0 || g.root[r] != r {
		return nil
	}
	nodes := slices.Clone(g.group(r))
	slices.Sort(nodes)
	var edges []Edge
	for _, u := range nodes {
		for _, v := range g.succ(u) {
			edges = append(edges, Edge{From: g.names[u], To: g.names[v]})
		}
	}
	return edges
}

// Rule returns the trigger rule of name, or AllSucceeded if name is not a
// node.
func (g *Graph) Rule(name string) TriggerRule {
	v := g.lookup(name)
	if v < 0 {
		return AllSucceeded
	}
	return g.rules[v]
}
