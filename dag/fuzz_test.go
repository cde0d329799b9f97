package dag

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// fuzzReader hands out the fuzz input a byte at a time, then zeros.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// fuzzGraph decodes a small graph from r:
//
//	n (1-30 nodes), flags, max nodes, max children, n rules,
//	edge count, edge byte pairs
//
// Flags%16 == 1 duplicates a name, == 2 empties one; flags&16 applies the
// limits (1-32 nodes, 1-8 children). An edge (a, b) makes node b%n run
// after node a&63 (63 is an unknown name); unless a&0xc0 == 0xc0 it is
// turned to run from the smaller number to the larger, so most graphs have
// no cycle. A rule byte of 255 is an unknown rule.
func fuzzGraph(r *fuzzReader) ([]Node, []Option, int, int) {
	n := 1 + int(r.next())%30
	flags := r.next()
	maxNodes, maxChildren := MaxNodesDefault, MaxChildrenDefault
	mn, mc := 1+int(r.next())%32, 1+int(r.next())%8
	var opts []Option
	if flags&16 != 0 {
		maxNodes, maxChildren = mn, mc
		opts = append(opts, WithMaxNodes(mn), WithMaxChildren(mc))
	}
	nodes := make([]Node, n)
	for i := range nodes {
		// Name order differs from number order.
		nodes[i].Name = fmt.Sprintf("%c%d", 'a'+(i*11)%26, i)
		b := r.next()
		nodes[i].Rule = TriggerRule(b % 4)
		if b == 255 {
			nodes[i].Rule = TriggerRule(b)
		}
	}
	edges := int(r.next()) % 64
	for range edges {
		a, b := r.next(), r.next()
		from, to := int(a&63), int(b)%n
		if from == 63 {
			nodes[to].After = append(nodes[to].After, "ghost")
			continue
		}
		from %= n
		if a&0xc0 != 0xc0 {
			if from == to {
				continue
			}
			from, to = min(from, to), max(from, to)
		}
		nodes[to].After = append(nodes[to].After, nodes[from].Name)
	}
	if flags%16 == 1 && n > 1 {
		nodes[n-1].Name = nodes[0].Name
	}
	if flags%16 == 2 {
		nodes[n/2].Name = ""
	}
	return nodes, opts, maxNodes, maxChildren
}

// fuzzSeed encodes a graph for fuzzGraph, followed by outcome bytes.
func fuzzSeed(n, flags byte, rules []byte, edges [][2]byte, outcomes ...byte) []byte {
	b := []byte{n - 1, flags, 3, 1}
	for i := range int(n) {
		if i < len(rules) {
			b = append(b, rules[i])
		} else {
			b = append(b, 0)
		}
	}
	b = append(b, byte(len(edges)))
	for _, e := range edges {
		b = append(b, e[0], e[1])
	}
	return append(b, outcomes...)
}

