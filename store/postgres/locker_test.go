package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/lock/locktest"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/postgres"
)

func TestLocker(t *testing.T) {
	testURL(t)
	locktest.Run(t, func(t *testing.T) lock.Locker {
		return newStore(t, postgres.WithTablePrefix(freshPrefix(t))).Locker()
	})
}

// TestLockerShared runs the suite's tests across two Stores, each on its
// own pool, on one database and prefix.
func TestLockerShared(t *testing.T) {
	testURL(t)
	locktest.RunShared(t, func(t *testing.T) (lock.Locker, lock.Locker) {
		prefix := freshPrefix(t)
		a := newStore(t, postgres.WithTablePrefix(prefix))
		b := newStore(t, postgres.WithTablePrefix(prefix))
		return a.Locker(), b.Locker()
	})
}

// TestLockerSchema: with WithSchema the leases live in that schema.
func TestLockerSchema(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	prefix := freshPrefix(t)
	schema := strings.TrimSuffix(prefix, "_") + "_lockschema"
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer closeConn(t, conn)
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	l := newStore(t, postgres.WithTablePrefix(prefix), postgres.WithSchema(schema)).Locker()
	held, err := l.Acquire(t.Context(), lock.AcquireParams{Key: "k", Owner: "o", TTL: time.Minute})
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	var n int
	if err := newPool(t, 1).QueryRow(t.Context(), "SELECT token FROM "+schema+"."+prefix+"leases WHERE key = 'k'").Scan(&n); err != nil || int64(n) != held.Token {
		t.Fatalf("token in %s.%sleases = %d, %v; want %d", schema, prefix, n, err, held.Token)
	}
}

func TestLockerClosedStore(t *testing.T) {
	t.Parallel()
	locktest.RunClosed(t, func(t *testing.T) (lock.Locker, func() error) {
		s := newStore(t, postgres.WithTablePrefix(freshPrefix(t)))
		return s.Locker(), s.Close
	}, store.ErrClosed)
}

// TestLockerDatabaseClock: the times of a lease are the database's clock,
// read in the statement: they fall between two readings of
// clock_timestamp() taken around the call, on the server.
func TestLockerDatabaseClock(t *testing.T) {
	t.Parallel()
	l := newStore(t, postgres.WithTablePrefix(freshPrefix(t))).Locker()
	pool := newPool(t, 1)
	dbNow := func() time.Time {
		t.Helper()
		var now time.Time
		if err := pool.QueryRow(t.Context(), "SELECT clock_timestamp()").Scan(&now); err != nil {
			t.Fatal(err)
		}
		return now
	}
	before := dbNow()
	held, err := l.Acquire(t.Context(), lock.AcquireParams{Key: "k", Owner: "o", TTL: 1500 * time.Microsecond})
	after := dbNow()
	if err != nil {
		t.Fatal(err)
	}
	if held.Acquired.Before(before) || held.Acquired.After(after) {
		t.Errorf("Acquired = %v, want between the database's %v and %v", held.Acquired, before, after)
	}
	if d := held.Expires.Sub(held.Acquired); d != 1500*time.Microsecond {
		t.Errorf("Expires - Acquired = %v, want the TTL 1.5ms", d)
	}
	if held.Acquired.Location() != time.UTC {
		t.Errorf("Acquired in %v, want UTC", held.Acquired.Location())
	}
}

// TestLockerUpgrade opens tables at schema version 1, made before leases
// existed: New adds {prefix}leases and the Locker works on it.
func TestLockerUpgrade(t *testing.T) {
	t.Parallel()
	prefix := freshPrefix(t)
	ms, err := postgres.Migrations(prefix)
	if err != nil {
		t.Fatal(err)
	}
	pool := newPool(t, 1)
	if _, err := pool.Exec(t.Context(), ms[0].SQL); err != nil {
		t.Fatalf("applying version 1: %v", err)
	}
	l := newStore(t, postgres.WithTablePrefix(prefix)).Locker()
	if _, err := l.Acquire(t.Context(), lock.AcquireParams{Key: "k", Owner: "o", TTL: time.Minute}); err != nil {
		t.Fatalf("Acquire after the upgrade: %v", err)
	}
	if got := versionRows(t, pool, prefix); len(got) != postgres.SchemaVersion {
		t.Errorf("version rows = %v, want 1 to %d", got, postgres.SchemaVersion)
	}
}
