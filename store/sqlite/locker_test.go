package sqlite_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/lock/locktest"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/sqlite"
)

func TestLocker(t *testing.T) {
	locktest.Run(t, func(t *testing.T) lock.Locker {
		return open(t, filepath.Join(t.TempDir(), "taskmill.db")).Locker()
	})
}

// TestLockerShared runs the suite's tests across two Stores on one file.
func TestLockerShared(t *testing.T) {
	locktest.RunShared(t, func(t *testing.T) (lock.Locker, lock.Locker) {
		path := filepath.Join(t.TempDir(), "taskmill.db")
		return open(t, path).Locker(), open(t, path).Locker()
	})
}

func TestLockerClosedStore(t *testing.T) {
	locktest.RunClosed(t, func(t *testing.T) (lock.Locker, func() error) {
		s := open(t, filepath.Join(t.TempDir(), "taskmill.db"))
		return s.Locker(), s.Close
	}, store.ErrClosed)
}

// TestLockerPrefixes: Lockers of stores with other table prefixes on one
// file do not see each other's leases.
func TestLockerPrefixes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "taskmill.db")
	a := open(t, path).Locker()
	b := open(t, path, sqlite.WithTablePrefix("other_")).Locker()
	p := lock.AcquireParams{Key: "k", Owner: "o", TTL: time.Minute}
	if _, err := a.Acquire(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(t.Context(), p); err != nil {
		t.Errorf("Acquire under another prefix: %v, want the key free there", err)
	}
}

// Environment of TestLockerProcessChild.
const (
	lockChildDBEnv   = "TASKMILL_SQLITE_TEST_LOCK_DB"
	lockChildNameEnv = "TASKMILL_SQLITE_TEST_LOCK_NAME"
)

// lockChildTries is how many times each child tries to acquire the key.
const lockChildTries = 40

// TestLockerProcesses starts processes that race for one key on one file,
// each entering a critical section (a file it marks as its own) while it
// holds the lease: no process ever finds another inside, and every grant
// has its own token, 1 up to the number of grants.
func TestLockerProcesses(t *testing.T) {
	const children = 4
	dir := t.TempDir()
	path := filepath.Join(dir, "shared.db")
	open(t, path) // create the file before the children race
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, children)
	for i := range children {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestLockerProcessChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), lockChildDBEnv+"="+path, lockChildNameEnv+"="+strconv.Itoa(i))
		go func() {
			out, err := cmd.CombinedOutput()
			results <- result{out, err}
		}()
	}
	tokensRE := regexp.MustCompile(`(?m)^\s*locker_test\.go:\d+: tokens=([0-9,]*)$`)
	seen := map[int64]bool{}
	var top int64
	for range children {
		r := <-results
		if r.err != nil {
			t.Errorf("child: %v\n%s", r.err, r.out)
			continue
		}
		m := tokensRE.FindSubmatch(r.out)
		if m == nil {
			t.Errorf("child reported no tokens:\n%s", r.out)
			continue
		}
		for _, f := range strings.Split(string(m[1]), ",") {
			if f == "" {
				continue
			}
			n, _ := strconv.ParseInt(f, 10, 64)
			if seen[n] {
				t.Errorf("token %d granted twice", n)
			}
			seen[n] = true
			top = max(top, n)
		}
	}
	t.Logf("%d grants to %d processes", len(seen), children)
	if len(seen) == 0 || top != int64(len(seen)) {
		t.Errorf("%d grants with highest token %d, want tokens 1 to the number of grants", len(seen), top)
	}
}

// TestLockerProcessChild is one process of TestLockerProcesses; it does
// nothing when run on its own.
func TestLockerProcessChild(t *testing.T) {
	path, name := os.Getenv(lockChildDBEnv), os.Getenv(lockChildNameEnv)
	if path == "" {
		t.Skip("runs as a child process of TestLockerProcesses")
	}
	l := open(t, path).Locker()
	ctx := t.Context()
	section := filepath.Join(filepath.Dir(path), "section")
	var tokens []string
	for range lockChildTries {
		held, err := l.Acquire(ctx, lock.AcquireParams{Key: "proc", Owner: "child-" + name, TTL: time.Minute})
		if errors.Is(err, lock.ErrHeld) {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		tokens = append(tokens, strconv.FormatInt(held.Token, 10))
		if b, err := os.ReadFile(section); err == nil && len(b) > 0 {
			t.Fatalf("entered the critical section with token %d, found %q inside", held.Token, b)
		}
		if err := os.WriteFile(section, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		if b, err := os.ReadFile(section); err != nil || string(b) != name {
			t.Fatalf("critical section holds %q, %v; want %q, ours", b, err, name)
		}
		if err := os.WriteFile(section, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := l.Release(ctx, held); err != nil {
			t.Fatalf("Release: %v", err)
		}
	}
	t.Logf("tokens=%s", strings.Join(tokens, ","))
}

// TestLockerUpgrade opens a file at schema version 1, made before leases
// existed: Open adds {prefix}leases and the Locker works on it.
func TestLockerUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, path).ExecContext(t.Context(), strings.ReplaceAll(string(v1), "{prefix}", sqlite.TablePrefixDefault)); err != nil {
		t.Fatalf("applying version 1: %v", err)
	}
	l := open(t, path).Locker()
	if _, err := l.Acquire(t.Context(), lock.AcquireParams{Key: "k", Owner: "o", TTL: time.Minute}); err != nil {
		t.Fatalf("Acquire after the upgrade: %v", err)
	}
	wantVersions(t, rawDB(t, path), sqlite.TablePrefixDefault)
}
