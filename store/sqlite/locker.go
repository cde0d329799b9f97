package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/taskmill/taskmill/lock"
)

// Locker is a lock.Locker on a Store's database: its leases live in the
// table {prefix}leases, created by the store's migrations, so every Store
// on the same file with the same prefix, in this process or another, sees
// the same leases. Get one with Store.Locker. It is safe for concurrent
// use; after the Store is closed its methods return errors wrapping
// store.ErrClosed.
//
// Each method is one SQL statement, atomic on its own: Acquire is an
// INSERT ... ON CONFLICT DO UPDATE that takes the key only where its lease
// has expired, so of several acquirers exactly one gets a row back. The
// time is SQLite's clock ('now' in the statement, in milliseconds), read
// once per statement: the clock of the machine every process sharing the
// file runs on. TTLs are rounded up to a millisecond.
//
// The statements do not queue behind the Store's group-committing writer
// (see Concurrency in the package doc): a lease call waits at most for the
// group that holds SQLite's write lock at that moment, on the busy
// timeout, never for the writes queued behind it, so a renewal is not
// delayed by a burst of execution records.
type Locker struct {
	s *Store
	q leaseQueries
}

var _ lock.Locker = (*Locker)(nil)

// Locker returns the lock.Locker on the store's database. Its calls fail
// once the store is closed.
func (s *Store) Locker() lock.Locker {
	// s.q.executions is the prefix followed by "executions".
	return &Locker{s: s, q: newLeaseQueries(strings.TrimSuffix(s.q.executions, "executions"))}
}

// nowMicros is SQLite's current time in microseconds, whole milliseconds:
// unixepoch('subsec') has millisecond precision, rounded so the float
// does not truncate to 999 microseconds.
const nowMicros = `(CAST(round(unixepoch('subsec') * 1000) AS INTEGER) * 1000)`

type leaseQueries struct {
	acquire, renew, release, get string
}

func newLeaseQueries(prefix string) leaseQueries {
	t := prefix + "leases"
	return leaseQueries{
		acquire: `INSERT INTO ` + t + ` (key, owner, token, acquired_at, renewed_at, expires_at)
			VALUES (?1, ?2, 1, ` + nowMicros + `, ` + nowMicros + `, ` + nowMicros + ` + ?3)
			ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, token = token + 1,
				acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at,
				expires_at = excluded.expires_at
			WHERE expires_at <= excluded.acquired_at
			RETURNING token, acquired_at, renewed_at, expires_at`,
		renew: `UPDATE ` + t + ` SET renewed_at = ` + nowMicros + `, expires_at = ` + nowMicros + ` + ?4
			WHERE key = ?1 AND owner = ?2 AND token = ?3 AND expires_at > ` + nowMicros + `
			RETURNING acquired_at, renewed_at, expires_at`,
		release: `UPDATE ` + t + ` SET expires_at = ` + nowMicros + `
			WHERE key = ?1 AND owner = ?2 AND token = ?3 AND expires_at > ` + nowMicros,
		get: `SELECT owner, token, acquired_at, renewed_at, expires_at, expires_at > ` + nowMicros + `
			FROM ` + t + ` WHERE key = ?1`,
	}
}

// ttlMicros returns ttl in microseconds, rounded up to a whole millisecond,
// the precision of the clock.
func ttlMicros(ttl time.Duration) int64 {
	ms := int64(ttl / time.Millisecond)
	if ttl%time.Millisecond != 0 {
		ms++
	}
	return ms * 1000
}

func leaseTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Acquire implements lock.Locker.
func (l *Locker) Acquire(ctx context.Context, p lock.AcquireParams) (lock.Lease, error) {
	const op = "lock: acquire"
	if err := p.Validate(); err != nil {
		return lock.Lease{}, err
	}
	if err := l.s.enter(ctx, op); err != nil {
		return lock.Lease{}, err
	}
	defer l.s.leave()
	got := lock.Lease{Key: p.Key, Owner: p.Owner, Live: true}
	var acq, ren, exp int64
	err := l.s.db.QueryRowContext(ctx, l.q.acquire, p.Key, p.Owner, ttlMicros(p.TTL)).
		Scan(&got.Token, &acq, &ren, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		cur, found, err := l.get(ctx, p.Key)
		if err != nil {
			return lock.Lease{}, fail(ctx, op, err)
		}
		if !found { // never happens: rows are not deleted
			cur = lock.Lease{Key: p.Key}
		}
		return lock.Lease{}, lock.HeldError(cur)
	}
	if err != nil {
		return lock.Lease{}, fail(ctx, op, err)
	}
	got.Acquired, got.Renewed, got.Expires = leaseTime(acq), leaseTime(ren), leaseTime(exp)
	return got, nil
}

// Renew implements lock.Locker.
func (l *Locker) Renew(ctx context.Context, ls lock.Lease, ttl time.Duration) (lock.Lease, error) {
	const op = "lock: renew"
	if err := lock.CheckLease(ls); err != nil {
		return lock.Lease{}, err
	}
	if err := lock.CheckTTL(ttl); err != nil {
		return lock.Lease{}, err
	}
	if err := l.s.enter(ctx, op); err != nil {
		return lock.Lease{}, err
	}
	defer l.s.leave()
	var acq, ren, exp int64
	err := l.s.db.QueryRowContext(ctx, l.q.renew, ls.Key, ls.Owner, ls.Token, ttlMicros(ttl)).Scan(&acq, &ren, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return lock.Lease{}, l.lost(ctx, op, ls)
	}
	if err != nil {
		return lock.Lease{}, fail(ctx, op, err)
	}
	return lock.Lease{Key: ls.Key, Owner: ls.Owner, Token: ls.Token,
		Acquired: leaseTime(acq), Renewed: leaseTime(ren), Expires: leaseTime(exp), Live: true}, nil
}

// Release implements lock.Locker.
func (l *Locker) Release(ctx context.Context, ls lock.Lease) error {
	const op = "lock: release"
	if err := lock.CheckLease(ls); err != nil {
		return err
	}
	if err := l.s.enter(ctx, op); err != nil {
		return err
	}
	defer l.s.leave()
	res, err := l.s.db.ExecContext(ctx, l.q.release, ls.Key, ls.Owner, ls.Token)
	if err != nil {
		return fail(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail(ctx, op, err)
	}
	if n == 0 {
		return l.lost(ctx, op, ls)
	}
	return nil
}

// lost returns the lock.ErrLost error for ls, saying what holds the key
// now.
func (l *Locker) lost(ctx context.Context, op string, ls lock.Lease) error {
	cur, found, err := l.get(ctx, ls.Key)
	if err != nil {
		return fail(ctx, op, err)
	}
	return lock.LostError(ls, cur, found)
}

// Get implements lock.Locker.
func (l *Locker) Get(ctx context.Context, key string) (lock.Lease, error) {
	const op = "lock: get"
	if err := lock.CheckKey(key); err != nil {
		return lock.Lease{}, err
	}
	if err := l.s.enter(ctx, op); err != nil {
		return lock.Lease{}, err
	}
	defer l.s.leave()
	cur, found, err := l.get(ctx, key)
	if err != nil {
		return lock.Lease{}, fail(ctx, op, err)
	}
	if !found {
		return lock.Lease{}, lock.NotFoundError(key)
	}
	return cur, nil
}

// get reads the key's row. The caller has entered the store.
func (l *Locker) get(ctx context.Context, key string) (lock.Lease, bool, error) {
	cur := lock.Lease{Key: key}
	var acq, ren, exp int64
	err := l.s.db.QueryRowContext(ctx, l.q.get, key).Scan(&cur.Owner, &cur.Token, &acq, &ren, &exp, &cur.Live)
	if errors.Is(err, sql.ErrNoRows) {
		return lock.Lease{}, false, nil
	}
	if err != nil {
		return lock.Lease{}, false, err
	}
	cur.Acquired, cur.Renewed, cur.Expires = leaseTime(acq), leaseTime(ren), leaseTime(exp)
	return cur, true, nil
}
