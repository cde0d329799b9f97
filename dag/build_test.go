package dag

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// diamond is extract -> transform -> load-a, load-b -> report.
func diamond() []Node {
	return []Node{
		{Name: "report", After: []string{"load-a", "load-b"}},
		{Name: "load-b", After: []string{"transform"}},
		{Name: "load-a", After: []string{"transform"}},
		{Name: "transform", After: []string{"extract"}},
		{Name: "extract"},
	}
}

// chain returns n nodes named prefix0000, prefix0001, ..., each after the
// one before.
func chain(prefix string, n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i].Name = fmt.Sprintf("%s%06d", prefix, i)
		if i > 0 {
			nodes[i].After = []string{nodes[i-1].Name}
		}
	}
	return nodes
}

// star returns a root with n children.
func star(root string, n int) []Node {
	nodes := []Node{{Name: root}}
	for i := range n {
		nodes = append(nodes, Node{Name: fmt.Sprintf("%s-child%03d", root, i), After: []string{root}})
	}
	return nodes
}

func mustBuild(t testing.TB, nodes []Node, opts ...Option) *Graph {
	t.Helper()
	g, err := Build(nodes, opts...)
	if err != nil {
		t.Fatalf("Build error = %v, want nil", err)
	}
	return g
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []Node
		opts  []Option
		err   error    // sentinel
		names []string // each must appear in the message
		check func(t *testing.T, err error)
	}{
		{
			name: "bad max nodes", nodes: diamond(), opts: []Option{WithMaxNodes(0)},
			err: ErrInvalidOption, names: []string{"WithMaxNodes(0)"},
		},
		{
			name: "bad max children", nodes: diamond(), opts: []Option{WithMaxChildren(-1)},
			err: ErrInvalidOption, names: []string{"WithMaxChildren(-1)"},
		},
		{name: "nil option", nodes: diamond(), opts: []Option{nil}, err: ErrInvalidOption},
		{
			name: "empty name", nodes: []Node{{Name: "a"}, {Name: "", After: []string{"a"}}},
			err: ErrEmptyName, names: []string{"nodes[1]"},
			check: func(t *testing.T, err error) {
				var ne *NodeError
				if !errors.As(err, &ne) || ne.Index != 1 || ne.Node != "" {
					t.Fatalf("error = %#v, want *NodeError{Index: 1}", err)
				}
			},
		},
		{
			name: "duplicate name", nodes: []Node{{Name: "a"}, {Name: "b"}, {Name: "a", After: []string{"b"}}},
			err: ErrDuplicateName, names: []string{`"a"`, "nodes[0]", "nodes[2]"},
			check: func(t *testing.T, err error) {
				var ne *NodeError
				if !errors.As(err, &ne) || ne.Index != 2 || ne.Node != "a" {
					t.Fatalf("error = %#v, want *NodeError{Node: a, Index: 2}", err)
				}
			},
		},
		{
			name: "unknown rule", nodes: []Node{{Name: "a"}, {Name: "b", After: []string{"a"}, Rule: TriggerRule(9)}},
			err: ErrUnknownRule, names: []string{`"b"`, "9"},
		},
		{
			name: "unknown rule on root", nodes: []Node{{Name: "a", Rule: -1}},
			err: ErrUnknownRule, names: []string{`"a"`},
		},
		{
			name: "unknown predecessor", nodes: []Node{{Name: "extract"}, {Name: "load", After: []string{"extract", "extrct"}}},
			err: ErrUnknownPredecessor, names: []string{`"load"`, `"extrct"`},
			check: wantEdge("extrct", "load"),
		},
		{
			name: "self dependency", nodes: []Node{{Name: "a"}, {Name: "b", After: []string{"a", "b"}}},
			err: ErrSelfDependency, names: []string{`"b"`},
			check: wantEdge("b", "b"),
		},
		{
			name: "duplicate edge", nodes: []Node{{Name: "a"}, {Name: "b", After: []string{"a", "a"}}},
			err: ErrDuplicateEdge, names: []string{`"a"`, `"b"`},
			check: wantEdge("a", "b"),
		},
		{
			name: "cycle without root",
			nodes: []Node{
				{Name: "c", After: []string{"b"}}, {Name: "a", After: []string{"c"}}, {Name: "b", After: []string{"a"}},
				{Name: "ok"},
			},
			err: ErrCycle, names: []string{"a -> b -> c -> a"},
			check: wantPath("a", "b", "c", "a"),
		},
		{
			name: "cycle under a root",
			nodes: []Node{
				{Name: "root"}, {Name: "x", After: []string{"root", "z"}}, {Name: "y", After: []string{"x"}},
				{Name: "z", After: []string{"y"}}, {Name: "after", After: []string{"z"}},
			},
			err: ErrCycle, names: []string{"x -> y -> z -> x"},
			check: wantPath("x", "y", "z", "x"),
		},
		{
			name: "two cycles: the one through the smallest name",
			nodes: []Node{
				{Name: "p", After: []string{"q"}}, {Name: "q", After: []string{"p"}},
				{Name: "b", After: []string{"a"}}, {Name: "a", After: []string{"b"}},
			},
			err: ErrCycle, check: wantPath("a", "b", "a"),
		},
		{
			name: "two roots",
			nodes: []Node{
				{Name: "hourly"}, {Name: "daily"}, {Name: "h1", After: []string{"hourly"}},
				{Name: "report", After: []string{"h1", "daily"}}, {Name: "mail", After: []string{"report"}},
			},
			err: ErrMultipleRoots, names: []string{`"report"`, `"daily"`, `"hourly"`},
			check: func(t *testing.T, err error) {
				var re *RootsError
				if !errors.As(err, &re) {
					t.Fatalf("error = %#v, want *RootsError", err)
				}
				if want := (RootsError{Node: "report", Roots: [2]string{"daily", "hourly"}}); *re != want {
					t.Fatalf("RootsError = %+v, want %+v", *re, want)
				}
			},
		},
		{
			name: "too many children", nodes: star("fan", 4), opts: []Option{WithMaxChildren(3)},
			err: ErrTooManyChildren, names: []string{`"fan"`, "4", "3"},
			check: wantLimit("fan", 4, 3),
		},
		{
			name: "too many children default", nodes: star("fan", MaxChildrenDefault+1),
			err: ErrTooManyChildren, check: wantLimit("fan", 101, 100),
		},
		{
			name: "too many nodes", nodes: chain("c", 6), opts: []Option{WithMaxNodes(5)},
			err: ErrTooManyNodes, names: []string{`"c000000"`, "6", "5"},
			check: wantLimit("c000000", 6, 5),
		},
		{
			name: "too many nodes default", nodes: append(chain("a", 10), chain("c", MaxNodesDefault+1)...),
			err: ErrTooManyNodes, check: wantLimit("c000000", 1001, 1000),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := Build(tt.nodes, tt.opts...)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Build error = %v, want %v", err, tt.err)
			}
			if g != nil {
				t.Fatalf("Build graph = %v, want nil with an error", g)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "dag: ") {
				t.Fatalf("error %q does not start with \"dag: \"", msg)
			}
			for _, name := range tt.names {
				if !strings.Contains(msg, name) {
					t.Fatalf("error %q does not mention %s", msg, name)
				}
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func wantEdge(from, to string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		var ee *EdgeError
		if !errors.As(err, &ee) {
			t.Fatalf("error = %#v, want *EdgeError", err)
		}
		if ee.From != from || ee.To != to {
			t.Fatalf("EdgeError From, To = %q, %q, want %q, %q", ee.From, ee.To, from, to)
		}
	}
}

func wantPath(path ...string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		var ce *CycleError
		if !errors.As(err, &ce) {
			t.Fatalf("error = %#v, want *CycleError", err)
		}
		if !slices.Equal(ce.Path, path) {
			t.Fatalf("CycleError.Path = %q, want %q", ce.Path, path)
		}
	}
}

