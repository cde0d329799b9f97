package dag

import (
	"errors"
	"slices"
	"testing"
)

// step is one call to Complete (or Skip, if skip is set) and what it must
// return.
type step struct {
	name    string
	outcome Outcome
	skip    string // reason for Skip; "" calls Complete
	ready   []string
	skipped []Skip
}

// fork is r -> a, b -> x, with x's rule given.
func fork(rule TriggerRule) []Node {
	return []Node{
		{Name: "r"}, {Name: "a", After: []string{"r"}}, {Name: "b", After: []string{"r"}},
		{Name: "x", After: []string{"a", "b"}, Rule: rule},
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	withRule := func(nodes []Node, name string, rule TriggerRule) []Node {
		for i := range nodes {
			if nodes[i].Name == name {
				nodes[i].Rule = rule
			}
		}
		return nodes
	}
	tests := []struct {
		name     string
		nodes    []Node
		root     string
		steps    []step
		outcomes map[string]Outcome // at the end; the run must be Done
	}{
		{
			name: "diamond succeeds", nodes: diamond(), root: "extract",
			steps: []step{
				{name: "extract", outcome: Succeeded, ready: []string{"transform"}},
				{name: "transform", outcome: Succeeded, ready: []string{"load-a", "load-b"}},
				{name: "load-b", outcome: Succeeded},
				{name: "load-a", outcome: Succeeded, ready: []string{"report"}},
				{name: "report", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"extract": Succeeded, "transform": Succeeded, "load-a": Succeeded, "load-b": Succeeded, "report": Succeeded},
		},
		{
			name: "diamond: a failure skips everything after it", nodes: diamond(), root: "extract",
			steps: []step{
				{name: "extract", outcome: Succeeded, ready: []string{"transform"}},
				{name: "transform", outcome: Failed, skipped: []Skip{
					{"load-a", `upstream "transform" failed`},
					{"load-b", `upstream "transform" failed`},
					{"report", `upstream "load-a" skipped`},
				}},
			},
			outcomes: map[string]Outcome{"extract": Succeeded, "transform": Failed, "load-a": Skipped, "load-b": Skipped, "report": Skipped},
		},
		{
			name: "diamond: one branch fails while the other runs", nodes: diamond(), root: "extract",
			steps: []step{
				{name: "extract", outcome: Succeeded, ready: []string{"transform"}},
				{name: "transform", outcome: Succeeded, ready: []string{"load-a", "load-b"}},
				{name: "load-b", outcome: Failed, skipped: []Skip{{"report", `upstream "load-b" failed`}}},
				{name: "load-a", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"load-a": Succeeded, "load-b": Failed, "report": Skipped},
		},
		{
			name: "all_done runs after a failure", nodes: withRule(diamond(), "report", AllDone), root: "extract",
			steps: []step{
				{name: "extract", outcome: Succeeded, ready: []string{"transform"}},
				{name: "transform", outcome: Succeeded, ready: []string{"load-a", "load-b"}},
				{name: "load-a", outcome: Failed},
				{name: "load-b", outcome: Succeeded, ready: []string{"report"}},
				{name: "report", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"load-a": Failed, "report": Succeeded},
		},
		{
			name: "all_done runs when everything upstream was skipped", nodes: withRule(diamond(), "report", AllDone), root: "extract",
			steps: []step{
				{name: "extract", outcome: Succeeded, ready: []string{"transform"}},
				{name: "transform", outcome: Failed, ready: []string{"report"}, skipped: []Skip{
					{"load-a", `upstream "transform" failed`},
					{"load-b", `upstream "transform" failed`},
				}},
				{name: "report", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"load-a": Skipped, "load-b": Skipped, "report": Succeeded},
		},
		{
			name: "all_succeeded", nodes: fork(AllSucceeded), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "a", outcome: Succeeded},
				{name: "b", outcome: Succeeded, ready: []string{"x"}},
				{name: "x", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"x": Succeeded},
		},
		{
			name: "all_succeeded skipped at the first failure", nodes: fork(AllSucceeded), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "b", outcome: Failed, skipped: []Skip{{"x", `upstream "b" failed`}}},
				{name: "a", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"a": Succeeded, "b": Failed, "x": Skipped},
		},
		{
			name: "all_succeeded skipped at the first skip", nodes: fork(AllSucceeded), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "a", outcome: Skipped, skipped: []Skip{{"x", `upstream "a" skipped`}}},
				{name: "b", outcome: Failed},
			},
			outcomes: map[string]Outcome{"a": Skipped, "b": Failed, "x": Skipped},
		},
		{
			name: "all_done", nodes: fork(AllDone), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "a", outcome: Failed},
				{name: "b", outcome: Skipped, ready: []string{"x"}},
				{name: "x", outcome: Failed},
			},
			outcomes: map[string]Outcome{"a": Failed, "b": Skipped, "x": Failed},
		},
		{
			name: "one_failed runs at the first failure", nodes: fork(OneFailed), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "b", outcome: Failed, ready: []string{"x"}},
				{name: "x", outcome: Succeeded},
				{name: "a", outcome: Failed},
			},
			outcomes: map[string]Outcome{"a": Failed, "b": Failed, "x": Succeeded},
		},
		{
			name: "one_failed skipped when nothing failed", nodes: fork(OneFailed), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "a", outcome: Succeeded},
				{name: "b", outcome: Skipped, skipped: []Skip{{"x", "no upstream task failed (rule one_failed)"}}},
			},
			outcomes: map[string]Outcome{"x": Skipped},
		},
		{
			name: "one_failed runs when a skipped task's sibling fails", nodes: fork(OneFailed), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "a", outcome: Skipped},
				{name: "b", outcome: Failed, ready: []string{"x"}},
				{name: "x", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"x": Succeeded},
		},
		{
			name: "one_failed skipped when the root fails before it", nodes: []Node{
				{Name: "r"}, {Name: "a", After: []string{"r"}}, {Name: "alert", After: []string{"a"}, Rule: OneFailed},
			}, root: "r",
			steps: []step{
				{name: "r", outcome: Failed, skipped: []Skip{
					{"a", `upstream "r" failed`},
					{"alert", "no upstream task failed (rule one_failed)"},
				}},
			},
			outcomes: map[string]Outcome{"r": Failed, "a": Skipped, "alert": Skipped},
		},
		{
			name: "none_failed runs with one success and one skip", nodes: fork(NoneFailed), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "a", skip: "condition"},
				{name: "b", outcome: Succeeded, ready: []string{"x"}},
				{name: "x", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"a": Skipped, "b": Succeeded, "x": Succeeded},
		},
		{
			name: "none_failed skipped at the first failure", nodes: fork(NoneFailed), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "a", outcome: Failed, skipped: []Skip{{"x", `upstream "a" failed`}}},
				{name: "b", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"x": Skipped},
		},
		{
			name: "none_failed skipped when everything was skipped", nodes: fork(NoneFailed), root: "r",
			steps: []step{
				{name: "r", outcome: Succeeded, ready: []string{"a", "b"}},
				{name: "a", outcome: Skipped},
				{name: "b", skip: "suspended", skipped: []Skip{{"x", "no upstream task succeeded (rule none_failed)"}}},
			},
			outcomes: map[string]Outcome{"a": Skipped, "b": Skipped, "x": Skipped},
		},
		{
			name: "skips propagate through several levels", nodes: append(chain("c", 5), Node{Name: "side", After: []string{"c000001"}, Rule: AllDone}), root: "c000000",
			steps: []step{
				{name: "c000000", outcome: Succeeded, ready: []string{"c000001"}},
				{name: "c000001", outcome: Failed, ready: []string{"side"}, skipped: []Skip{
					{"c000002", `upstream "c000001" failed`},
					{"c000003", `upstream "c000002" skipped`},
					{"c000004", `upstream "c000003" skipped`},
				}},
				{name: "side", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"c000001": Failed, "c000004": Skipped, "side": Succeeded},
		},
		{
			name: "Skip propagates with its reason", nodes: diamond(), root: "extract",
			steps: []step{
				{name: "extract", outcome: Succeeded, ready: []string{"transform"}},
				{name: "transform", skip: "suspended", skipped: []Skip{
					{"load-a", `upstream "transform" skipped (suspended)`},
					{"load-b", `upstream "transform" skipped (suspended)`},
					{"report", `upstream "load-a" skipped`},
				}},
			},
			outcomes: map[string]Outcome{"transform": Skipped, "report": Skipped},
		},
		{
			name: "Skip of the root", nodes: diamond(), root: "extract",
			steps: []step{
				{name: "extract", skip: "condition", skipped: []Skip{
					{"transform", `upstream "extract" skipped (condition)`},
					{"load-a", `upstream "transform" skipped`},
					{"load-b", `upstream "transform" skipped`},
					{"report", `upstream "load-a" skipped`},
				}},
			},
			outcomes: map[string]Outcome{"extract": Skipped, "report": Skipped},
		},
		{
			name: "failure handler and clean-up", root: "load",
			nodes: []Node{
				{Name: "load"},
				{Name: "check", After: []string{"load"}},
				{Name: "alert", After: []string{"load", "check"}, Rule: OneFailed},
				{Name: "publish", After: []string{"check"}},
				{Name: "cleanup", After: []string{"publish", "alert"}, Rule: AllDone},
			},
			steps: []step{
				{name: "load", outcome: Succeeded, ready: []string{"check"}},
				{name: "check", outcome: Failed, ready: []string{"alert"}, skipped: []Skip{{"publish", `upstream "check" failed`}}},
				{name: "alert", outcome: Succeeded, ready: []string{"cleanup"}},
				{name: "cleanup", outcome: Succeeded},
			},
			outcomes: map[string]Outcome{"alert": Succeeded, "publish": Skipped, "cleanup": Succeeded},
		},
		{
			name: "single node", nodes: []Node{{Name: "solo"}, {Name: "other"}}, root: "solo",
			steps:    []step{{name: "solo", outcome: Failed}},
			outcomes: map[string]Outcome{"solo": Failed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := mustBuild(t, tt.nodes)
			r, err := g.NewRun(tt.root)
			if err != nil {
				t.Fatalf("NewRun(%q) error = %v", tt.root, err)
			}
			if got, want := r.Ready(), []string{tt.root}; !slices.Equal(got, want) {
				t.Fatalf("Ready() = %q, want %q", got, want)
			}
			if got := r.Ready(); len(got) != 0 {
				t.Fatalf("second Ready() = %q, want none", got)
			}
			for i, s := range tt.steps {
				if r.Done() {
					t.Fatalf("step %d: Done() = true before %s", i, s.name)
				}
				var ready []string
				var skipped []Skip
				if s.skip != "" {
					ready, skipped, err = r.Skip(s.name, s.skip)
				} else {
					ready, skipped, err = r.Complete(s.name, s.outcome)
				}
				if err != nil {
					t.Fatalf("step %d: %s: error = %v", i, s.name, err)
				}
				if !slices.Equal(ready, s.ready) {
					t.Fatalf("step %d: %s: ready = %q, want %q", i, s.name, ready, s.ready)
				}
				if !slices.Equal(skipped, s.skipped) {
					t.Fatalf("step %d: %s: skipped = %q, want %q", i, s.name, skipped, s.skipped)
				}
			}
			if !r.Done() {
				t.Fatalf("Done() = false after the last step, want true")
			}
			for name, want := range tt.outcomes {
				if got, ok := r.Outcome(name); !ok || got != want {
					t.Fatalf("Outcome(%q) = %v, %v, want %v, true", name, got, ok, want)
				}
			}
			if got, want := r.Members(), g.Members(tt.root); !slices.Equal(got, want) {
				t.Fatalf("Members() = %q, want %q", got, want)
			}
			if got := r.Root(); got != tt.root {
				t.Fatalf("Root() = %q, want %q", got, tt.root)
			}
		})
	}
}

