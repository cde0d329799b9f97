// Package locktest is the conformance suite of lock.Locker: every
// implementation runs Run, those whose state two handles share (two
// stores on one database) run RunShared too, and those of a store that can
// be closed RunClosed.
//
// Expiry is tested with real short TTLs, since the SQL lockers use the
// database's clock, which a test cannot move: each expiry test waits about
// a second at most, and the suite runs its tests in parallel.
package locktest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskmill/taskmill/lock"
)

// Durations of the suite. A short lease is surely expired after
// expiryWait; a long one surely is not for the length of a test.
const (
	shortTTL   = 200 * time.Millisecond
	expiryWait = 600 * time.Millisecond
	longTTL    = time.Minute
)

// racers is how many goroutines race to acquire one key.
const racers = 16

// Run runs the conformance suite on Lockers made by newLocker, one per
// test; each must start with no leases (or keys the tests do not use).
func Run(t *testing.T, newLocker func(t *testing.T) lock.Locker) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, l lock.Locker)
	}{
		{"BadInput", testBadInput},
		{"AcquireGet", testAcquireGet},
		{"GetNotFound", testGetNotFound},
		{"HeldRefused", testHeldRefused},
		{"KeysIndependent", testKeysIndependent},
		{"Release", testRelease},
		{"ReleaseByNonOwner", testReleaseByNonOwner},
		{"Renew", testRenew},
		{"RenewKeepsAlive", testRenewKeepsAlive},
		{"Expiry", testExpiry},
		{"ExpiredRenewLost", testExpiredRenewLost},
		{"TokensIncrease", testTokensIncrease},
		{"ConcurrentAcquire", testConcurrentAcquire},
		{"ContextDone", testContextDone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newLocker(t))
		})
	}
}

// RunShared runs the tests of mutual exclusion across two handles on one
// backing store: newPair returns two Lockers that share their leases (two
// Stores on one database or file), with no leases the tests use.
func RunShared(t *testing.T, newPair func(t *testing.T) (lock.Locker, lock.Locker)) {
	t.Run("ConcurrentAcquire", func(t *testing.T) {
		t.Parallel()
		a, b := newPair(t)
		raceAcquire(t, []lock.Locker{a, b}, "shared/race")
	})
	t.Run("SeenByOther", func(t *testing.T) {
		t.Parallel()
		a, b := newPair(t)
		ctx := t.Context()
		la := mustAcquire(t, a, "shared/seen", "a", longTTL)
		if _, err := b.Acquire(ctx, params("shared/seen", "b", longTTL)); !errors.Is(err, lock.ErrHeld) {
			t.Fatalf("Acquire on the other handle: %v, want ErrHeld", err)
		}
		got, err := b.Get(ctx, "shared/seen")
		if err != nil || got.Owner != "a" || got.Token != la.Token || !got.Live {
			t.Fatalf("Get on the other handle = %+v, %v; want owner a, token %d, live", got, err, la.Token)
		}
		// A lease is a value: the other handle renews and releases it.
		if _, err := b.Renew(ctx, la, longTTL); err != nil {
			t.Fatalf("Renew on the other handle: %v", err)
		}
		if err := b.Release(ctx, la); err != nil {
			t.Fatalf("Release on the other handle: %v", err)
		}
		lb := mustAcquire(t, b, "shared/seen", "b", longTTL)
		if lb.Token <= la.Token {
			t.Fatalf("token after release on the other handle = %d, want > %d", lb.Token, la.Token)
		}
		if _, err := a.Renew(ctx, la, longTTL); !errors.Is(err, lock.ErrLost) {
			t.Fatalf("Renew of the replaced lease: %v, want ErrLost", err)
		}
	})
	t.Run("ExpiryAcrossHandles", func(t *testing.T) {
		t.Parallel()
		a, b := newPair(t)
		la := mustAcquire(t, a, "shared/expiry", "a", shortTTL)
		time.Sleep(expiryWait)
		lb := mustAcquire(t, b, "shared/expiry", "b", longTTL)
		if lb.Token <= la.Token {
			t.Fatalf("token after expiry = %d, want > %d", lb.Token, la.Token)
		}
		if _, err := a.Renew(t.Context(), la, longTTL); !errors.Is(err, lock.ErrLost) {
			t.Fatalf("Renew of the expired lease on its own handle: %v, want ErrLost", err)
		}
	})
}

