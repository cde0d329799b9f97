package postgres_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/postgres"
)

// The tests of schema version 3 (0003_cluster.sql) beyond storetest's:
// the upgrade of tables that hold executions. (Fences across stores:
// storetest.RunPersistent.)

// TestUpgradeToCluster opens tables at schema version 2 that hold
// executions, with a short prefix and with the longest one (whose CHECK on
// trigger PostgreSQL named with the table name cut short): the rows get
// distinct fences and are not exclusive, a new execution gets a greater
// fence, trigger 'recovery' is accepted and an unknown trigger still is
// not.
func TestUpgradeToCluster(t *testing.T) {
	for _, n := range []int{17, 41} {
		t.Run(fmt.Sprintf("prefix=%d", n), func(t *testing.T) {
			t.Parallel()
			prefix := freshPrefixLen(t, n)
			if len(prefix) != n {
				t.Fatalf("prefix %q has %d characters, want %d", prefix, len(prefix), n)
			}
			ms, err := postgres.Migrations(prefix)
			if err != nil {
				t.Fatal(err)
			}
			pool := newPool(t, 1)
			for _, m := range ms[:2] {
				if _, err := pool.Exec(t.Context(), m.SQL); err != nil {
					t.Fatalf("applying %s: %v", m.Name, err)
				}
			}
			old := make([]uuid.UUID, 3)
			for i := range old {
				old[i] = uuid.New()
				if _, err := pool.Exec(t.Context(), `INSERT INTO `+prefix+`executions (id, task, trigger, started_at, state, node)
					VALUES ($1, 'old', 'manual', now(), 'running', 'node-1')`, old[i]); err != nil {
					t.Fatalf("insert at version 2: %v", err)
				}
			}

			s := newStore(t, postgres.WithTablePrefix(prefix))
			wantVersions(t, pool, prefix)
			fences := map[int64]bool{}
			var top int64
			for _, id := range old {
				e, err := s.GetExecution(t.Context(), id)
				if err != nil {
					t.Fatalf("GetExecution: %v", err)
				}
				if e.Fence <= 0 || fences[e.Fence] || e.Exclusive || e.CancelRequested {
					t.Errorf("execution from version 2: Fence %d (seen: %v), Exclusive %v, CancelRequested %v; want a new fence > 0, false, false",
						e.Fence, fences[e.Fence], e.Exclusive, e.CancelRequested)
				}
				fences[e.Fence], top = true, max(top, e.Fence)
			}

			x, err := s.GetExecution(t.Context(), old[0])
			if err != nil {
				t.Fatal(err)
			}
			r := &store.Execution{ID: uuid.New(), Task: "old", Trigger: store.TriggerRecovery, ParentID: x.ID,
				StartedAt: time.Now(), State: store.StatePending, Node: "node-2"}
			err = s.AbandonExecution(t.Context(), store.AbandonParams{ID: x.ID, Node: x.Node, EndedAt: time.Now(),
				Error: "dead", Recovery: r})
			if err != nil {
				t.Fatalf("AbandonExecution with a recovery record: %v", err)
			}
			got, err := s.GetExecution(t.Context(), r.ID)
			if err != nil {
				t.Fatalf("GetExecution(recovery): %v", err)
			}
			if got.Fence <= top {
				t.Errorf("recovery record: Fence %d, want > %d (the rows made before the upgrade)", got.Fence, top)
			}

			_, err = pool.Exec(t.Context(), `INSERT INTO `+prefix+`executions (id, task, trigger, started_at, state)
				VALUES ($1, 'bad', 'bogus', now(), 'running')`, uuid.New())
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "23514" || pe.ConstraintName != prefix+"exec_trigger" {
				t.Errorf("insert of an unknown trigger: %v, want check_violation of %sexec_trigger", err, prefix)
			}
			var checks int
			if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM pg_constraint con
				JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
				WHERE con.conrelid = $1::regclass AND con.contype = 'c' AND cardinality(con.conkey) = 1
				AND a.attname = 'trigger'`, prefix+"executions").Scan(&checks); err != nil {
				t.Fatal(err)
			}
			if checks != 1 {
				t.Errorf("%d CHECK constraints on trigger, want 1 (0001's replaced)", checks)
			}
		})
	}
}
