package lock

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Memory is a Locker in memory, for one process: its leases are shared by
// the goroutines that use the same *Memory and by nothing else. Create one
// with NewMemory; the zero value is not usable. Times come from its clock
// (WithClock), so tests can move time instead of sleeping.
type Memory struct {
	clock clockwork.Clock

	mu     sync.Mutex
	leases map[string]Lease // the current or last grant of each key; Live unset
}

var _ Locker = (*Memory)(nil)

// MemoryOption configures NewMemory. A nil MemoryOption makes NewMemory
// fail with an error wrapping ErrInvalidOption.
type MemoryOption func(*Memory) error

// WithClock sets the clock that times the leases. A nil clock is an error
// wrapping ErrInvalidOption. Default: clockwork.NewRealClock().
func WithClock(c clockwork.Clock) MemoryOption {
	return func(m *Memory) error {
		if c == nil {
			return fmt.Errorf("%w: WithClock: clock is nil", ErrInvalidOption)
		}
		m.clock = c
		return nil
	}
}

// NewMemory returns an empty in-memory Locker.
func NewMemory(opts ...MemoryOption) (*Memory, error) {
	m := &Memory{clock: clockwork.NewRealClock(), leases: make(map[string]Lease)}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: option %d is nil", ErrInvalidOption, i)
		}
		if err := o(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Acquire implements Locker.
func (m *Memory) Acquire(ctx context.Context, p AcquireParams) (Lease, error) {
	if err := p.Validate(); err != nil {
		return Lease{}, err
	}
	if err := ctx.Err(); err != nil {
		return Lease{}, fmt.Errorf("lock: acquire: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	cur, found := m.leases[p.Key]
	if found && now.Before(cur.Expires) {
		return Lease{}, HeldError(cur)
	}
	l := Lease{Key: p.Key, Owner: p.Owner, Token: cur.Token + 1,
		Acquired: now, Renewed: now, Expires: now.Add(p.TTL)}
	m.leases[p.Key] = l
	l.Live = true
	return l, nil
}

// Renew implements Locker.
func (m *Memory) Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if err := CheckLease(l); err != nil {
		return Lease{}, err
	}
	if err := CheckTTL(ttl); err != nil {
		return Lease{}, err
	}
	if err := ctx.Err(); err != nil {
		return Lease{}, fmt.Errorf("lock: renew: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	cur, err := m.current(l, now)
	if err != nil {
		return Lease{}, err
	}
	cur.Renewed, cur.Expires = now, now.Add(ttl)
	m.leases[l.Key] = cur
	cur.Live = true
	return cur, nil
}

// Release implements Locker.
func (m *Memory) Release(ctx context.Context, l Lease) error {
	if err := CheckLease(l); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("lock: release: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.clock.Now()
	cur, err := m.current(l, now)
	if err != nil {
		return err
	}
	cur.Expires = now
	m.leases[l.Key] = cur
	return nil
}

// current returns the stored grant l names if it is live at now, else an
// error wrapping ErrLost. m.mu is held.
func (m *Memory) current(l Lease, now time.Time) (Lease, error) {
	cur, found := m.leases[l.Key]
	if !found || cur.Token != l.Token || cur.Owner != l.Owner || !now.Before(cur.Expires) {
		return Lease{}, LostError(l, cur, found)
	}
	return cur, nil
}

// Get implements Locker.
func (m *Memory) Get(ctx context.Context, key string) (Lease, error) {
	if err := CheckKey(key); err != nil {
		return Lease{}, err
	}
	if err := ctx.Err(); err != nil {
		return Lease{}, fmt.Errorf("lock: get: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, found := m.leases[key]
	if !found {
		return Lease{}, NotFoundError(key)
	}
	cur.Live = m.clock.Now().Before(cur.Expires)
	return cur, nil
}
