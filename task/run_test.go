package task

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
)

func TestRunNowRecordsEveryField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	parent := uuid.New()
	var seen store.Execution
	var args []string
	var param string
	b.register(t, Spec{
		Name:   "report",
		Params: map[string]string{"region": "eu"},
		Job: JobFunc(func(ctx context.Context) error {
			seen, _ = CurrentExecution(ctx)
			args = Args(ctx)
			param, _ = Param(ctx, "region")
			SetExitMessage(ctx, "42 rows")
			return nil
		}),
	})
	b.start(t)
	id := b.runNow(t, "report", WithArgs("--full", "ünï"), WithExternalID("ext-7"), WithParentID(parent))
	x := b.wait(t, id)

	want := store.Execution{
		ID: id, Task: "report", Trigger: store.TriggerManual, StartedAt: testStart, EndedAt: testStart,
		State: store.StateSucceeded, ExitCode: 0, ExitMessage: "42 rows", Args: []string{"--full", "ünï"},
		ExternalID: "ext-7", ParentID: parent, Node: "node-1",
	}
	if x.ID != want.ID || x.Task != want.Task || x.Trigger != want.Trigger || !x.ScheduledAt.IsZero() ||
		!x.StartedAt.Equal(want.StartedAt) || !x.EndedAt.Equal(want.EndedAt) || x.State != want.State ||
		x.ExitCode != 0 || x.ExitMessage != want.ExitMessage || !slices.Equal(x.Args, want.Args) ||
		x.ExternalID != want.ExternalID || x.ParentID != want.ParentID || x.Node != want.Node ||
		x.Error != "" || x.SkipReason != "" || x.GraphRunID != uuid.Nil || x.RootTask != "" {
		t.Fatalf("record = %+v\nwant %+v", *x, want)
	}
	if seen.ID != id || seen.State != store.StateRunning {
		t.Fatalf("CurrentExecution = %s/%s, want %s/running", seen.ID, seen.State, id)
	}
	if !slices.Equal(args, want.Args) || param != "eu" {
		t.Fatalf("Args = %q, Param = %q", args, param)
	}
	if _, ok := CurrentExecution(context.Background()); ok {
		t.Fatal("CurrentExecution outside a run reported ok")
	}
}

type codeErr struct{ code int }

func (e codeErr) Error() string { return fmt.Sprintf("code %d", e.code) }
func (e codeErr) ExitCode() int { return e.code }

func TestExitCodes(t *testing.T) {
	t.Parallel()
	errMapped := errors.New("mapped")
	b := setup(t, WithExitCodeMapper(func(err error) int {
		if errors.Is(err, errMapped) {
			return 7
		}
		return 0
	}))
	cases := []struct {
		name  string
		err   error
		state store.State
		code  int
	}{
		{"ok", nil, store.StateSucceeded, 0},
		{"plain", errors.New("disk full"), store.StateFailed, 1},
		{"coder", fmt.Errorf("wrapped: %w", codeErr{3}), store.StateFailed, 3},
		{"exit", Exit(4, errors.New("bad input")), store.StateFailed, 4},
		{"mapped", fmt.Errorf("x: %w", errMapped), store.StateFailed, 7},
		{"exit zero", Exit(0, errors.New("claims success")), store.StateFailed, 1},
	}
	for _, c := range cases {
		b.register(t, Spec{Name: c.name, Job: JobFunc(func(context.Context) error { return c.err })})
	}
	b.start(t)
	for _, c := range cases {
		x := b.wait(t, b.runNow(t, c.name))
		if x.State != c.state || x.ExitCode != c.code {
			t.Errorf("%s: state %s code %d, want %s %d", c.name, x.State, x.ExitCode, c.state, c.code)
		}
		if c.err != nil && x.Error != c.err.Error() {
			t.Errorf("%s: error %q, want %q", c.name, x.Error, c.err.Error())
		}
	}
}