func TestRunMisuse(t *testing.T) {
	t.Parallel()
	g := mustBuild(t, append(diamond(), Node{Name: "other"}, Node{Name: "other-child", After: []string{"other"}}))
	for _, root := range []string{"nope", "transform"} {
		want := map[string]error{"nope": ErrUnknownNode, "transform": ErrNotRoot}[root]
		if _, err := g.NewRun(root); !errors.Is(err, want) {
			t.Errorf("NewRun(%q) error = %v, want %v", root, err, want)
		}
	}

	tests := []struct {
		name  string
		setup []step // run first, must succeed
		call  step   // must fail
		err   error
	}{
		{name: "unknown task", call: step{name: "nope", outcome: Succeeded}, err: ErrUnknownNode},
		{name: "task of another graph", call: step{name: "other", outcome: Succeeded}, err: ErrUnknownNode},
		{name: "not ready", call: step{name: "transform", outcome: Succeeded}, err: ErrNotReady},
		{name: "Skip not ready", call: step{name: "report", skip: "suspended"}, err: ErrNotReady},
		{name: "zero outcome", call: step{name: "extract"}, err: ErrInvalidOutcome},
		{name: "bad outcome", call: step{name: "extract", outcome: 9}, err: ErrInvalidOutcome},
		{
			name:  "completed twice",
			setup: []step{{name: "extract", outcome: Succeeded}},
			call:  step{name: "extract", outcome: Failed}, err: ErrAlreadyDecided,
		},
		{
			name:  "skipped by the rule, then completed",
			setup: []step{{name: "extract", outcome: Failed}},
			call:  step{name: "transform", outcome: Succeeded}, err: ErrAlreadyDecided,
		},
		{
			name:  "Skip after Complete",
			setup: []step{{name: "extract", outcome: Succeeded}, {name: "transform", outcome: Succeeded}},
			call:  step{name: "transform", skip: "late"}, err: ErrAlreadyDecided,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := g.NewRun("extract")
			if err != nil {
				t.Fatalf("NewRun error = %v", err)
			}
			for _, s := range tt.setup {
				if _, _, err := r.Complete(s.name, s.outcome); err != nil {
					t.Fatalf("setup Complete(%q) error = %v", s.name, err)
				}
			}
			before := snapshot(r)
			var ready []string
			var skipped []Skip
			if tt.call.skip != "" {
				ready, skipped, err = r.Skip(tt.call.name, tt.call.skip)
			} else {
				ready, skipped, err = r.Complete(tt.call.name, tt.call.outcome)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			var ne *NodeError
			if !errors.As(err, &ne) || ne.Node != tt.call.name {
				t.Fatalf("error = %#v, want a *NodeError for %q", err, tt.call.name)
			}
			if ready != nil || skipped != nil {
				t.Fatalf("ready, skipped = %q, %q, want nil with an error", ready, skipped)
			}
			if after := snapshot(r); !slices.Equal(after, before) {
				t.Fatalf("outcomes after the error = %v, want unchanged %v", after, before)
			}
		})
	}
}

