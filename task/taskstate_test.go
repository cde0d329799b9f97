package task

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// pollRound advances the clock by one state poll interval and waits until
// each engine has polled once more.
func pollRound(t *testing.T, clock *clockwork.FakeClock, engs ...*Engine) {
	t.Helper()
	before := make([]int64, len(engs))
	for i, e := range engs {
		before[i] = e.polls.Load()
	}
	clock.Advance(StatePollDefault)
	for i, e := range engs {
		waitFor(t, "a state poll", func() bool { return e.polls.Load() > before[i] })
	}
}

func taskInfo(eng *Engine, name string) TaskInfo {
	for _, ti := range eng.Tasks() {
		if ti.Name == name {
			return ti
		}
	}
	return TaskInfo{}
}

// Suspend and Resume on one engine reach another within one poll
// interval; its fires then record nothing while suspended.
func TestSuspendOnOneEngineReachesAnother(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := member(t, clock, st, locker, "host-1/1")
	b := member(t, clock, st, locker, "host-2/2")
	for _, eng := range []*Engine{a, b} {
		if err := eng.Register(Spec{Name: "tick", Job: JobFunc(ok), Schedule: cron.Every(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Suspend(context.Background(), "tick"); err != nil {
		t.Fatal(err)
	}
	pollRound(t, clock, a, b)
	if ti := taskInfo(a, "tick"); !ti.Suspended || ti.SuspendedReason != "suspended by Suspend" {
		t.Fatalf("the other engine after one poll: suspended %v (%q), want suspended", ti.Suspended, ti.SuspendedReason)
	}
	if err := a.Resume(context.Background(), "tick"); err != nil {
		t.Fatal(err)
	}
	pollRound(t, clock, a, b)
	if ti := taskInfo(b, "tick"); ti.Suspended {
		t.Fatal("the other engine after one poll: still suspended after Resume")
	}
}

// Consecutive failures are counted once across engines: the third
// failure suspends the task whichever engines ran the three.
func TestFailuresAreCountedAcrossEngines(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := member(t, clock, st, locker, "host-1/1")
	b := member(t, clock, st, locker, "host-2/2")
	fail := JobFunc(func(context.Context) error { return errors.New("down") })
	for _, eng := range []*Engine{a, b} {
		if err := eng.Register(Spec{Name: "flaky", Job: fail, SuspendAfterFailures: 3}); err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for i, eng := range []*Engine{a, b, a} {
		id, err := eng.RunNow(context.Background(), "flaky")
		if err != nil {
			t.Fatal(err)
		}
		if x, err := eng.Wait(context.Background(), id); err != nil || x.State != store.StateFailed {
			t.Fatalf("run %d: %+v, %v", i, x, err)
		}
		waitFor(t, "the run's state write", func() bool {
			s, err := st.GetTaskState(context.Background(), "flaky")
			return err == nil && s.ConsecutiveFailures == i+1
		})
	}
	s, err := st.GetTaskState(context.Background(), "flaky")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Suspended || s.ConsecutiveFailures != 3 {
		t.Fatalf("stored state after three failures on two engines: %+v, want suspended with 3", s)
	}
	pollRound(t, clock, a, b)
	for _, eng := range []*Engine{a, b} {
		if ti := taskInfo(eng, "flaky"); !ti.Suspended || ti.ConsecutiveFailures != 3 {
			t.Errorf("Tasks(): suspended %v, %d failures; want suspended, 3", ti.Suspended, ti.ConsecutiveFailures)
		}
	}
}

// stateWriter hides the memory store's StateChanger: an engine on it
// writes whole states.
type stateWriter struct{ *memory.Store }

func (stateWriter) ChangeTaskState() {} // not the interface's method

// After a fire, Suspend keeps the slot fired in the state's
// LastScheduledAt, with or without a store.StateChanger.
func TestSuspendAfterAFireKeepsTheSlot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		store func(*memory.Store) store.Store
	}{
		{"StateChanger", func(m *memory.Store) store.Store { return m }},
		{"PutTaskState", func(m *memory.Store) store.Store { return stateWriter{m} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := memory.New()
			st := tc.store(m)
			if _, ok := st.(store.StateChanger); ok != (tc.name == "StateChanger") {
				t.Fatalf("the store is a StateChanger: %v", ok)
			}
			b := setup(t, WithStore(st))
			b.store = m
			b.register(t, Spec{Name: "tick", Job: JobFunc(ok), Schedule: cron.Every(time.Minute)})
			b.start(t)
			slot := testStart.Add(time.Minute)
			b.advanceTo(t, 1, slot)
			b.waitRecords(t, "tick", 1)
			if err := b.eng.Suspend(context.Background(), "tick"); err != nil {
				t.Fatal(err)
			}
			s, err := m.GetTaskState(context.Background(), "tick")
			if err != nil {
				t.Fatal(err)
			}
			if !s.Suspended || !s.LastScheduledAt.Equal(slot) {
				t.Fatalf("state after Suspend: suspended %v, LastScheduledAt %v; want suspended, %v", s.Suspended, s.LastScheduledAt, slot)
			}
		})
	}
}

func TestWithStatePollRejectsNonPositive(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, -time.Second} {
		if _, err := New(WithStatePoll(d)); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("WithStatePoll(%v) = %v, want ErrInvalidOption", d, err)
		}
	}
}

// Tasks reads the last execution from the store: after a restart, and
// across engines, naming the node that ran it.
func TestTasksReadsTheLastExecutionFromTheStore(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	first := member(t, clock, st, nil, "host-1/1")
	if err := first.Register(Spec{Name: "etl", Job: JobFunc(ok)}); err != nil {
		t.Fatal(err)
	}
	if err := first.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id, err := first.RunNow(context.Background(), "etl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Wait(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if err := first.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A new process of the host, without a lease: it reads it once.
	second := member(t, clock, st, nil, "host-1/2")
	if err := second.Register(Spec{Name: "etl", Job: JobFunc(ok)}); err != nil {
		t.Fatal(err)
	}
	if err := second.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if x := taskInfo(second, "etl").LastExecution; x == nil || x.ID != id || x.Node != "host-1/1" {
		t.Fatalf("after a restart, LastExecution = %+v, want %s on host-1/1", x, id)
	}

	// Engines with leases see each other's runs.
	locker := newLocker(t, clock)
	a := member(t, clock, st, locker, "host-2/1")
	b := member(t, clock, st, locker, "host-2/2")
	for _, eng := range []*Engine{a, b} {
		if err := eng.Register(Spec{Name: "sync", Job: JobFunc(ok)}); err != nil {
			t.Fatal(err)
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, runner := range []*Engine{a, b} {
		id, err := runner.RunNow(context.Background(), "sync")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := runner.Wait(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		for _, viewer := range []*Engine{a, b} {
			if x := taskInfo(viewer, "sync").LastExecution; x == nil || x.ID != id || x.Node != runner.cfg.node {
				t.Errorf("LastExecution seen from %s = %+v, want %s on %s", viewer.cfg.node, x, id, runner.cfg.node)
			}
		}
	}
}
