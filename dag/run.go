package dag

import (
	"fmt"
	"slices"
)

// Run is the state of one graph run: which members are ready, which have
// an outcome, and which can never run. Create one with Graph.NewRun when
// the root fires, start the nodes Ready returns, and report each node's
// end with Complete (or, for a ready node that will not run, Skip); each
// call returns the nodes that became ready and the nodes that can now
// never run. The run is over when Done reports true.
//
// A Run is not safe for concurrent use.
type Run struct {
	g       *Graph
	root    int32
	members []int32   // shared with g, topological order
	nodes   []runNode // by position in members
	queued  []int32   // ready, not yet returned by Ready
	decided int       // members with an outcome

	// Scratch space of finish, kept between calls.
	readyBuf []int32
	skipBuf  []skipAt
	work     minHeap
}

type runStatus uint8

const (
	pending runStatus = iota // waiting for predecessors
	ready                    // may start (returned by Ready, Complete or Skip, or queued for Ready)
	decided                  // has an outcome
)

type runNode struct {
	status    runStatus
	outcome   Outcome
	done      int32 // predecessors with an outcome
	succeeded int32 // predecessors that succeeded
}

// Skip is a node that can never run in this graph run, and why.
type Skip struct {
	// Name is the node.
	Name string
	// Reason names the cause: an upstream node and its outcome
	// (`upstream "transform" failed`, `upstream "load" skipped`, with the
	// reason given to Run.Skip in parentheses when there is one), or the
	// rule that cannot be met (`no upstream task failed (rule
	// one_failed)`).
	Reason string
}

// NewRun starts the state of a graph run from root. It fails with a
// *NodeError wrapping ErrUnknownNode if root is not a node, or ErrNotRoot
// if it has predecessors.
func (g *Graph) NewRun(root string) (*Run, error) {
	r := g.lookup(root)
	if r < 0 {
		return nil, &NodeError{Node: root, Index: -1, Err: ErrUnknownNode}
	}
	if g.root[r] != r {
		return nil, &NodeError{Node: root, Index: -1, Err: fmt.Errorf("%w (its root is %q)", ErrNotRoot, g.names[g.root[r]])}
	}
	members := g.group(r)
	run := &Run{
		g:       g,
		root:    r,
		members: members,
		nodes:   make([]runNode, len(members)),
		queued:  []int32{r},
	}
	run.nodes[0].status = ready // the root is first in topological order
	return run, nil
}

// Root returns the root the run started from.
func (r *Run) Root() string { return r.g.names[r.root] }

// Members returns the run's nodes in topological order, as
// Graph.Members does.
func (r *Run) Members() []string { return r.g.namesOf(r.members) }

// Ready returns the nodes that are ready to start and were not returned
// before, in name order: the root, on the first call. Nodes that become
// ready later are returned by Complete and Skip instead, so Ready returns
// each node at most once.
func (r *Run) Ready() []string {
	names := r.g.namesOf(r.queued)
	r.queued = r.queued[:0]
	return names
}

// Done reports whether every member has an outcome.
func (r *Run) Done() bool { return r.decided == len(r.members) }

// Outcome returns name's outcome, and false if it has none yet or is not
// a member.
func (r *Run) Outcome(name string) (Outcome, bool) {
	v := r.g.lookup(name)
	if v < 0 || r.g.root[v] != r.root {
		return 0, false
	}
	n := &r.nodes[r.g.pos[v]]
	return n.outcome, n.status == decided
}

// Complete records the outcome of a ready node and decides its
// dependents. It returns, in name order, the nodes that became ready (to
// start now; Ready will not return them again), and, in topological order,
// the nodes that can now never run, with the reason. A node that cannot
// run counts as Skipped for its own dependents, so one call may decide a
// whole subgraph.
//
// It fails with a *NodeError wrapping ErrInvalidOutcome for an outcome
// other than Succeeded, Failed or Skipped, ErrUnknownNode for a node not in
// the run, ErrNotReady for a node still waiting on predecessors, and
// ErrAlreadyDecided for a node that has an outcome; the run is unchanged
// then.
func (r *Run) Complete(name string, o Outcome) (ready []string, skipped []Skip, err error) {
	if o != Succeeded && o != Failed && o != Skipped {
		return nil, nil, &NodeError{Node: name, Index: -1, Err: fmt.Errorf("%w %d", ErrInvalidOutcome, int(o))}
	}
	return r.finish(name, o, "")
}

