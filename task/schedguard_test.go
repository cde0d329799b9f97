package task

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

// badSchedule fires every minute for its first good calls of Next, then
// breaks as mode says: "arg" returns its argument, "past" an hour before
// it, "panic" panics, "end" returns zero (no more activations: not a
// break). With good < 0 it is always good.
type badSchedule struct {
	mode  string
	good  int64
	calls atomic.Int64
}

func (s *badSchedule) Next(t time.Time) time.Time {
	if s.good < 0 || s.calls.Add(1) <= s.good {
		return t.Truncate(time.Minute).Add(time.Minute)
	}
	switch s.mode {
	case "arg":
		return t
	case "past":
		return t.Add(-time.Hour)
	case "panic":
		panic("schedule broke")
	}
	return time.Time{}
}

func (s *badSchedule) String() string { return "bad " + s.mode }

// funcSchedule is a schedule made of a function.
type funcSchedule func(time.Time) time.Time

func (f funcSchedule) Next(t time.Time) time.Time { return f(t) }
func (f funcSchedule) String() string             { return "func" }

// within runs fn and fails the test if it does not return within
// waitLimit: a schedule must never hang the engine.
func within(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(waitLimit):
		t.Fatalf("%s did not return", what)
		return nil
	}
}

func TestScheduleThatDoesNotAdvanceIsRejected(t *testing.T) {
	t.Parallel()
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		sched   funcSchedule
		atStart bool // Register accepts it (its answer after 1970 is good); Start refuses it
		words   []string
	}{
		{"returns its argument", func(t time.Time) time.Time { return t }, false, []string{"not a time after it"}},
		{"returns an earlier time", func(t time.Time) time.Time { return t.Add(-time.Minute) }, false, []string{"not a time after it"}},
		{"panics", func(time.Time) time.Time { panic("boom") }, false, []string{"panicked: boom"}},
		{"returns a past time", func(time.Time) time.Time { return past }, true, []string{"returned 2020-01-01T00:00:00Z"}},
		{"panics after 2025", func(t time.Time) time.Time {
			if t.Year() >= 2025 {
				panic("boom")
			}
			return t.Add(time.Hour)
		}, true, []string{"panicked: boom"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			spec := Spec{Name: "bad", Schedule: c.sched, Job: JobFunc(ok)}
			err := within(t, "Register", func() error { return b.eng.Register(spec) })
			if c.atStart {
				if err != nil {
					t.Fatalf("Register = %v, want nil", err)
				}
				err = within(t, "Start", func() error { return b.eng.Start(context.Background()) })
			} else if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("Register = %v, want ErrInvalidSpec", err)
			}
			if !errors.Is(err, ErrBadSchedule) {
				t.Fatalf("error = %v, want ErrBadSchedule", err)
			}
			for _, w := range append(c.words, `"bad"`) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %s", err, w)
				}
			}
		})
	}
}

// Registered after Start, a schedule is asked after the clock's now.
func TestRegisterAfterStartRejectsAScheduleThatDoesNotAdvance(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.start(t)
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	spec := Spec{Name: "bad", Schedule: funcSchedule(func(time.Time) time.Time { return past }), Job: JobFunc(ok)}
	err := within(t, "Register", func() error { return b.eng.Register(spec) })
	if !errors.Is(err, ErrBadSchedule) || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("Register = %v, want ErrBadSchedule naming the task", err)
	}
	if n := len(b.eng.Tasks()); n != 0 {
		t.Fatalf("%d tasks after a refused Register, want 0", n)
	}
}