// RunClosed checks the Locker of a backing store that can be closed (a
// SQL store's): after close, Acquire, Renew and Release of a lease granted
// before, and Get all return an error wrapping want (store.ErrClosed for
// the SQL stores). newLocker returns a Locker with no leases and the
// function that closes its store.
func RunClosed(t *testing.T, newLocker func(t *testing.T) (lock.Locker, func() error), want error) {
	t.Helper()
	l, closeStore := newLocker(t)
	held := mustAcquire(t, l, "closed", "o", longTTL)
	if err := closeStore(); err != nil {
		t.Fatalf("close: %v", err)
	}
	ctx := t.Context()
	if _, err := l.Acquire(ctx, params("closed/2", "o", longTTL)); !errors.Is(err, want) {
		t.Errorf("Acquire after close: %v, want %v", err, want)
	}
	if _, err := l.Renew(ctx, held, longTTL); !errors.Is(err, want) {
		t.Errorf("Renew after close: %v, want %v", err, want)
	}
	if err := l.Release(ctx, held); !errors.Is(err, want) {
		t.Errorf("Release after close: %v, want %v", err, want)
	}
	if _, err := l.Get(ctx, "closed"); !errors.Is(err, want) {
		t.Errorf("Get after close: %v, want %v", err, want)
	}
}

func params(key, owner string, ttl time.Duration) lock.AcquireParams {
	return lock.AcquireParams{Key: key, Owner: owner, TTL: ttl}
}

func mustAcquire(t *testing.T, l lock.Locker, key, owner string, ttl time.Duration) lock.Lease {
	t.Helper()
	got, err := l.Acquire(t.Context(), params(key, owner, ttl))
	if err != nil {
		t.Fatalf("Acquire(%q, %q, %v): %v", key, owner, ttl, err)
	}
	if got.Key != key || got.Owner != owner || got.Token <= 0 || !got.Live {
		t.Fatalf("Acquire(%q, %q) = %+v, want that key and owner, a positive token, live", key, owner, got)
	}
	return got
}

// near reports whether a and b are within d of each other.
func near(a, b time.Time, d time.Duration) bool {
	diff := a.Sub(b)
	return diff <= d && diff >= -d
}

