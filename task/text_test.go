package task

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// recordsUnstorableText runs jobs whose error, exit message, panic and
// listener message hold a NUL byte and invalid UTF-8 on an engine over st,
// and checks that each end is recorded, with the text cleaned, in the store
// and in what Wait returns; and that the auto-suspension whose reason
// quotes the error is saved.
func recordsUnstorableText(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	eng, err := New(WithClock(clockwork.NewFakeClockAt(testStart)), WithStore(st), WithNodeID("node-1"), WithoutInitHooks(),
		WithListener(ListenerFuncs{End: func(_ context.Context, x *store.Execution) error {
			if x.Task == "listener" {
				x.ExitMessage = "set by\x00 a listener \xfe"
			}
			return nil
		}}))
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
	for _, s := range []Spec{
		{Name: "error", SuspendAfterFailures: 1, Job: JobFunc(func(ctx context.Context) error {
			SetExitMessage(ctx, "msg\x00\xfe")
			return errors.New("bad\x00byte\xff")
		})},
		{Name: "panic", Job: JobFunc(func(context.Context) error { panic("boom\x00\xff") })},
		{Name: "listener", Job: JobFunc(ok)},
	} {
		if err := eng.Register(s); err != nil {
			t.Fatalf("Register(%q): %v", s.Name, err)
		}
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	for _, tc := range []struct {
		task      string
		state     store.State
		errText   string // the recorded error, or a part of it if partial
		partial   bool
		message   string
		exitCode  int
		suspended bool
	}{
		{task: "error", state: store.StateFailed, errText: "badbyte\uFFFD", message: "msg\uFFFD", exitCode: 1, suspended: true},
		{task: "panic", state: store.StateFailed, errText: "task: panic: boom\uFFFD\n", partial: true, exitCode: 1},
		{task: "listener", state: store.StateSucceeded, message: "set by a listener \uFFFD"},
	} {
		id, err := eng.RunNow(ctx, tc.task)
		if err != nil {
			t.Fatalf("RunNow(%q): %v", tc.task, err)
		}
		wctx, cancel := context.WithTimeout(ctx, waitLimit)
		waited, err := eng.Wait(wctx, id)
		cancel()
		if err != nil {
			t.Fatalf("Wait(%q): %v", tc.task, err)
		}
		stored, err := st.GetExecution(ctx, id)
		if err != nil {
			t.Fatalf("GetExecution(%q): %v", tc.task, err)
		}
		for _, x := range []struct {
			what string
			x    *store.Execution
		}{{"stored", stored}, {"Wait's", waited}} {
			errOK := x.x.Error == tc.errText || (tc.partial && strings.Contains(x.x.Error, tc.errText))
			if x.x.State != tc.state || !errOK || x.x.ExitMessage != tc.message || x.x.ExitCode != tc.exitCode ||
				!store.TextOK(x.x.Error) {
				t.Errorf("%s: %s record: state %s, error %.80q, message %q, exit code %d; want %s, %q, %q, %d",
					tc.task, x.what, x.x.State, x.x.Error, x.x.ExitMessage, x.x.ExitCode, tc.state, tc.errText, tc.message, tc.exitCode)
			}
		}
		if !tc.suspended {
			continue
		}
		var ts *store.TaskState
		waitFor(t, "the suspension of "+tc.task+" to be saved", func() bool {
			ts, err = st.GetTaskState(ctx, tc.task)
			return err == nil && ts.Suspended
		})
		if want := fmt.Sprintf("execution %s: %s", id, tc.errText); !strings.HasSuffix(ts.SuspendedReason, want) {
			t.Errorf("%s: suspended reason %q, want it to end with %q", tc.task, ts.SuspendedReason, want)
		}
	}
}

func TestRunEndRecordsUnstorableText(t *testing.T) {
	t.Parallel()
	recordsUnstorableText(t, memory.New())
}

func TestRunEndRecordsUnstorableTextOnPostgres(t *testing.T) {
	recordsUnstorableText(t, postgresStore(t, "text"))
}

// RunNow refuses arguments and an external id that no store holds as they
// are, naming them, and records nothing: the job never reads arguments
// other than those given.
func TestRunNowRefusesUnstorableArgs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, Spec{Name: "t", Job: JobFunc(ok)})
	b.start(t)
	for _, tc := range []struct {
		opts []RunOption
		name string // what the error names
	}{
		{[]RunOption{WithArgs("ok"), WithArgs("fine", "caf\xe9")}, "argument 2"},
		{[]RunOption{WithArgs("a\x00b")}, "argument 0"},
		{[]RunOption{WithExternalID("ext\x00")}, "WithExternalID"},
	} {
		_, err := b.eng.RunNow(context.Background(), "t", tc.opts...)
		if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("RunNow: error = %v, want ErrInvalidOption naming %s", err, tc.name)
		}
	}
	if xs := b.history(t, "t"); len(xs) != 0 {
		t.Errorf("refused runs left %d records", len(xs))
	}
}

// A graph member that cannot start is recorded skipped with the reason,
// cleaned, whatever the error's text.
func TestGraphSkipReasonIsCleaned(t *testing.T) {
	t.Parallel()
	b, fs := setupFaulty(t)
	b.register(t,
		Spec{Name: "root", Job: JobFunc(ok)},
		Spec{Name: "child", After: []string{"root"}, Job: JobFunc(ok)},
	)
	b.start(t)
	var failed atomic.Bool
	fs.mu.Lock()
	fs.onCreate = func(x *store.Execution) error {
		if x.Task == "child" && failed.CompareAndSwap(false, true) {
			// Only the first attempt fails: the member's start.
			return errors.New("disk\x00 on fire \xff")
		}
		return nil
	}
	fs.mu.Unlock()
	run := b.runGraph(t, "root")
	child := run["child"]
	if child == nil {
		t.Fatalf("graph run has no record of child: %v", run)
	}
	if want := "could not start: disk on fire \uFFFD"; child.State != store.StateSkipped || child.SkipReason != want {
		t.Errorf("child: state %s, skip reason %q; want skipped, %q", child.State, child.SkipReason, want)
	}
}