// A schedule that breaks after it has fired stops firing: its task gets
// one failed execution saying why (and its error integration is told),
// the engine goes on, and Shutdown returns.
func TestScheduleThatBreaksLaterIsRecordedAndStops(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"arg", "past", "panic"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			c := newCollector()
			b := setup(t, WithIntegration("ops", c))
			sched := &badSchedule{mode: mode, good: 12}
			b.register(t, Spec{Name: "bad", Schedule: sched, ErrorIntegration: "ops", Job: JobFunc(ok)},
				Spec{Name: "manual", Job: JobFunc(ok)})
			if err := within(t, "Start", func() error { return b.eng.Start(context.Background()) }); err != nil {
				t.Fatalf("Start: %v", err)
			}
			failed := func() *store.Execution {
				for _, x := range b.history(t, "bad") {
					if x.State == store.StateFailed {
						return x
					}
				}
				return nil
			}
			var x *store.Execution
			for i := 1; i <= 20 && x == nil; i++ {
				b.advanceTo(t, 1, minute(i))
				waitFor(t, "the fire or the failure", func() bool {
					if x = failed(); x != nil {
						return true
					}
					for _, y := range b.history(t, "bad") {
						if y.ScheduledAt.Equal(minute(i)) && y.State.Final() {
							return true
						}
					}
					return false
				})
			}
			if x == nil {
				t.Fatal("no failed execution after 20 minutes")
			}
			if x.Trigger != store.TriggerSchedule || !strings.Contains(x.Error, "bad schedule") ||
				!strings.Contains(x.Error, `"bad `+mode+`"`) || x.ExitCode != 1 {
				t.Fatalf("failed execution: %s, exit %d, error %q", x.Trigger, x.ExitCode, x.Error)
			}
			if mode == "panic" && !strings.Contains(x.Error, "schedule broke") {
				t.Fatalf("error %q does not hold the panic", x.Error)
			}
			if m := c.wait(t, 1)[0]; m.MessageType != notify.TaskFailed || m.Messages[0].QueryID != x.ID.String() {
				t.Fatalf("notification %s for %s, want TASK_FAILED for %s", m.MessageType, m.Messages[0].QueryID, x.ID)
			}
			n := len(b.history(t, "bad"))
			for _, y := range b.history(t, "bad") {
				if y.ID != x.ID && y.State != store.StateSucceeded {
					t.Fatalf("a fire before the break: %s", y.State)
				}
			}
			if info := b.eng.Tasks()[0]; info.Next != (time.Time{}) {
				t.Fatalf("Tasks: next fire %v after the break, want none", info.Next)
			}
			// It fires no more; the engine goes on.
			at := b.clock.Now().Add(5 * time.Minute)
			b.advanceTo(t, 1, at)
			b.wait(t, b.runNow(t, "manual"))
			if m := len(b.history(t, "bad")); m != n {
				t.Fatalf("%d executions after the break, then %d", n, m)
			}
			// A task registered on the broken schedule is refused.
			err := b.eng.Register(Spec{Name: "late", Schedule: &badSchedule{mode: mode, good: -1}, Job: JobFunc(ok)})
			if !errors.Is(err, ErrBadSchedule) || !strings.Contains(err.Error(), `"late"`) {
				t.Fatalf("Register on the broken schedule = %v, want ErrBadSchedule naming the task", err)
			}
			if err := within(t, "Shutdown", func() error { return b.eng.Shutdown(context.Background()) }); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		})
	}
}

// A schedule with no activation left after Start's now (Next returns zero)
// is not an error: it arms and never fires.
func TestScheduleThatHasEndedArmsAndNeverFires(t *testing.T) {
	t.Parallel()
	end := testStart.Add(-time.Hour)
	sched := funcSchedule(func(t time.Time) time.Time {
		if n := t.Truncate(time.Hour).Add(time.Hour); n.Before(end) {
			return n
		}
		return time.Time{}
	})
	b := setup(t)
	b.register(t, Spec{Name: "ended", Schedule: sched, Job: JobFunc(ok)})
	if err := within(t, "Start", func() error { return b.eng.Start(context.Background()) }); err != nil {
		t.Fatalf("Start: %v", err)
	}
	b.advanceTo(t, 1, testStart.Add(3*time.Hour))
	if xs := b.history(t, "ended"); len(xs) != 0 {
		t.Fatalf("%d executions of an ended schedule", len(xs))
	}
	if info := b.eng.Tasks()[0]; !info.Next.IsZero() {
		t.Fatalf("Tasks: next fire %v, want none", info.Next)
	}
}
