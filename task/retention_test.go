package task

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// seed records n final executions of task, one a minute, ending at end.
func seed(t *testing.T, st store.Store, task string, n int, end time.Time, state store.State) []*store.Execution {
	t.Helper()
	var xs []*store.Execution
	for i := n - 1; i >= 0; i-- {
		at := end.Add(-time.Duration(i) * time.Minute)
		x := &store.Execution{ID: uuid.New(), Task: task, Trigger: store.TriggerManual, State: state, StartedAt: at, Node: "seed"}
		if state.Final() {
			x.EndedAt = at
		}
		if err := st.CreateExecution(context.Background(), x); err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	return xs
}

func TestRetentionByAge(t *testing.T) {
	t.Parallel()
	b := setup(t, WithRetention(Retention{MaxAge: 24 * time.Hour, BatchSize: 7}))
	b.register(t, Spec{Name: "old", Job: JobFunc(ok)})
	// 50 records two days old, 30 from the last hour, and a run still
	// marked running from three days ago.
	seed(t, b.store, "old", 50, testStart.Add(-48*time.Hour), store.StateSucceeded)
	recent := seed(t, b.store, "old", 30, testStart, store.StateFailed)
	stuck := seed(t, b.store, "old", 1, testStart.Add(-72*time.Hour), store.StateRunning)
	b.start(t)
	x := b.wait(t, b.runNow(t, RetentionTaskName))
	if x.State != store.StateSucceeded || x.ExitMessage != "deleted 50 execution records" {
		t.Fatalf("cleanup run: %s %q", x.State, x.ExitMessage)
	}
	left := b.history(t, "old")
	if len(left) != 31 {
		t.Fatalf("%d records left, want 31", len(left))
	}
	if left[0].ID != stuck[0].ID || left[len(left)-1].ID != recent[len(recent)-1].ID {
		t.Fatal("the running record or the recent ones were deleted")
	}
}

func TestRetentionKeepPerTaskOnSchedule(t *testing.T) {
	t.Parallel()
	b := setup(t, WithRetention(Retention{KeepPerTask: 5, BatchSize: 2}))
	b.register(t, Spec{Name: "a", Job: JobFunc(ok)}, Spec{Name: "b", Job: JobFunc(ok)})
	as := seed(t, b.store, "a", 12, testStart, store.StateSucceeded)
	seed(t, b.store, "b", 3, testStart, store.StateSucceeded)
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Hour)) // the default schedule: hourly
	xs := b.waitRecords(t, RetentionTaskName, 1)
	if xs[0].Trigger != store.TriggerSchedule || !strings.HasPrefix(xs[0].ExitMessage, "deleted 7 ") {
		t.Fatalf("cleanup run: %s %q", xs[0].Trigger, xs[0].ExitMessage)
	}
	left := b.history(t, "a")
	if len(left) != 5 || left[0].ID != as[7].ID {
		t.Fatalf("%d records of a left, want the newest 5", len(left))
	}
	if n := len(b.history(t, "b")); n != 3 {
		t.Fatalf("%d records of b left, want 3", n)
	}
}

func TestRetentionOptionRejectsBadInput(t *testing.T) {
	t.Parallel()
	for _, r := range []Retention{{}, {MaxAge: -time.Hour}, {KeepPerTask: -1}, {MaxAge: time.Hour, BatchSize: -1}} {
		if _, err := New(WithRetention(r)); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("WithRetention(%+v) = %v, want ErrInvalidOption", r, err)
		}
	}
	b := setup(t, WithRetention(Retention{MaxAge: time.Hour}))
	if err := b.eng.Register(Spec{Name: RetentionTaskName, Job: JobFunc(ok)}); !errors.Is(err, ErrDuplicateTask) {
		t.Errorf("registering over the retention task = %v", err)
	}
}