func TestPanicIsRecordedAndNextRunHappens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	calls := 0
	b.register(t, Spec{Name: "boom", Schedule: cron.Every(time.Second), Job: JobFunc(func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			panic("kaboom")
		}
		return nil
	})})
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Second))
	xs := b.waitRecords(t, "boom", 1)
	x := xs[0]
	if x.State != store.StateFailed || x.ExitCode != 1 {
		t.Fatalf("panicked run: %s exit %d, want failed 1", x.State, x.ExitCode)
	}
	if !strings.Contains(x.Error, "panic: kaboom") || !strings.Contains(x.Error, "goroutine") || !strings.Contains(x.Error, "run_test.go") {
		t.Fatalf("error does not hold the panic and its stack:\n%s", x.Error)
	}
	b.advanceTo(t, 1, testStart.Add(2*time.Second))
	xs = b.waitRecords(t, "boom", 2)
	if xs[1].State != store.StateSucceeded {
		t.Fatalf("run after the panic: %s, want succeeded", xs[1].State)
	}
}

// eventLog records listener events.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.events = append(l.events, s)
	l.mu.Unlock()
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// recorder is a listener that logs its events under a name, and can fail
// or set messages on chosen events.
type recorder struct {
	name string
	log  *eventLog
	fail map[string]error  // event -> error to return
	msg  map[string]string // event -> exit message to set
	pan  string            // event to panic on
}

func (r *recorder) do(event string, x *store.Execution) error {
	r.log.add(r.name + "." + event + ":" + string(x.State))
	if r.pan == event {
		panic("listener " + r.name + " panics")
	}
	if m, ok := r.msg[event]; ok {
		x.ExitMessage = m
	}
	return r.fail[event]
}

func (r *recorder) OnTaskStartup(_ context.Context, x *store.Execution) error {
	return r.do("startup", x)
}

func (r *recorder) OnTaskFailed(_ context.Context, x *store.Execution, err error) error {
	if err == nil {
		r.log.add(r.name + ".failed with nil error")
	}
	return r.do("failed", x)
}

func (r *recorder) OnTaskEnd(_ context.Context, x *store.Execution) error {
	return r.do("end", x)
}

func TestListenerOrder(t *testing.T) {
	t.Parallel()
	errStartup := errors.New("startup refused")
	errJob := errors.New("job failed")
	cases := []struct {
		name      string
		a, c      *recorder // engine listener a, task listener c
		jobErr    error
		want      []string
		state     store.State
		errSubstr string
		jobRan    bool
	}{
		{
			name: "success", a: &recorder{}, c: &recorder{},
			want:  []string{"a.startup:running", "c.startup:running", "job", "a.end:succeeded", "c.end:succeeded"},
			state: store.StateSucceeded, jobRan: true,
		},
		{
			name: "job fails", a: &recorder{}, c: &recorder{}, jobErr: errJob,
			want: []string{"a.startup:running", "c.startup:running", "job",
				"a.failed:failed", "c.failed:failed", "a.end:failed", "c.end:failed"},
			state: store.StateFailed, errSubstr: "job failed", jobRan: true,
		},
		{
			name: "startup listener fails", a: &recorder{fail: map[string]error{"startup": errStartup}}, c: &recorder{},
			want:  []string{"a.startup:running", "a.failed:failed", "c.failed:failed", "a.end:failed", "c.end:failed"},
			state: store.StateFailed, errSubstr: "startup refused",
		},
		{
			name: "failed listener fails", a: &recorder{fail: map[string]error{"failed": errors.New("x")}}, c: &recorder{}, jobErr: errJob,
			want: []string{"a.startup:running", "c.startup:running", "job",
				"a.failed:failed", "a.end:failed", "c.end:failed"},
			state: store.StateFailed, errSubstr: "job failed", jobRan: true,
		},
		{
			name: "end listener fails a success", a: &recorder{fail: map[string]error{"end": errors.New("end refused")}}, c: &recorder{},
			want:  []string{"a.startup:running", "c.startup:running", "job", "a.end:succeeded"},
			state: store.StateFailed, errSubstr: "end refused", jobRan: true,
		},
		{
			name: "startup listener panics", a: &recorder{pan: "startup"}, c: &recorder{},
			want:  []string{"a.startup:running", "a.failed:failed", "c.failed:failed", "a.end:failed", "c.end:failed"},
			state: store.StateFailed, errSubstr: "listener a panics",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			log := &eventLog{}
			c.a.name, c.a.log, c.c.name, c.c.log = "a", log, "c", log
			b := setup(t, WithListener(c.a))
			b.register(t, Spec{Name: "t", Listeners: []Listener{c.c}, Job: JobFunc(func(context.Context) error {
				log.add("job")
				return c.jobErr
			})})
			b.start(t)
			x := b.wait(t, b.runNow(t, "t"))
			if got := log.get(); !slices.Equal(got, c.want) {
				t.Fatalf("events = %q\nwant     %q", got, c.want)
			}
			if x.State != c.state || !strings.Contains(x.Error, c.errSubstr) {
				t.Fatalf("record %s %q, want %s containing %q", x.State, x.Error, c.state, c.errSubstr)
			}
			if c.state == store.StateFailed && x.ExitCode != 1 {
				t.Fatalf("exit code %d, want 1", x.ExitCode)
			}
		})
	}
}

