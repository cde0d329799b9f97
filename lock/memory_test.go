package lock_test

import (
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/lock/locktest"
)

func TestMemory(t *testing.T) {
	locktest.Run(t, func(t *testing.T) lock.Locker {
		m, err := lock.NewMemory()
		if err != nil {
			t.Fatalf("NewMemory: %v", err)
		}
		return m
	})
}

func TestNewMemoryBadOptions(t *testing.T) {
	if _, err := lock.NewMemory(nil); !errors.Is(err, lock.ErrInvalidOption) {
		t.Errorf("NewMemory(nil): %v, want ErrInvalidOption", err)
	}
	if _, err := lock.NewMemory(lock.WithClock(nil)); !errors.Is(err, lock.ErrInvalidOption) {
		t.Errorf("NewMemory(WithClock(nil)): %v, want ErrInvalidOption", err)
	}
}

// TestMemoryFakeClock moves the fake clock across a lease's expiry: live
// until the instant it expires, free from then on.
func TestMemoryFakeClock(t *testing.T) {
	ctx := t.Context()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	m, err := lock.NewMemory(lock.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	p := lock.AcquireParams{Key: "node/host-1", Owner: "host-1/4242", TTL: 15 * time.Second}
	first, err := m.Acquire(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(15 * time.Second); !first.Expires.Equal(want) {
		t.Errorf("Expires = %v, want %v", first.Expires, want)
	}
	clock.Advance(5 * time.Second)
	renewed, err := m.Renew(ctx, first, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.Renewed.Equal(clock.Now()) || !renewed.Expires.Equal(clock.Now().Add(15*time.Second)) {
		t.Errorf("Renew = %+v, want renewed now, expiring 15s from now", renewed)
	}
	clock.Advance(15*time.Second - time.Nanosecond)
	other := lock.AcquireParams{Key: p.Key, Owner: "host-2/7", TTL: time.Minute}
	if _, err := m.Acquire(ctx, other); !errors.Is(err, lock.ErrHeld) {
		t.Fatalf("Acquire 1ns before expiry: %v, want ErrHeld", err)
	}
	clock.Advance(time.Nanosecond)
	got, err := m.Get(ctx, p.Key)
	if err != nil || got.Live || !got.Renewed.Equal(renewed.Renewed) {
		t.Errorf("Get at expiry = %+v, %v; want not live, last renewed %v", got, err, renewed.Renewed)
	}
	if _, err := m.Renew(ctx, renewed, 15*time.Second); !errors.Is(err, lock.ErrLost) {
		t.Errorf("Renew at expiry: %v, want ErrLost", err)
	}
	taken, err := m.Acquire(ctx, other)
	if err != nil || taken.Token != first.Token+1 {
		t.Fatalf("Acquire at expiry = %+v, %v; want token %d", taken, err, first.Token+1)
	}
}
