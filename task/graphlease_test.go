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

// TestGraphRootOverlapHoldsAcrossEngines: while a graph run goes on on one
// engine after its root's own run has ended, another engine neither runs
// the root (RunNow is refused) nor fires it (its fire is recorded skipped);
// once the graph run ends, it may.
func TestGraphRootOverlapHoldsAcrossEngines(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := member(t, clock, st, locker, "host-1/1")
	b := member(t, clock, st, locker, "host-2/2")
	g := newGate()
	for _, eng := range []*Engine{a, b} {
		for _, s := range []Spec{
			{Name: "root", Schedule: cron.Every(time.Minute), Job: JobFunc(ok)},
			{Name: "dep", After: []string{"root"}, Job: g},
		} {
			if err := eng.Register(s); err != nil {
				t.Fatal(err)
			}
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	id, err := a.RunNow(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	g.waitStarted(t) // the root has ended; its dependent runs on A
	if x := getExecution(t, st, id); x.State != store.StateSucceeded {
		t.Fatalf("root: %s, want succeeded", x.State)
	}
	if _, err := b.RunNow(ctx, "root"); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("RunNow of the root on another engine during the graph run = %v, want ErrAlreadyRunning", err)
	}
	// The root's next slot, in renewal steps (leases stay live): both
	// engines fire it; neither runs it.
	slot := testStart.Add(time.Minute)
	for clock.Now().Before(slot) {
		sweepRound(t, clock, a, b)
	}
	var fired *store.Execution
	waitFor(t, "the root's fire recorded", func() bool {
		page, err := st.ListExecutions(ctx, store.ExecutionFilter{Task: "root", Triggers: []store.Trigger{store.TriggerSchedule}})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.Executions {
			if x.ScheduledAt.Equal(slot) {
				fired = x
			}
		}
		return fired != nil
	})
	if fired.State != store.StateSkipped || !strings.HasPrefix(fired.SkipReason, store.ReasonOverlap) {
		t.Fatalf("the root's fire during the graph run: %s %q, want skipped for overlap", fired.State, fired.SkipReason)
	}
	close(g.release)
	if _, err := a.WaitGraphRun(ctx, getExecution(t, st, id).GraphRunID); err != nil {
		t.Fatal(err)
	}
	// Once the graph run has ended, the other engine may run the root.
	waitFor(t, "the root free on the other engine", func() bool {
		_, err := b.RunNow(ctx, "root")
		if err != nil && !errors.Is(err, ErrAlreadyRunning) {
			t.Fatal(err)
		}
		return err == nil
	})
	waitFor(t, "the runs to end", func() bool { return a.runs.empty() && b.runs.empty() })
	// No two runs of the graph's tasks overlapped.
	page, err := st.ListExecutions(ctx, store.ExecutionFilter{States: []store.State{store.StateSucceeded}})
	if err != nil {
		t.Fatal(err)
	}
	deps := 0
	for _, x := range page.Executions {
		if x.Task == "dep" {
			deps++
		}
	}
	if deps != 2 {
		t.Fatalf("%d runs of the dependent, want 2 (one per graph run)", deps)
	}
}

// TestGraphRootQueueOneWaitsForAnotherEnginesGraphRun: with
// OverlapQueueOne, a root fired while its graph run goes on on another
// engine is recorded pending there and starts once that graph run ended.
func TestGraphRootQueueOneWaitsForAnotherEnginesGraphRun(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := member(t, clock, st, locker, "host-1/1")
	b := member(t, clock, st, locker, "host-2/2")
	g := newGate()
	for i, eng := range []*Engine{a, b} {
		root := Spec{Name: "root", Job: JobFunc(ok), Overlap: OverlapQueueOne}
		if i == 1 {
			root.Schedule = cron.Every(time.Minute) // only B fires it
		}
		for _, s := range []Spec{root, {Name: "dep", After: []string{"root"}, Job: g}} {
			if err := eng.Register(s); err != nil {
				t.Fatal(err)
			}
		}
		if err := eng.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	id, err := a.RunNow(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	g.waitStarted(t)
	slot := testStart.Add(time.Minute)
	for clock.Now().Before(slot) {
		sweepRound(t, clock, a, b)
	}
	var queued *store.Execution
	waitFor(t, "the root's fire recorded", func() bool {
		page, err := st.ListExecutions(ctx, store.ExecutionFilter{Task: "root", Triggers: []store.Trigger{store.TriggerSchedule}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Executions) > 0 {
			queued = page.Executions[0]
		}
		return queued != nil
	})
	if queued.State != store.StatePending || queued.Node != "host-2/2" {
		t.Fatalf("the fire during another engine's graph run: %s on %s, want pending on host-2/2", queued.State, queued.Node)
	}
	sweepRound(t, clock, a, b)
	if x := getExecution(t, st, queued.ID); x.State != store.StatePending {
		t.Fatalf("the queued fire while the graph run goes on: %s, want still pending", x.State)
	}
	close(g.release)
	if _, err := a.WaitGraphRun(ctx, getExecution(t, st, id).GraphRunID); err != nil {
		t.Fatal(err)
	}
	sweepRound(t, clock, a, b) // B tries its waiting runs at each renewal
	waitFor(t, "the queued fire to run and end", func() bool {
		return getExecution(t, st, queued.ID).State == store.StateSucceeded
	})
	ran := getExecution(t, st, queued.ID)
	if ran.GraphRunID == uuid.Nil {
		t.Fatal("the queued root ran without a graph run")
	}
	if _, err := b.WaitGraphRun(ctx, ran.GraphRunID); err != nil {
		t.Fatal(err)
	}
}