// snapshot returns the outcome of every member, 0 for none.
func snapshot(r *Run) []Outcome {
	var out []Outcome
	for _, m := range r.Members() {
		o, _ := r.Outcome(m)
		out = append(out, o)
	}
	return out
}

// TestRunCompleteBeforeReady checks that the root may be completed without
// calling Ready first, and Ready then returns nothing.
func TestRunCompleteBeforeReady(t *testing.T) {
	t.Parallel()
	g := mustBuild(t, diamond())
	r, err := g.NewRun("extract")
	if err != nil {
		t.Fatalf("NewRun error = %v", err)
	}
	if _, ok := r.Outcome("extract"); ok {
		t.Fatalf("Outcome(extract) has an outcome before Complete")
	}
	ready, _, err := r.Complete("extract", Succeeded)
	if err != nil || !slices.Equal(ready, []string{"transform"}) {
		t.Fatalf("Complete(extract) = %q, %v, want [transform], nil", ready, err)
	}
	if got := r.Ready(); len(got) != 0 {
		t.Fatalf("Ready() = %q, want none", got)
	}
	if _, ok := r.Outcome("other"); ok {
		t.Fatalf("Outcome(other) ok = true, want false")
	}
}

// driveAll runs root's graph to the end, completing every node with o, and
// checks that every member was handed out once.
func driveAll(t testing.TB, g *Graph, root string, o Outcome) {
	t.Helper()
	r, err := g.NewRun(root)
	if err != nil {
		t.Fatalf("NewRun(%q) error = %v", root, err)
	}
	queue := r.Ready()
	seen := 0
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		seen++
		ready, skipped, err := r.Complete(name, o)
		if err != nil {
			t.Fatalf("Complete(%q) error = %v", name, err)
		}
		seen += len(skipped)
		queue = append(queue, ready...)
	}
	if !r.Done() {
		t.Fatalf("Done() = false after driving %q, want true", root)
	}
	if want := len(r.Members()); seen != want {
		t.Fatalf("decided %d nodes, want %d", seen, want)
	}
}

func TestRunChain(t *testing.T) {
	t.Parallel()
	g := mustBuild(t, chain("c", MaxNodesDefault))
	driveAll(t, g, "c000000", Succeeded)

	r, err := g.NewRun("c000000")
	if err != nil {
		t.Fatalf("NewRun error = %v", err)
	}
	r.Ready()
	_, skipped, err := r.Complete("c000000", Failed)
	if err != nil || len(skipped) != MaxNodesDefault-1 || !r.Done() {
		t.Fatalf("Complete(root, Failed) skipped %d, err %v, Done %v, want %d, nil, true", len(skipped), err, r.Done(), MaxNodesDefault-1)
	}
	if got, want := skipped[len(skipped)-1], (Skip{"c000999", `upstream "c000998" skipped`}); got != want {
		t.Fatalf("last skip = %v, want %v", got, want)
	}
}