func wantLimit(node string, count, limit int) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		var le *LimitError
		if !errors.As(err, &le) {
			t.Fatalf("error = %#v, want *LimitError", err)
		}
		if le.Node != node || le.Count != count || le.Max != limit {
			t.Fatalf("LimitError = %+v, want Node %q, Count %d, Max %d", *le, node, count, limit)
		}
	}
}

func TestBuildLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []Node
		opts  []Option
		err   error
	}{
		{"1000-node chain", chain("c", 1000), nil, nil},
		{"1001-node chain", chain("c", 1001), nil, ErrTooManyNodes},
		{"1001-node chain, max 1001", chain("c", 1001), []Option{WithMaxNodes(1001)}, nil},
		{"5-node chain, max 5", chain("c", 5), []Option{WithMaxNodes(5)}, nil},
		{"6-node chain, max 5", chain("c", 6), []Option{WithMaxNodes(5)}, ErrTooManyNodes},
		{"one node, max 1", chain("c", 1), []Option{WithMaxNodes(1)}, nil},
		{"two nodes, max 1", chain("c", 2), []Option{WithMaxNodes(1)}, ErrTooManyNodes},
		{"100 children", star("s", 100), nil, nil},
		{"101 children", star("s", 101), nil, ErrTooManyChildren},
		{"101 children, max 101", star("s", 101), []Option{WithMaxChildren(101)}, nil},
		{"3 children, max 3", star("s", 3), []Option{WithMaxChildren(3)}, nil},
		{"4 children, max 3", star("s", 4), []Option{WithMaxChildren(3)}, ErrTooManyChildren},
		{"last option wins", star("s", 4), []Option{WithMaxChildren(3), WithMaxChildren(4)}, nil},
		{"limit is per graph", append(chain("a", 1000), chain("b", 1000)...), nil, nil},
		{"many isolated nodes", isolated(5000), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := Build(tt.nodes, tt.opts...)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Build error = %v, want %v", err, tt.err)
			}
			if err == nil && g.Len() != len(tt.nodes) {
				t.Fatalf("Len() = %d, want %d", g.Len(), len(tt.nodes))
			}
		})
	}
}

