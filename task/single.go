// This file owns SingleInstance leases of one-shot runs (RunOnce, RunMain).

package task

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/lock"
)

// SingleInstance for RunOnce and RunMain. With a locker (the one of the
// engine's node lease, lease.go), the one-shot engine takes a lease on
// "single/<task name>" after Start and before it records its run, holds
// it until the run has ended and then releases it. The owner is the node
// lease's (node id and a random suffix), so a refusal names the holder's
// node. The renewer renews it in the same tick as the node lease, just
// after it, with the same TTL: a process killed while it runs frees the
// task within one TTL of its last renewal, and its node lease, acquired
// and renewed just before, has ended by then too. So the next process,
// once it holds the task's lease, sweeps (sweep.go): the killed process's
// record names a node whose lease has ended, and is marked abandoned
// before runNow reads the store for a running execution of the task and
// records the new run. (A kill between the two renewals of one tick
// leaves the node lease one interval longer than the task's: the read
// then refuses the next start, naming the killed run, for that interval
// more, until a sweep marks it.)
//
// The leases are kept in Engine.single, whose mutex is a leaf.

func singleKey(task string) string { return "single/" + task }

// singleLeases are the SingleInstance leases an engine holds, by key.
type singleLeases struct {
	mu   sync.Mutex
	held map[string]lock.Lease
}

func (s *singleLeases) put(l lock.Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held == nil {
		s.held = make(map[string]lock.Lease)
	}
	s.held[l.Key] = l
}

func (s *singleLeases) all() []lock.Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	ls := make([]lock.Lease, 0, len(s.held))
	for _, l := range s.held {
		ls = append(ls, l)
	}
	return ls
}

// update keeps l, a renewal, if its grant is still held.
func (s *singleLeases) update(l lock.Lease) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.held[l.Key]; ok && cur.Token == l.Token {
		s.held[l.Key] = l
	}
}

// take removes the grant of key with token, and reports whether it was
// held.
func (s *singleLeases) take(key string, token int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.held[key]; !ok || cur.Token != token {
		return false
	}
	delete(s.held, key)
	return true
}

// holdSingle takes the SingleInstance lease of task for the engine's
// one-shot run, then sweeps once; release ends the lease. Without a node
// lease (no locker) it does nothing: runNow's read is all there is. A lease
// held by another process is refused with an error wrapping
// ErrAlreadyRunning and lock.ErrHeld, naming the task and the holder.
func (e *Engine) holdSingle(ctx context.Context, task string) (release func(), err error) {
	e.mu.Lock()
	nl := e.lease
	e.mu.Unlock()
	if nl == nil {
		return func() {}, nil
	}
	l, err := nl.locker.Acquire(ctx, lock.AcquireParams{Key: singleKey(task), Owner: nl.owner, TTL: e.cfg.lease.ttl})
	if errors.Is(err, lock.ErrHeld) {
		return nil, fmt.Errorf("%w: task %q is run by another process: %w", ErrAlreadyRunning, task, err)
	}
	if err != nil {
		return nil, fmt.Errorf("task: task %q: acquiring its single-instance lease: %w", task, err)
	}
	e.single.put(l)
	e.sweep(ctx, nl.locker)
	return func() { e.releaseSingle(nl.locker, l) }, nil
}

// releaseSingle ends the SingleInstance lease l unless it was lost; a
// failed release is logged (the lease then ends at its expiry).
func (e *Engine) releaseSingle(locker lock.Locker, l lock.Lease) {
	if !e.single.take(l.Key, l.Token) {
		return
	}
	ctx, cancel := context.WithTimeout(e.storeCtx, time.Second)
	defer cancel()
	if err := locker.Release(ctx, l); err != nil {
		e.log.Warn("releasing the single-instance lease", zap.String("key", l.Key), zap.Error(err))
	}
}

// renewSingles renews the SingleInstance leases; the renewer calls it
// just after renewing the node lease. Errors other than a loss are
// logged, and the next interval tries again.
func (e *Engine) renewSingles(ctx context.Context, locker lock.Locker) {
	for _, l := range e.single.all() {
		renewed, err := locker.Renew(ctx, l, e.cfg.lease.ttl)
		switch {
		case err == nil:
			e.single.update(renewed)
		case errors.Is(err, lock.ErrLost):
			switch {
			case !e.single.take(l.Key, l.Token):
			case strings.HasPrefix(l.Key, graphKeyPrefix):
				e.graphLeaseLost(l, err)
			default:
				e.singleLeaseLost(l, err)
			}
		case ctx.Err() == nil:
			e.log.Warn("renewing the single-instance lease", zap.String("key", l.Key), zap.Error(err))
		}
	}
}

// singleLeaseLost is called once when the SingleInstance lease l is found
// lost mid-run (it expired while the locker could not be reached, or
// another process took it after it expired): another process may now run
// the task. The one-shot engine's runs are stopped with ErrLeaseLost, as
// when the node lease is lost.
func (e *Engine) singleLeaseLost(l lock.Lease, err error) {
	e.log.Error("single-instance lease lost while the task runs: another process may run it now; stopping the run",
		zap.String("key", l.Key), zap.Int64("token", l.Token), zap.String("node", e.cfg.node), zap.Error(err))
	e.stopRunsLeaseLost()
}