// Skip records that a ready node will not run, for reason (it is
// suspended, its condition was false), and decides its dependents as
// Complete(name, Skipped) does. The reason appears in the reasons of the
// dependents skipped because of it; name itself is not in skipped. It
// fails as Complete does.
func (r *Run) Skip(name string, reason string) (ready []string, skipped []Skip, err error) {
	return r.finish(name, Skipped, reason)
}

func (r *Run) finish(name string, o Outcome, reason string) ([]string, []Skip, error) {
	v := r.g.lookup(name)
	if v < 0 {
		return nil, nil, &NodeError{Node: name, Index: -1, Err: ErrUnknownNode}
	}
	if r.g.root[v] != r.root {
		return nil, nil, &NodeError{Node: name, Index: -1,
			Err: fmt.Errorf("%w in the run of %q", ErrUnknownNode, r.g.names[r.root])}
	}
	n := &r.nodes[r.g.pos[v]]
	switch n.status {
	case pending:
		return nil, nil, &NodeError{Node: name, Index: -1, Err: ErrNotReady}
	case decided:
		return nil, nil, &NodeError{Node: name, Index: -1,
			Err: fmt.Errorf("%w (%s)", ErrAlreadyDecided, n.outcome)}
	}
	if i := slices.Index(r.queued, v); i >= 0 { // completed before Ready returned it
		r.queued = slices.Delete(r.queued, i, i+1)
	}
	r.decide(v, o)

	readyNodes := r.readyBuf[:0]
	skips := r.skipBuf[:0]
	work := r.work[:0] // positions of nodes skipped by this call, to propagate
	upstream := func(u int32, note string) {
		uo := r.nodes[r.g.pos[u]].outcome
		for _, s := range r.g.succ(u) {
			ps := r.g.pos[s]
			sn := &r.nodes[ps]
			if sn.status != pending {
				continue
			}
			sn.done++
			if uo == Succeeded {
				sn.succeeded++
			}
			run, why := r.evaluate(s, sn, u, uo, note)
			switch {
			case run:
				sn.status = ready
				readyNodes = append(readyNodes, s)
			case why != "":
				r.decide(s, Skipped)
				skips = append(skips, skipAt{ps, why})
				work.push(ps)
			}
		}
	}
	upstream(v, reason)
	for len(work) > 0 {
		upstream(r.members[work.pop()], "")
	}

	r.readyBuf, r.skipBuf, r.work = readyNodes, skips, work

	slices.Sort(readyNodes)
	slices.SortFunc(skips, func(a, b skipAt) int { return int(a.pos - b.pos) })
	var skipped []Skip
	if len(skips) > 0 {
		skipped = make([]Skip, len(skips))
		for i, s := range skips {
			skipped[i] = Skip{Name: r.g.names[r.members[s.pos]], Reason: s.reason}
		}
	}
	return r.g.namesOf(readyNodes), skipped, nil
}

type skipAt struct {
	pos    int32
	reason string
}

func (r *Run) decide(v int32, o Outcome) {
	n := &r.nodes[r.g.pos[v]]
	n.status = decided
	n.outcome = o
	r.decided++
}

// evaluate applies s's rule after its predecessor u got outcome uo (note
// is the reason u was skipped, if given). It returns run if s can start,
// or a reason if it never can, or neither if it must wait.
func (r *Run) evaluate(s int32, sn *runNode, u int32, uo Outcome, note string) (run bool, reason string) {
	g := r.g
	total := g.predOff[s+1] - g.predOff[s]
	all := sn.done == total
	rule := g.rules[s]
	switch rule {
	case AllSucceeded:
		if uo != Succeeded {
			return false, upstreamReason(g.names[u], uo, note)
		}
		return sn.succeeded == total, ""
	case AllDone:
		return all, ""
	case OneFailed:
		if uo == Failed {
			return true, ""
		}
		if all {
			return false, "no upstream task failed (rule " + rule.String() + ")"
		}
	case NoneFailed:
		if uo == Failed {
			return false, upstreamReason(g.names[u], uo, note)
		}
		if all {
			if sn.succeeded > 0 {
				return true, ""
			}
			return false, "no upstream task succeeded (rule " + rule.String() + ")"
		}
	}
	return false, ""
}

func upstreamReason(name string, o Outcome, note string) string {
	if note != "" {
		return fmt.Sprintf("upstream %q %s (%s)", name, o, note)
	}
	return fmt.Sprintf("upstream %q %s", name, o)
}
