package task

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

// Every call into user code is recovered: the methods of a job's error and
// the exit code mapper too, not only the job, condition and listeners.

// panicky is an error whose methods panic as told.
type panicky struct {
	errorPanics, exitCodePanics, unwrapPanics bool
}

func (p *panicky) Error() string {
	if p.errorPanics {
		panic("Error exploded")
	}
	return "a panicky error"
}

func (p *panicky) ExitCode() int {
	if p.exitCodePanics {
		panic("ExitCode exploded")
	}
	return 7
}

func (p *panicky) Unwrap() error {
	if p.unwrapPanics {
		panic("Unwrap exploded")
	}
	return nil
}

func TestPanicsInTheErrorsMethodsAndTheMapperAreRecorded(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		err    error
		mapper ExitCodeMapper
		want   []string // in the recorded error
		code   int
	}{
		{name: "Error", err: &panicky{errorPanics: true}, want: []string{"Error method", "Error exploded", "goroutine"}, code: 7},
		{name: "ExitCode", err: &panicky{exitCodePanics: true}, want: []string{"a panicky error", "ExitCode method", "ExitCode exploded", "goroutine"}, code: 1},
		{name: "Unwrap", err: &panicky{unwrapPanics: true}, want: []string{"a panicky error", "Unwrap exploded", "goroutine"}, code: 1},
		{
			name:   "mapper",
			err:    errors.New("plain failure"),
			mapper: func(error) int { panic("mapper exploded") },
			want:   []string{"plain failure", "exit code mapper", "mapper exploded", "goroutine"},
			code:   1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var opts []Option
			if c.mapper != nil {
				opts = append(opts, WithExitCodeMapper(c.mapper))
			}
			var (
				mu     sync.Mutex
				failed []string // what OnTaskFailed saw in the record
				msgs   []*notify.Message
			)
			opts = append(opts,
				WithListener(ListenerFuncs{Failed: func(_ context.Context, x *store.Execution, err error) error {
					mu.Lock()
					failed = append(failed, x.Error)
					mu.Unlock()
					return nil
				}}),
				WithIntegration("ops", notify.NotifierFunc(func(_ context.Context, m *notify.Message) error {
					mu.Lock()
					msgs = append(msgs, m)
					mu.Unlock()
					return nil
				})))
			b := setup(t, opts...)
			calls := 0
			b.register(t, Spec{Name: "t", ErrorIntegration: "ops", Job: JobFunc(func(context.Context) error {
				calls++ // runs are one after the other: Wait comes between
				if calls == 1 {
					return c.err
				}
				return nil
			})})
			b.start(t)
			x := b.wait(t, b.runNow(t, "t"))
			if x.State != store.StateFailed || x.ExitCode != c.code {
				t.Fatalf("run: %s exit %d, want failed %d", x.State, x.ExitCode, c.code)
			}
			for _, w := range c.want {
				if !strings.Contains(x.Error, w) {
					t.Errorf("recorded error does not contain %q:\n%s", w, x.Error)
				}
			}
			// The host goes on: the next run of the task succeeds.
			if x := b.wait(t, b.runNow(t, "t")); x.State != store.StateSucceeded {
				t.Fatalf("run after: %s, want succeeded", x.State)
			}
			waitFor(t, "the failure's notification", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(msgs) == 1
			})
			mu.Lock()
			defer mu.Unlock()
			if len(failed) != 1 || failed[0] == "" {
				t.Errorf("OnTaskFailed saw %q, want one record with an error", failed)
			}
		})
	}
}

// A job that ends its goroutine with runtime.Goexit (t.FailNow does) is
// recorded failed; the engine, its workers and Shutdown go on.
func TestJobThatCallsGoexitIsRecordedFailed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	calls := 0
	b.register(t,
		Spec{Name: "exits", Schedule: cron.Every(time.Second), Job: JobFunc(func(context.Context) error {
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			if n%2 == 1 {
				runtime.Goexit()
			}
			return nil
		})},
		Spec{Name: "manual", Job: JobFunc(func(context.Context) error { runtime.Goexit(); return nil })},
	)
	b.start(t)
	// A fire (the workers' path) and RunNow, twice each.
	for i := 1; i <= 4; i++ {
		b.advanceTo(t, 1, testStart.Add(time.Duration(i)*time.Second))
		b.waitRecords(t, "exits", i)
	}
	xs := b.history(t, "exits")
	for i, x := range xs {
		want := store.StateSucceeded
		if i%2 == 0 {
			want = store.StateFailed
		}
		if x.State != want {
			t.Fatalf("run %d: %s, want %s", i, x.State, want)
		}
		if want == store.StateFailed && (x.ExitCode != 1 || x.Error != ErrGoexit.Error()) {
			t.Fatalf("run %d: exit %d error %q, want 1 %q", i, x.ExitCode, x.Error, ErrGoexit)
		}
	}
	for range 2 {
		if x := b.wait(t, b.runNow(t, "manual")); x.State != store.StateFailed || x.Error != ErrGoexit.Error() {
			t.Fatalf("manual run: %s %q, want failed %q", x.State, x.Error, ErrGoexit)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := b.eng.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// runtime.Goexit in a listener or a condition ends the run failed as well.
func TestGoexitInAListenerOrConditionIsRecordedFailed(t *testing.T) {
	t.Parallel()
	for _, where := range []string{"startup", "end", "condition"} {
		t.Run(where, func(t *testing.T) {
			t.Parallel()
			l := ListenerFuncs{}
			switch where {
			case "startup":
				l.Startup = func(context.Context, *store.Execution) error { runtime.Goexit(); return nil }
			case "end":
				l.End = func(context.Context, *store.Execution) error { runtime.Goexit(); return nil }
			}
			b := setup(t, WithListener(l))
			spec := Spec{Name: "t", Schedule: cron.Every(time.Second), Job: JobFunc(ok)}
			if where == "condition" {
				spec.When = func(context.Context) (bool, error) { runtime.Goexit(); return true, nil }
			}
			b.register(t, spec)
			b.start(t)
			b.advanceTo(t, 1, testStart.Add(time.Second))
			x := b.waitRecords(t, "t", 1)[0]
			if x.State != store.StateFailed || x.Error != ErrGoexit.Error() {
				t.Fatalf("run: %s %q, want failed %q", x.State, x.Error, ErrGoexit)
			}
		})
	}
}
