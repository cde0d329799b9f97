package task

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
	"github.com/taskmill/taskmill/store/sqlite"
)

// restart runs the host twice on one store: the first engine fires the
// task at minutes 1 and 2 and shuts down; the clock then moves to downUntil
// while nothing runs, and a second engine starts. It returns the second
// bundle.
func restart(t *testing.T, spec Spec, downUntil time.Time) *bundle {
	t.Helper()
	st := memory.New()
	clock := clockwork.NewFakeClockAt(testStart)
	first := &bundle{clock: clock, store: st}
	eng, err := New(WithClock(clock), WithStore(st), WithNodeID("first"), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	first.eng = eng
	first.register(t, spec)
	first.start(t)
	for i := 1; i <= 2; i++ {
		first.advanceTo(t, 1, testStart.Add(time.Duration(i)*time.Minute))
		first.waitRecords(t, spec.Name, i)
	}
	if err := eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(downUntil.Sub(clock.Now()))

	second := &bundle{clock: clock, store: st}
	eng2, err := New(WithClock(clock), WithStore(st), WithNodeID("second"), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	second.eng = eng2
	t.Cleanup(func() {
		if err := eng2.Shutdown(context.Background()); err != nil && !errors.Is(err, ErrEngineClosed) {
			t.Errorf("Shutdown: %v", err)
		}
	})
	second.register(t, spec)
	second.start(t)
	return second
}

func minute(n int) time.Time { return testStart.Add(time.Duration(n) * time.Minute) }

func TestMisfireSkipRecordsTheGap(t *testing.T) {
	t.Parallel()
	b := restart(t, Spec{Name: "m", Schedule: cron.Every(time.Minute), Job: JobFunc(ok)}, minute(10).Add(30*time.Second))
	xs := b.waitRecords(t, "m", 3)
	gap := xs[2]
	if gap.State != store.StateSkipped || gap.Trigger != store.TriggerCatchUp || !gap.ScheduledAt.Equal(minute(3)) ||
		!strings.Contains(gap.SkipReason, "missed: 8 slot(s) from 2026-01-05T00:03:00Z to 2026-01-05T00:10:00Z") {
		t.Fatalf("gap record: %s %s at %v %q", gap.State, gap.Trigger, gap.ScheduledAt, gap.SkipReason)
	}
	// Then the schedule goes on.
	b.advanceTo(t, 1, minute(11))
	xs = b.waitRecords(t, "m", 4)
	if x := xs[3]; x.State != store.StateSucceeded || !x.ScheduledAt.Equal(minute(11)) || x.Node != "second" {
		t.Fatalf("first fire after the restart: %s at %v on %s", x.State, x.ScheduledAt, x.Node)
	}
}

func TestMisfireRunOnce(t *testing.T) {
	t.Parallel()
	b := restart(t, Spec{Name: "m", Schedule: cron.Every(time.Minute), Misfire: MisfireRunOnce, Job: JobFunc(ok)},
		minute(10).Add(30*time.Second))
	xs := b.waitRecords(t, "m", 4)
	var run, skipped *store.Execution
	for _, x := range xs[2:] {
		if x.State == store.StateSkipped {
			skipped = x
		} else {
			run = x
		}
	}
	if run == nil || run.State != store.StateSucceeded || run.Trigger != store.TriggerCatchUp || !run.ScheduledAt.Equal(minute(10)) {
		t.Fatalf("catch-up run: %+v", run)
	}
	if skipped == nil || !skipped.ScheduledAt.Equal(minute(3)) || !strings.Contains(skipped.SkipReason, "7 slot(s)") ||
		!strings.Contains(skipped.SkipReason, "to 2026-01-05T00:09:00Z") {
		t.Fatalf("skipped record: %+v", skipped)
	}
}

func TestMisfireRunAllWithinWindow(t *testing.T) {
	t.Parallel()
	b := restart(t, Spec{Name: "m", Schedule: cron.Every(time.Minute), Misfire: MisfireRunAll, CatchUpWindow: 5 * time.Minute,
		Job: JobFunc(ok)}, minute(10).Add(30*time.Second))
	xs := b.waitRecords(t, "m", 8) // 2 before, 1 skipped record, 5 runs
	var runs []time.Time
	var skipped *store.Execution
	for _, x := range xs[2:] {
		switch {
		case x.State == store.StateSkipped:
			skipped = x
		case x.State == store.StateSucceeded && x.Trigger == store.TriggerCatchUp:
			runs = append(runs, x.ScheduledAt.UTC())
		default:
			t.Fatalf("unexpected record %s %s", x.State, x.Trigger)
		}
	}
	want := []time.Time{minute(6), minute(7), minute(8), minute(9), minute(10)}
	if !slices.Equal(runs, want) {
		t.Fatalf("catch-up runs at %v, want %v (oldest first)", runs, want)
	}
	if skipped == nil || !skipped.ScheduledAt.Equal(minute(3)) || !strings.Contains(skipped.SkipReason, "3 slot(s)") ||
		!strings.Contains(skipped.SkipReason, "to 2026-01-05T00:05:00Z") {
		t.Fatalf("skipped record: %+v", skipped)
	}
}

// A slot younger than MisfireGrace at Start is left to the dispatcher,
// which records it when its first fire finds it unclaimed.
func TestSlotWithinGraceIsRecordedByTheFirstFire(t *testing.T) {
	t.Parallel()
	b := restart(t, Spec{Name: "m", Schedule: cron.Every(time.Minute), Job: JobFunc(ok)}, minute(3).Add(500*time.Millisecond))
	if xs := b.history(t, "m"); len(xs) != 2 {
		t.Fatalf("%d records at start, want 2: the 00:03 slot is within the grace", len(xs))
	}
	b.advanceTo(t, 1, minute(4))
	xs := b.waitRecords(t, "m", 4)
	late := xs[2]
	if late.State != store.StateSkipped || !late.ScheduledAt.Equal(minute(3)) || !strings.Contains(late.SkipReason, "1 slot(s)") {
		t.Fatalf("record for 00:03: %s at %v %q", late.State, late.ScheduledAt, late.SkipReason)
	}
	if !xs[3].ScheduledAt.Equal(minute(4)) || xs[3].State != store.StateSucceeded {
		t.Fatalf("fire at 00:04: %s at %v", xs[3].State, xs[3].ScheduledAt)
	}
}

func TestFirstStartHasNothingToCatchUp(t *testing.T) {
	t.Parallel()
	b := setupAt(t, minute(10).Add(30*time.Second))
	b.register(t, Spec{Name: "m", Schedule: cron.Every(time.Minute), Misfire: MisfireRunAll, Job: JobFunc(ok)})
	b.start(t)
	b.advanceTo(t, 1, minute(11))
	xs := b.waitRecords(t, "m", 1)
	if len(xs) != 1 || !xs[0].ScheduledAt.Equal(minute(11)) {
		t.Fatalf("records %v, want only the 00:11 fire", scheduledTimes(xs))
	}
}

func TestFailureCountSurvivesRestart(t *testing.T) {
	t.Parallel()
	fail := JobFunc(func(context.Context) error { return errors.New("down") })
	b := restart(t, Spec{Name: "m", Schedule: cron.Every(time.Minute), SuspendAfterFailures: 3, Job: fail}, minute(2).Add(10*time.Second))
	if n := b.eng.Tasks()[0].ConsecutiveFailures; n != 2 {
		t.Fatalf("failures after restart = %d, want 2", n)
	}
	b.advanceTo(t, 1, minute(3))
	b.waitRecords(t, "m", 3)
	waitFor(t, "suspension", func() bool { return b.eng.Tasks()[0].Suspended })
	st, err := b.store.GetTaskState(context.Background(), "m")
	if err != nil || !st.LastScheduledAt.Equal(minute(3)) {
		t.Fatalf("persisted state %+v, %v; want the last slot 00:03", st, err)
	}
}

// The same across a real reopen of a SQLite file: an operator's suspension
// and the failure count outlive the process's store handle.
func TestStateSurvivesReopeningSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	fail := JobFunc(func(context.Context) error { return errors.New("down") })
	specs := []Spec{{Name: "paused", Job: JobFunc(ok)}, {Name: "flaky", SuspendAfterFailures: 5, Job: fail}}

	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(WithStore(st), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if err := eng.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := eng.Suspend(ctx, "paused"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		id, err := eng.RunNow(ctx, "flaky")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Wait(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	eng2, err := New(WithStore(st2), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if err := eng2.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng2.Shutdown(ctx)
	infos := eng2.Tasks()
	if infos[0].Name != "flaky" || infos[0].ConsecutiveFailures != 2 || infos[1].Name != "paused" || !infos[1].Suspended {
		t.Fatalf("after reopening: %+v", infos)
	}
	page, err := st2.ListExecutions(ctx, store.ExecutionFilter{Task: "flaky"})
	if err != nil || len(page.Executions) != 2 {
		t.Fatalf("history after reopening: %v, %v", page, err)
	}
}