// FuzzBuild checks that Build never panics; that a graph it accepts is
// valid (a topological order of every node, one root per graph, limits
// kept) and that a Run on each graph, fed random outcomes, decides every
// member exactly once, as early as its rule allows, and ends Done; and that
// an error it returns is one of its sentinels and is true of the input.
func FuzzBuild(f *testing.F) {
	diamondEdges := [][2]byte{{0, 1}, {1, 2}, {1, 3}, {2, 4}, {3, 4}}
	f.Add(fuzzSeed(5, 0, nil, [][2]byte{{0, 1}, {1, 2}, {2, 3}, {3, 4}}, 0, 1, 2, 3, 4))
	f.Add(fuzzSeed(5, 0, []byte{0, 1, 2, 3, 1}, diamondEdges, 0, 0, 2, 0, 1, 0))
	f.Add(fuzzSeed(5, 0, []byte{0, 0, 0, 0, 2}, diamondEdges, 0, 0, 1, 5, 2, 0))
	f.Add(fuzzSeed(6, 0, []byte{0, 0, 3, 2, 1, 0}, [][2]byte{{0, 1}, {0, 2}, {1, 3}, {2, 3}, {1, 4}, {3, 4}, {4, 5}}, 2, 3, 4, 0, 1, 2, 3, 4))
	f.Add(fuzzSeed(8, 0, nil, [][2]byte{{0, 1}, {2, 3}, {2, 4}, {3, 5}}, 1, 1, 1))
	f.Add(fuzzSeed(3, 0, nil, [][2]byte{{0xc0 | 1, 0}, {0xc0 | 2, 1}, {0xc0, 2}}))
	f.Add(fuzzSeed(3, 0, nil, [][2]byte{{0xc0 | 1, 1}}))
	f.Add(fuzzSeed(3, 0, nil, [][2]byte{{0, 1}, {0, 1}}))
	f.Add(fuzzSeed(3, 0, nil, [][2]byte{{63, 1}}))
	f.Add(fuzzSeed(3, 0, nil, [][2]byte{{0, 2}, {1, 2}}))
	f.Add(fuzzSeed(3, 0, []byte{0, 255}, nil))
	f.Add(fuzzSeed(4, 1, nil, [][2]byte{{0, 1}}))
	f.Add(fuzzSeed(4, 2, nil, [][2]byte{{0, 1}}))
	f.Add(fuzzSeed(6, 16, nil, [][2]byte{{0, 1}, {0, 2}, {0, 3}, {1, 4}, {4, 5}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		nodes, opts, maxNodes, maxChildren := fuzzGraph(r)
		g, err := Build(nodes, opts...)
		if err != nil {
			checkBuildError(t, nodes, maxNodes, maxChildren, err)
			return
		}
		checkGraph(t, g, nodes, maxNodes, maxChildren)
		for _, root := range g.Roots() {
			checkRun(t, g, root, r)
		}
	})
}

// inputGraph indexes the input of a Build that did not fail on names.
type inputGraph struct {
	after map[string][]string
	succs map[string][]string
	rule  map[string]TriggerRule
}

func newInputGraph(nodes []Node) inputGraph {
	in := inputGraph{after: map[string][]string{}, succs: map[string][]string{}, rule: map[string]TriggerRule{}}
	for _, nd := range nodes {
		in.after[nd.Name] = nd.After
		in.rule[nd.Name] = nd.Rule
		for _, p := range nd.After {
			in.succs[p] = append(in.succs[p], nd.Name)
		}
	}
	return in
}

// descendants returns root and every node reachable from it.
func (in inputGraph) descendants(root string) map[string]bool {
	seen := map[string]bool{root: true}
	stack := []string{root}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, s := range in.succs[v] {
			if !seen[s] {
				seen[s] = true
				stack = append(stack, s)
			}
		}
	}
	return seen
}

func checkBuildError(t *testing.T, nodes []Node, maxNodes, maxChildren int, err error) {
	t.Helper()
	sentinels := []error{ErrEmptyName, ErrDuplicateName, ErrUnknownRule, ErrUnknownPredecessor,
		ErrSelfDependency, ErrDuplicateEdge, ErrCycle, ErrMultipleRoots, ErrTooManyNodes, ErrTooManyChildren}
	found := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			found++
		}
	}
	if found != 1 {
		t.Fatalf("Build error %v wraps %d sentinels, want 1", err, found)
	}
	if !strings.HasPrefix(err.Error(), "dag: ") {
		t.Fatalf("Build error %q does not start with \"dag: \"", err)
	}
	count := map[string]int{}
	for _, nd := range nodes {
		count[nd.Name]++
	}
	in := newInputGraph(nodes)
	exists := func(name string) {
		t.Helper()
		if count[name] == 0 {
			t.Fatalf("Build error %v names %q, not in the input", err, name)
		}
	}
	var (
		ne *NodeError
		ee *EdgeError
		ce *CycleError
		re *RootsError
		le *LimitError
	)
	switch {
	case errors.As(err, &ne):
		if ne.Index < 0 || ne.Index >= len(nodes) || nodes[ne.Index].Name != ne.Node {
			t.Fatalf("NodeError %+v does not point at its node", ne)
		}
		switch {
		case errors.Is(err, ErrEmptyName):
			if ne.Node != "" {
				t.Fatalf("ErrEmptyName for %q", ne.Node)
			}
		case errors.Is(err, ErrDuplicateName):
			if count[ne.Node] < 2 {
				t.Fatalf("ErrDuplicateName for %q, which appears %d times", ne.Node, count[ne.Node])
			}
		case errors.Is(err, ErrUnknownRule):
			if nodes[ne.Index].Rule.valid() {
				t.Fatalf("ErrUnknownRule for %q, whose rule is %v", ne.Node, nodes[ne.Index].Rule)
			}
		default:
			t.Fatalf("NodeError %v from Build", err)
		}
	case errors.As(err, &ee):
		exists(ee.To)
		times := 0
		for _, p := range in.after[ee.To] {
			if p == ee.From {
				times++
			}
		}
		switch {
		case errors.Is(err, ErrUnknownPredecessor):
			if count[ee.From] != 0 || times == 0 {
				t.Fatalf("ErrUnknownPredecessor %q of %q, which exists or is not listed", ee.From, ee.To)
			}
		case errors.Is(err, ErrSelfDependency):
			if ee.From != ee.To || times == 0 {
				t.Fatalf("ErrSelfDependency %q after %q", ee.To, ee.From)
			}
		case errors.Is(err, ErrDuplicateEdge):
			if times < 2 {
				t.Fatalf("ErrDuplicateEdge %q after %q, listed %d times", ee.To, ee.From, times)
			}
		}
	case errors.As(err, &ce):
		p := ce.Path
		if len(p) < 3 || p[0] != p[len(p)-1] {
			t.Fatalf("CycleError.Path = %q, want a closed path of 2 or more tasks", p)
		}
		for i := range len(p) - 1 {
			exists(p[i])
			if !slices.Contains(in.after[p[i+1]], p[i]) {
				t.Fatalf("CycleError.Path = %q: %q does not run after %q", p, p[i+1], p[i])
			}
		}
	case errors.As(err, &re):
		exists(re.Node)
		if re.Roots[0] >= re.Roots[1] {
			t.Fatalf("RootsError.Roots = %q, want two in name order", re.Roots)
		}
		for _, root := range re.Roots {
			exists(root)
			if len(in.after[root]) != 0 || !in.descendants(root)[re.Node] {
				t.Fatalf("RootsError %v: %q is not a root reaching %q", err, root, re.Node)
			}
		}
	case errors.As(err, &le):
		exists(le.Node)
		switch {
		case errors.Is(err, ErrTooManyChildren):
			if got := len(in.succs[le.Node]); got != le.Count || le.Count <= maxChildren || le.Max != maxChildren {
				t.Fatalf("LimitError %+v: %q has %d children, max %d", le, le.Node, got, maxChildren)
			}
		case errors.Is(err, ErrTooManyNodes):
			if got := len(in.descendants(le.Node)); got != le.Count || le.Count <= maxNodes || le.Max != maxNodes || len(in.after[le.Node]) != 0 {
				t.Fatalf("LimitError %+v: root %q has %d tasks, max %d", le, le.Node, got, maxNodes)
			}
		}
	default:
		t.Fatalf("Build error %#v is none of the error types", err)
	}
}

