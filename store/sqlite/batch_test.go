package sqlite

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// claimAt returns a running scheduled execution of task for the slot.
func claimAt(task string, slot time.Time) *store.Execution {
	return &store.Execution{ID: uuid.New(), Task: task, Trigger: store.TriggerSchedule, ScheduledAt: slot,
		StartedAt: at, State: store.StateRunning}
}

// TestBatchCancelledInQueue: a batch whose context ends while it waits
// behind a running group returns at once, every write with the context's
// error, and none runs; writes queued behind it then run.
func TestBatchCancelledInQueue(t *testing.T) {
	s := testStore(t)
	w := &s.w
	w.mu.Lock()
	w.leading = true // pretend a group is running: the calls below queue
	w.mu.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	const n = 300
	es := make([]*store.Execution, n)
	for i := range es {
		es[i] = claimAt("bq", at.Add(time.Duration(i)*time.Second))
	}
	batchDone := make(chan []error, 1)
	go func() { batchDone <- s.CreateExecutions(ctx, es) }()
	waitQueued(t, w, n)
	later := claimAt("bq-later", at)
	laterDone := make(chan error, 1)
	go func() { laterDone <- s.CreateExecution(t.Context(), later) }()
	waitQueued(t, w, n+1)
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
	w.handOff(nil) // the pretend group ends
	if err := <-laterDone; err != nil {
		t.Fatalf("CreateExecution queued behind a cancelled batch: %v", err)
	}
	for _, e := range es {
		if exists(t, s, e.ID) {
			t.Fatalf("execution %s of the cancelled batch was stored", e.ID)
		}
	}
	if !exists(t, s, later.ID) {
		t.Error("the write queued behind the batch was not stored")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.leading || len(w.queue) != 0 {
		t.Errorf("after the queue ran: leading %v, %d queued; want idle", w.leading, len(w.queue))
	}
}

// TestBatchConcurrent: batches and single writes from many goroutines at
// once, some cancelled midway: the lead is handed to later writes of
// batches whose callers still wait on earlier ones. Every call returns,
// each answer is one the call may get, every slot is claimed once, and the
// writer ends idle.
func TestBatchConcurrent(t *testing.T) {
	s := testStore(t)
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
		return fmt.Sprintf("bc-%d", i%100), at.Add(time.Duration(i/100) * time.Second)
	}
	for b := range batchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(b), 1))
			for range rounds {
				es := make([]*store.Execution, slots)
				for k := range es {
					es[k] = claimAt(slotOf(rng.IntN(slots)))
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
				e := claimAt(slotOf(rng.IntN(slots)))
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
	if err := s.db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+s.q.executions).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(won) {
		t.Errorf("%d rows stored, %d creations answered nil", rows, len(won))
	}
	w := &s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.leading || len(w.queue) != 0 {
		t.Errorf("after the calls: leading %v, %d queued; want idle", w.leading, len(w.queue))
	}
}
