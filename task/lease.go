// This file owns the node lease: the cluster options, taking the lease at
// Start, renewing it, polling task states, and stopping runs when it is lost.

package task

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/store"
)

// An engine on a shared store holds one lease, on the key "node/<node
// id>", from Start until Shutdown, and renews it in the background: one
// call to the locker per renewal interval, whatever the number of runs.
// The lease says the node is alive; a record that is running or pending
// names its node (Execution.Node), so another engine that finds the
// node's lease expired knows the record will never end by itself, and
// marks it abandoned (the sweep, sweep.go).
//
// The renewer is a goroutine owned by the engine's lifetime, started by
// Start and stopped by Shutdown once the runs have ended, which then
// releases the lease. The lease's mutex is a leaf.

// LeaseTTLDefault is how long an engine's node lease lasts unless
// renewed, unless WithLease says otherwise.
const LeaseTTLDefault = 15 * time.Second

// LeaseRenewDefault is how often an engine renews its node lease and
// sweeps for the runs of dead nodes, unless WithLease says otherwise.
const LeaseRenewDefault = 5 * time.Second

// LockerProvider is implemented by stores that come with a lock.Locker on
// the same database (store/sqlite, store/postgres): an engine on such a
// store takes its node lease from it unless WithLocker says otherwise.
type LockerProvider interface {
	Locker() lock.Locker
}

type leaseConfig struct {
	locker     lock.Locker
	off        bool // WithLocker(nil): no lease even if the store has a locker
	set        bool // WithLocker was given
	ttl, every time.Duration
	poll       time.Duration // WithStatePoll
}

// StatePollDefault is how often an engine with a node lease reads the
// task states of the store, unless WithStatePoll says otherwise.
const StatePollDefault = time.Second

// WithStatePoll sets how often an engine with a node lease (see
// WithLocker) reads every task state from the store, in one call, so that
// a Suspend, Resume or auto-suspension made by another engine takes effect
// here within d. It must be positive. Default StatePollDefault.
func WithStatePoll(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithStatePoll: interval %v must be positive", ErrInvalidOption, d)
		}
		c.lease.poll = d
		return nil
	}
}

// WithLocker sets the locker of the engine's node lease (see the package
// doc, "Several engines on one store"). nil turns the lease and the sweep
// off. Default: the store's own locker if the store is a LockerProvider
// (store/sqlite, store/postgres); none for store/memory, which is not
// shared between processes (engines sharing one memory store in a process
// may share a lock.NewMemory locker).
func WithLocker(l lock.Locker) Option {
	return func(c *config) error {
		c.lease.locker, c.lease.off, c.lease.set = l, l == nil, true
		return nil
	}
}

// WithLease sets the TTL of the engine's node lease and how often it is
// renewed; the sweep for the runs of dead nodes runs at the same
// interval. The TTL must be positive and renewEvery positive and shorter
// than the TTL (a third of it leaves room for two failed renewals).
// Default: LeaseTTLDefault and LeaseRenewDefault.
func WithLease(ttl, renewEvery time.Duration) Option {
	return func(c *config) error {
		switch {
		case ttl <= 0:
			return fmt.Errorf("%w: WithLease: TTL %v must be positive", ErrInvalidOption, ttl)
		case renewEvery <= 0:
			return fmt.Errorf("%w: WithLease: renewal interval %v must be positive", ErrInvalidOption, renewEvery)
		case renewEvery >= ttl:
			return fmt.Errorf("%w: WithLease: renewal interval %v must be shorter than the TTL %v", ErrInvalidOption, renewEvery, ttl)
		}
		c.lease.ttl, c.lease.every = ttl, renewEvery
		return nil
	}
}

// resolveLease fills in the lease defaults of c; New calls it.
func (c *config) resolveLease() {
	if c.lease.ttl == 0 {
		c.lease.ttl, c.lease.every = LeaseTTLDefault, LeaseRenewDefault
	}
	if c.lease.poll == 0 {
		c.lease.poll = StatePollDefault
	}
	if !c.lease.set {
		if p, ok := c.store.(LockerProvider); ok {
			c.lease.locker = p.Locker()
		}
	}
}

// nodeLease is the engine's lease while it holds one.
type nodeLease struct {
	locker lock.Locker
	owner  string // the node id and a random suffix: this engine, not its node id

	mu     sync.Mutex
	cur    lock.Lease
	lastOK time.Time // the engine's clock at the last grant or renewal
	lapsed bool      // the runs were stopped for want of a renewal since lastOK

	stop func() // stops the renewer; set by startRenewer
}

func nodeKey(node string) string { return "node/" + node }

// acquireLease takes the node lease, if the engine has a locker. Another
// live engine holding the lease of the same node id makes Start fail: two
// engines must not share a node id. A dead one's is waited for.
func (e *Engine) acquireLease(ctx context.Context) error {
	c := e.cfg.lease
	if c.locker == nil {
		return nil
	}
	owner := e.cfg.node + "#" + uuid.NewString()[:8]
	prev, perr := c.locker.Get(ctx, nodeKey(e.cfg.node))
	p := lock.AcquireParams{Key: nodeKey(e.cfg.node), Owner: owner, TTL: c.ttl}
	l, err := c.locker.Acquire(ctx, p)
	if errors.Is(err, lock.ErrHeld) {
		// Perhaps an earlier process of this node that died: wait for
		// its lease to expire (leasewait.go).
		l, prev, err = e.awaitNodeLease(ctx, p)
		perr = nil
	}
	if errors.Is(err, lock.ErrHeld) {
		return fmt.Errorf("task: node id %s is in use by another live engine (two engines must not share a node id): %w",
			quote.Short(e.cfg.node), err)
	}
	if err != nil {
		return fmt.Errorf("task: acquiring the lease of node %s: %w", quote.Short(e.cfg.node), err)
	}
	e.mu.Lock()
	e.lease = &nodeLease{locker: c.locker, owner: owner, cur: l, lastOK: e.now()}
	e.mu.Unlock()
	if perr != nil {
		prev = lock.Lease{} // none before, or unknown
	}
	e.sweepOwn(ctx, prev)
	return nil
}

