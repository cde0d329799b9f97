package task

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

func TestShutdownWaitsThenCancels(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate() // returns when its context is cancelled
	stubborn := make(chan struct{})
	b.register(t,
		Spec{Name: "polite", Job: g},
		Spec{Name: "stubborn", Job: JobFunc(func(context.Context) error { <-stubborn; return nil })},
	)
	b.start(t)
	polite, rude := b.runNow(t, "polite"), b.runNow(t, "stubborn")
	g.waitStarted(t)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.eng.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	for _, id := range []uuid.UUID{polite, rude} {
		var x *store.Execution
		waitFor(t, "cancelled record", func() bool {
			var err error
			x, err = b.store.GetExecution(context.Background(), id)
			return err == nil && x.State.Final()
		})
		if x.State != store.StateCancelled || x.ExitCode != ExitCodeCancelled || !strings.Contains(x.Error, "shut down") {
			t.Fatalf("%s: %s exit %d %q, want cancelled by shutdown", x.Task, x.State, x.ExitCode, x.Error)
		}
	}
	close(stubborn) // the late result is dropped
	if err := b.eng.Shutdown(context.Background()); !errors.Is(err, ErrEngineClosed) {
		t.Fatalf("second Shutdown = %v, want ErrEngineClosed", err)
	}
	if _, err := b.eng.RunNow(context.Background(), "polite"); !errors.Is(err, ErrEngineClosed) {
		t.Fatalf("RunNow after Shutdown = %v, want ErrEngineClosed", err)
	}
	if err := b.eng.Start(context.Background()); !errors.Is(err, ErrEngineClosed) {
		t.Fatalf("Start after Shutdown = %v, want ErrEngineClosed", err)
	}
	// The stubborn job's late return does not overwrite the record.
	b.eng.wg.Wait()
	if x, _ := b.store.GetExecution(context.Background(), rude); x.State != store.StateCancelled {
		t.Fatalf("stubborn run became %s after returning late", x.State)
	}
}

func TestShutdownWaitsForRunsThatEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := newGate()
	b.register(t, Spec{Name: "t", Job: g})
	b.start(t)
	id := b.runNow(t, "t")
	g.waitStarted(t)
	done := make(chan error)
	go func() { done <- b.eng.Shutdown(context.Background()) }()
	close(g.release)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if x, _ := b.store.GetExecution(context.Background(), id); x.State != store.StateSucceeded {
		t.Fatalf("run %s, want succeeded", x.State)
	}
}

func TestRegisterRejectsBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, Spec{Name: "taken", Job: JobFunc(ok)})
	cases := []struct {
		name   string
		spec   Spec
		target error
		words  []string // the message names the input
		field  string   // for a *cron.ParseError
	}{
		{"empty name", Spec{Job: JobFunc(ok)}, ErrInvalidSpec, []string{"task name must not be empty"}, ""},
		{"control char", Spec{Name: "a\nb", Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"a\nb"`}, ""},
		{"long name", Spec{Name: strings.Repeat("x", 201), Job: JobFunc(ok)}, ErrInvalidSpec, []string{"201 bytes"}, ""},
		{"duplicate", Spec{Name: "taken", Job: JobFunc(ok)}, ErrDuplicateTask, []string{`"taken"`}, ""},
		{"nil job", Spec{Name: "nojob"}, ErrInvalidSpec, []string{`"nojob"`, "job is nil"}, ""},
		{"invalid cron", Spec{Name: "c", Cron: "0 0 25 * * *", Job: JobFunc(ok)}, cron.ErrOutOfRange, []string{`"c"`, "hour", `"25"`}, "hour"},
		{"bad field count", Spec{Name: "c", Cron: "* * *", Job: JobFunc(ok)}, cron.ErrFieldCount, []string{`"c"`, `"* * *"`}, "expression"},
		{"unknown zone", Spec{Name: "z", Cron: "0 0 2 * * *", TimeZone: "Mars/Olympus", Job: JobFunc(ok)}, cron.ErrUnknownZone, []string{`"z"`, "Mars/Olympus"}, "zone"},
		{"zone without cron", Spec{Name: "z", TimeZone: "UTC", Job: JobFunc(ok)}, ErrInvalidSpec, []string{"TimeZone"}, ""},
		{"zone prefix and zone disagree", Spec{Name: "z", Cron: "CRON_TZ=Asia/Tokyo 0 9 * * *", TimeZone: "Europe/Berlin", Job: JobFunc(ok)}, cron.ErrZoneConflict, []string{`"z"`, "CRON_TZ=Asia/Tokyo", "Europe/Berlin"}, "zone"},
		{"L alone in day-of-week", Spec{Name: "q", Cron: "0 0 0 ? * L", Job: JobFunc(ok)}, cron.ErrSyntax, []string{`"q"`, "day-of-week", "6L"}, "day-of-week"},
		{"both schedules", Spec{Name: "z", Cron: "@hourly", Schedule: cron.Every(time.Hour), Job: JobFunc(ok)}, ErrInvalidSpec, []string{"both"}, ""},
		{"bad interval", Spec{Name: "i", Schedule: cron.Every(-time.Second), Job: JobFunc(ok)}, cron.ErrInterval, []string{`"i"`, "-1s"}, "interval"},
		{"negative timeout", Spec{Name: "n", Timeout: -time.Second, Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"n"`, "timeout -1s"}, ""},
		{"negative failures", Spec{Name: "n", SuspendAfterFailures: -1, Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"n"`, "SuspendAfterFailures"}, ""},
		{"bad overlap", Spec{Name: "n", Overlap: OverlapPolicy(9), Job: JobFunc(ok)}, ErrInvalidSpec, []string{"overlap"}, ""},
		{"nil listener", Spec{Name: "n", Listeners: []Listener{nil}, Job: JobFunc(ok)}, ErrInvalidSpec, []string{"listener 0"}, ""},
		{"nil schedule", Spec{Name: "s", Schedule: (*cron.Expr)(nil), Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"s"`, "schedule cannot be used"}, ""},
		{"zero schedule", Spec{Name: "s", Schedule: &cron.Expr{}, Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"s"`, "never fires"}, ""},
		{"invalid UTF-8 name", Spec{Name: "a\xffb", Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"a\xffb"`, "UTF-8"}, ""},
		{"NUL in name", Spec{Name: "a\x00b", Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"a\x00b"`, "control"}, ""},
		{"C1 control in name", Spec{Name: "a\u0085b", Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"a\u0085b"`, "control"}, ""},
		{"nil JobFunc", Spec{Name: "nilfunc", Job: JobFunc(nil)}, ErrInvalidSpec, []string{`"nilfunc"`, "nil JobFunc"}, ""},
		{"empty predecessor", Spec{Name: "d", After: []string{"taken", ""}, Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"d"`, "After[1]"}, ""},
		{"invalid UTF-8 predecessor", Spec{Name: "d", After: []string{"\xfe"}, Job: JobFunc(ok)}, ErrInvalidSpec, []string{`"d"`, "After[0]", `"\xfe"`, "UTF-8"}, ""},
		{"control in predecessor", Spec{Name: "d", After: []string{"a\tb"}, Job: JobFunc(ok)}, ErrInvalidSpec, []string{"After[0]", `"a\tb"`}, ""},
	}
	for _, c := range cases {
		err := b.eng.Register(c.spec)
		if !errors.Is(err, c.target) {
			t.Errorf("%s: Register = %v, want %v", c.name, err, c.target)
			continue
		}
		for _, w := range c.words {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %s", c.name, err, w)
			}
		}
		if c.field != "" {
			var pe *cron.ParseError
			if !errors.As(err, &pe) || pe.Field != c.field {
				t.Errorf("%s: error %v is not a *cron.ParseError for field %q", c.name, err, c.field)
			}
		}
	}
	if got := len(b.eng.Tasks()); got != 1 {
		t.Fatalf("%d tasks registered after bad input, want 1", got)
	}
}

func TestOptionsRejectBadInput(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]Option{
		"store": WithStore(nil), "logger": WithLogger(nil), "clock": WithClock(nil),
		"node": WithNodeID(""), "listener": WithListener(nil), "mapper": WithExitCodeMapper(nil),
		"invalid UTF-8 node": WithNodeID("node-\xff"), "NUL in node": WithNodeID("node\x00"),
	} {
		if _, err := New(opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("New(bad %s) = %v, want ErrInvalidOption", name, err)
		}
	}
	b := setup(t)
	b.register(t, Spec{Name: "t", Job: JobFunc(ok)})
	if _, err := b.eng.RunNow(context.Background(), "t"); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("RunNow before Start = %v, want ErrNotStarted", err)
	}
	b.start(t)
	if err := b.eng.Start(context.Background()); !errors.Is(err, ErrAlreadyStarted) {
		t.Fatalf("second Start = %v, want ErrAlreadyStarted", err)
	}
	if _, err := b.eng.RunNow(context.Background(), "nope"); !errors.Is(err, ErrUnknownTask) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("RunNow(unknown) = %v, want ErrUnknownTask naming it", err)
	}
	if _, err := b.eng.RunNow(context.Background(), "t", nil); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("RunNow(nil) = %v, want ErrInvalidOption", err)
	}
	if err := b.eng.Suspend(context.Background(), "nope"); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("Suspend(unknown) = %v", err)
	}
	for name, opt := range map[string]RunOption{
		"invalid UTF-8 arg":         WithArgs("ok", "\xff"),
		"NUL in arg":                WithArgs("a\x00b"),
		"invalid UTF-8 external ID": WithExternalID("\xc3"),
		"NUL in external ID":        WithExternalID("x\x00"),
	} {
		if _, err := b.eng.RunNow(context.Background(), "t", opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("RunNow(%s) = %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := b.eng.Wait(context.Background(), uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Wait(unknown) = %v, want store.ErrNotFound", err)
	}
}

// TestLongInputIsQuotedShort: errors about an input of a megabyte quote a
// bounded prefix of it, wherever it comes in.
func TestLongInputIsQuotedShort(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1<<20)
	nop := notify.NotifierFunc(func(context.Context, *notify.Message) error { return nil })
	b := setup(t)
	b.register(t, Spec{Name: "t", Job: JobFunc(ok)})
	b.start(t)
	ctx := context.Background()
	check := func(what string, err, target error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("%s = %.200v, want %v", what, err, target)
			return
		}
		if msg := err.Error(); len(msg) > 1024 || !strings.Contains(msg, " bytes)") {
			t.Errorf("%s: error of %d bytes, want a bounded prefix of the input and its length: %.300s", what, len(msg), msg)
		}
	}
	_, err := New(WithIntegration(long, nop))
	check("New(WithIntegration(1 MiB name))", err, ErrInvalidOption)
	_, err = New(WithIntegration(long, nil))
	check("New(WithIntegration(1 MiB name, nil))", err, ErrInvalidOption)
	_, err = New(WithNodeID(long))
	check("New(WithNodeID(1 MiB))", err, ErrInvalidOption)
	check("Register(1 MiB name)", b.eng.Register(Spec{Name: long, Job: JobFunc(ok)}), ErrInvalidSpec)
	check("Register(1 MiB predecessor)", b.eng.Register(Spec{Name: "d", After: []string{long}, Job: JobFunc(ok)}), ErrInvalidSpec)
	check("Register(1 MiB zone without cron)", b.eng.Register(Spec{Name: "z", TimeZone: long, Job: JobFunc(ok)}), ErrInvalidSpec)
	check("Register(1 MiB integration)", b.eng.Register(Spec{Name: "i", ErrorIntegration: long, Job: JobFunc(ok)}), ErrInvalidSpec)
	check("Update(1 MiB name)", b.eng.Update(Spec{Name: long, Job: JobFunc(ok)}), ErrInvalidSpec)
	_, err = b.eng.RunNow(ctx, long)
	check("RunNow(1 MiB name)", err, ErrUnknownTask)
	_, err = b.eng.RunNow(ctx, "t", WithArgs(long+"\xff"))
	check("RunNow(WithArgs(1 MiB invalid UTF-8))", err, ErrInvalidOption)
	check("Resume(1 MiB name)", b.eng.Resume(ctx, long), ErrUnknownTask)
	check("Suspend(1 MiB name)", b.eng.Suspend(ctx, long), ErrUnknownTask)
	check("ResumeGraph(1 MiB name)", b.eng.ResumeGraph(ctx, long), ErrUnknownTask)
	_, err = b.eng.Graph(long)
	check("Graph(1 MiB name)", err, ErrUnknownTask)
}

func TestTasksDiagnostics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t,
		Spec{Name: "b-manual", Description: "on demand", Job: JobFunc(ok)},
		Spec{Name: "a-cron", Cron: "0 0 2 * * *", TimeZone: "Europe/Berlin", Job: JobFunc(ok)},
	)
	b.start(t)
	b.wait(t, b.runNow(t, "b-manual"))
	infos := b.eng.Tasks()
	if len(infos) != 2 || infos[0].Name != "a-cron" || infos[1].Name != "b-manual" {
		t.Fatalf("Tasks() = %+v", infos)
	}
	// 02:00 in Berlin (UTC+1 in January) is 01:00Z.
	if want := utc("2026-01-05T01:00:00Z"); !infos[0].Next.Equal(want) || !strings.Contains(infos[0].Schedule, "Europe/Berlin") {
		t.Fatalf("a-cron next %v schedule %q, want %v", infos[0].Next, infos[0].Schedule, want)
	}
	if infos[1].LastExecution == nil || infos[1].LastExecution.State != store.StateSucceeded || infos[1].Description != "on demand" {
		t.Fatalf("b-manual = %+v", infos[1])
	}
	if !infos[1].Next.IsZero() || infos[1].Schedule != "" {
		t.Fatalf("manual task has a schedule: %+v", infos[1])
	}
}

func TestSuspendPersistsAndSurvivesANewEngine(t *testing.T) {
	t.Parallel()
	st := memory.New()
	spec := Spec{Name: "t", Schedule: cron.Every(time.Minute), Job: JobFunc(ok)}
	first, err := New(WithStore(st), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Register(spec); err != nil {
		t.Fatal(err)
	}
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := first.Suspend(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	second, err := New(WithStore(st), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Register(spec); err != nil {
		t.Fatal(err)
	}
	if err := second.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer second.Shutdown(context.Background())
	if info := second.Tasks()[0]; !info.Suspended || info.SuspendedReason != "suspended by Suspend" {
		t.Fatalf("after restart: %+v, want suspended", info)
	}
}

func TestRunMain(t *testing.T) {
	t.Parallel()
	st := memory.New()
	parent := uuid.New()
	spec := Spec{Name: "import", Job: JobFunc(func(ctx context.Context) error {
		if got := Args(ctx); len(got) != 1 || got[0] != "--since=1d" {
			return errors.New("wrong args")
		}
		return Exit(3, errors.New("3 rows rejected"))
	})}
	code := RunMain(context.Background(), spec,
		WithEngineOptions(WithStore(st), WithNodeID("batch-1")),
		WithArgs("--since=1d"), WithExternalID("k8s-job-9"), WithParentID(parent))
	if code != 3 {
		t.Fatalf("RunMain = %d, want 3", code)
	}
	page, err := st.ListExecutions(context.Background(), store.ExecutionFilter{Task: "import"})
	if err != nil || len(page.Executions) != 1 {
		t.Fatalf("records = %v, %v", page, err)
	}
	x := page.Executions[0]
	if x.Trigger != store.TriggerOneShot || x.State != store.StateFailed || x.ExitCode != 3 || x.ExternalID != "k8s-job-9" ||
		x.ParentID != parent || x.Node != "batch-1" || x.Error != "3 rows rejected" {
		t.Fatalf("record = %+v", *x)
	}
	if code := RunMain(context.Background(), Spec{Name: "fine", Job: JobFunc(ok)}, WithEngineOptions(WithStore(st))); code != 0 {
		t.Fatalf("RunMain(success) = %d, want 0", code)
	}
}

func TestRunOnceSingleInstance(t *testing.T) {
	t.Parallel()
	st := memory.New()
	ctx := context.Background()
	// Another process is running the task.
	other := &store.Execution{ID: uuid.New(), Task: "etl", Trigger: store.TriggerOneShot, State: store.StateRunning,
		StartedAt: time.Now(), Node: "other"}
	if err := st.CreateExecution(ctx, other); err != nil {
		t.Fatal(err)
	}
	ran := false
	spec := Spec{Name: "etl", Job: JobFunc(func(context.Context) error { ran = true; return nil })}
	_, err := RunOnce(ctx, spec, WithEngineOptions(WithStore(st)), SingleInstance())
	if !errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), `"etl"`) || !strings.Contains(err.Error(), other.ID.String()) {
		t.Fatalf("RunOnce = %v, want ErrAlreadyRunning naming the task and the running execution", err)
	}
	if ran {
		t.Fatal("the job ran")
	}
	if code := RunMain(ctx, spec, WithEngineOptions(WithStore(st)), SingleInstance()); code != 1 {
		t.Fatalf("RunMain refused = %d, want 1", code)
	}
	other.State, other.EndedAt = store.StateSucceeded, time.Now()
	if err := st.UpdateExecution(ctx, other); err != nil {
		t.Fatal(err)
	}
	x, err := RunOnce(ctx, spec, WithEngineOptions(WithStore(st)), SingleInstance())
	if err != nil || x.State != store.StateSucceeded || !ran {
		t.Fatalf("RunOnce after the other ended = %v, %v", x, err)
	}
}

func TestRunOnceCancelledByContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() {
		<-started
		cancel()
	}()
	x, err := RunOnce(ctx, Spec{Name: "t", Job: JobFunc(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})})
	if err != nil {
		t.Fatal(err)
	}
	if x.State != store.StateCancelled || x.ExitCode != ExitCodeCancelled {
		t.Fatalf("record %s exit %d, want cancelled %d", x.State, x.ExitCode, ExitCodeCancelled)
	}
}

// withHooks replaces the process-wide hooks for one test.
func withHooks(t *testing.T, hs ...hook) {
	hooks.mu.Lock()
	saved := hooks.list
	hooks.list = hs
	hooks.mu.Unlock()
	t.Cleanup(func() {
		hooks.mu.Lock()
		hooks.list = saved
		hooks.mu.Unlock()
	})
}

// Hook tests share the process-wide list, so they do not run in parallel.
func TestInitHooks(t *testing.T) {
	var order []string
	reg := func(name string) InitHook {
		return func(r Registrar) error {
			order = append(order, name)
			return r.Register(Spec{Name: name + "-task", Job: JobFunc(ok)})
		}
	}
	withHooks(t)
	OnInit("zeta", reg("zeta"))
	OnInit("alpha", reg("alpha"))
	eng, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer eng.Shutdown(context.Background())
	if len(order) != 2 || order[0] != "alpha" || order[1] != "zeta" {
		t.Fatalf("hook order = %v, want [alpha zeta]", order)
	}
	if n := len(eng.Tasks()); n != 2 {
		t.Fatalf("%d tasks, want 2", n)
	}
}

func TestInitHookErrors(t *testing.T) {
	cases := []struct {
		name   string
		hooks  []hook
		target error
		words  string
	}{
		{"duplicate", []hook{{"m", func(Registrar) error { return nil }}, {"m", func(Registrar) error { return nil }}}, ErrDuplicateHook, `"m"`},
		{"failing", []hook{{"billing", func(Registrar) error { return errors.New("no config") }}}, nil, `init hook "billing": no config`},
		{"nil", []hook{{"n", nil}}, ErrInvalidOption, `"n"`},
		{"empty name", []hook{{"", func(Registrar) error { return nil }}}, ErrInvalidOption, "init hook name"},
		{"duplicate task", []hook{
			{"a", func(r Registrar) error { return r.Register(Spec{Name: "same", Job: JobFunc(ok)}) }},
			{"b", func(r Registrar) error { return r.Register(Spec{Name: "same", Job: JobFunc(ok)}) }},
		}, ErrDuplicateTask, `init hook "b"`},
		{"panicking", []hook{{"p", func(Registrar) error { panic("oops") }}}, nil, `init hook "p": task: panic: oops`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			withHooks(t, c.hooks...)
			eng, err := New()
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Shutdown(context.Background())
			err = eng.Start(context.Background())
			if err == nil || (c.target != nil && !errors.Is(err, c.target)) || !strings.Contains(err.Error(), c.words) {
				t.Fatalf("Start = %v, want %v naming %s", err, c.target, c.words)
			}
		})
	}
}

// Not parallel: the signal goes to the whole test process, and parallel
// tests are paused while a sequential test runs.
func TestRunOnceCancelledBySignal(t *testing.T) {
	started := make(chan struct{})
	go func() {
		<-started
		if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
			t.Errorf("kill: %v", err)
		}
	}()
	code := RunMain(context.Background(), Spec{Name: "t", Job: JobFunc(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})})
	if code != ExitCodeCancelled {
		t.Fatalf("RunMain after SIGINT = %d, want %d", code, ExitCodeCancelled)
	}
}

// TestShutdownWaitsForAFireStillWriting: a fire whose store writes outlast
// gocron's own stop timeout is still waited for, so that the host may close
// its store once Shutdown returns without losing the fire's records.
func TestShutdownWaitsForAFireStillWriting(t *testing.T) {
	t.Parallel()
	fs := &faultyStore{Store: memory.New()}
	b := setup(t, WithStore(fs))
	b.store = fs.Store
	b.eng.schedStop = time.Millisecond // gocron gives up on the fire at once
	b.register(t, Spec{Name: "tick", Schedule: cron.Every(time.Second), Job: JobFunc(ok)})
	entered, release := make(chan struct{}), make(chan struct{})
	fs.mu.Lock()
	fs.onCreate = func(x *store.Execution) error {
		if x.State == store.StateSkipped { // the late fire's record of missed slots
			close(entered)
			<-release
		}
		return nil
	}
	fs.mu.Unlock()
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(3*time.Second)) // a late fire: two slots missed
	select {
	case <-entered:
	case <-time.After(waitLimit):
		t.Fatal("the late fire did not record its missed slots")
	}
	done := make(chan error, 1)
	go func() { done <- b.eng.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		close(release)
		t.Fatalf("Shutdown returned (%v) while a fire was still writing", err)
	case <-time.After(100 * time.Millisecond): // gocron's stop timeout passed long ago
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Shutdown did not return once the fire's write was done")
	}
	// Once Shutdown returned, the fire's record is in the store and
	// nothing writes any more: the host may close it.
	xs := b.history(t, "tick")
	if len(xs) == 0 || xs[0].State != store.StateSkipped || !strings.HasPrefix(xs[0].SkipReason, store.ReasonMissed) {
		t.Fatalf("history %v, want the missed slots recorded first", states(xs))
	}
	if err := fs.Store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// A schedule brought from robfig/cron, Quartz or Snowflake keeps its
// meaning: the zone may open the expression, and the day fields take L,
// W and #. testStart is Monday 2026-01-05 00:00 UTC.
func TestRegisterCronCompatibleSchedules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t,
		Spec{Name: "tokyo", Cron: "CRON_TZ=Asia/Tokyo 0 9 * * *", Job: JobFunc(ok)},
		Spec{Name: "month-end", Cron: "0 0 18 LW * *", TimeZone: "Europe/Berlin", Job: JobFunc(ok)},
		Spec{Name: "third-friday", Cron: "0 0 12 ? * FRI#3", Job: JobFunc(ok)},
	)
	b.start(t)
	want := map[string]time.Time{
		"tokyo":        time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC),   // 09:00 JST on the 6th
		"month-end":    time.Date(2026, 1, 30, 17, 0, 0, 0, time.UTC), // Saturday 31st: Friday 30th, 18:00 CET
		"third-friday": time.Date(2026, 1, 16, 12, 0, 0, 0, time.UTC),
	}
	for _, info := range b.eng.Tasks() {
		if w, ok := want[info.Name]; ok && !info.Next.Equal(w) {
			t.Errorf("%s: next fire %v, want %v", info.Name, info.Next, w)
		}
		delete(want, info.Name)
	}
	if len(want) > 0 {
		t.Errorf("tasks missing from Tasks(): %v", want)
	}
}