func testBadInput(t *testing.T, l lock.Locker) {
	ctx := t.Context()
	long := strings.Repeat("k", lock.MaxKeyLen+1)
	for _, c := range []struct {
		name string
		p    lock.AcquireParams
		want error
		says string
	}{
		{"empty key", params("", "o", time.Second), lock.ErrInvalidKey, "key is empty"},
		{"long key", params(long, "o", time.Second), lock.ErrInvalidKey, "longer than"},
		{"bad UTF-8 key", params("k\xff", "o", time.Second), lock.ErrInvalidKey, `"k\xff"`},
		{"NUL in key", params("k\x00", "o", time.Second), lock.ErrInvalidKey, "NUL"},
		{"empty owner", params("k", "", time.Second), lock.ErrInvalidOwner, "owner is empty"},
		{"zero TTL", params("k", "o", 0), lock.ErrInvalidTTL, "TTL 0s"},
		{"negative TTL", params("k", "o", -time.Second), lock.ErrInvalidTTL, "TTL -1s"},
	} {
		_, err := l.Acquire(ctx, c.p)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("Acquire with %s: %v, want an error wrapping %v that says %q", c.name, err, c.want, c.says)
		}
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("Acquire with %s: error of %d bytes, want the input quoted at a bounded length", c.name, len(err.Error()))
		}
	}
	if _, err := l.Get(ctx, "k"); !errors.Is(err, lock.ErrNotFound) {
		t.Errorf("Get after refused Acquires: %v, want ErrNotFound (nothing granted)", err)
	}
	if _, err := l.Get(ctx, ""); !errors.Is(err, lock.ErrInvalidKey) {
		t.Errorf("Get(\"\"): %v, want ErrInvalidKey", err)
	}
	good := mustAcquire(t, l, "k", "o", longTTL)
	if _, err := l.Renew(ctx, good, 0); !errors.Is(err, lock.ErrInvalidTTL) {
		t.Errorf("Renew with TTL 0: %v, want ErrInvalidTTL", err)
	}
	if _, err := l.Renew(ctx, good, -time.Minute); !errors.Is(err, lock.ErrInvalidTTL) {
		t.Errorf("Renew with TTL -1m: %v, want ErrInvalidTTL", err)
	}
	for _, c := range []struct {
		name   string
		mangle func(*lock.Lease)
		want   error
	}{
		{"zero lease", func(l *lock.Lease) { *l = lock.Lease{} }, lock.ErrInvalidKey},
		{"empty owner", func(l *lock.Lease) { l.Owner = "" }, lock.ErrInvalidOwner},
		{"zero token", func(l *lock.Lease) { l.Token = 0 }, lock.ErrInvalidToken},
		{"negative token", func(l *lock.Lease) { l.Token = -1 }, lock.ErrInvalidToken},
	} {
		bad := good
		c.mangle(&bad)
		if _, err := l.Renew(ctx, bad, time.Minute); !errors.Is(err, c.want) {
			t.Errorf("Renew of a lease with %s: %v, want %v", c.name, err, c.want)
		}
		if err := l.Release(ctx, bad); !errors.Is(err, c.want) {
			t.Errorf("Release of a lease with %s: %v, want %v", c.name, err, c.want)
		}
	}
	// None of it touched the good lease.
	if _, err := l.Renew(ctx, good, longTTL); err != nil {
		t.Errorf("Renew of the good lease after the bad calls: %v", err)
	}
}

func testAcquireGet(t *testing.T, l lock.Locker) {
	got := mustAcquire(t, l, "job/a", "owner-1", longTTL)
	if got.Acquired.IsZero() || !got.Renewed.Equal(got.Acquired) {
		t.Errorf("Acquire: Acquired %v, Renewed %v; want set and equal", got.Acquired, got.Renewed)
	}
	if d := got.Expires.Sub(got.Acquired); d < longTTL-time.Millisecond || d > longTTL+time.Millisecond {
		t.Errorf("Acquire: Expires - Acquired = %v, want the TTL %v", d, longTTL)
	}
	// The locker's clock may be a database's: compare with ours loosely.
	if !near(got.Acquired, time.Now(), time.Minute) {
		t.Errorf("Acquire: Acquired = %v, not within a minute of now", got.Acquired)
	}
	read, err := l.Get(t.Context(), "job/a")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if read.Key != got.Key || read.Owner != got.Owner || read.Token != got.Token || !read.Live ||
		!read.Acquired.Equal(got.Acquired) || !read.Renewed.Equal(got.Renewed) || !read.Expires.Equal(got.Expires) {
		t.Errorf("Get = %+v, want %+v", read, got)
	}
}

func testGetNotFound(t *testing.T, l lock.Locker) {
	_, err := l.Get(t.Context(), "never/granted")
	if !errors.Is(err, lock.ErrNotFound) || !strings.Contains(err.Error(), `"never/granted"`) {
		t.Fatalf("Get of a key never granted: %v, want ErrNotFound naming the key", err)
	}
}

func testHeldRefused(t *testing.T, l lock.Locker) {
	ctx := t.Context()
	first := mustAcquire(t, l, "held", "owner-1", longTTL)
	_, err := l.Acquire(ctx, params("held", "owner-2", longTTL))
	if !errors.Is(err, lock.ErrHeld) || !strings.Contains(err.Error(), `"owner-1"`) {
		t.Errorf("Acquire by another owner: %v, want ErrHeld naming the holder", err)
	}
	if _, err := l.Acquire(ctx, params("held", "owner-1", longTTL)); !errors.Is(err, lock.ErrHeld) {
		t.Errorf("Acquire by the holder again: %v, want ErrHeld", err)
	}
	got, err := l.Get(ctx, "held")
	if err != nil || got.Owner != "owner-1" || got.Token != first.Token || !got.Live {
		t.Errorf("Get after refused Acquires = %+v, %v; want the first grant, live", got, err)
	}
}

