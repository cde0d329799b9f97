package task

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
	"github.com/taskmill/taskmill/store/postgres"
)

// cluster runs three engines on one store and one clock, each with the same
// tasks, for ten slots, and checks that every slot of every task ran
// exactly once.
func cluster(t *testing.T, st store.Store) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(testStart)
	const engines, tasks, slots = 3, 5, 10
	var all []*Engine
	for i := 0; i < engines; i++ {
		eng, err := New(WithClock(clock), WithStore(st), WithNodeID(fmt.Sprintf("node-%d", i)), WithoutInitHooks())
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < tasks; j++ {
			if err := eng.Register(Spec{Name: fmt.Sprintf("job-%d", j), Schedule: cron.Every(time.Second), Job: JobFunc(ok)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		all = append(all, eng)
		t.Cleanup(func() {
			if err := eng.Shutdown(context.Background()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
	}
	b := &bundle{clock: clock}
	count := func(task string) []*store.Execution {
		xs, err := store.ListAll(context.Background(), st, store.ExecutionFilter{Task: task, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return xs
	}
	for s := 1; s <= slots; s++ {
		b.advanceTo(t, engines, testStart.Add(time.Duration(s)*time.Second))
		waitFor(t, "every task's slot", func() bool {
			for j := 0; j < tasks; j++ {
				xs := count(fmt.Sprintf("job-%d", j))
				if len(xs) < s || !xs[0].State.Final() {
					return false
				}
			}
			// The runs' bookkeeping ends after their records: wait for it,
			// or the next slot would find a task still running (overlap).
			for _, eng := range all {
				if !idle(eng) {
					return false
				}
			}
			return true
		})
	}
	nodes := map[string]int{}
	for j := 0; j < tasks; j++ {
		xs := count(fmt.Sprintf("job-%d", j))
		seen := map[time.Time]bool{}
		for _, x := range xs {
			if x.State != store.StateSucceeded || seen[x.ScheduledAt.UTC()] {
				t.Fatalf("job-%d: %s record for %v (seen before: %v)", j, x.State, x.ScheduledAt, seen[x.ScheduledAt.UTC()])
			}
			seen[x.ScheduledAt.UTC()] = true
			nodes[x.Node]++
		}
		if len(xs) != slots {
			t.Fatalf("job-%d ran %d times in %d slots", j, len(xs), slots)
		}
	}
	t.Logf("runs per node: %v", nodes)
}

func TestClusterRunsEachSlotOnceOnOneStore(t *testing.T) {
	t.Parallel()
	cluster(t, memory.New())
}

func TestClusterRunsEachSlotOnceOnPostgres(t *testing.T) {
	cluster(t, postgresStore(t, "cluster"))
}

// postgresStore opens a PostgreSQL store on TASKMILL_TEST_POSTGRES_URL
// under a table prefix of its own (named after what), closed and its
// tables dropped at the end of the test; it skips the test when the
// variable is not set. The test runs in parallel.
func postgresStore(t *testing.T, what string) *postgres.Store {
	t.Helper()
	st, _ := postgresStorePrefix(t, what)
	return st
}

// postgresStorePrefix is postgresStore, also returning the table prefix.
func postgresStorePrefix(t *testing.T, what string) (*postgres.Store, string) {
	t.Helper()
	dsn := os.Getenv("TASKMILL_TEST_POSTGRES_URL")
	if dsn == "" {
		t.Skip("TASKMILL_TEST_POSTGRES_URL is not set; skipping the PostgreSQL test")
	}
	t.Parallel()
	ctx := context.Background()
	prefix := fmt.Sprintf("tm_%s_%d_", what, time.Now().UnixNano()%1_000_000_000)
	st, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dropTables(ctx, dsn, prefix); err != nil {
			t.Errorf("dropping the test tables: %v", err)
		}
	})
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st, prefix
}

// dropTables removes a test prefix's tables.
func dropTables(ctx context.Context, dsn, prefix string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %[1]sexecutions, %[1]stask_state, %[1]sleases, %[1]sschema_version", prefix))
	return err
}
