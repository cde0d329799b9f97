package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskmill/taskmill/lock"
)

// Locker is a lock.Locker on a Store's database: its leases live in the
// table {prefix}leases, created by the store's migrations, so every Store
// on the database with the same prefix and schema, in any process on any
// host, sees the same leases. Get one with Store.Locker. It is safe for
// concurrent use; after the Store is closed its methods return errors
// wrapping store.ErrClosed.
//
// Each method is one SQL statement, atomic on its own: Acquire is an
// INSERT ... ON CONFLICT DO UPDATE that takes the key only where its lease
// has expired and returns the grant, so of several acquirers exactly one
// gets a row back. Every time is the database's: now() in the statement
// decides expiry and sets Acquired, Renewed and Expires, so hosts whose
// clocks differ by seconds agree on who holds a key. TTLs are rounded up
// to a microsecond.
//
// The statements run on the pool directly, not through the store's
// batching writer, so a renewal never waits behind a batch of execution
// records.
type Locker struct {
	s *Store
	q leaseStatements
}

var _ lock.Locker = (*Locker)(nil)

// Locker returns the lock.Locker on the store's database. Its calls fail
// once the store is closed.
func (s *Store) Locker() lock.Locker {
	// s.t.version is the (schema-qualified) prefix followed by
	// "schema_version".
	return &Locker{s: s, q: newLeaseStatements(strings.TrimSuffix(s.t.version, "schema_version") + "leases")}
}

type leaseStatements struct {
	acquire, renew, release, get string
}

func newLeaseStatements(t string) leaseStatements {
	const ttl = `($3::bigint * interval '1 microsecond')`
	return leaseStatements{
		acquire: `INSERT INTO ` + t + ` AS l (key, owner, token, acquired_at, renewed_at, expires_at)
			VALUES ($1, $2, 1, now(), now(), now() + ` + ttl + `)
			ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, token = l.token + 1,
				acquired_at = EXCLUDED.acquired_at, renewed_at = EXCLUDED.renewed_at,
				expires_at = EXCLUDED.expires_at
			WHERE l.expires_at <= now()
			RETURNING token, acquired_at, renewed_at, expires_at`,
		renew: `UPDATE ` + t + ` SET renewed_at = now(), expires_at = now() + ($4::bigint * interval '1 microsecond')
			WHERE key = $1 AND owner = $2 AND token = $3 AND expires_at > now()
			RETURNING acquired_at, renewed_at, expires_at`,
		release: `UPDATE ` + t + ` SET expires_at = now()
			WHERE key = $1 AND owner = $2 AND token = $3 AND expires_at > now()`,
		get: `SELECT owner, token, acquired_at, renewed_at, expires_at, expires_at > now()
			FROM ` + t + ` WHERE key = $1`,
	}
}

// ttlMicros returns ttl in microseconds, rounded up.
func ttlMicros(ttl time.Duration) int64 {
	us := int64(ttl / time.Microsecond)
	if ttl%time.Microsecond != 0 {
		us++
	}
	return us
}

// Acquire implements lock.Locker.
func (l *Locker) Acquire(ctx context.Context, p lock.AcquireParams) (lock.Lease, error) {
	const op = "lock: acquire"
	if err := p.Validate(); err != nil {
		return lock.Lease{}, err
	}
	if err := l.s.begin(ctx, op); err != nil {
		return lock.Lease{}, err
	}
	got := lock.Lease{Key: p.Key, Owner: p.Owner, Live: true}
	err := l.s.pool.QueryRow(ctx, l.q.acquire, p.Key, p.Owner, ttlMicros(p.TTL)).
		Scan(&got.Token, &got.Acquired, &got.Renewed, &got.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		cur, found, err := l.get(ctx, p.Key)
		if err != nil {
			return lock.Lease{}, l.s.fail(ctx, op, err)
		}
		if !found { // never happens: rows are not deleted
			cur = lock.Lease{Key: p.Key}
		}
		return lock.Lease{}, lock.HeldError(cur)
	}
	if err != nil {
		return lock.Lease{}, l.s.fail(ctx, op, err)
	}
	utc(&got)
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
	if err := l.s.begin(ctx, op); err != nil {
		return lock.Lease{}, err
	}
	got := lock.Lease{Key: ls.Key, Owner: ls.Owner, Token: ls.Token, Live: true}
	err := l.s.pool.QueryRow(ctx, l.q.renew, ls.Key, ls.Owner, ls.Token, ttlMicros(ttl)).
		Scan(&got.Acquired, &got.Renewed, &got.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return lock.Lease{}, l.lost(ctx, op, ls)
	}
	if err != nil {
		return lock.Lease{}, l.s.fail(ctx, op, err)
	}
	utc(&got)
	return got, nil
}

// Release implements lock.Locker.
func (l *Locker) Release(ctx context.Context, ls lock.Lease) error {
	const op = "lock: release"
	if err := lock.CheckLease(ls); err != nil {
		return err
	}
	if err := l.s.begin(ctx, op); err != nil {
		return err
	}
	tag, err := l.s.pool.Exec(ctx, l.q.release, ls.Key, ls.Owner, ls.Token)
	if err != nil {
		return l.s.fail(ctx, op, err)
	}
	if tag.RowsAffected() == 0 {
		return l.lost(ctx, op, ls)
	}
	return nil
}

// lost returns the lock.ErrLost error for ls, saying what holds the key
// now.
func (l *Locker) lost(ctx context.Context, op string, ls lock.Lease) error {
	cur, found, err := l.get(ctx, ls.Key)
	if err != nil {
		return l.s.fail(ctx, op, err)
	}
	return lock.LostError(ls, cur, found)
}

// Get implements lock.Locker.
func (l *Locker) Get(ctx context.Context, key string) (lock.Lease, error) {
	const op = "lock: get"
	if err := lock.CheckKey(key); err != nil {
		return lock.Lease{}, err
	}
	if err := l.s.begin(ctx, op); err != nil {
		return lock.Lease{}, err
	}
	cur, found, err := l.get(ctx, key)
	if err != nil {
		return lock.Lease{}, l.s.fail(ctx, op, err)
	}
	if !found {
		return lock.Lease{}, lock.NotFoundError(key)
	}
	return cur, nil
}

// get reads the key's row.
func (l *Locker) get(ctx context.Context, key string) (lock.Lease, bool, error) {
	cur := lock.Lease{Key: key}
	err := l.s.pool.QueryRow(ctx, l.q.get, key).
		Scan(&cur.Owner, &cur.Token, &cur.Acquired, &cur.Renewed, &cur.Expires, &cur.Live)
	if errors.Is(err, pgx.ErrNoRows) {
		return lock.Lease{}, false, nil
	}
	if err != nil {
		return lock.Lease{}, false, err
	}
	utc(&cur)
	return cur, true, nil
}

// utc puts the times of l in UTC, as the store's other times are.
func utc(l *lock.Lease) {
	l.Acquired, l.Renewed, l.Expires = l.Acquired.UTC(), l.Renewed.UTC(), l.Expires.UTC()
}
