package task

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// fireAt drives a one-schedule engine through want, one slot at a time, and
// checks that each slot produced exactly one execution with that nominal
// time, started at that instant.
func fireAt(t *testing.T, b *bundle, task string, want []time.Time) {
	t.Helper()
	for i, at := range want {
		b.advanceTo(t, 1, at)
		xs := b.waitRecords(t, task, i+1)
		if len(xs) != i+1 {
			t.Fatalf("after advancing to %v: %d executions, want %d", at, len(xs), i+1)
		}
		x := xs[i]
		if !x.ScheduledAt.Equal(at) || !x.StartedAt.Equal(at) {
			t.Fatalf("fire %d: scheduled %v, started %v, want both %v", i, x.ScheduledAt.UTC(), x.StartedAt.UTC(), at)
		}
	}
	got := scheduledTimes(b.history(t, task))
	if !slices.Equal(got, want) {
		t.Fatalf("scheduled times = %v, want %v", got, want)
	}
}

func TestScheduledAtNamesTheSlot(t *testing.T) {
	t.Parallel()
	b := setup(t)
	slots := make(chan time.Time, 4)
	job := JobFunc(func(ctx context.Context) error {
		x, _ := CurrentExecution(ctx)
		if got := ScheduledAt(ctx); !got.Equal(x.ScheduledAt) {
			t.Errorf("ScheduledAt = %v, record says %v", got, x.ScheduledAt)
		}
		slots <- ScheduledAt(ctx)
		return nil
	})
	b.register(t, Spec{Name: "tick", Schedule: cron.Every(time.Minute), Job: job})
	b.register(t, Spec{Name: "manual", Job: job})
	b.start(t)
	want := testStart.Truncate(time.Minute).Add(time.Minute)
	b.advanceTo(t, 1, want)
	if got := <-slots; !got.Equal(want) {
		t.Fatalf("ScheduledAt in a fire = %v, want %v", got, want)
	}
	b.wait(t, b.runNow(t, "manual"))
	if got := <-slots; !got.IsZero() {
		t.Fatalf("ScheduledAt in a manual run = %v, want zero", got)
	}
	if got := ScheduledAt(context.Background()); !got.IsZero() {
		t.Fatalf("ScheduledAt outside a run = %v, want zero", got)
	}
}

func TestCronTokyoSixFields(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, Spec{Name: "tokyo", Cron: "30 0 0 * * *", TimeZone: "Asia/Tokyo", Job: JobFunc(ok)})
	b.start(t)
	// 00:00:30 in Tokyo (UTC+9) is 15:00:30 UTC the day before.
	fireAt(t, b, "tokyo", []time.Time{
		utc("2026-01-05T15:00:30Z"),
		utc("2026-01-06T15:00:30Z"),
		utc("2026-01-07T15:00:30Z"),
	})
	for _, x := range b.history(t, "tokyo") {
		if x.State != store.StateSucceeded || x.Trigger != store.TriggerSchedule {
			t.Fatalf("execution = %s/%s, want succeeded/schedule", x.State, x.Trigger)
		}
	}
}

func TestDSTGapRunsOnceAfterGap(t *testing.T) {
	t.Parallel()
	b := setupAt(t, utc("2026-03-07T12:00:00Z"))
	b.register(t, Spec{Name: "gap", Schedule: cron.MustParse("0 30 2 * * *", "America/Los_Angeles"), Job: JobFunc(ok)})
	b.start(t)
	// 02:30 does not exist on 2026-03-08 in Los Angeles: it runs at 03:00
	// PDT (10:00Z), the first instant after the gap, once.
	fireAt(t, b, "gap", []time.Time{
		utc("2026-03-08T10:00:00Z"),
		utc("2026-03-09T09:30:00Z"),
	})
}

func TestDSTFallBackRunsOnce(t *testing.T) {
	t.Parallel()
	b := setupAt(t, utc("2026-10-31T12:00:00Z"))
	b.register(t, Spec{Name: "fold", Schedule: cron.MustParse("0 30 1 * * *", "America/Los_Angeles"), Job: JobFunc(ok)})
	b.start(t)
	// 01:30 happens twice on 2026-11-01: 08:30Z (PDT) and 09:30Z (PST).
	// Only the first runs.
	fireAt(t, b, "fold", []time.Time{
		utc("2026-11-01T08:30:00Z"),
		utc("2026-11-02T09:30:00Z"),
	})
}

