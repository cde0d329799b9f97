package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/internal/groupcommit/groupcommittest"
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
	e := &store.Execution{ID: id, Task: task, Trigger: store.TriggerSchedule, ScheduledAt: slot, StartedAt: at,
		State: store.StateRunning}
	return &writeReq{Ctx: context.Background(), Op: write{step: step{stmt: s.stmts.insert, args: insertArgs(e, "[]")}}}, id
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
	s.w.Run([]*writeReq{a, dup, b})
	if a.Err != nil || b.Err != nil || a.N != 1 || b.N != 1 {
		t.Errorf("results: %v (%d rows), %v (%d rows); want no errors, 1 row each", a.Err, a.N, b.Err, b.N)
	}
	if !statementOnly(dup.Err) {
		t.Errorf("second claim of a slot in a group: %v, want a unique violation", dup.Err)
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
	cancelled.Ctx = ctx
	s.w.Run([]*writeReq{a, boom, b, cancelled})
	if a.Err != nil || b.Err != nil {
		t.Errorf("results: %v, %v; want no errors", a.Err, b.Err)
	}
	if boom.Err == nil || statementOnly(boom.Err) {
		t.Errorf("insert stopped by RAISE(ROLLBACK): %v, want the trigger's error", boom.Err)
	}
	if !errors.Is(cancelled.Err, context.Canceled) {
		t.Errorf("write with a cancelled context: %v, want context.Canceled", cancelled.Err)
	}
	if !exists(t, s, ida) || !exists(t, s, idb) || exists(t, s, idboom) || exists(t, s, idc) {
		t.Errorf("stored: a %v, b %v, boom %v, cancelled %v; want a and b only",
			exists(t, s, ida), exists(t, s, idb), exists(t, s, idboom), exists(t, s, idc))
	}
}

// inOneGroup runs writes from goroutines of their own, queued behind a
// held writer so that they run as one group, and returns their errors.
func inOneGroup(t *testing.T, s *Store, writes ...func() error) []error {
	t.Helper()
	return groupcommittest.InOneGroup(t, s.w.Writer, writes...)
}

func manual(task string, st store.State) *store.Execution {
	e := &store.Execution{ID: uuid.New(), Task: task, Trigger: store.TriggerManual, StartedAt: at, State: st,
		Node: "node-1"}
	if st.Final() {
		e.EndedAt = at
	}
	return e
}

func create(t *testing.T, s *Store, es ...*store.Execution) {
	t.Helper()
	for _, e := range es {
		if err := s.CreateExecution(t.Context(), e); err != nil {
			t.Fatalf("CreateExecution: %v", err)
		}
	}
}