func TestExitMessagePrecedence(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		msg    map[string]string
		jobMsg string
		jobErr error
		want   string
	}{
		{"startup only", map[string]string{"startup": "s"}, "", nil, "s"},
		{"job beats startup", map[string]string{"startup": "s"}, "j", nil, "j"},
		{"failed beats job", map[string]string{"startup": "s", "failed": "f"}, "j", errors.New("x"), "f"},
		{"end beats failed", map[string]string{"startup": "s", "failed": "f", "end": "e"}, "j", errors.New("x"), "e"},
		{"end beats startup", map[string]string{"startup": "s", "end": "e"}, "", nil, "e"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, WithListener(&recorder{name: "l", log: &eventLog{}, msg: c.msg}))
			b.register(t, Spec{Name: "t", Job: JobFunc(func(ctx context.Context) error {
				if c.jobMsg != "" {
					SetExitMessage(ctx, c.jobMsg)
				}
				return c.jobErr
			})})
			b.start(t)
			if x := b.wait(t, b.runNow(t, "t")); x.ExitMessage != c.want {
				t.Fatalf("exit message %q, want %q", x.ExitMessage, c.want)
			}
		})
	}
}

func TestOverlapSkip(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate()
	b.register(t, Spec{Name: "slow", Schedule: cron.Every(time.Second), Job: g})
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Second))
	g.waitStarted(t)
	b.advanceTo(t, 1, testStart.Add(2*time.Second))
	xs := b.waitRecords(t, "slow", 1)
	if len(xs) != 2 || xs[0].State != store.StateRunning || xs[1].State != store.StateSkipped || xs[1].SkipReason != store.ReasonOverlap {
		t.Fatalf("states %v reason %q, want [running skipped] overlap", states(xs), xs[len(xs)-1].SkipReason)
	}
	if !xs[1].ScheduledAt.Equal(testStart.Add(2 * time.Second)) {
		t.Fatalf("skipped slot %v", xs[1].ScheduledAt)
	}
	if _, err := b.eng.RunNow(context.Background(), "slow"); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("RunNow while running = %v, want ErrAlreadyRunning", err)
	}
	close(g.release)
	xs = b.waitRecords(t, "slow", 2)
	if xs[0].State != store.StateSucceeded {
		t.Fatalf("first run %s, want succeeded", xs[0].State)
	}
	select {
	case <-g.started:
		t.Fatal("the skipped fire ran the job")
	default:
	}
}

