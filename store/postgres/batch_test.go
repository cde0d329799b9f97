package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskmill/taskmill/store"
)

// The tests of CreateExecutions' path through the writer (execMany). They
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
	waitIdle(t, &s.w)
}

// TestBatchCancelledInQueue: a batch whose context ends while it waits
// behind a running group returns at once, every write with the context's
// error, and none runs; writes queued behind it then run.
func TestBatchCancelledInQueue(t *testing.T) {
	s, _ := writerStore(t, nil, nil)
	end := pretendRunning(&s.w)
	ctx, cancel := context.WithCancel(t.Context())
	const n = 300
	es := make([]*store.Execution, n)
	for i := range es {
		es[i] = claim("bq", slot0.Add(time.Duration(i)*time.Second))
	}
	batchDone := make(chan []error, 1)
	go func() { batchDone <- s.CreateExecutions(ctx, es) }()
	waitQueued(t, &s.w, n)
	later := manual("bq-later")
	laterDone := make(chan error, 1)
	go func() { laterDone <- s.CreateExecution(t.Context(), later) }()
	waitQueued(t, &s.w, n+1)
	cancel()
	select {
	case errs := <-batchDone:
		for i, err := range errs {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("execution %d: %v, want context.Canceled", i, err)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("CreateExecutions still waits after its context ended")
	}
	end()
	if err := <-laterDone; err != nil {
		t.Fatalf("CreateExecution queued behind a cancelled batch: %v", err)
	}
	for _, e := range es {
		if stored(t, s, e.ID) != nil {
			t.Fatalf("execution %s of the cancelled batch was stored", e.ID)
		}
	}
	waitIdle(t, &s.w)
}

// TestBatchConcurrent: batches and single writes from many goroutines at
// once, some cancelled midway, with up to maxGroups groups running: the
// lead is handed to later writes of batches whose callers still wait on
// earlier ones. Every call returns, each answer is one the call may get,
// every slot is claimed once, and the writer ends idle.
func TestBatchConcurrent(t *testing.T) {
	// A group of one cancelled batch's writes is broken off: see
	// TestGroupAllCancelled for why the server is asked to cancel.
	s, _ := writerStore(t, nil, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 10 * time.Second}
		}
	})
	const (
		batchers = 4
		singles  = 4
		slots    = 400
		rounds   = 3
	)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  = map[string]int{}
		fail []string
	)
	record := func(e *store.Execution, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			won[e.Task+e.ScheduledAt.String()]++
		case errors.Is(err, store.ErrConflict), errors.Is(err, context.Canceled):
		default:
			fail = append(fail, err.Error())
		}
	}
	slotOf := func(i int) (string, time.Time) {
		return fmt.Sprintf("bc-%d", i%100), slot0.Add(time.Duration(i/100) * time.Second)
	}
	for b := range batchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(b), 1))
			for range rounds {
				es := make([]*store.Execution, slots)
				for k := range es {
					es[k] = claim(slotOf(rng.IntN(slots)))
				}
				ctx, cancel := context.WithCancel(t.Context())
				if b%2 == 1 {
					time.AfterFunc(time.Duration(rng.IntN(20))*time.Millisecond, cancel)
				}
				for k, err := range s.CreateExecutions(ctx, es) {
					record(es[k], err)
				}
				cancel()
			}
		}()
	}
	for g := range singles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for range 100 {
				e := claim(slotOf(rng.IntN(slots)))
				record(e, s.CreateExecution(t.Context(), e))
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("calls still running after 2 minutes")
	}
	for _, f := range fail {
		t.Error(f)
	}
	for k, n := range won {
		if n != 1 {
			t.Errorf("slot %s claimed %d times", k, n)
		}
	}
	var rows int
	if err := s.pool.QueryRow(t.Context(), "SELECT count(*) FROM "+s.t.executions).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(won) {
		t.Errorf("%d rows stored, %d creations answered nil", rows, len(won))
	}
	waitIdle(t, &s.w)
}