func testKeysIndependent(t *testing.T, l lock.Locker) {
	a := mustAcquire(t, l, "ind/a", "owner", longTTL)
	b := mustAcquire(t, l, "ind/b", "owner", longTTL)
	if err := l.Release(t.Context(), a); err != nil {
		t.Fatalf("Release a: %v", err)
	}
	got, err := l.Get(t.Context(), "ind/b")
	if err != nil || !got.Live || got.Token != b.Token {
		t.Fatalf("Get b after releasing a = %+v, %v; want b live", got, err)
	}
}

func testRelease(t *testing.T, l lock.Locker) {
	ctx := t.Context()
	first := mustAcquire(t, l, "rel", "owner-1", longTTL)
	if err := l.Release(ctx, first); err != nil {
		t.Fatalf("Release: %v", err)
	}
	got, err := l.Get(ctx, "rel")
	if err != nil || got.Live || got.Token != first.Token || got.Owner != "owner-1" {
		t.Errorf("Get after Release = %+v, %v; want the released grant, not live", got, err)
	}
	if got.Expires.After(first.Expires) || got.Expires.Before(first.Acquired) {
		t.Errorf("Get after Release: Expires %v, want the release time, between %v and %v", got.Expires, first.Acquired, first.Expires)
	}
	if err := l.Release(ctx, first); !errors.Is(err, lock.ErrLost) {
		t.Errorf("second Release: %v, want ErrLost", err)
	}
	if _, err := l.Renew(ctx, first, longTTL); !errors.Is(err, lock.ErrLost) {
		t.Errorf("Renew after Release: %v, want ErrLost", err)
	}
	// Free at once, for anyone, with a new token.
	second := mustAcquire(t, l, "rel", "owner-2", longTTL)
	if second.Token <= first.Token {
		t.Errorf("token after Release = %d, want > %d", second.Token, first.Token)
	}
	// The old lease cannot release the new grant, even by the same owner.
	third := mustAcquire(t, l, "rel2", "owner-1", longTTL)
	if err := l.Release(ctx, third); err != nil {
		t.Fatalf("Release: %v", err)
	}
	fourth := mustAcquire(t, l, "rel2", "owner-1", longTTL)
	if err := l.Release(ctx, third); !errors.Is(err, lock.ErrLost) {
		t.Errorf("Release of an earlier grant to the same owner: %v, want ErrLost", err)
	}
	if got, err := l.Get(ctx, "rel2"); err != nil || !got.Live || got.Token != fourth.Token {
		t.Errorf("Get after the refused Release = %+v, %v; want token %d live", got, err, fourth.Token)
	}
}

func testReleaseByNonOwner(t *testing.T, l lock.Locker) {
	ctx := t.Context()
	old := mustAcquire(t, l, "nonowner", "owner-1", longTTL)
	if err := l.Release(ctx, old); err != nil {
		t.Fatalf("Release: %v", err)
	}
	held := mustAcquire(t, l, "nonowner", "owner-1", longTTL)
	for _, c := range []struct {
		name string
		bad  lock.Lease
	}{
		{"another owner", lock.Lease{Key: held.Key, Owner: "owner-2", Token: held.Token}},
		{"an older token", old},
		{"a newer token", lock.Lease{Key: held.Key, Owner: held.Owner, Token: held.Token + 1}},
	} {
		if err := l.Release(ctx, c.bad); !errors.Is(err, lock.ErrLost) {
			t.Errorf("Release with %s: %v, want ErrLost", c.name, err)
		}
		if _, err := l.Renew(ctx, c.bad, longTTL); !errors.Is(err, lock.ErrLost) {
			t.Errorf("Renew with %s: %v, want ErrLost", c.name, err)
		}
	}
	got, err := l.Get(ctx, "nonowner")
	if err != nil || !got.Live || got.Owner != "owner-1" || got.Token != held.Token || !got.Expires.Equal(held.Expires) {
		t.Errorf("Get after refused calls = %+v, %v; want %+v unchanged", got, err, held)
	}
	if _, err := l.Acquire(ctx, params("nonowner", "owner-2", longTTL)); !errors.Is(err, lock.ErrHeld) {
		t.Errorf("Acquire after refused Release: %v, want ErrHeld", err)
	}
}

