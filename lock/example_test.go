package lock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/lock"
)

// A node holds a lease and renews it; when it stops renewing, the lease
// expires, another node takes the key with a higher token, and the first
// learns it lost the lease.
func ExampleMemory() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	locker, err := lock.NewMemory(lock.WithClock(clock))
	if err != nil {
		panic(err)
	}
	a, err := locker.Acquire(ctx, lock.AcquireParams{Key: "node/host-1", Owner: "host-1/4242", TTL: 15 * time.Second})
	if err != nil {
		panic(err)
	}
	fmt.Println("host-1 holds token", a.Token)

	clock.Advance(3 * time.Second)
	if a, err = locker.Renew(ctx, a, 15*time.Second); err != nil {
		panic(err)
	}
	_, err = locker.Acquire(ctx, lock.AcquireParams{Key: "node/host-1", Owner: "host-2/7", TTL: 15 * time.Second})
	fmt.Println("host-2 refused:", errors.Is(err, lock.ErrHeld))

	clock.Advance(20 * time.Second) // host-1 stopped renewing
	cur, _ := locker.Get(ctx, "node/host-1")
	fmt.Printf("node %s last renewed %s, live %v\n", cur.Owner, cur.Renewed.Format(time.RFC3339), cur.Live)

	b, err := locker.Acquire(ctx, lock.AcquireParams{Key: "node/host-1", Owner: "host-2/7", TTL: 15 * time.Second})
	if err != nil {
		panic(err)
	}
	fmt.Println("host-2 holds token", b.Token)
	_, err = locker.Renew(ctx, a, 15*time.Second)
	fmt.Println("host-1 lost:", errors.Is(err, lock.ErrLost))
	// Output:
	// host-1 holds token 1
	// host-2 refused: true
	// node host-1/4242 last renewed 2026-12-04T10:00:03Z, live false
	// host-2 holds token 2
	// host-1 lost: true
}
