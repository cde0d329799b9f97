package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/taskmill/taskmill/store"
)

var allStates = []store.State{
	store.StatePending, store.StateRunning, store.StateSucceeded, store.StateFailed,
	store.StateSkipped, store.StateCancelled, store.StateAbandoned,
}

// deletable returns executions of task in every state, one state per
// minute from start, for n minutes.
func deletable(task string, start time.Time, n int) []*store.Execution {
	es := make([]*store.Execution, n)
	for i := range es {
		e := newExecution(task, start.Add(time.Duration(i)*time.Minute))
		e.State = allStates[i%len(allStates)]
		if e.State.Final() {
			e.EndedAt = e.StartedAt.Add(time.Second)
		}
		es[i] = e
	}
	return es
}

// checkStored checks that exactly the executions in want are stored, and
// that the ones in gone are not.
func checkStored(t *testing.T, s store.Store, want, gone []*store.Execution) {
	t.Helper()
	checkIDs(t, "ListExecutions", listAll(t, s, store.ExecutionFilter{Limit: store.MaxListLimit}), newestFirst(want))
	byTask := map[string][]*store.Execution{}
	for _, e := range want {
		byTask[e.Task] = append(byTask[e.Task], e)
	}
	for _, e := range gone {
		wantGone(t, s, e.ID)
		if _, ok := byTask[e.Task]; !ok {
			byTask[e.Task] = nil
		}
	}
	for task, es := range byTask {
		checkIDs(t, fmt.Sprintf("ListExecutions(task %q)", task), listAll(t, s, store.ExecutionFilter{Task: task, Limit: 7}), newestFirst(es))
	}
}

func deleteExecutions(t *testing.T, s store.Store, p store.DeleteParams) int {
	t.Helper()
	n, err := s.DeleteExecutions(t.Context(), p)
	if err != nil {
		t.Fatalf("DeleteExecutions(%+v): %v", p, err)
	}
	return n
}

func testDelete(t *testing.T, s store.Store) {
	a := deletable("a", base, 30)
	b := deletable("b", base, 30)
	create(t, s, a...)
	create(t, s, b...)
	kept := append(append([]*store.Execution(nil), a...), b...)

	// StartedAt < Before, for task a only; Before is the StartedAt of a
	// final record, which stays.
	before := a[17].StartedAt
	if !a[17].State.Final() {
		t.Fatalf("fixture: a[17] is %s, want a final state", a[17].State)
	}
	var gone []*store.Execution
	var left []*store.Execution
	for _, e := range kept {
		if e.Task == "a" && e.State.Final() && e.StartedAt.Before(before) {
			gone = append(gone, e)
		} else {
			left = append(left, e)
		}
	}
	if n := deleteExecutions(t, s, store.DeleteParams{Before: before.UTC(), Task: "a"}); n != len(gone) {
		t.Errorf("DeleteExecutions(task a) = %d, want %d", n, len(gone))
	}
	checkStored(t, s, left, gone)
	if n := deleteExecutions(t, s, store.DeleteParams{Before: before, Task: "a"}); n != 0 {
		t.Errorf("DeleteExecutions(task a) again = %d, want 0", n)
	}
	if n := deleteExecutions(t, s, store.DeleteParams{Before: base.Add(time.Hour), Task: "c"}); n != 0 {
		t.Errorf("DeleteExecutions(task c) = %d, want 0", n)
	}

	// Every task, everything: pending and running stay.
	kept, gone = nil, nil
	for _, e := range left {
		if e.State.Final() {
			gone = append(gone, e)
		} else {
			kept = append(kept, e)
		}
	}
	if n := deleteExecutions(t, s, store.DeleteParams{Before: base.Add(24 * time.Hour)}); n != len(gone) {
		t.Errorf("DeleteExecutions(all) = %d, want %d", n, len(gone))
	}
	checkStored(t, s, kept, gone)
	for _, e := range kept {
		if e.State.Final() {
			t.Errorf("execution %s in state %s was kept", e.ID, e.State)
		}
	}
}

func testDeleteLimit(t *testing.T, s store.Store) {
	es := deletable("lim", base, 40)
	// Ties on StartedAt: the oldest first means by ID after StartedAt.
	for _, e := range sameStart("lim", base.Add(-time.Minute), 6) {
		e.State = store.StateSucceeded
		e.EndedAt = e.StartedAt.Add(time.Second)
		es = append(es, e)
	}
	createShuffled(t, s, es)

	// The deletion order: final records, oldest first.
	var order []*store.Execution
	var kept []*store.Execution
	byAge := newestFirst(es)
	for i := len(byAge) - 1; i >= 0; i-- {
		if byAge[i].State.Final() {
			order = append(order, byAge[i])
		} else {
			kept = append(kept, byAge[i])
		}
	}
	for deleted := 0; deleted < len(order); {
		want := min(4, len(order)-deleted)
		n := deleteExecutions(t, s, store.DeleteParams{Before: base.Add(24 * time.Hour), Limit: 4})
		if n != want {
			t.Fatalf("DeleteExecutions(limit 4) after %d deleted = %d, want %d", deleted, n, want)
		}
		deleted += n
		checkStored(t, s, append(append([]*store.Execution(nil), kept...), order[deleted:]...), order[:deleted])
		if t.Failed() {
			t.FailNow()
		}
	}
	if n := deleteExecutions(t, s, store.DeleteParams{Before: base.Add(24 * time.Hour), Limit: 4}); n != 0 {
		t.Errorf("DeleteExecutions(limit 4) with nothing final left = %d, want 0", n)
	}
}

func testDeleteFreesClaim(t *testing.T, s store.Store) {
	slot := base.Truncate(time.Minute)
	e := scheduled("freed", slot, store.TriggerSchedule)
	e.State = store.StateSucceeded
	e.EndedAt = e.StartedAt.Add(time.Second)
	create(t, s, e)
	wantErr(t, "CreateExecution(claimed slot)", s.CreateExecution(t.Context(), scheduled("freed", slot, store.TriggerCatchUp)), store.ErrConflict)

	if n := deleteExecutions(t, s, store.DeleteParams{Before: e.StartedAt.Add(time.Microsecond)}); n != 1 {
		t.Fatalf("DeleteExecutions = %d, want 1", n)
	}
	create(t, s, scheduled("freed", slot, store.TriggerCatchUp))
}

func testDeleteInvalid(t *testing.T, s store.Store) {
	es := deletable("inv", base, 10)
	create(t, s, es...)
	for _, p := range []store.DeleteParams{
		{},
		{Task: "inv"},
		{Limit: 3},
		{Before: base.Add(time.Hour), Limit: -1},
	} {
		n, err := s.DeleteExecutions(t.Context(), p)
		wantErr(t, fmt.Sprintf("DeleteExecutions(%+v)", p), err, store.ErrInvalid)
		if n != 0 {
			t.Errorf("DeleteExecutions(%+v) = %d, want 0", p, n)
		}
	}
	checkStored(t, s, es, nil)
}