func testRenew(t *testing.T, l lock.Locker) {
	ctx := t.Context()
	first := mustAcquire(t, l, "renew", "owner-1", longTTL)
	got, err := l.Renew(ctx, first, 2*longTTL)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if got.Token != first.Token || got.Owner != first.Owner || got.Key != first.Key || !got.Live ||
		!got.Acquired.Equal(first.Acquired) {
		t.Errorf("Renew = %+v, want the grant %+v with a later expiry", got, first)
	}
	if got.Renewed.Before(first.Renewed) || !got.Expires.After(first.Expires) {
		t.Errorf("Renew: Renewed %v, Expires %v; want not before %v, after %v", got.Renewed, got.Expires, first.Renewed, first.Expires)
	}
	if d := got.Expires.Sub(got.Renewed); d < 2*longTTL-time.Millisecond || d > 2*longTTL+time.Millisecond {
		t.Errorf("Renew: Expires - Renewed = %v, want the TTL %v", d, 2*longTTL)
	}
	read, err := l.Get(ctx, "renew")
	if err != nil || !read.Expires.Equal(got.Expires) || !read.Renewed.Equal(got.Renewed) {
		t.Errorf("Get after Renew = %+v, %v; want %+v", read, err, got)
	}
	// The renewed value and the first both name the grant.
	if _, err := l.Renew(ctx, first, longTTL); err != nil {
		t.Errorf("Renew with the value Acquire returned: %v", err)
	}
}

func testRenewKeepsAlive(t *testing.T, l lock.Locker) {
	ctx := t.Context()
	first := mustAcquire(t, l, "alive", "owner-1", shortTTL)
	if _, err := l.Renew(ctx, first, longTTL); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	time.Sleep(expiryWait) // past the first TTL
	if _, err := l.Acquire(ctx, params("alive", "owner-2", longTTL)); !errors.Is(err, lock.ErrHeld) {
		t.Errorf("Acquire after the first TTL passed, renewed: %v, want ErrHeld", err)
	}
	if _, err := l.Renew(ctx, first, longTTL); err != nil {
		t.Errorf("Renew again: %v", err)
	}
}

func testExpiry(t *testing.T, l lock.Locker) {
	ctx := t.Context()
	first := mustAcquire(t, l, "expiry", "owner-1", shortTTL)
	time.Sleep(expiryWait)
	got, err := l.Get(ctx, "expiry")
	if err != nil || got.Live || got.Token != first.Token {
		t.Errorf("Get after expiry = %+v, %v; want the grant, not live", got, err)
	}
	second := mustAcquire(t, l, "expiry", "owner-2", longTTL)
	if second.Token <= first.Token {
		t.Errorf("token after expiry = %d, want > %d", second.Token, first.Token)
	}
	_, err = l.Renew(ctx, first, longTTL)
	if !errors.Is(err, lock.ErrLost) || !strings.Contains(err.Error(), `"owner-2"`) {
		t.Errorf("Renew of the taken lease: %v, want ErrLost naming the new holder", err)
	}
	if err := l.Release(ctx, first); !errors.Is(err, lock.ErrLost) {
		t.Errorf("Release of the taken lease: %v, want ErrLost", err)
	}
	if got, err := l.Get(ctx, "expiry"); err != nil || !got.Live || got.Owner != "owner-2" || got.Token != second.Token {
		t.Errorf("Get after the old holder's calls = %+v, %v; want owner-2's grant, live", got, err)
	}
}