// TestGroupExclusive: in a group, an exclusive execution that is busy gets
// store.ErrBusy, one whose slot is claimed too store.ErrConflict only, an
// update that would start a second running one store.ErrBusy and an update
// of a final record store.ErrConflict, as each would alone, and the others
// commit.
func TestGroupExclusive(t *testing.T) {
	s := testStore(t)
	ctx := t.Context()
	yRunning := manual("y", store.StateRunning)
	yRunning.Exclusive, yRunning.Trigger, yRunning.ScheduledAt = true, store.TriggerSchedule, at
	zRunning, zPending := manual("z", store.StateRunning), manual("z", store.StatePending)
	zRunning.Exclusive, zPending.Exclusive = true, true
	final := manual("f", store.StateSucceeded)
	create(t, s, yRunning, zRunning, zPending, final)

	x1, x2 := manual("x", store.StateRunning), manual("x", store.StateRunning)
	x1.Exclusive, x2.Exclusive = true, true
	yAgain := yRunning.Clone()
	yAgain.ID = uuid.New()
	start := zPending.Clone()
	start.State = store.StateRunning
	late := final.Clone()
	late.ExitMessage = "late"
	m := manual("m", store.StateRunning)
	errs := inOneGroup(t, s,
		func() error { return s.CreateExecution(ctx, x1) },
		func() error { return s.CreateExecution(ctx, x2) },
		func() error { return s.CreateExecution(ctx, yAgain) },
		func() error { return s.UpdateExecution(ctx, start) },
		func() error { return s.UpdateExecution(ctx, late) },
		func() error { return s.CreateExecution(ctx, m) },
	)
	// x1 and x2 queue in either order: the first wins.
	if errs[1] == nil {
		x1, x2 = x2, x1
		errs[0], errs[1] = errs[1], errs[0]
	}
	if errs[0] != nil || !errors.Is(errs[1], store.ErrBusy) {
		t.Errorf("two exclusive running executions of a task: %v, %v; want one nil, one store.ErrBusy", errs[0], errs[1])
	}
	if err := errs[2]; !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrBusy) {
		t.Errorf("CreateExecution(claimed slot of a busy task): %v, want store.ErrConflict only", err)
	}
	if !errors.Is(errs[3], store.ErrBusy) {
		t.Errorf("UpdateExecution(start a second running exclusive execution): %v, want store.ErrBusy", errs[3])
	}
	if !errors.Is(errs[4], store.ErrConflict) {
		t.Errorf("UpdateExecution(final record): %v, want store.ErrConflict", errs[4])
	}
	if errs[5] != nil {
		t.Errorf("CreateExecution of a free execution: %v", errs[5])
	}
	if !exists(t, s, x1.ID) || exists(t, s, x2.ID) || exists(t, s, yAgain.ID) || !exists(t, s, m.ID) {
		t.Errorf("stored: x1 %v, x2 %v, yAgain %v, m %v; want x1 and m", exists(t, s, x1.ID), exists(t, s, x2.ID),
			exists(t, s, yAgain.ID), exists(t, s, m.ID))
	}
	if e, err := s.GetExecution(ctx, zPending.ID); err != nil || e.State != store.StatePending {
		t.Errorf("refused start: %+v, %v; want pending", e, err)
	}
	if e, err := s.GetExecution(ctx, final.ID); err != nil || e.ExitMessage != "" {
		t.Errorf("final record after a refused update: %+v, %v; want unchanged", e, err)
	}
}

// TestGroupAbandonWithRecovery: in a group, an abandonment whose recovery
// record's ID exists is undone whole (its savepoint), one that succeeds
// creates its record, and the group's other writes commit.
func TestGroupAbandonWithRecovery(t *testing.T) {
	s := testStore(t)
	ctx := t.Context()
	a, b, taken := manual("a", store.StateRunning), manual("b", store.StateRunning), manual("t", store.StateSucceeded)
	create(t, s, a, b, taken)
	recovery := func(x *store.Execution) *store.Execution {
		r := manual(x.Task, store.StatePending)
		r.Trigger, r.ParentID = store.TriggerRecovery, x.ID
		return r
	}
	ra, rb := recovery(a), recovery(b)
	rb.ID = taken.ID
	m := manual("m", store.StateRunning)
	errs := inOneGroup(t, s,
		func() error {
			return s.AbandonExecution(ctx, store.AbandonParams{ID: a.ID, Node: a.Node, EndedAt: at, Error: "dead", Recovery: ra})
		},
		func() error {
			return s.AbandonExecution(ctx, store.AbandonParams{ID: b.ID, Node: b.Node, EndedAt: at, Error: "dead", Recovery: rb})
		},
		func() error { return s.CreateExecution(ctx, m) },
	)
	if errs[0] != nil || !errors.Is(errs[1], store.ErrConflict) || errs[2] != nil {
		t.Errorf("results: %v, %v, %v; want nil, store.ErrConflict, nil", errs[0], errs[1], errs[2])
	}
	for _, c := range []struct {
		id   uuid.UUID
		want store.State
	}{{a.ID, store.StateAbandoned}, {ra.ID, store.StatePending}, {b.ID, store.StateRunning}, {taken.ID, store.StateSucceeded}, {m.ID, store.StateRunning}} {
		if e, err := s.GetExecution(ctx, c.id); err != nil || e.State != c.want {
			t.Errorf("execution %s: %+v, %v; want %s", c.id, e, err, c.want)
		}
	}
}