func TestOverlapQueueOne(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate()
	b.register(t, Spec{Name: "q", Schedule: cron.Every(time.Second), Job: g, Overlap: OverlapQueueOne})
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Second))
	g.waitStarted(t)
	b.advanceTo(t, 1, testStart.Add(2*time.Second))
	waitFor(t, "pending record", func() bool { return len(b.history(t, "q")) == 2 })
	b.advanceTo(t, 1, testStart.Add(3*time.Second))
	waitFor(t, "skipped record", func() bool { return len(b.history(t, "q")) == 3 })
	xs := b.history(t, "q")
	if got := states(xs); !slices.Equal(got, []store.State{store.StateRunning, store.StatePending, store.StateSkipped}) {
		t.Fatalf("states = %v", got)
	}
	close(g.release)
	g.waitStarted(t) // the queued run starts
	xs = b.waitRecords(t, "q", 3)
	if got := states(xs); !slices.Equal(got, []store.State{store.StateSucceeded, store.StateSucceeded, store.StateSkipped}) {
		t.Fatalf("states = %v", got)
	}
}

func TestOverlapAllow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate()
	b.register(t, Spec{Name: "par", Job: g, Overlap: OverlapAllow})
	b.start(t)
	id1, id2 := b.runNow(t, "par"), b.runNow(t, "par")
	g.waitStarted(t)
	g.waitStarted(t)
	close(g.release)
	if x1, x2 := b.wait(t, id1), b.wait(t, id2); x1.State != store.StateSucceeded || x2.State != store.StateSucceeded {
		t.Fatalf("states %s %s", x1.State, x2.State)
	}
}

func TestSuspendAfterFailures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	results := []error{errors.New("1"), errors.New("2"), nil, errors.New("3"), errors.New("4"), errors.New("5")}
	b.register(t, Spec{Name: "flaky", Schedule: cron.Every(time.Second), SuspendAfterFailures: 3,
		Job: JobFunc(func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			err := results[0]
			if len(results) > 1 {
				results = results[1:]
			}
			return err
		})})
	b.start(t)
	suspended := func() bool { return b.eng.Tasks()[0].Suspended }
	// fail, fail, succeed (resets), fail, fail: not suspended.
	for i := 1; i <= 5; i++ {
		b.advanceTo(t, 1, testStart.Add(time.Duration(i)*time.Second))
		b.waitRecords(t, "flaky", i)
		waitFor(t, "counters", func() bool { return b.eng.Tasks()[0].Running == 0 })
		if suspended() {
			t.Fatalf("suspended after run %d", i)
		}
	}
	if n := b.eng.Tasks()[0].ConsecutiveFailures; n != 2 {
		t.Fatalf("consecutive failures = %d, want 2", n)
	}
	// The third consecutive failure suspends.
	b.advanceTo(t, 1, testStart.Add(6*time.Second))
	b.waitRecords(t, "flaky", 6)
	waitFor(t, "suspension", suspended)
	info := b.eng.Tasks()[0]
	if !strings.Contains(info.SuspendedReason, "3 consecutive failures") || !strings.Contains(info.SuspendedReason, ": 5") {
		t.Fatalf("reason = %q", info.SuspendedReason)
	}
	st, err := b.store.GetTaskState(context.Background(), "flaky")
	if err != nil || !st.Suspended || st.ConsecutiveFailures != 3 || st.SuspendedReason != info.SuspendedReason {
		t.Fatalf("persisted state = %+v, %v", st, err)
	}
	// Suspended: the next slot records nothing.
	b.advanceTo(t, 1, testStart.Add(7*time.Second))
	waitFor(t, "the fire at 7s", func() bool { return b.eng.dispatches.Load() == 7 })
	if n := len(b.history(t, "flaky")); n != 6 {
		t.Fatalf("%d executions while suspended, want 6", n)
	}
	// Resume: it fires again and the count starts over.
	if err := b.eng.Resume(context.Background(), "flaky"); err != nil {
		t.Fatal(err)
	}
	if n := b.eng.Tasks()[0].ConsecutiveFailures; n != 0 {
		t.Fatalf("failures after Resume = %d, want 0", n)
	}
	b.advanceTo(t, 1, testStart.Add(8*time.Second))
	xs := b.waitRecords(t, "flaky", 7)
	if !xs[6].ScheduledAt.Equal(testStart.Add(8 * time.Second)) {
		t.Fatalf("run after resume scheduled at %v", xs[6].ScheduledAt)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate()
	b.register(t, Spec{Name: "long", Job: g})
	b.start(t)
	id := b.runNow(t, "long")
	g.waitStarted(t)
	if err := b.eng.Cancel(context.Background(), id); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	x := b.wait(t, id)
	if x.State != store.StateCancelled || x.ExitCode != ExitCodeCancelled || !strings.Contains(x.Error, "cancelled") {
		t.Fatalf("record %s exit %d error %q, want cancelled %d", x.State, x.ExitCode, x.Error, ExitCodeCancelled)
	}
	if err := b.eng.Cancel(context.Background(), id); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Cancel of a finished run = %v, want ErrNotRunning", err)
	}
	if err := b.eng.Cancel(context.Background(), uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Cancel of an unknown id = %v, want store.ErrNotFound", err)
	}
}

