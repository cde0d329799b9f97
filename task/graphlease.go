// This file owns the lease a graph root holds on engines sharing a store,
// so that its overlap policy holds across them.

package task

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/lock"
)

// A graph root's overlap policy across engines. A root whose policy is not
// OverlapAllow is busy until its graph run ends (graph.go): its own record
// has ended by then, so on engines sharing a store the exclusive records
// (cluster.go) do not cover the rest of the graph run. So an engine with a
// node lease takes a lease on "graph/<root>" before it admits a run of
// such a root (a fire, a catch-up, RunNow, a waiting run), when nothing of
// the root runs here yet, and holds it until nothing of the root runs here
// any more: the root's run and the graph runs it began have ended. Another
// engine that finds the lease held records its fire skipped ("overlap: a
// graph run ... on another engine"), or with OverlapQueueOne pending and
// waiting; RunNow is refused with ErrAlreadyRunning.
//
// The lease is renewed with the SingleInstance leases (single.go), in the
// same tick as the node lease, and released as soon as the root is idle
// here (endGraph, a refused admission), or else at the next renewal. A
// graph lease found lost is dropped and logged: the node lease was most
// likely lost too, and that one stops the runs.
//
// While one goroutine acquires or releases a root's lease, others that
// would take it wait for that to finish (graphLease.busy), so that two
// admissions of one engine never ask the locker for the same key at once.

func graphKey(root string) string { return "graph/" + root }

const graphKeyPrefix = "graph/"

// graphLease is an entry's graph lease. Guarded by Engine.mu.
type graphLease struct {
	held  bool
	lease lock.Lease
	busy  chan struct{} // closed when an acquire or release in progress ends
}

// errGraphElsewhere: a graph run of the root is in progress on another
// engine, or the engine could not tell.
var errGraphElsewhere = errors.New("a graph run of the task is in progress on another engine")

// needsGraphLeaseLocked reports whether a run of ent may begin a graph run
// that other engines must see: e.mu must be held.
func (e *Engine) needsGraphLeaseLocked(ent *entry) bool {
	if e.lease == nil || ent.spec.o().Overlap == OverlapAllow {
		return false
	}
	g := e.graph
	return g != nil && g.Has(ent.spec.Name) && len(g.Successors(ent.spec.Name)) > 0
}

// graphLeaseCandidates returns those of ents that need a graph lease (see
// needsGraphLeaseLocked) and do not hold one: e.mu must not be held.
func (e *Engine) graphLeaseCandidates(ents []*entry) []*entry {
	if e.cfg.lease.locker == nil {
		return nil
	}
	var out []*entry
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.graph == nil {
		return nil
	}
	for _, ent := range ents {
		if !ent.graphLease.held && e.needsGraphLeaseLocked(ent) {
			out = append(out, ent)
		}
	}
	return out
}

// takeGraphLease makes sure that the engine holds ent's graph lease if it
// needs one. The error wraps errGraphElsewhere when another engine holds
// it (lock.ErrHeld) or the locker could not be asked.
func (e *Engine) takeGraphLease(ent *entry) error {
	for {
		e.mu.Lock()
		if !e.needsGraphLeaseLocked(ent) || ent.graphLease.held {
			e.mu.Unlock()
			return nil
		}
		if ch := ent.graphLease.busy; ch != nil {
			e.mu.Unlock()
			<-ch
			continue
		}
		ch := make(chan struct{})
		ent.graphLease.busy = ch
		nl := e.lease
		name := ent.spec.Name
		e.mu.Unlock()

		ctx, cancel := context.WithTimeout(e.storeCtx, graphLeaseTimeout)
		l, err := nl.locker.Acquire(ctx, lock.AcquireParams{Key: graphKey(name), Owner: nl.owner, TTL: e.cfg.lease.ttl})
		cancel()
		e.mu.Lock()
		ent.graphLease.busy = nil
		if err == nil {
			ent.graphLease.held, ent.graphLease.lease = true, l
			e.single.put(l) // renewed with the SingleInstance leases
		}
		e.mu.Unlock()
		close(ch)
		if err != nil {
			if !errors.Is(err, lock.ErrHeld) {
				e.log.Warn("could not take a graph root's lease", zap.String("task", name), zap.Error(err))
			}
			return fmt.Errorf("%w: %w", errGraphElsewhere, err)
		}
		return nil
	}
}

// graphLeaseTimeout bounds one call to the locker for a graph lease.
const graphLeaseTimeout = 5 * time.Second

// releaseIdleGraphLease releases ent's graph lease if nothing of the root
// runs here: no run, queued run or graph run.
func (e *Engine) releaseIdleGraphLease(ent *entry) {
	e.mu.Lock()
	gl := &ent.graphLease
	if !gl.held || gl.busy != nil || ent.running > 0 || ent.pending != nil || ent.graphRuns > 0 {
		e.mu.Unlock()
		return
	}
	l := gl.lease
	gl.held, gl.lease = false, lock.Lease{}
	ch := make(chan struct{})
	gl.busy = ch
	e.mu.Unlock()

	e.releaseSingle(e.cfg.lease.locker, l)

	e.mu.Lock()
	gl.busy = nil
	e.mu.Unlock()
	close(ch)
}

// releaseIdleGraphLeases releases the graph leases of roots idle here; the
// renewer calls it, for a lease a missed release kept.
func (e *Engine) releaseIdleGraphLeases() {
	e.mu.Lock()
	var ents []*entry
	for _, ent := range e.tasks {
		if ent.graphLease.held {
			ents = append(ents, ent)
		}
	}
	e.mu.Unlock()
	for _, ent := range ents {
		e.releaseIdleGraphLease(ent)
	}
}

// graphLeaseLost drops the graph lease l, found lost at renewal.
func (e *Engine) graphLeaseLost(l lock.Lease, err error) {
	e.log.Error("graph root's lease lost: another engine may start a graph run of the task while this one's runs",
		zap.String("key", l.Key), zap.Int64("token", l.Token), zap.String("node", e.cfg.node), zap.Error(err))
	root := strings.TrimPrefix(l.Key, graphKeyPrefix)
	e.mu.Lock()
	defer e.mu.Unlock()
	if ent := e.tasks[root]; ent != nil && ent.graphLease.held && ent.graphLease.lease.Token == l.Token {
		ent.graphLease.held, ent.graphLease.lease = false, lock.Lease{}
	}
}
