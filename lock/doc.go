// Package lock grants leases: time-limited, renewable ownership of a key,
// each grant stamped with a fencing token.
//
//	l, err := locker.Acquire(ctx, lock.AcquireParams{Key: "node/host-1", Owner: "host-1/4242", TTL: 15 * time.Second})
//	if errors.Is(err, lock.ErrHeld) { ... someone else holds it ... }
//	...
//	l, err = locker.Renew(ctx, l, 15*time.Second) // every few seconds
//	if errors.Is(err, lock.ErrLost) { ... stop acting as the holder ... }
//	...
//	err = locker.Release(ctx, l)
//
// # Leases
//
// A lease lasts for its TTL unless its holder renews it, so a holder that
// dies (a killed process, a lost network) frees its key within one TTL
// without anyone's help. A key has at most one live lease: Acquire fails
// with ErrHeld while it has one, whoever asks. Renew and Release act only
// on the key's live grant, named by owner and token; for anything else —
// a lease that expired, was released, or was replaced by a later grant —
// they return ErrLost and change nothing, so a holder that was away too
// long learns it, and can never end another's lease. Get reads a key's
// current or last grant (holder, token, when acquired, last renewed and
// when it expires), which lets others tell a live holder from a dead one.
//
// # Fencing tokens
//
// A holder can be paused (a GC pause, a stopped VM) past its lease's
// expiry and then carry on, not knowing another now holds the key. Each
// grant of a key therefore carries a token higher than every earlier
// grant's, released and expired ones included: a resource that keeps the
// highest token it has accepted refuses the late writes of the old
// holder. Renewals keep the token.
//
// # Clocks
//
// Expiry is decided on one clock, the locker's, never on the callers':
// Memory uses its clockwork.Clock (WithClock, for tests), the SQLite
// locker the clock of the machine that shares the file, and the
// PostgreSQL locker the database server's clock (now() in every
// statement), so instances whose clocks differ by seconds still agree on
// who holds a key. Lease.Live carries the locker's verdict; comparing
// Lease.Expires with a local clock would bring the skew back.
//
// # Implementations
//
// Memory, here, serves one process. store/sqlite and store/postgres
// provide Lockers on their databases, in the store's tables (same prefix,
// same migrations), shared by every handle and process on that database.
// Package lock/locktest is the conformance suite all of them pass.
package lock
