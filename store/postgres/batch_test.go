package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskmill/taskmill/internal/groupcommit/groupcommittest"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/storetest"
)

// The tests of CreateExecutions' path through the writer (ExecMany). They
// need the database that TASKMILL_TEST_POSTGRES_URL names.

// TestBatchGroups: a batch of one caller goes in groups of up to maxBatch,
// not one transaction per record.
func TestBatchGroups(t *testing.T) {
	var c batchCounter
	s, _ := writerStore(t, &c, nil)
	const n = 300
	es := make([]*store.Execution, n)
	for i := range es {
		es[i] = claim(fmt.Sprintf("bg-%d", i), slot0)
	}
	for i, err := range s.CreateExecutions(t.Context(), es) {
		if err != nil {
			t.Fatalf("execution %d: %v", i, err)
		}
	}
	if got, want := c.groups.Load(), int64((n+maxBatch-1)/maxBatch); got != want {
		t.Errorf("%d groups, want %d", got, want)
	}
	if got := c.largest.Load(); got != maxBatch {
		t.Errorf("largest group: %d writes, want %d", got, maxBatch)
	}
	groupcommittest.CheckIdle(t, s.w.Writer)
}

// TestBatchRace: batches and single writes from many goroutines at once,
// some cancelled midway, with up to maxGroups groups running
// (storetest.BatchRace); the writer ends idle.
func TestBatchRace(t *testing.T) {
	// A group of one cancelled batch's writes is broken off: see
	// TestGroupAllCancelled for why the server is asked to cancel.
	s, _ := writerStore(t, nil, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 10 * time.Second}
		}
	})
	storetest.BatchRace(t, s)
	groupcommittest.CheckIdle(t, s.w.Writer)
}