func isolated(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i].Name = fmt.Sprintf("n%05d", i)
	}
	return nodes
}

func TestBuildDiamond(t *testing.T) {
	t.Parallel()
	g := mustBuild(t, diamond())
	checks := []struct {
		what      string
		got, want []string
	}{
		{"Order()", g.Order(), []string{"extract", "transform", "load-a", "load-b", "report"}},
		{"Roots()", g.Roots(), []string{"extract"}},
		{"Members(extract)", g.Members("extract"), []string{"extract", "transform", "load-a", "load-b", "report"}},
		{"Members(transform)", g.Members("transform"), nil},
		{"Members(nope)", g.Members("nope"), nil},
		{"Predecessors(report)", g.Predecessors("report"), []string{"load-a", "load-b"}},
		{"Predecessors(extract)", g.Predecessors("extract"), nil},
		{"Predecessors(nope)", g.Predecessors("nope"), nil},
		{"Successors(transform)", g.Successors("transform"), []string{"load-a", "load-b"}},
		{"Successors(report)", g.Successors("report"), nil},
		{"Successors(nope)", g.Successors("nope"), nil},
	}
	for _, c := range checks {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	for _, name := range []string{"extract", "transform", "load-a", "load-b", "report"} {
		if got := g.Root(name); got != "extract" {
			t.Errorf("Root(%q) = %q, want extract", name, got)
		}
		if !g.Has(name) {
			t.Errorf("Has(%q) = false, want true", name)
		}
		if got, want := g.IsRoot(name), name == "extract"; got != want {
			t.Errorf("IsRoot(%q) = %v, want %v", name, got, want)
		}
	}
	if g.Has("nope") || g.Root("nope") != "" || g.IsRoot("nope") {
		t.Errorf("Has, Root, IsRoot(nope) = %v, %q, %v, want false, \"\", false", g.Has("nope"), g.Root("nope"), g.IsRoot("nope"))
	}
	wantEdges := []Edge{
		{"extract", "transform"}, {"load-a", "report"}, {"load-b", "report"},
		{"transform", "load-a"}, {"transform", "load-b"},
	}
	if got := g.Edges("extract"); !slices.Equal(got, wantEdges) {
		t.Errorf("Edges(extract) = %v, want %v", got, wantEdges)
	}
	if got := g.Edges("report"); got != nil {
		t.Errorf("Edges(report) = %v, want nil", got)
	}
}

func TestBuildOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []Node
		order []string
		roots []string
	}{
		{name: "empty", nodes: nil, order: nil, roots: nil},
		{
			name:  "ties broken by name",
			nodes: []Node{{Name: "r"}, {Name: "c", After: []string{"r"}}, {Name: "b", After: []string{"r"}}, {Name: "a", After: []string{"r"}}},
			order: []string{"r", "a", "b", "c"}, roots: []string{"r"},
		},
		{
			name: "isolated nodes are graphs",
			nodes: []Node{
				{Name: "z"}, {Name: "m"}, {Name: "b", After: []string{"m"}}, {Name: "a"},
			},
			order: []string{"a", "m", "b", "z"}, roots: []string{"a", "m", "z"},
		},
		{
			name: "a later name can come first",
			nodes: []Node{
				{Name: "b"}, {Name: "a", After: []string{"b"}}, {Name: "c"},
			},
			order: []string{"b", "a", "c"}, roots: []string{"b", "c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := mustBuild(t, tt.nodes)
			if got := g.Order(); !slices.Equal(got, tt.order) {
				t.Fatalf("Order() = %q, want %q", got, tt.order)
			}
			if got := g.Roots(); !slices.Equal(got, tt.roots) {
				t.Fatalf("Roots() = %q, want %q", got, tt.roots)
			}
			for _, r := range tt.roots {
				if got := g.Members(r); len(got) == 0 || got[0] != r {
					t.Fatalf("Members(%q) = %q, want it first", r, got)
				}
			}
			// The input order does not matter.
			rev := slices.Clone(tt.nodes)
			slices.Reverse(rev)
			if got := mustBuild(t, rev).Order(); !slices.Equal(got, tt.order) {
				t.Fatalf("Order() of the reversed input = %q, want %q", got, tt.order)
			}
		})
	}
}