func TestTasksSharingAScheduleShareOneTimer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"a", "b", "c"} {
		b.register(t, Spec{Name: name, Schedule: cron.Every(time.Minute), Job: JobFunc(ok)})
	}
	b.register(t, Spec{Name: "d", Schedule: cron.Every(time.Hour), Job: JobFunc(ok)})
	b.start(t)
	b.eng.mu.Lock()
	groups := len(b.eng.groups)
	b.eng.mu.Unlock()
	if groups != 2 {
		t.Fatalf("timers = %d, want 2", groups)
	}
	b.advanceTo(t, 2, testStart.Add(time.Minute))
	for _, name := range []string{"a", "b", "c"} {
		xs := b.waitRecords(t, name, 1)
		if !xs[0].ScheduledAt.Equal(testStart.Add(time.Minute)) {
			t.Fatalf("%s scheduled at %v", name, xs[0].ScheduledAt)
		}
	}
}

func TestLateFireRecordsMissedSlots(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, Spec{Name: "tick", Schedule: cron.Every(time.Second), Job: JobFunc(ok)})
	b.start(t)
	// One jump over three slots: the timer fires once, late.
	b.advanceTo(t, 1, testStart.Add(3*time.Second))
	xs := b.waitRecords(t, "tick", 2)
	if len(xs) != 2 {
		t.Fatalf("%d executions, want 2", len(xs))
	}
	var missed, ran *store.Execution
	for _, x := range xs {
		if x.State == store.StateSkipped {
			missed = x
		} else {
			ran = x
		}
	}
	if missed == nil || ran == nil {
		t.Fatalf("states = %v, want one skipped and one run", states(xs))
	}
	if !strings.HasPrefix(missed.SkipReason, store.ReasonMissed) || !strings.Contains(missed.SkipReason, "2 slot(s)") {
		t.Fatalf("skip reason = %q, want missed with 2 slots", missed.SkipReason)
	}
	if !missed.ScheduledAt.Equal(testStart.Add(time.Second)) || !ran.ScheduledAt.Equal(testStart.Add(3*time.Second)) {
		t.Fatalf("missed at %v, ran at %v", missed.ScheduledAt, ran.ScheduledAt)
	}
}

func TestSuspendedTaskDoesNotFire(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t,
		Spec{Name: "off", Schedule: cron.Every(time.Second), Job: JobFunc(ok), StartSuspended: true},
		Spec{Name: "on", Schedule: cron.Every(time.Second), Job: JobFunc(ok)},
	)
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Second))
	b.waitRecords(t, "on", 1)
	if xs := b.history(t, "off"); len(xs) != 0 {
		t.Fatalf("suspended task recorded %d executions", len(xs))
	}
	info := b.eng.Tasks()[0]
	if info.Name != "off" || !info.Suspended || info.SuspendedReason == "" || !info.Next.IsZero() {
		t.Fatalf("Tasks()[0] = %+v, want suspended with a reason and no next fire", info)
	}
	if err := b.eng.Resume(context.Background(), "off"); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	b.advanceTo(t, 1, testStart.Add(2*time.Second))
	xs := b.waitRecords(t, "off", 1)
	if !xs[0].ScheduledAt.Equal(testStart.Add(2 * time.Second)) {
		t.Fatalf("resumed task scheduled at %v", xs[0].ScheduledAt)
	}
	st, err := b.store.GetTaskState(context.Background(), "off")
	if err != nil || st.Suspended {
		t.Fatalf("persisted state = %+v, %v; want not suspended", st, err)
	}
}

func TestRegisterAfterStartArms(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	b.register(t, Spec{Name: "late", Schedule: cron.Every(time.Minute), Job: JobFunc(ok)})
	b.advanceTo(t, 1, testStart.Add(time.Minute))
	b.waitRecords(t, "late", 1)
	if err := b.eng.Register(Spec{Name: "late", Job: JobFunc(ok)}); !errors.Is(err, ErrDuplicateTask) {
		t.Fatalf("second Register = %v, want ErrDuplicateTask", err)
	}
}