func testExpiredRenewLost(t *testing.T, l lock.Locker) {
	ctx := t.Context()
	first := mustAcquire(t, l, "lapsed", "owner-1", shortTTL)
	time.Sleep(expiryWait)
	// No one took the key, yet the lease is lost: others may have acted
	// on its expiry.
	if _, err := l.Renew(ctx, first, longTTL); !errors.Is(err, lock.ErrLost) {
		t.Errorf("Renew of an expired lease: %v, want ErrLost", err)
	}
	if err := l.Release(ctx, first); !errors.Is(err, lock.ErrLost) {
		t.Errorf("Release of an expired lease: %v, want ErrLost", err)
	}
	if got, err := l.Get(ctx, "lapsed"); err != nil || got.Live {
		t.Errorf("Get after the refused Renew = %+v, %v; want not live", got, err)
	}
}

func testTokensIncrease(t *testing.T, l lock.Locker) {
	ctx := t.Context()
	var last int64
	next := func(what string, got lock.Lease) {
		t.Helper()
		if got.Token <= last {
			t.Fatalf("token %s = %d, want > %d", what, got.Token, last)
		}
		last = got.Token
	}
	for i := range 3 {
		a := mustAcquire(t, l, "tokens", fmt.Sprintf("owner-%d", i), longTTL)
		next("after a release", a)
		r, err := l.Renew(ctx, a, longTTL)
		if err != nil || r.Token != a.Token {
			t.Fatalf("Renew = %+v, %v; want token %d kept", r, err, a.Token)
		}
		if err := l.Release(ctx, a); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
	e := mustAcquire(t, l, "tokens", "short", shortTTL)
	next("after a release", e)
	time.Sleep(expiryWait)
	next("after an expiry", mustAcquire(t, l, "tokens", "short", longTTL))
}

func testConcurrentAcquire(t *testing.T, l lock.Locker) {
	raceAcquire(t, []lock.Locker{l}, "race")
}

// raceAcquire has racers goroutines, spread over the lockers, acquire one
// key at once, a few rounds over: exactly one wins each round, and each
// round's token is higher than the last.
func raceAcquire(t *testing.T, lockers []lock.Locker, key string) {
	ctx := t.Context()
	var last int64
	for round := range 3 {
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var won []lock.Lease
		var errs []error
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got, err := lockers[i%len(lockers)].Acquire(ctx, params(key, fmt.Sprintf("racer-%d-%d", round, i), longTTL))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won = append(won, got)
				case !errors.Is(err, lock.ErrHeld):
					errs = append(errs, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("round %d: Acquire failed other than with ErrHeld: %v", round, errors.Join(errs...))
		}
		if len(won) != 1 {
			t.Fatalf("round %d: %d of %d racers acquired the key, want exactly 1: %+v", round, len(won), racers, won)
		}
		if won[0].Token <= last {
			t.Fatalf("round %d: token %d, want > %d", round, won[0].Token, last)
		}
		last = won[0].Token
		cur, err := lockers[0].Get(ctx, key)
		if err != nil || cur.Owner != won[0].Owner || cur.Token != won[0].Token {
			t.Fatalf("round %d: Get = %+v, %v; want the winner %+v", round, cur, err, won[0])
		}
		if err := lockers[len(lockers)-1].Release(ctx, won[0]); err != nil {
			t.Fatalf("round %d: Release: %v", round, err)
		}
	}
}

func testContextDone(t *testing.T, l lock.Locker) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Acquire(ctx, params("ctx", "o", longTTL)); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := l.Get(t.Context(), "ctx"); !errors.Is(err, lock.ErrNotFound) {
		t.Errorf("Get after the cancelled Acquire: %v, want ErrNotFound", err)
	}
	held := mustAcquire(t, l, "ctx", "o", longTTL)
	if _, err := l.Renew(ctx, held, longTTL); !errors.Is(err, context.Canceled) {
		t.Errorf("Renew with a cancelled context: %v, want context.Canceled", err)
	}
	if err := l.Release(ctx, held); !errors.Is(err, context.Canceled) {
		t.Errorf("Release with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := l.Get(ctx, "ctx"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: %v, want context.Canceled", err)
	}
	if got, err := l.Get(t.Context(), "ctx"); err != nil || !got.Live || got.Token != held.Token {
		t.Errorf("Get after the cancelled calls = %+v, %v; want %+v live", got, err, held)
	}
}
