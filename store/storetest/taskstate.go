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