// startRenewer starts the goroutine that renews the node lease and
// sweeps every renewal interval (sweep.go); e.mu must be held.
func (e *Engine) startRenewer() {
	nl := e.lease
	if nl == nil {
		return
	}
	ctx, cancel := context.WithCancel(e.storeCtx)
	stop, done, polled := make(chan struct{}), make(chan struct{}), make(chan struct{})
	nl.stop = func() {
		cancel()
		close(stop)
		<-done
		<-polled
	}
	// The tickers are made here, not in the goroutines, so that they
	// count from Start.
	go e.renewLoop(ctx, nl, e.clock.NewTicker(e.cfg.lease.every), stop, done)
	go e.pollLoop(ctx, e.clock.NewTicker(e.cfg.lease.poll), stop, polled)
}

// pollLoop reads the task states of the store every poll interval
// (WithStatePoll), so that what other engines change reaches this one.
func (e *Engine) pollLoop(ctx context.Context, t clockwork.Ticker, stop, done chan struct{}) {
	defer close(done)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.Chan():
		}
		e.pollStates(ctx)
	}
}

// pollStates replaces the engine's copy of each registered task's state
// with the store's. It holds saveMu, so that no state the engine writes
// meanwhile is overwritten by an older one read before it.
func (e *Engine) pollStates(ctx context.Context) {
	defer e.polls.Add(1)
	l, ok := e.store.(store.StateLister)
	if !ok {
		return
	}
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	all, err := l.ListTaskStates(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Debug("polling task states", zap.Error(err))
		}
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, st := range all {
		if ent := e.tasks[st.Task]; ent != nil {
			ent.setState(*st)
		}
	}
}

func (e *Engine) renewLoop(ctx context.Context, nl *nodeLease, t clockwork.Ticker, stop, done chan struct{}) {
	defer close(done)
	defer t.Stop()
	e.startWaiting() // re-runs of this node's earlier process (sweepOwn)
	for {
		select {
		case <-stop:
			return
		case <-t.Chan():
		}
		e.renewLease(ctx, nl)
		e.renewSingles(ctx, nl.locker) // single.go, graphlease.go
		e.releaseIdleGraphLeases()
		e.sweep(ctx, nl.locker)
		e.startWaiting()
	}
}

// renewLease renews the node lease once. A lease found lost (it expired
// while the locker could not be reached, or was taken), or not renewed for
// a TTL, means other engines may have marked this node's runs abandoned
// and re-run them: the engine stops its runs, with cause ErrLeaseLost,
// once per lapse. A lost lease is then acquired anew: the node is alive.
// Errors are logged; the next interval tries again.
func (e *Engine) renewLease(ctx context.Context, nl *nodeLease) {
	nl.mu.Lock()
	cur, lastOK, lapsed := nl.cur, nl.lastOK, nl.lapsed
	nl.mu.Unlock()
	l, err := nl.locker.Renew(ctx, cur, e.cfg.lease.ttl)
	if errors.Is(err, lock.ErrLost) {
		e.log.Error("node lease lost; other engines may mark this node's runs abandoned", zap.String("node", e.cfg.node), zap.Error(err))
		if !lapsed {
			e.stopRunsLeaseLost()
		}
		l, err = nl.locker.Acquire(ctx, lock.AcquireParams{Key: cur.Key, Owner: nl.owner, TTL: e.cfg.lease.ttl})
		if err != nil {
			lapsed = true
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("renewing the node lease", zap.String("node", e.cfg.node), zap.Error(err))
		if !lapsed && e.now().Sub(lastOK) >= e.cfg.lease.ttl {
			e.log.Error("node lease not renewed for a TTL; stopping this node's runs, which other engines may now mark abandoned",
				zap.String("node", e.cfg.node), zap.Time("last_renewed", lastOK), zap.Duration("ttl", e.cfg.lease.ttl))
			e.stopRunsLeaseLost()
			lapsed = true
		}
		nl.mu.Lock()
		nl.lapsed = lapsed
		nl.mu.Unlock()
		return
	}
	nl.mu.Lock()
	nl.cur, nl.lastOK, nl.lapsed = l, e.now(), false
	nl.mu.Unlock()
}

// stopRunsLeaseLost stops every run of the engine, running or queued,
// with cause ErrLeaseLost.
func (e *Engine) stopRunsLeaseLost() {
	rs := e.runs.all()
	for _, r := range rs {
		r.stop(ErrLeaseLost)
	}
	if len(rs) > 0 {
		e.log.Warn("stopped the runs of this node: its lease lapsed", zap.String("node", e.cfg.node), zap.Int("runs", len(rs)))
	}
}

// stopLease stops the renewer and releases the lease, within ctx; a
// failed release is logged (the lease then ends at its expiry).
func (e *Engine) stopLease(ctx context.Context) {
	e.mu.Lock()
	nl := e.lease
	e.lease = nil
	e.mu.Unlock()
	if nl == nil {
		return
	}
	if nl.stop != nil {
		nl.stop()
	}
	if ctx.Err() != nil {
		ctx = e.storeCtx // a release is one short call: still try it
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	nl.mu.Lock()
	cur := nl.cur
	nl.mu.Unlock()
	if err := nl.locker.Release(ctx, cur); err != nil {
		e.log.Warn("releasing the node lease", zap.String("node", e.cfg.node), zap.Error(err))
	}
}
