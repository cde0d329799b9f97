package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

func testStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "writer.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var at = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// insertReq returns a request that inserts a scheduled execution of task
// for the slot.
func insertReq(s *Store, task string, slot time.Time) (*writeReq, uuid.UUID) {
	id := uuid.New()
	return &writeReq{ctx: context.Background(), stmt: s.stmts.insert, args: []any{
		id[:], task, string(store.TriggerSchedule), slot.UnixMicro(), at.UnixMicro(), nil,
		string(store.StateRunning), 0, "", "", "[]", "", nil, nil, "", "", "",
	}, done: make(chan struct{})}, id
}

func exists(t *testing.T, s *Store, id uuid.UUID) bool {
	t.Helper()
	_, err := s.GetExecution(t.Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetExecution: %v", err)
	}
	return err == nil
}

// TestGroupConflicts: in a group, a claim that conflicts fails alone and
// the others commit.
func TestGroupConflicts(t *testing.T) {
	s := testStore(t)
	a, ida := insertReq(s, "t", at)
	dup, iddup := insertReq(s, "t", at)
	b, idb := insertReq(s, "t", at.Add(time.Minute))
	s.w.run([]*writeReq{a, dup, b})
	if a.err != nil || b.err != nil || a.n != 1 || b.n != 1 {
		t.Errorf("results: %v (%d rows), %v (%d rows); want no errors, 1 row each", a.err, a.n, b.err, b.n)
	}
	if !statementOnly(dup.err) {
		t.Errorf("second claim of a slot in a group: %v, want a unique violation", dup.err)
	}
	if !exists(t, s, ida) || !exists(t, s, idb) || exists(t, s, iddup) {
		t.Errorf("stored: a %v, b %v, duplicate %v; want a and b only", exists(t, s, ida), exists(t, s, idb), exists(t, s, iddup))
	}
}

// TestGroupRerun: a failure that rolls the group's transaction back makes
// its writes run again one by one, each with its own answer.
func TestGroupRerun(t *testing.T) {
	s := testStore(t)
	// A host's trigger whose RAISE(ROLLBACK) ends the transaction.
	if _, err := s.db.ExecContext(t.Context(), `CREATE TRIGGER boom BEFORE INSERT ON taskmill_executions
		WHEN NEW.task = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	a, ida := insertReq(s, "ok", at)
	boom, idboom := insertReq(s, "boom", at)
	b, idb := insertReq(s, "ok", at.Add(time.Minute))
	cancelled, idc := insertReq(s, "ok", at.Add(2*time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cancelled.ctx = ctx
	s.w.run([]*writeReq{a, boom, b, cancelled})
	if a.err != nil || b.err != nil {
		t.Errorf("results: %v, %v; want no errors", a.err, b.err)
	}
	if boom.err == nil || statementOnly(boom.err) {
		t.Errorf("insert stopped by RAISE(ROLLBACK): %v, want the trigger's error", boom.err)
	}
	if !errors.Is(cancelled.err, context.Canceled) {
		t.Errorf("write with a cancelled context: %v, want context.Canceled", cancelled.err)
	}
	if !exists(t, s, ida) || !exists(t, s, idb) || exists(t, s, idboom) || exists(t, s, idc) {
		t.Errorf("stored: a %v, b %v, boom %v, cancelled %v; want a and b only",
			exists(t, s, ida), exists(t, s, idb), exists(t, s, idboom), exists(t, s, idc))
	}
}

// TestQueuedCancel: a write whose context ends while it waits behind a
// running group returns at once and never runs; the lead then passes over
// it to the next waiting write.
func TestQueuedCancel(t *testing.T) {
	s := testStore(t)
	w := &s.w
	// Pretend a group is running: the calls below queue.
	w.mu.Lock()
	w.leading = true
	w.mu.Unlock()

	ctx, cancel := context.WithCancel(t.Context())
	cancelledDone := make(chan error, 1)
	id := uuid.New()
	go func() {
		e := &store.Execution{ID: id, Task: "c", Trigger: store.TriggerManual, StartedAt: at, State: store.StateRunning}
		cancelledDone <- s.CreateExecution(ctx, e)
	}()
	waitQueued(t, w, 1)
	later := make(chan error, 1)
	laterID := uuid.New()
	go func() {
		e := &store.Execution{ID: laterID, Task: "c", Trigger: store.TriggerManual, StartedAt: at, State: store.StateRunning}
		later <- s.CreateExecution(t.Context(), e)
	}()
	waitQueued(t, w, 2)
	cancel()
	if err := <-cancelledDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateExecution cancelled in the queue: %v, want context.Canceled", err)
	}

	// The pretend group ends: hand the lead on as runLead does.
	w.handOff(nil)
	if err := <-later; err != nil {
		t.Fatalf("CreateExecution queued behind a cancelled write: %v", err)
	}
	if exists(t, s, id) || !exists(t, s, laterID) {
		t.Errorf("stored: cancelled %v, later %v; want later only", exists(t, s, id), exists(t, s, laterID))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.leading || len(w.queue) != 0 {
		t.Errorf("after the queue ran: leading %v, %d queued; want idle", w.leading, len(w.queue))
	}
}

// waitQueued waits until n writes are queued.
func waitQueued(t *testing.T, w *writer, n int) {
	t.Helper()
	for range 10_000 {
		w.mu.Lock()
		got := len(w.queue)
		w.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d writes never queued", n)
}