func TestCancelQueued(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate()
	b.register(t, Spec{Name: "q", Job: g, Overlap: OverlapQueueOne})
	b.start(t)
	first := b.runNow(t, "q")
	g.waitStarted(t)
	queued := b.runNow(t, "q")
	if err := b.eng.Cancel(context.Background(), queued); err != nil {
		t.Fatal(err)
	}
	if x := b.wait(t, queued); x.State != store.StateCancelled {
		t.Fatalf("queued run %s, want cancelled", x.State)
	}
	close(g.release)
	if x := b.wait(t, first); x.State != store.StateSucceeded {
		t.Fatalf("first run %s", x.State)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, Spec{Name: "slow", Timeout: 5 * time.Second, Job: newGate()})
	b.start(t)
	id := b.runNow(t, "slow")
	b.timers(t, 1) // the timeout's timer
	b.clock.Advance(5 * time.Second)
	x := b.wait(t, id)
	if x.State != store.StateFailed || x.ExitCode != 1 || !strings.Contains(x.Error, "timed out after 5s") {
		t.Fatalf("record %s exit %d error %q, want failed with a timeout", x.State, x.ExitCode, x.Error)
	}
}

func TestCondition(t *testing.T) {
	t.Parallel()
	b := setup(t)
	log := &eventLog{}
	b.register(t,
		Spec{Name: "never", Schedule: cron.Every(time.Second), When: func(context.Context) (bool, error) { return false, nil },
			Listeners: []Listener{&recorder{name: "l", log: log}},
			Job:       JobFunc(func(context.Context) error { log.add("job"); return nil })},
		Spec{Name: "broken", Schedule: cron.Every(time.Second), When: func(context.Context) (bool, error) { return false, errors.New("db down") },
			Job: JobFunc(ok)},
	)
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Second))
	x := b.waitRecords(t, "never", 1)[0]
	if x.State != store.StateSkipped || x.SkipReason != store.ReasonCondition {
		t.Fatalf("record %s %q, want skipped condition", x.State, x.SkipReason)
	}
	if got := log.get(); len(got) != 0 {
		t.Fatalf("a skipped run called %q", got)
	}
	y := b.waitRecords(t, "broken", 1)[0]
	if y.State != store.StateFailed || !strings.Contains(y.Error, "condition: db down") {
		t.Fatalf("record %s %q, want failed with the condition's error", y.State, y.Error)
	}
	// RunNow does not evaluate the condition.
	if x := b.wait(t, b.runNow(t, "never")); x.State != store.StateSucceeded {
		t.Fatalf("RunNow of a task whose condition is false: %s", x.State)
	}
}
