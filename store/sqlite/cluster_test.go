package sqlite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/sqlite"
)

// The tests of schema version 3 (0003_cluster.sql) beyond storetest's:
// the upgrade of a file that holds executions, and fences across handles
// and deletions.

// TestUpgradeToCluster opens a file at schema version 2 that holds
// executions: they get distinct fences and are not exclusive, and a new
// execution gets a greater fence.
func TestUpgradeToCluster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db := rawDB(t, path)
	for _, f := range []string{"migrations/0001_init.sql", "migrations/0002_leases.sql"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(t.Context(), strings.ReplaceAll(string(b), "{prefix}", sqlite.TablePrefixDefault)); err != nil {
			t.Fatalf("applying %s: %v", f, err)
		}
	}
	old := make([]uuid.UUID, 3)
	for i := range old {
		old[i] = uuid.New()
		if _, err := db.ExecContext(t.Context(), `INSERT INTO taskmill_executions (id, task, trigger, started_at, state)
			VALUES (?, 'old', 'manual', ?, 'running')`, old[i][:], int64(i)); err != nil {
			t.Fatalf("insert at version 2: %v", err)
		}
	}

	s := open(t, path)
	wantVersions(t, db, sqlite.TablePrefixDefault)
	var last int64
	for i, id := range old {
		e, err := s.GetExecution(t.Context(), id)
		if err != nil {
			t.Fatalf("GetExecution: %v", err)
		}
		if e.Fence <= last || e.Exclusive || e.CancelRequested {
			t.Errorf("execution %d from version 2: Fence %d, Exclusive %v, CancelRequested %v; want a fence > %d (in the order of insertion), false, false",
				i, e.Fence, e.Exclusive, e.CancelRequested, last)
		}
		last = e.Fence
	}
	e := newExecution("new")
	if err := s.CreateExecution(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetExecution(t.Context(), e.ID); err != nil || got.Fence <= last {
		t.Errorf("new execution: %+v, %v; want Fence > %d", got, err, last)
	}
}

// TestFenceAcrossHandles: two Stores on one file, taking turns, and
// deletions of the newest executions: every execution gets a fence greater
// than every one created before.
func TestFenceAcrossHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fence.db")
	stores := []*sqlite.Store{open(t, path), open(t, path)}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var last int64
	for i := range 10 {
		e := newExecution("f")
		e.StartedAt, e.EndedAt, e.State = at.Add(time.Duration(i)*time.Second), at.Add(time.Duration(i)*time.Second), store.StateSucceeded
		if err := stores[i%2].CreateExecution(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		got, err := stores[(i+1)%2].GetExecution(t.Context(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Fence <= last {
			t.Fatalf("execution %d: Fence %d, want > %d", i, got.Fence, last)
		}
		last = got.Fence
		if i%3 == 2 {
			// Delete the newest records (all of them): the next fence
			// is greater still, where max(rowid) + 1 would not be.
			if _, err := stores[i%2].DeleteExecutions(t.Context(), store.DeleteParams{Before: at.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
