package storetest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/taskmill/taskmill/store"
)

func getTaskState(t *testing.T, s store.Store, task string) *store.TaskState {
	t.Helper()
	ts, err := s.GetTaskState(t.Context(), task)
	if err != nil {
		t.Fatalf("GetTaskState(%q): %v", task, err)
	}
	return ts
}

func putTaskState(t *testing.T, s store.Store, ts *store.TaskState) {
	t.Helper()
	if err := s.PutTaskState(t.Context(), ts); err != nil {
		t.Fatalf("PutTaskState(%q): %v", ts.Task, err)
	}
}

func checkTaskState(t *testing.T, op string, got, want *store.TaskState) {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s: task state %q:\n\t%s", op, want.Task, strings.Join(d, "\n\t"))
	}
}

func testTaskState(t *testing.T, s store.Store) {
	_, err := s.GetTaskState(t.Context(), "unknown")
	wantErr(t, "GetTaskState(unknown)", err, store.ErrNotFound)
	wantErr(t, "PutTaskState(empty task)", s.PutTaskState(t.Context(), &store.TaskState{Suspended: true, UpdatedAt: base}), store.ErrInvalid)

	full := &store.TaskState{
		Task:                "report.daily ✓",
		Suspended:           true,
		SuspendedReason:     "suspended after 3 consecutive failures",
		SuspendedAt:         base.Add(-time.Second),
		ConsecutiveFailures: 3,
		LastScheduledAt:     base.Add(-time.Hour).Truncate(time.Minute),
		UpdatedAt:           base,
	}
	// The fixture sets every field (see testRoundTrip).
	v := reflect.ValueOf(full).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the TaskState fixture leaves %s zero; set it", v.Type().Field(i).Name)
		}
	}
	want := *full
	putTaskState(t, s, full)
	checkTaskState(t, "GetTaskState", getTaskState(t, s, full.Task), &want)

	// No aliasing either way.
	full.Suspended = false
	full.ConsecutiveFailures = 99
	got := getTaskState(t, s, want.Task)
	got.SuspendedReason = "changed"
	checkTaskState(t, "GetTaskState after changing the records", getTaskState(t, s, want.Task), &want)

	// Put replaces; zero times stay zero.
	resumed := &store.TaskState{
		Task:            want.Task,
		LastScheduledAt: base.Truncate(time.Minute),
		UpdatedAt:       base.Add(time.Minute).UTC(),
	}
	putTaskState(t, s, resumed)
	checkTaskState(t, "GetTaskState after the second Put", getTaskState(t, s, want.Task), resumed)

	// Tasks are independent.
	other := &store.TaskState{Task: "other", ConsecutiveFailures: 1, UpdatedAt: base}
	putTaskState(t, s, other)
	checkTaskState(t, "GetTaskState(other)", getTaskState(t, s, "other"), other)
	checkTaskState(t, "GetTaskState after another task's Put", getTaskState(t, s, want.Task), resumed)
}

// plainStore hides the optional abilities of the store it wraps (only
// store.Store's methods are promoted), so that the helpers take their
// fallback paths.
type plainStore struct{ store.Store }

