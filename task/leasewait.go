// This file owns Start's wait for a node lease held by a dead earlier
// process with the same node id.

package task

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/lock"
)

// A node id is in use while its lease is live (lease.go). At Start, the
// holder of a live lease on the engine's node id is either another engine
// given the same node id, a mistake, or an earlier process of this node
// that died without releasing it (kill -9, a crash) and whose lease has not
// expired yet. A supervisor restarts a crashed process at once (systemd
// after 100 ms by default), well within a TTL; a Start that failed then
// would be restarted again and again until the supervisor gives up
// (systemd: after five starts in ten seconds), leaving the service down.
// So Start watches the lease instead: a holder that renews it (or a new
// grant) is alive, and Start fails with lock.ErrHeld; a lease that
// expires was a dead process's, and Start takes it. It watches for at
// most the TTL and one renewal interval (its own, WithLease), in which a
// dead holder's lease expires and a live one is renewed if they share
// the settings, and never past its context.

// nodeLeaseWaitPolls is how many times per renewal interval Start reads a
// node lease it found held.
const nodeLeaseWaitPolls = 5

// awaitNodeLease acquires the node lease of p, which Acquire found held,
// once its holder is found dead, and returns it and the dead holder's
// last grant. If the holder is alive, the error wraps lock.ErrHeld.
func (e *Engine) awaitNodeLease(ctx context.Context, p lock.AcquireParams) (l, prev lock.Lease, err error) {
	c := e.cfg.lease
	readAt := e.clock.Now()
	deadline := readAt.Add(c.ttl + c.every)
	first, err := c.locker.Get(ctx, p.Key)
	if err != nil {
		return l, prev, err
	}
	if first.Live {
		e.log.Warn("start: the node's lease is held, by an earlier process of this node that died or by another engine with the same node id; waiting for it to expire",
			zap.String("node", e.cfg.node), zap.String("holder", first.Owner), zap.Duration("at_most", c.ttl+c.every))
	}
	for cur := first; ; {
		switch {
		case !cur.Live:
			// A lease that expired: its holder is dead. (ErrHeld now
			// means another engine took it first.)
			l, err = c.locker.Acquire(ctx, p)
			return l, cur, err
		case cur.Token != first.Token || cur.Renewed.After(first.Renewed):
			return l, prev, fmt.Errorf("%w, renewed since Start found it held", lock.HeldError(cur))
		case !readAt.Before(deadline):
			return l, prev, fmt.Errorf("%w, not expired after %v", lock.HeldError(cur), c.ttl+c.every)
		}
		wait := e.clock.After(c.every / nodeLeaseWaitPolls)
		e.leaseWaits.Add(1)
		select {
		case <-ctx.Done():
			return l, prev, ctx.Err()
		case <-wait:
		}
		readAt = e.clock.Now()
		if cur, err = c.locker.Get(ctx, p.Key); err != nil {
			return l, prev, err
		}
	}
}
