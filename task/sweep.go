// This file owns the sweep: marking abandoned the runs of engines whose
// node lease has ended.

package task

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/store"
)

// The sweep. Every renewal interval, after renewing its own lease, an
// engine with a node lease lists the pending and running executions of
// the store and, for each that names another node, reads that node's
// lease (once per node per sweep). A node whose lease is no longer live
// (expired, or released by a Shutdown that could not record its runs'
// ends) will not end its runs: they are marked abandoned, with EndedAt on
// the engine's clock and an error saying which node and when its lease
// was last renewed. The mark is one conditional write in the store
// (store.Abandoner), so of several engines sweeping at once one marks
// each record. A record is thus marked within TTL plus one renewal
// interval of its node's last renewal.
//
// The engine that marks a record tells the task's listeners and error
// integration, and with the record creates its re-run if the task asks
// for one (Spec.RecoverAbandoned); see cluster.go.
//
// The sweep's listing also carries cancel requests: a record of this
// node with CancelRequested set (Cancel called on another engine) is
// stopped here.
//
// A node with no lease at all (an engine without a locker) is never
// swept: nothing says it is dead. A store that is not a store.Abandoner is
// not swept either.
//
// A node restarted under the same node id (WithNodeID) holds a live lease
// again, so the sweep of other engines would not see that the runs of its
// earlier process are dead. Its Start marks them itself (sweepOwn): once
// it holds the node's lease no other live engine runs under that id, and
// it has no run yet, so every pending or running record naming the node
// is an earlier process's. This needs no lease token in the records.

// sweepReason is the Error of an execution abandoned because its node's
// lease l ended.
func sweepReason(node string, l lock.Lease) string {
	return fmt.Sprintf("node %s last renewed %s", node, l.Renewed.UTC().Format(time.RFC3339))
}

// sweepOwn marks abandoned the pending and running executions that name
// the engine's node, at Start, just after it acquired the node's lease
// and before it runs anything; prev is the node's lease before, zero if
// it had none. Errors are logged: the records stay for a later Start.
func (e *Engine) sweepOwn(ctx context.Context, prev lock.Lease) {
	ab, ok := e.store.(store.Abandoner)
	if !ok {
		return
	}
	xs, err := store.ListAll(ctx, e.store, store.ExecutionFilter{
		States: []store.State{store.StatePending, store.StateRunning},
		Limit:  store.MaxListLimit,
	})
	if err != nil {
		e.log.Warn("start: listing the running executions of an earlier process of this node", zap.Error(err))
		return
	}
	reason := "node " + e.cfg.node + " restarted"
	if !prev.Renewed.IsZero() {
		reason = sweepReason(e.cfg.node, prev)
	}
	for _, x := range xs {
		if x.Node != e.cfg.node {
			continue
		}
		err := e.abandon(ctx, ab, x, reason)
		switch {
		case err == nil:
			e.log.Warn("start: marked an execution of an earlier process of this node abandoned",
				zap.String("task", x.Task), zap.Stringer("id", x.ID))
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
		default:
			e.log.Warn("start: marking an execution abandoned", zap.Stringer("id", x.ID), zap.Error(err))
			return
		}
	}
}

// sweep marks abandoned the pending and running executions of nodes whose
// lease ended. Errors are logged; the next interval tries again.
func (e *Engine) sweep(ctx context.Context, locker lock.Locker) {
	ab, ok := e.store.(store.Abandoner)
	if !ok {
		return
	}
	defer e.sweeps.Add(1)
	xs, err := store.ListAll(ctx, e.store, store.ExecutionFilter{
		States: []store.State{store.StatePending, store.StateRunning},
		Limit:  store.MaxListLimit,
	})
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("sweep: listing running executions", zap.Error(err))
		}
		return
	}
	type nodeState struct {
		lease lock.Lease
		dead  bool
	}
	nodes := make(map[string]nodeState)
	for _, x := range xs {
		if x.Node == e.cfg.node && x.CancelRequested {
			// Cancel was called for this run on another engine.
			if r := e.runs.get(x.ID); r != nil {
				r.stop(ErrCancelled)
			} else {
				e.cancelWaiting(x.ID, ErrCancelled)
			}
		}
		if x.Node == "" || x.Node == e.cfg.node {
			continue
		}
		ns, seen := nodes[x.Node]
		if !seen {
			l, err := locker.Get(ctx, nodeKey(x.Node))
			switch {
			case errors.Is(err, lock.ErrNotFound):
				// No lease ever: an engine without a locker.
			case err != nil:
				if ctx.Err() == nil {
					e.log.Warn("sweep: reading a node's lease", zap.String("node", x.Node), zap.Error(err))
				}
				return
			default:
				ns = nodeState{lease: l, dead: !l.Live}
			}
			nodes[x.Node] = ns
		}
		if !ns.dead {
			continue
		}
		err := e.abandon(ctx, ab, x, sweepReason(x.Node, ns.lease))
		switch {
		case err == nil:
			e.log.Warn("sweep: marked the execution of a dead node abandoned", zap.String("task", x.Task),
				zap.Stringer("id", x.ID), zap.String("node", x.Node), zap.Time("last_renewed", ns.lease.Renewed))
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
			// It ended meanwhile, or another engine marked it first.
		default:
			if ctx.Err() == nil {
				e.log.Warn("sweep: marking an execution abandoned", zap.Stringer("id", x.ID), zap.Error(err))
			}
			return
		}
	}
}