// testListTaskStates: a StateLister lists every state, as copies, and
// store.ListStates gives the same answer through it as through
// GetTaskState.
// (Closed and ContextCanceled check ListTaskStates with the other methods:
// see calls.)
func testListTaskStates(t *testing.T, s store.Store) {
	l, ok := s.(store.StateLister)
	if !ok {
		t.Skip("the store is not a store.StateLister")
	}
	ctx := t.Context()
	if got, err := l.ListTaskStates(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListTaskStates on an empty store = %d states, %v; want none, nil", len(got), err)
	}

	suspended := &store.TaskState{
		Task:            "suspended ✓",
		Suspended:       true,
		SuspendedReason: "suspended after 3 consecutive failures",
		SuspendedAt:     base.Add(-time.Second),
		UpdatedAt:       base,
	}
	failing := &store.TaskState{
		Task:                "failing",
		ConsecutiveFailures: 2,
		LastScheduledAt:     base.Add(-time.Hour).Truncate(time.Minute),
		UpdatedAt:           base.Add(time.Second),
	}
	plain := &store.TaskState{Task: "plain", UpdatedAt: base.Add(2 * time.Second)}
	// A replaced state is listed once, as it is now.
	putTaskState(t, s, &store.TaskState{Task: failing.Task, ConsecutiveFailures: 1, UpdatedAt: base})
	want := map[string]*store.TaskState{}
	for _, ts := range []*store.TaskState{suspended, failing, plain} {
		putTaskState(t, s, ts)
		c := *ts
		want[ts.Task] = &c
	}

	list := func() []*store.TaskState {
		t.Helper()
		got, err := l.ListTaskStates(ctx)
		if err != nil {
			t.Fatalf("ListTaskStates: %v", err)
		}
		return got
	}
	check := func(op string, got []*store.TaskState) {
		t.Helper()
		seen := map[string]bool{}
		for _, ts := range got {
			w, ok := want[ts.Task]
			switch {
			case !ok:
				t.Errorf("%s: unexpected task state %q", op, ts.Task)
			case seen[ts.Task]:
				t.Errorf("%s: task state %q listed twice", op, ts.Task)
			default:
				checkTaskState(t, op, ts, w)
			}
			seen[ts.Task] = true
		}
		for task := range want {
			if !seen[task] {
				t.Errorf("%s: task state %q missing", op, task)
			}
		}
	}
	got := list()
	check("ListTaskStates", got)

	// The states listed are copies.
	for _, ts := range got {
		ts.Suspended = !ts.Suspended
		ts.SuspendedReason = "changed"
		ts.ConsecutiveFailures = 99
		ts.UpdatedAt = ts.UpdatedAt.Add(time.Hour)
	}
	check("ListTaskStates after changing the states listed", list())
	checkTaskState(t, "GetTaskState after changing the states listed", getTaskState(t, s, suspended.Task), want[suspended.Task])

	// store.ListStates, through ListTaskStates and through GetTaskState:
	// the named tasks that have a state, and no others.
	names := []string{suspended.Task, failing.Task, "no state", failing.Task}
	for _, c := range []struct {
		name string
		s    store.Store
	}{{"StateLister", s}, {"GetTaskState", plainStore{s}}} {
		m, err := store.ListStates(ctx, c.s, names)
		if err != nil {
			t.Fatalf("ListStates via %s: %v", c.name, err)
		}
		if len(m) != 2 || m["no state"] != nil || m[plain.Task] != nil {
			t.Errorf("ListStates via %s: %d states, want the 2 of %q and %q", c.name, len(m), suspended.Task, failing.Task)
		}
		for _, task := range []string{suspended.Task, failing.Task} {
			if ts := m[task]; ts == nil {
				t.Errorf("ListStates via %s: task state %q missing", c.name, task)
			} else {
				checkTaskState(t, "ListStates via "+c.name, ts, want[task])
			}
		}
		if m, err := store.ListStates(ctx, c.s, nil); err != nil || len(m) != 0 {
			t.Errorf("ListStates via %s with no names = %d states, %v; want none, nil", c.name, len(m), err)
		}
	}
}

// testLastSlots: a SlotLister names, for every task with claiming
// executions, its latest slot — not the slot of its newest-started
// execution — and nothing for tasks with none.
// (Closed and ContextCanceled check LastSlots with the other methods.)
func testLastSlots(t *testing.T, s store.Store) {
	l, ok := s.(store.SlotLister)
	if !ok {
		t.Skip("the store is not a store.SlotLister")
	}
	ctx := t.Context()
	if got, err := l.LastSlots(ctx); err != nil || len(got) != 0 {
		t.Fatalf("LastSlots on an empty store = %v, %v; want none, nil", got, err)
	}
	slot := base.Truncate(time.Minute)
	older := scheduled("a", slot.Add(-2*time.Minute), store.TriggerSchedule)
	newest := scheduled("a", slot, store.TriggerSchedule)
	// A catch-up of an older slot, started after the live one.
	late := scheduled("a", slot.Add(-time.Minute), store.TriggerCatchUp)
	late.StartedAt = newest.StartedAt.Add(time.Second)
	caught := scheduled("b", slot.Add(-5*time.Minute), store.TriggerCatchUp)
	manual := newExecution("c", base) // claims nothing
	for _, e := range []*store.Execution{older, newest, late, caught, manual} {
		if err := s.CreateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.LastSlots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"a": newest.ScheduledAt, "b": caught.ScheduledAt}
	if len(got) != len(want) {
		t.Fatalf("LastSlots = %v, want %v", got, want)
	}
	for task, w := range want {
		if g, ok := got[task]; !ok || !g.Equal(w) {
			t.Fatalf("LastSlots[%q] = %v, want %v (all: %v)", task, g, w, got)
		}
	}
	// Deleting the latest slot's record makes the one before it the latest.
	newest.State, newest.EndedAt = store.StateSucceeded, newest.StartedAt
	late.State, late.EndedAt = store.StateSucceeded, late.StartedAt
	for _, e := range []*store.Execution{newest, late} {
		if err := s.UpdateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteExecutions(ctx, store.DeleteParams{Task: "a", Before: newest.StartedAt.Add(time.Microsecond)}); err != nil {
		t.Fatal(err)
	}
	got, err = l.LastSlots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g := got["a"]; !g.Equal(late.ScheduledAt) {
		t.Fatalf("after deleting the newest slot, LastSlots[a] = %v, want %v", g, late.ScheduledAt)
	}
}
