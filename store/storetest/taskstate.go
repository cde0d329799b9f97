package storetest

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
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

// stateChanger returns s as a store.StateChanger, or skips the test.
func stateChanger(t *testing.T, s store.Store) store.StateChanger {
	t.Helper()
	c, ok := s.(store.StateChanger)
	if !ok {
		t.Skip("the store is not a store.StateChanger")
	}
	return c
}

func changeState(t *testing.T, sc store.StateChanger, c store.StateChange) (*store.TaskState, bool) {
	t.Helper()
	st, now, err := sc.ChangeTaskState(t.Context(), c)
	if err != nil {
		t.Fatalf("ChangeTaskState(%+v): %v", c, err)
	}
	return st, now
}

// testChangeTaskState: each kind of change, on a task with no state and
// on a stored one, as StateChange.Apply says; the result is stored.
func testChangeTaskState(t *testing.T, s store.Store) {
	sc := stateChanger(t, s)
	at := base
	slot := base.Truncate(time.Minute)
	steps := []struct {
		name string
		c    store.StateChange
		now  bool // suspended by this change
	}{
		{"first failure creates the state", store.StateChange{Failed: true, SuspendAfter: 3, Reason: "r", Slot: slot}, false},
		{"second failure", store.StateChange{Failed: true, SuspendAfter: 3, Reason: "r", Slot: slot.Add(time.Minute)}, false},
		{"an older slot does not go back", store.StateChange{Slot: slot}, false},
		{"third failure suspends", store.StateChange{Failed: true, SuspendAfter: 3, Reason: "after 3 ✓", Slot: slot.Add(2 * time.Minute)}, true},
		{"fourth keeps the suspension", store.StateChange{Failed: true, SuspendAfter: 3, Reason: "after 4"}, false},
		{"Suspend of a suspended task keeps its reason", store.StateChange{Suspend: true, Reason: "by hand"}, false},
		{"Resume resets", store.StateChange{Resume: true}, false},
		{"a failure after Resume", store.StateChange{Failed: true}, false},
		{"a success resets", store.StateChange{Succeeded: true, Slot: slot.Add(3 * time.Minute)}, false},
		{"Suspend", store.StateChange{Suspend: true, Reason: "by hand"}, true},
	}
	want := store.TaskState{Task: "chg"}
	for i, step := range steps {
		at = at.Add(time.Second)
		c := step.c
		c.Task, c.At = "chg", at
		now := c.Apply(&want)
		if now != step.now {
			t.Fatalf("step %d (%s): Apply says suspended now %v, the test %v", i, step.name, now, step.now)
		}
		got, gotNow := changeState(t, sc, c)
		if gotNow != step.now {
			t.Errorf("step %d (%s): suspendedNow = %v, want %v", i, step.name, gotNow, step.now)
		}
		w := want
		checkTaskState(t, fmt.Sprintf("step %d (%s): result", i, step.name), got, &w)
		checkTaskState(t, fmt.Sprintf("step %d (%s): GetTaskState", i, step.name), getTaskState(t, s, "chg"), &w)
	}
	if want.ConsecutiveFailures != 0 || !want.Suspended || want.SuspendedReason != "by hand" || !want.LastScheduledAt.Equal(slot.Add(3*time.Minute)) {
		t.Fatalf("the steps end at %+v: the test is wrong", want)
	}

	// A change of a state written whole applies to it.
	putTaskState(t, s, &store.TaskState{Task: "chg-put", ConsecutiveFailures: 4, UpdatedAt: base})
	got, now := changeState(t, sc, store.StateChange{Task: "chg-put", At: at, Failed: true, SuspendAfter: 5, Reason: "five"})
	if got.ConsecutiveFailures != 5 || !got.Suspended || !now || got.SuspendedReason != "five" || !got.SuspendedAt.Equal(at) {
		t.Errorf("after a fifth failure: %+v (suspended now %v)", got, now)
	}

	for _, c := range []store.StateChange{
		{At: at},
		{Task: "x"},
		{Task: "x", At: at, Succeeded: true, Failed: true},
		{Task: "x", At: at, Suspend: true, Resume: true},
		{Task: "x", At: at, SuspendAfter: -1},
		{Task: "x", At: at, Reason: "nul\x00"},
		{Task: "bad\xff", At: at},
		{Task: "x", At: at, Slot: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		_, _, err := sc.ChangeTaskState(t.Context(), c)
		wantErr(t, fmt.Sprintf("ChangeTaskState(%+v)", c), err, store.ErrInvalid)
	}
	_, err := s.GetTaskState(t.Context(), "x")
	wantErr(t, "GetTaskState after refused changes", err, store.ErrNotFound)
}

// testChangeTaskStateRace counts failures from many goroutines at once:
// none is lost, and exactly one change suspends the task.
func testChangeTaskStateRace(t *testing.T, s store.Store) {
	sc := stateChanger(t, s)
	const n = 16
	var wg sync.WaitGroup
	var suspended atomic.Int32
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, now, err := sc.ChangeTaskState(t.Context(), store.StateChange{Task: "chg-race", At: base.Add(time.Duration(i) * time.Second),
				Failed: true, SuspendAfter: n / 2, Reason: "half"})
			if err != nil {
				t.Errorf("ChangeTaskState: %v", err)
			}
			if now {
				suspended.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	st := getTaskState(t, s, "chg-race")
	if st.ConsecutiveFailures != n || !st.Suspended {
		t.Errorf("after %d concurrent failures: %d counted, suspended %v", n, st.ConsecutiveFailures, st.Suspended)
	}
	if got := suspended.Load(); got != 1 {
		t.Errorf("%d changes said they suspended the task, want 1", got)
	}
}

// testDeleteKeepsLastSlot: DeleteExecutions keeps the newest slot it
// deletes in the task's state.
func testDeleteKeepsLastSlot(t *testing.T, s store.Store) {
	slot := base.Truncate(time.Minute)
	var xs []*store.Execution
	for i := range 3 {
		x := scheduled("keep", slot.Add(time.Duration(i)*time.Minute), store.TriggerSchedule)
		x.State, x.EndedAt = store.StateSucceeded, x.StartedAt.Add(time.Second)
		xs = append(xs, x)
	}
	manual := newExecution("keep", base.Add(time.Hour))
	manual.State, manual.EndedAt, manual.ScheduledAt = store.StateSucceeded, manual.StartedAt, slot.Add(time.Hour)
	other := scheduled("keep-other", slot.Add(-time.Hour), store.TriggerCatchUp)
	other.State, other.EndedAt = store.StateSkipped, other.StartedAt
	create(t, s, append(xs, manual, other)...)
	putTaskState(t, s, &store.TaskState{Task: "keep-other", ConsecutiveFailures: 2, LastScheduledAt: slot, UpdatedAt: base})

	if n := deleteExecutions(t, s, store.DeleteParams{Before: base.Add(2 * time.Hour)}); n != 5 {
		t.Fatalf("deleted %d, want 5", n)
	}
	// The newest claimed slot, not the manual run's ScheduledAt.
	if st := getTaskState(t, s, "keep"); !st.LastScheduledAt.Equal(xs[2].ScheduledAt) || st.Suspended || st.ConsecutiveFailures != 0 {
		t.Errorf("state of keep after deletion: %+v, want LastScheduledAt %v", st, xs[2].ScheduledAt)
	}
	// An older slot than the stored one changes nothing.
	if st := getTaskState(t, s, "keep-other"); !st.LastScheduledAt.Equal(slot) || st.ConsecutiveFailures != 2 {
		t.Errorf("state of keep-other after deletion: %+v, want it unchanged", st)
	}
}
