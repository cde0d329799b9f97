package sqlite_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store/sqlite"
)

// The test of schema version 3 (0003_cluster.sql) beyond storetest's
// (fences across handles and deletions: storetest.RunPersistent): the
// upgrade of a file that holds executions.

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