func checkGraph(t *testing.T, g *Graph, nodes []Node, maxNodes, maxChildren int) {
	t.Helper()
	in := newInputGraph(nodes)
	order := g.Order()
	if len(order) != len(nodes) || g.Len() != len(nodes) {
		t.Fatalf("Order() has %d nodes, Len() = %d, want %d", len(order), g.Len(), len(nodes))
	}
	at := map[string]int{}
	for i, v := range order {
		if _, known := in.rule[v]; !known || at[v] != 0 || (i > 0 && order[0] == v) {
			t.Fatalf("Order() = %q: %q twice or unknown", order, v)
		}
		at[v] = i
	}
	var roots []string
	for _, nd := range nodes {
		v := nd.Name
		for _, p := range nd.After {
			if at[p] >= at[v] {
				t.Fatalf("Order() = %q: %q before its predecessor %q", order, v, p)
			}
		}
		if want := slices.Sorted(slices.Values(nd.After)); !slices.Equal(g.Predecessors(v), want) {
			t.Fatalf("Predecessors(%q) = %q, want %q", v, g.Predecessors(v), want)
		}
		if want := slices.Sorted(slices.Values(in.succs[v])); !slices.Equal(g.Successors(v), want) {
			t.Fatalf("Successors(%q) = %q, want %q", v, g.Successors(v), want)
		}
		if len(in.succs[v]) > maxChildren {
			t.Fatalf("%q has %d children, max %d", v, len(in.succs[v]), maxChildren)
		}
		if len(nd.After) == 0 {
			roots = append(roots, v)
		}
	}
	slices.Sort(roots)
	if !slices.Equal(g.Roots(), roots) {
		t.Fatalf("Roots() = %q, want %q", g.Roots(), roots)
	}
	covered := 0
	for _, root := range roots {
		desc := in.descendants(root)
		members := g.Members(root)
		if len(members) != len(desc) || len(members) > maxNodes {
			t.Fatalf("Members(%q) = %q, want the %d descendants, at most %d", root, members, len(desc), maxNodes)
		}
		edges := 0
		for i, m := range members {
			if !desc[m] || g.Root(m) != root || (i > 0 && at[members[i-1]] >= at[m]) {
				t.Fatalf("Members(%q) = %q: %q is not a descendant, has another root, or is out of order", root, members, m)
			}
			edges += len(in.after[m])
		}
		if got := g.Edges(root); len(got) != edges || !slices.IsSortedFunc(got, func(a, b Edge) int {
			return strings.Compare(a.From+"\x00"+a.To, b.From+"\x00"+b.To)
		}) {
			t.Fatalf("Edges(%q) = %v, want %d sorted edges", root, got, edges)
		}
		covered += len(members)
	}
	if covered != len(nodes) {
		t.Fatalf("graphs cover %d nodes, want %d: a node has two roots", covered, len(nodes))
	}
}

