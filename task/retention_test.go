package task

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
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

// An engine given no store keeps the newest memory.MaxPerTaskDefault
// records of each task: a day of fires is bounded memory, not a record per
// fire. Fires every second past the cap, on the fake clock: a quick task,
// and a task whose first run never ends while each later fire is
// recorded skipped. The running record, the oldest of its task, stays;
// the newest run can still be waited for and read.
func TestDefaultStoreKeepsTheNewestRecordsOfEachTask(t *testing.T) {
	t.Parallel()
	const fires = memory.MaxPerTaskDefault + 50
	clock := clockwork.NewFakeClockAt(testStart)
	ended := make(chan uuid.UUID, 1)
	eng, err := New(WithClock(clock), WithNodeID("node-1"), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := eng.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	st, owned := eng.store.(*memory.Store)
	if !owned || !eng.cfg.storeOwned {
		t.Fatalf("default store is %T, want the engine's own *memory.Store", eng.store)
	}
	slow := newGate()
	t.Cleanup(func() { close(slow.release) })
	every := cron.Every(time.Second)
	for _, s := range []Spec{
		// Overlap allowed: a fire may come while the last run, its end
		// listener called, is still being put away.
		{Name: "quick", Schedule: every, Job: JobFunc(ok), Overlap: OverlapAllow, Listeners: []Listener{ListenerFuncs{
			End: func(ctx context.Context, x *store.Execution) error { ended <- x.ID; return nil }}}},
		{Name: "slow", Schedule: every, Job: slow},
	} {
		if err := eng.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var last uuid.UUID
	for i := range fires {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		err := clock.BlockUntilContext(ctx, 1)
		cancel()
		if err != nil {
			t.Fatalf("fire %d: waiting for the schedule's timer: %v", i+1, err)
		}
		clock.Advance(time.Second)
		select {
		case last = <-ended:
		case <-time.After(waitLimit):
			t.Fatalf("fire %d: the quick run did not end", i+1)
		}
		if i == 0 {
			slow.waitStarted(t)
		}
	}

	count := func(task string) []*store.Execution {
		xs, err := store.ListAll(context.Background(), st, store.ExecutionFilter{Task: task, Limit: store.MaxListLimit})
		if err != nil {
			t.Fatal(err)
		}
		return xs
	}
	quick := count("quick")
	if len(quick) != memory.MaxPerTaskDefault {
		t.Fatalf("quick: %d records after %d fires, want the newest %d", len(quick), fires, memory.MaxPerTaskDefault)
	}
	if oldest := quick[len(quick)-1].ScheduledAt; !oldest.Equal(testStart.Add((fires - memory.MaxPerTaskDefault + 1) * time.Second)) {
		t.Errorf("quick: oldest record is the fire at %v, want fire %d", oldest, fires-memory.MaxPerTaskDefault+1)
	}
	if x, err := eng.Wait(t.Context(), last); err != nil || x.State != store.StateSucceeded {
		t.Errorf("Wait(newest quick run) = %v, %v; want it succeeded", x, err)
	}
	var xs []*store.Execution
	waitFor(t, "slow's skipped fires", func() bool {
		xs = count("slow")
		return len(xs) == memory.MaxPerTaskDefault && xs[0].ScheduledAt.Equal(testStart.Add(fires*time.Second))
	})
	first := xs[len(xs)-1]
	if first.State != store.StateRunning || !first.ScheduledAt.Equal(testStart.Add(time.Second)) {
		t.Errorf("slow: oldest record is %s at %v, want its first run, still running", first.State, first.ScheduledAt)
	}
}