func TestBuildRules(t *testing.T) {
	t.Parallel()
	g := mustBuild(t, []Node{
		{Name: "r"}, {Name: "a", After: []string{"r"}, Rule: OneFailed},
		{Name: "b", After: []string{"r"}, Rule: NoneFailed}, {Name: "c", After: []string{"a", "b"}, Rule: AllDone},
	})
	for name, want := range map[string]TriggerRule{"r": AllSucceeded, "a": OneFailed, "b": NoneFailed, "c": AllDone, "nope": AllSucceeded} {
		if got := g.Rule(name); got != want {
			t.Errorf("Rule(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestBuildDeep checks that Build and a Run handle a 100,000-node chain
// and a 100,000-node cycle without recursion.
func TestBuildDeep(t *testing.T) {
	t.Parallel()
	const n = 100_000
	nodes := chain("c", n)
	g := mustBuild(t, nodes, WithMaxNodes(n))
	if got := len(g.Members("c000000")); got != n {
		t.Fatalf("len(Members) = %d, want %d", got, n)
	}
	driveAll(t, g, "c000000", Succeeded)

	nodes[0].After = []string{nodes[n-1].Name}
	_, err := Build(nodes, WithMaxNodes(n))
	var ce *CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("Build error = %v, want a *CycleError", err)
	}
	if len(ce.Path) != n+1 || ce.Path[0] != "c000000" || ce.Path[1] != "c000001" || ce.Path[n] != "c000000" {
		t.Fatalf("Path has %d entries starting %q, want %d from c000000, c000001", len(ce.Path), ce.Path[:2], n+1)
	}
	if msg := err.Error(); len(msg) > 1000 || !strings.Contains(msg, "c000000 -> c000001") || !strings.Contains(msg, "more") {
		t.Fatalf("error = %q, want a shortened path", msg)
	}
}

func TestCycleErrorMessage(t *testing.T) {
	t.Parallel()
	err := &CycleError{Path: []string{"a", "b", "a"}}
	if got, want := err.Error(), "dag: cycle: a -> b -> a"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrCycle) {
		t.Fatalf("errors.Is(%v, ErrCycle) = false, want true", err)
	}
}

func TestTriggerRuleText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want TriggerRule
		err  error
	}{
		{"all_succeeded", AllSucceeded, nil},
		{"all_done", AllDone, nil},
		{"one_failed", OneFailed, nil},
		{"none_failed", NoneFailed, nil},
		{"ONE-FAILED", OneFailed, nil},
		{"", 0, ErrUnknownRule},
		{"all_success", 0, ErrUnknownRule},
		{"none", 0, ErrUnknownRule},
	}
	for _, tt := range tests {
		got, err := ParseTriggerRule(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseTriggerRule(%q) = %v, %v, want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
		if err != nil {
			continue
		}
		text, err := got.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText() error = %v", got, err)
		}
		var back TriggerRule
		if err := back.UnmarshalText(text); err != nil || back != got || string(text) != got.String() {
			t.Errorf("MarshalText/UnmarshalText(%v) = %q, %v, %v, want %q, %v, nil", got, text, back, err, got.String(), got)
		}
	}
	if got, want := TriggerRule(7).String(), "TriggerRule(7)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if _, err := TriggerRule(7).MarshalText(); !errors.Is(err, ErrUnknownRule) {
		t.Errorf("TriggerRule(7).MarshalText() error = %v, want ErrUnknownRule", err)
	}
	var r TriggerRule = OneFailed
	if err := r.UnmarshalText([]byte("bogus")); !errors.Is(err, ErrUnknownRule) || r != OneFailed {
		t.Errorf("UnmarshalText(bogus) = %v, rule %v, want ErrUnknownRule, unchanged", err, r)
	}
	for o, want := range map[Outcome]string{Succeeded: "succeeded", Failed: "failed", Skipped: "skipped", 0: "Outcome(0)"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}
