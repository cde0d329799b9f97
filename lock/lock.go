package lock

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/taskmill/taskmill/internal/quote"
)

// Limits on the text of a lease, so that every backend can store it.
const (
	// MaxKeyLen is the longest key, in bytes.
	MaxKeyLen = 512
	// MaxOwnerLen is the longest owner, in bytes.
	MaxOwnerLen = 512
)

// Lease is one grant of a key to an owner, as a Locker reports it. It is
// a value: it names the grant (Key, Owner, Token) and says what the
// locker knew when it made or read it. Holding a Lease value proves
// nothing by itself; Renew says whether it is still the key's grant.
type Lease struct {
	Key   string
	Owner string
	// Token is the fencing token of the grant: every new grant of Key
	// (after a release or an expiry) carries a higher token than every
	// earlier one, so a resource that remembers the highest token it has
	// seen can refuse the writes of a holder that was replaced. Renewing
	// keeps the token.
	Token int64
	// Acquired is when the grant was made, Renewed when it was last
	// renewed (Acquired until the first renewal), Expires when it ends
	// unless renewed. After Release, Expires is the time of the release.
	// The times are on the locker's clock: the database's for the SQL
	// lockers.
	Acquired, Renewed, Expires time.Time
	// Live reports whether the grant was unexpired and not released on the
	// locker's clock when the locker made or read this value: always true
	// from Acquire and Renew; from Get, whether the key was held. Compare
	// with Live rather than with Expires and the local clock, which may
	// differ from a database's by seconds.
	Live bool
}

// Locker grants leases on keys. Its methods are safe for concurrent use,
// and its state is shared by every Locker on the same backing store (two
// handles on one database, several processes on one file) as if they
// were one.
//
// A key has at most one live lease. A lease ends when its TTL passes
// without a renewal, or when its holder releases it; the key is then free
// for the next Acquire, which makes a new grant with a higher token.
// Methods return an error wrapping ErrInvalidKey, ErrInvalidOwner,
// ErrInvalidTTL or ErrInvalidToken for bad input, naming it, and the
// context's error if it ends first.
type Locker interface {
	// Acquire grants p.Key to p.Owner for p.TTL and returns the lease, with
	// a token higher than any earlier grant of the key. If the key has a
	// live lease, it returns an error wrapping ErrHeld, also when the
	// holder is p.Owner: a holder keeps its lease with Renew, and a second
	// grant would make two live tokens for one key.
	Acquire(ctx context.Context, p AcquireParams) (Lease, error)

	// Renew extends l, if it is still the key's live grant (same owner and
	// token, not expired, not released), to expire ttl from now, and
	// returns the renewed lease. Otherwise it returns an error wrapping
	// ErrLost and changes nothing: a lease that expired is lost even if no
	// one took the key, since others may have acted on its expiry.
	Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)

	// Release ends l at once, if it is still the key's live grant, so the
	// key can be acquired again; the token is never reused. Otherwise it
	// returns an error wrapping ErrLost and changes nothing: it never ends
	// another owner's lease, nor a later grant to the same owner.
	Release(ctx context.Context, l Lease) error

	// Get returns the key's current or last grant, live or not (see
	// Lease.Live), or an error wrapping ErrNotFound if the key was never
	// granted.
	Get(ctx context.Context, key string) (Lease, error)
}

// AcquireParams are the inputs of Locker.Acquire.
type AcquireParams struct {
	Key   string
	Owner string
	// TTL is how long the lease lasts unless renewed. It must be positive;
	// the SQL lockers round it up to a microsecond.
	TTL time.Duration
}

// Validate checks p as every Locker does before Acquire; the error wraps
// ErrInvalidKey, ErrInvalidOwner or ErrInvalidTTL and names the input.
func (p AcquireParams) Validate() error {
	if err := CheckKey(p.Key); err != nil {
		return err
	}
	if err := checkText(ErrInvalidOwner, "owner", p.Owner, MaxOwnerLen); err != nil {
		return err
	}
	return CheckTTL(p.TTL)
}

// CheckKey returns an error wrapping ErrInvalidKey, quoting a bounded
// prefix of key, if key is not one a Locker accepts.
func CheckKey(key string) error {
	return checkText(ErrInvalidKey, "key", key, MaxKeyLen)
}

// CheckTTL returns an error wrapping ErrInvalidTTL, naming ttl, if it is
// zero or negative.
func CheckTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: TTL %v must be positive", ErrInvalidTTL, ttl)
	}
	return nil
}

// CheckLease returns an error naming what is wrong with l as an argument
// of Renew or Release: its key, its owner, or a token that no grant
// carries.
func CheckLease(l Lease) error {
	if err := CheckKey(l.Key); err != nil {
		return err
	}
	if err := checkText(ErrInvalidOwner, "owner", l.Owner, MaxOwnerLen); err != nil {
		return err
	}
	if l.Token <= 0 {
		return fmt.Errorf("%w: token %d of the lease on key %s must be positive", ErrInvalidToken, l.Token, quote.Short(l.Key))
	}
	return nil
}

func checkText(sentinel error, what, v string, limit int) error {
	var why string
	switch {
	case v == "":
		return fmt.Errorf("%w: %s is empty", sentinel, what)
	case len(v) > limit:
		why = fmt.Sprintf("is longer than %d bytes", limit)
	case !utf8.ValidString(v):
		why = "is not valid UTF-8"
	case strings.IndexByte(v, 0) >= 0:
		why = "contains a NUL byte"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s %s %s", sentinel, what, quote.Short(v), why)
}

// HeldError returns the error of an Acquire refused because cur, a live
// lease, holds the key: it wraps ErrHeld and names the key, the holder and
// the expiry. Backends use it so that the message is the same everywhere.
func HeldError(cur Lease) error {
	return fmt.Errorf("%w: key %s is held by %s (token %d) until %s", ErrHeld,
		quote.Short(cur.Key), quote.Short(cur.Owner), cur.Token, cur.Expires.UTC().Format(time.RFC3339Nano))
}

// LostError returns the error of a Renew or Release of l refused because l
// is no longer the key's live grant; cur is the key's grant now (found
// false if the key has none). It wraps ErrLost and says why.
func LostError(l Lease, cur Lease, found bool) error {
	var why string
	switch {
	case !found:
		why = "the key has no lease"
	case cur.Token != l.Token || cur.Owner != l.Owner:
		why = fmt.Sprintf("the key was granted to %s (token %d)", quote.Short(cur.Owner), cur.Token)
	default:
		why = "it expired or was released at " + cur.Expires.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Errorf("%w: lease on key %s of %s (token %d): %s", ErrLost,
		quote.Short(l.Key), quote.Short(l.Owner), l.Token, why)
}

// NotFoundError returns the error of Get for a key never granted: it wraps
// ErrNotFound and names the key.
func NotFoundError(key string) error {
	return fmt.Errorf("%w %s", ErrNotFound, quote.Short(key))
}
