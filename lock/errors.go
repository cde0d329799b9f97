package lock

import "errors"

// Sentinel errors of this package; callers branch on them with errors.Is.
// The errors returned wrap them with the key, owner or value at fault.
var (
	// ErrHeld is returned by Acquire when the key has an unexpired lease,
	// whoever holds it (its own owner included). The wrapping error names
	// the key, the holder and when its lease expires.
	ErrHeld = errors.New("lock: lease is held")

	// ErrLost is returned by Renew and Release for a lease that is no
	// longer the key's live grant: it expired, was released, or another
	// grant (a higher token) replaced it. Whoever gets it must stop acting
	// as the holder.
	ErrLost = errors.New("lock: lease lost")

	// ErrNotFound is returned by Get for a key that was never granted.
	ErrNotFound = errors.New("lock: no lease for key")

	// ErrInvalidKey is returned for a key that is empty, longer than
	// MaxKeyLen bytes, not valid UTF-8 or holding a NUL byte. The wrapping
	// error quotes a bounded prefix of the key.
	ErrInvalidKey = errors.New("lock: invalid key")

	// ErrInvalidOwner is returned for an owner that is empty, longer than
	// MaxOwnerLen bytes, not valid UTF-8 or holding a NUL byte.
	ErrInvalidOwner = errors.New("lock: invalid owner")

	// ErrInvalidTTL is returned for a TTL that is zero or negative.
	ErrInvalidTTL = errors.New("lock: invalid TTL")

	// ErrInvalidOption is returned by NewMemory for a nil option, and by
	// WithClock for a nil clock.
	ErrInvalidOption = errors.New("lock: invalid option")

	// ErrInvalidToken is returned by Renew and Release for a lease whose
	// token is not positive: no grant carries such a token.
	ErrInvalidToken = errors.New("lock: invalid token")
)
