package task

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// TestLateFireOnASharedStoreClaimsEachMissedSlot: an engine of a cluster
// whose fire comes late records each slot it passed over with a record
// that claims it, so a slot another engine ran is neither recorded twice
// nor inside a record of missed slots.
func TestLateFireOnASharedStoreClaimsEachMissedSlot(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	a := member(t, clock, st, newLocker(t, clock), "host-1/1")
	if err := a.Register(Spec{Name: "tick", Job: JobFunc(ok), Schedule: cron.Every(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := clock.BlockUntilContext(ctx, 3); err != nil { // the lease and poll tickers, the schedule's timer
		t.Fatal(err)
	}
	// Another engine, on time, ran the second slot.
	ran := &store.Execution{ID: newID(), Task: "tick", Trigger: store.TriggerSchedule, ScheduledAt: testStart.Add(2 * time.Second),
		StartedAt: testStart.Add(2 * time.Second), EndedAt: testStart.Add(2 * time.Second), State: store.StateSucceeded, Node: "host-2/2"}
	if err := st.CreateExecution(context.Background(), ran); err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Second) // one late fire: slots 1 and 2 passed over, 3 due

	var xs []*store.Execution
	waitFor(t, "three records", func() bool {
		page, err := st.ListExecutions(context.Background(), store.ExecutionFilter{Task: "tick"})
		if err != nil {
			t.Fatal(err)
		}
		xs = page.Executions
		return len(xs) >= 3 && a.runs.empty()
	})
	bySlot := map[time.Time]*store.Execution{}
	for _, x := range xs {
		if prev := bySlot[x.ScheduledAt]; prev != nil {
			t.Fatalf("slot %v recorded twice: %s by %s and %s by %s", x.ScheduledAt, prev.State, prev.Node, x.State, x.Node)
		}
		bySlot[x.ScheduledAt] = x
		if x.State == store.StateSkipped && !strings.Contains(x.SkipReason, "1 slot(s)") {
			t.Errorf("slot %v: skip reason %q stands for slots it does not claim", x.ScheduledAt, x.SkipReason)
		}
	}
	want := map[int]store.State{1: store.StateSkipped, 2: store.StateSucceeded, 3: store.StateSucceeded}
	for i, st := range want {
		x := bySlot[testStart.Add(time.Duration(i)*time.Second)]
		if x == nil || x.State != st {
			t.Fatalf("slot %d: %+v, want %s", i, x, st)
		}
	}
	if len(xs) != len(want) {
		for _, x := range xs {
			t.Logf("%v %s %s %s %q", x.ScheduledAt, x.Trigger, x.State, x.Node, x.SkipReason)
		}
		t.Fatalf("%d records, want %d", len(xs), len(want))
	}
	if x := bySlot[testStart.Add(2*time.Second)]; x.Node != "host-2/2" {
		t.Fatalf("slot 2 recorded by %s, want the other engine's record kept", x.Node)
	}
}