// refDecide is the trigger rules written out: whether a node with rule
// and the given predecessor outcomes (0 for none yet) runs, is skipped,
// or waits.
func refDecide(rule TriggerRule, outs []Outcome) (runs, skips bool) {
	var done, succ, fail, skip int
	for _, o := range outs {
		switch o {
		case Succeeded:
			succ++
		case Failed:
			fail++
		case Skipped:
			skip++
		}
	}
	done = succ + fail + skip
	all := done == len(outs)
	switch rule {
	case AllSucceeded:
		return succ == len(outs), fail+skip > 0
	case AllDone:
		return all, false
	case OneFailed:
		return fail > 0, all && fail == 0
	case NoneFailed:
		return all && fail == 0 && succ > 0, fail > 0 || all && succ == 0
	}
	panic("unknown rule")
}

func checkRun(t *testing.T, g *Graph, root string, r *fuzzReader) {
	t.Helper()
	run, err := g.NewRun(root)
	if err != nil {
		t.Fatalf("NewRun(%q) error = %v", root, err)
	}
	members := run.Members()
	model := map[string]Outcome{} // outcomes known
	handed := map[string]bool{}   // returned as ready or skipped
	topo := map[string]int{}
	for i, m := range members {
		topo[m] = i
	}
	verdict := func(v string) (bool, bool) {
		preds := g.Predecessors(v)
		outs := make([]Outcome, len(preds))
		for i, p := range preds {
			outs[i] = model[p]
		}
		return refDecide(g.Rule(v), outs)
	}
	running := run.Ready()
	if !slices.Equal(running, []string{root}) {
		t.Fatalf("Ready() = %q, want [%s]", running, root)
	}
	handed[root] = true
	for len(running) > 0 {
		i := int(r.next()) % len(running)
		v := running[i]
		running = slices.Delete(running, i, i+1)
		var ready []string
		var skipped []Skip
		o := Outcome(1 + r.next()%4)
		if o == 4 {
			model[v] = Skipped
			ready, skipped, err = run.Skip(v, "fuzz")
		} else {
			model[v] = o
			ready, skipped, err = run.Complete(v, o)
		}
		if err != nil {
			t.Fatalf("finishing %q: error = %v", v, err)
		}
		if _, _, err := run.Complete(v, Succeeded); !errors.Is(err, ErrAlreadyDecided) {
			t.Fatalf("second Complete(%q) error = %v, want ErrAlreadyDecided", v, err)
		}
		for j, s := range skipped {
			if handed[s.Name] || topo[s.Name] == 0 || (j > 0 && topo[skipped[j-1].Name] >= topo[s.Name]) {
				t.Fatalf("skipped = %v: %q handed out before, unknown, or out of order", skipped, s.Name)
			}
			handed[s.Name] = true
			model[s.Name] = Skipped
		}
		for _, s := range skipped {
			if _, skips := verdict(s.Name); !skips || s.Reason == "" {
				t.Fatalf("%q skipped (%s), but its rule %v does not say so", s.Name, s.Reason, g.Rule(s.Name))
			}
			if rest, ok := strings.CutPrefix(s.Reason, "upstream "); ok {
				var up string
				if _, err := fmt.Sscanf(rest, "%q", &up); err != nil || !slices.Contains(g.Predecessors(s.Name), up) ||
					!strings.HasPrefix(rest, fmt.Sprintf("%q %s", up, model[up])) {
					t.Fatalf("%q skipped with reason %q, not about a predecessor's outcome", s.Name, s.Reason)
				}
			}
		}
		if !slices.IsSorted(ready) {
			t.Fatalf("ready = %q, want name order", ready)
		}
		for _, s := range ready {
			if handed[s] || topo[s] == 0 {
				t.Fatalf("ready = %q: %q handed out before, or unknown", ready, s)
			}
			if runs, _ := verdict(s); !runs {
				t.Fatalf("%q ready, but its rule %v does not say so", s, g.Rule(s))
			}
			handed[s] = true
			running = append(running, s)
		}
		// Eager: nothing left waiting could be decided now.
		for _, m := range members {
			if handed[m] {
				continue
			}
			if runs, skips := verdict(m); runs || skips {
				t.Fatalf("%q (rule %v) was not decided, but could be (runs %v, skips %v)", m, g.Rule(m), runs, skips)
			}
		}
	}
	if !run.Done() || len(handed) != len(members) {
		t.Fatalf("run of %q: Done() = %v, %d of %d members decided", root, run.Done(), len(handed), len(members))
	}
	for _, m := range members {
		if got, ok := run.Outcome(m); !ok || got != model[m] {
			t.Fatalf("Outcome(%q) = %v, %v, want %v, true", m, got, ok, model[m])
		}
	}
}
