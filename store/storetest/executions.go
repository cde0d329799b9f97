package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

func testRoundTrip(t *testing.T, s store.Store) {
	full := fullExecution()
	// The fixture sets every field, so that a field added to Execution is
	// round-tripped too: when this fails, set the new field in fullExecution.
	v := reflect.ValueOf(full).Elem()
	for i := range v.NumField() {
		switch v.Type().Field(i).Name {
		case "CancelRequested", "Fence":
			continue // set by the store only: see testRequestCancel, testFence
		}
		if v.Field(i).IsZero() {
			t.Fatalf("fullExecution leaves %s zero; set it", v.Type().Field(i).Name)
		}
	}

	minimal := newExecution("minimal", base.Add(time.Second))
	minimal.Node = ""
	emptyArgs := newExecution("args", base.Add(2*time.Second))
	emptyArgs.Args = []string{}
	emptyStrings := newExecution("args", base.Add(3*time.Second))
	emptyStrings.Args = []string{"", ""}
	manualAt := newExecution("manual", base.Add(4*time.Second))
	manualAt.ScheduledAt = base.Add(3 * time.Second)
	dependency := newExecution("child", base.Add(5*time.Second))
	dependency.Trigger = store.TriggerDependency
	dependency.ParentID = uuid.New()
	dependency.GraphRunID = uuid.New()
	dependency.RootTask = "root"
	pending := scheduled("queued", base.Add(time.Minute), store.TriggerSchedule)
	pending.State = store.StatePending
	negative := newExecution("exit", base.Add(6*time.Second))
	negative.Trigger = store.TriggerOneShot
	negative.State = store.StateSucceeded
	negative.EndedAt = negative.StartedAt.Add(time.Microsecond)
	negative.ExitCode = -1
	skipped := scheduled("skipped", base.Add(2*time.Minute), store.TriggerSchedule)
	skipped.State = store.StateSkipped
	skipped.EndedAt = skipped.StartedAt
	skipped.SkipReason = store.ReasonOverlap

	tests := []struct {
		name string
		e    *store.Execution
	}{
		{"AllFields", full},
		{"Minimal", minimal},
		{"EmptyArgs", emptyArgs},
		{"EmptyStringArgs", emptyStrings},
		{"ManualWithScheduledAt", manualAt},
		{"Dependency", dependency},
		{"Pending", pending},
		{"NegativeExitCode", negative},
		{"Skipped", skipped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.e.Clone()
			create(t, s, tt.e)
			checkExecution(t, "GetExecution", get(t, s, want.ID), want)
		})
	}
}

func testNotFound(t *testing.T, s store.Store) {
	create(t, s, newExecution("a", base))

	_, err := s.GetExecution(t.Context(), uuid.New())
	wantErr(t, "GetExecution(unknown)", err, store.ErrNotFound)

	e := newExecution("a", base)
	err = s.UpdateExecution(t.Context(), e)
	wantErr(t, "UpdateExecution(unknown)", err, store.ErrNotFound)
	wantGone(t, s, e.ID) // Update does not insert
}

func testDuplicateID(t *testing.T, s store.Store) {
	first := newExecution("a", base)
	create(t, s, first)

	same := first.Clone()
	wantErr(t, "CreateExecution(same record)", s.CreateExecution(t.Context(), same), store.ErrConflict)

	other := newExecution("b", base.Add(time.Hour))
	other.ID = first.ID
	wantErr(t, "CreateExecution(other record, same ID)", s.CreateExecution(t.Context(), other), store.ErrConflict)

	claiming := scheduled("c", base.Add(time.Hour), store.TriggerSchedule)
	claiming.ID = first.ID
	wantErr(t, "CreateExecution(claiming record, same ID)", s.CreateExecution(t.Context(), claiming), store.ErrConflict)

	checkExecution(t, "GetExecution after conflicts", get(t, s, first.ID), first)
	// The failed claim above claimed nothing.
	create(t, s, scheduled("c", base.Add(time.Hour), store.TriggerSchedule))
}

func testClaim(t *testing.T, s store.Store) {
	slot := base.Truncate(time.Minute)
	const (
		sched   = store.TriggerSchedule
		catchUp = store.TriggerCatchUp
		manual  = store.TriggerManual
		dep     = store.TriggerDependency
		oneShot = store.TriggerOneShot
	)
	type rec struct {
		task    string
		trigger store.Trigger
		slot    time.Time
		state   store.State
	}
	tests := []struct {
		name          string
		first, second rec
		conflict      bool
	}{
		{"ScheduleSchedule", rec{"t", sched, slot, store.StateRunning}, rec{"t", sched, slot, store.StateRunning}, true},
		{"CatchUpCatchUp", rec{"t", catchUp, slot, store.StateRunning}, rec{"t", catchUp, slot, store.StateRunning}, true},
		{"ScheduleCatchUp", rec{"t", sched, slot, store.StateRunning}, rec{"t", catchUp, slot, store.StateRunning}, true},
		{"CatchUpSchedule", rec{"t", catchUp, slot, store.StateSkipped}, rec{"t", sched, slot, store.StateRunning}, true},
		{"SkippedClaims", rec{"t", sched, slot, store.StateSkipped}, rec{"t", sched, slot, store.StateRunning}, true},
		{"SucceededClaims", rec{"t", sched, slot, store.StateSucceeded}, rec{"t", sched, slot, store.StateSkipped}, true},
		{"PendingClaims", rec{"t", sched, slot, store.StatePending}, rec{"t", catchUp, slot, store.StatePending}, true},
		{"SameInstantOtherZone", rec{"t", sched, slot, store.StateRunning}, rec{"t", sched, slot.UTC(), store.StateRunning}, true},
		{"OtherTask", rec{"t", sched, slot, store.StateRunning}, rec{"u", sched, slot, store.StateRunning}, false},
		{"OtherSlot", rec{"t", sched, slot, store.StateRunning}, rec{"t", sched, slot.Add(time.Microsecond), store.StateRunning}, false},
		{"EarlierSlot", rec{"t", sched, slot, store.StateRunning}, rec{"t", sched, slot.Add(-time.Minute), store.StateRunning}, false},
		{"ScheduleManual", rec{"t", sched, slot, store.StateRunning}, rec{"t", manual, slot, store.StateRunning}, false},
		{"ManualSchedule", rec{"t", manual, slot, store.StateRunning}, rec{"t", sched, slot, store.StateRunning}, false},
		{"ManualManual", rec{"t", manual, slot, store.StateRunning}, rec{"t", manual, slot, store.StateRunning}, false},
		{"ScheduleDependency", rec{"t", sched, slot, store.StateRunning}, rec{"t", dep, slot, store.StateRunning}, false},
		{"DependencyCatchUp", rec{"t", dep, slot, store.StateRunning}, rec{"t", catchUp, slot, store.StateRunning}, false},
		{"OneShotSchedule", rec{"t", oneShot, slot, store.StateRunning}, rec{"t", sched, slot, store.StateRunning}, false},
		{"CatchUpOneShot", rec{"t", catchUp, slot, store.StateRunning}, rec{"t", oneShot, slot, store.StateRunning}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each case has its own task names, so the cases share the store.
			prefix := fmt.Sprintf("claim-%d-", i)
			build := func(r rec) *store.Execution {
				e := scheduled(prefix+r.task, r.slot, r.trigger)
				e.State = r.state
				if r.state.Final() {
					e.EndedAt = e.StartedAt.Add(time.Second)
				}
				return e
			}
			first, second := build(tt.first), build(tt.second)
			create(t, s, first)
			err := s.CreateExecution(t.Context(), second)
			if !tt.conflict {
				if err != nil {
					t.Fatalf("second CreateExecution: %v, want no error", err)
				}
				get(t, s, second.ID)
				return
			}
			wantErr(t, "second CreateExecution", err, store.ErrConflict)
			wantGone(t, s, second.ID)
			checkExecution(t, "GetExecution(first)", get(t, s, first.ID), first)
		})
	}

	t.Run("HeldAfterUpdate", func(t *testing.T) {
		first := scheduled("claim-update", slot, sched)
		create(t, s, first)
		first.State = store.StateSucceeded
		first.EndedAt = first.StartedAt.Add(time.Second)
		update(t, s, first)
		err := s.CreateExecution(t.Context(), scheduled("claim-update", slot, catchUp))
		wantErr(t, "CreateExecution after the claim's update", err, store.ErrConflict)
	})
}

func testClaimRace(t *testing.T, s store.Store) {
	const (
		racers = 16
		slots  = 8
	)
	ctx := t.Context()
	start := make(chan struct{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		winners  = map[int][]uuid.UUID{} // slot → executions created for it
		failures int
	)
	for r := range racers {
		spawn(&wg, func() {
			<-start
			for i := range slots {
				slot := (i + r) % slots // each racer goes through the slots in another order
				trigger := store.TriggerSchedule
				if r%2 == 1 {
					trigger = store.TriggerCatchUp
				}
				e := scheduled("race", base.Add(time.Duration(slot)*time.Minute), trigger)
				err := s.CreateExecution(ctx, e)
				mu.Lock()
				switch {
				case err == nil:
					winners[slot] = append(winners[slot], e.ID)
				case errors.Is(err, store.ErrConflict):
					failures++
				default:
					t.Errorf("racer %d, slot %d: CreateExecution: %v, want nil or ErrConflict", r, slot, err)
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()

	for slot := range slots {
		if n := len(winners[slot]); n != 1 {
			t.Errorf("slot %d claimed %d times, want once", slot, n)
		}
	}
	if want := racers*slots - slots; failures != want {
		t.Errorf("%d claims failed with ErrConflict, want %d", failures, want)
	}
	all := listAll(t, s, store.ExecutionFilter{Task: "race"})
	if len(all) != slots {
		t.Errorf("ListExecutions(race): %d executions, want %d", len(all), slots)
	}
	for _, e := range all {
		slot := int(e.ScheduledAt.Sub(base) / time.Minute)
		if ids := winners[slot]; len(ids) != 1 || ids[0] != e.ID {
			t.Errorf("stored execution %s for slot %d is not the one that won (%v)", e.ID, slot, ids)
		}
	}
}

func testInvalid(t *testing.T, s store.Store) {
	tests := []struct {
		name   string
		modify func(e *store.Execution)
	}{
		{"ZeroID", func(e *store.Execution) { e.ID = uuid.Nil }},
		{"EmptyTask", func(e *store.Execution) { e.Task = "" }},
		{"EmptyState", func(e *store.Execution) { e.State = "" }},
		{"UnknownState", func(e *store.Execution) { e.State = "done" }},
		{"EmptyTrigger", func(e *store.Execution) { e.Trigger = "" }},
		{"UnknownTrigger", func(e *store.Execution) { e.Trigger = "cron" }},
		{"ScheduleWithoutSlot", func(e *store.Execution) { e.Trigger = store.TriggerSchedule; e.ScheduledAt = time.Time{} }},
		{"CatchUpWithoutSlot", func(e *store.Execution) { e.Trigger = store.TriggerCatchUp; e.ScheduledAt = time.Time{} }},
		{"ZeroStartedAt", func(e *store.Execution) { e.StartedAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExecution("invalid", base)
			tt.modify(e)
			wantErr(t, "CreateExecution", s.CreateExecution(t.Context(), e), store.ErrInvalid)
			if e.ID != uuid.Nil {
				wantGone(t, s, e.ID)
			}
		})
	}
}

func testUpdate(t *testing.T, s store.Store) {
	slot := base.Truncate(time.Minute)
	orig := scheduled("upd", slot, store.TriggerSchedule)
	orig.Args = []string{"a"}
	create(t, s, orig)

	u := orig.Clone()
	u.StartedAt = orig.StartedAt.Add(3 * time.Microsecond)
	u.EndedAt = u.StartedAt.Add(1500 * time.Millisecond)
	u.State = store.StatePending // not final: the record may change again
	u.ExitCode = 2
	u.ExitMessage = "exit ✓"
	u.Error = "boom"
	u.Args = []string{"b", "", "ç"}
	u.ExternalID = "ext-7"
	u.ParentID = uuid.New()
	u.GraphRunID = uuid.New()
	u.RootTask = "root"
	u.Node = "node-2"
	u.SkipReason = "none really"
	// Update keeps the stored Task, Trigger and ScheduledAt.
	u.Task = "renamed"
	u.Trigger = store.TriggerManual
	u.ScheduledAt = slot.Add(time.Hour)
	update(t, s, u)

	want := u.Clone()
	want.Task, want.Trigger, want.ScheduledAt = orig.Task, orig.Trigger, orig.ScheduledAt
	checkExecution(t, "GetExecution after update", get(t, s, orig.ID), want)

	// The claim stays on the stored slot and the new one is free.
	err := s.CreateExecution(t.Context(), scheduled("upd", slot, store.TriggerCatchUp))
	wantErr(t, "CreateExecution(stored slot)", err, store.ErrConflict)
	later := scheduled("upd", slot.Add(time.Hour), store.TriggerSchedule)
	renamed := scheduled("renamed", slot.Add(time.Hour), store.TriggerSchedule)
	create(t, s, later, renamed)
	checkIDs(t, "ListExecutions(task upd)", listAll(t, s, store.ExecutionFilter{Task: "upd"}), []*store.Execution{later, want})
	checkIDs(t, "ListExecutions(task renamed)", listAll(t, s, store.ExecutionFilter{Task: "renamed"}), []*store.Execution{renamed})

	// Update clears fields too, and ignores even invalid values of the
	// fields it keeps.
	cleared := want.Clone()
	cleared.Task = ""
	cleared.Trigger = "bogus"
	cleared.ScheduledAt = time.Time{}
	cleared.EndedAt = time.Time{}
	cleared.State = store.StateRunning
	cleared.ExitCode = 0
	cleared.ExitMessage = ""
	cleared.Error = ""
	cleared.Args = nil
	cleared.ExternalID = ""
	cleared.ParentID = uuid.Nil
	cleared.GraphRunID = uuid.Nil
	cleared.RootTask = ""
	cleared.Node = ""
	cleared.SkipReason = ""
	update(t, s, cleared)
	cleared.Task, cleared.Trigger, cleared.ScheduledAt = orig.Task, orig.Trigger, orig.ScheduledAt
	checkExecution(t, "GetExecution after clearing update", get(t, s, orig.ID), cleared)

	// Once final, the record never changes: a second end is refused.
	final := cleared.Clone()
	final.State, final.EndedAt, final.Error = store.StateFailed, final.StartedAt.Add(time.Second), "boom"
	update(t, s, final)
	for _, st := range []store.State{store.StateSucceeded, store.StateRunning, store.StateFailed} {
		late := final.Clone()
		late.State, late.Error = st, "late"
		err := s.UpdateExecution(t.Context(), late)
		wantErr(t, "UpdateExecution(final record to "+string(st)+")", err, store.ErrConflict)
	}
	checkExecution(t, "GetExecution after refused updates of a final record", get(t, s, orig.ID), final)
}

func testUpdateInvalid(t *testing.T, s store.Store) {
	orig := newExecution("upd-invalid", base)
	create(t, s, orig)

	tests := []struct {
		name   string
		modify func(e *store.Execution)
	}{
		{"EmptyState", func(e *store.Execution) { e.State = "" }},
		{"UnknownState", func(e *store.Execution) { e.State = "done" }},
		{"ZeroStartedAt", func(e *store.Execution) { e.StartedAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := orig.Clone()
			u.ExitMessage = "must not be stored"
			tt.modify(u)
			wantErr(t, "UpdateExecution", s.UpdateExecution(t.Context(), u), store.ErrInvalid)
			checkExecution(t, "GetExecution after invalid update", get(t, s, orig.ID), orig)
		})
	}
}

func testNoAliasing(t *testing.T, s store.Store) {
	e := newExecution("alias", base)
	e.Args = []string{"one", "two"}
	want := e.Clone()
	create(t, s, e)

	// The caller's record after Create.
	e.Args[0] = "changed"
	e.Args = append(e.Args, "three")
	e.State = store.StateFailed
	e.Task = "changed"
	checkExecution(t, "GetExecution after changing the created record", get(t, s, want.ID), want)

	// A record returned by Get.
	g := get(t, s, want.ID)
	if len(g.Args) > 0 {
		g.Args[0] = "changed"
	}
	g.State = store.StateFailed
	checkExecution(t, "GetExecution after changing a returned record", get(t, s, want.ID), want)

	// The caller's record after Update.
	u := want.Clone()
	u.Args = []string{"x", "y"}
	update(t, s, u)
	want = u.Clone()
	u.Args[0] = "changed"
	u.ExitMessage = "changed"
	checkExecution(t, "GetExecution after changing the updated record", get(t, s, want.ID), want)

	// Records returned by List.
	p, err := s.ListExecutions(t.Context(), store.ExecutionFilter{Task: "alias"})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	for _, l := range p.Executions {
		if len(l.Args) > 0 {
			l.Args[0] = "changed"
		}
		l.State = store.StateFailed
	}
	checkExecution(t, "GetExecution after changing listed records", get(t, s, want.ID), want)
}

// testCreateMany: store.CreateMany (a backend's batch path if it has one)
// gives each execution its own answer, claims included.
func testCreateMany(t *testing.T, s store.Store) {
	ctx := context.Background()
	taken := scheduled("batch", base, store.TriggerSchedule)
	create(t, s, taken)
	invalid := newExecution("", base)
	dupID := newExecution("batch", base)
	dupID.ID = taken.ID
	first := scheduled("batch", base.Add(time.Minute), store.TriggerSchedule)
	sameSlot := scheduled("batch", base.Add(time.Minute), store.TriggerCatchUp)
	others := []*store.Execution{
		scheduled("batch", base.Add(2*time.Minute), store.TriggerSchedule),
		scheduled("other", base.Add(time.Minute), store.TriggerSchedule),
		newExecution("batch", base.Add(3*time.Minute)),
	}
	batch := append([]*store.Execution{scheduled("batch", base, store.TriggerSchedule), invalid, dupID, first, sameSlot}, others...)
	errs := store.CreateMany(ctx, s, batch)
	if len(errs) != len(batch) {
		t.Fatalf("CreateMany returned %d errors for %d executions", len(errs), len(batch))
	}
	wantErr(t, "CreateMany: a slot claimed before", errs[0], store.ErrConflict)
	wantErr(t, "CreateMany: an invalid record", errs[1], store.ErrInvalid)
	wantErr(t, "CreateMany: an existing ID", errs[2], store.ErrConflict)
	if errs[3] != nil {
		t.Fatalf("CreateMany: first claim of a slot: %v", errs[3])
	}
	wantErr(t, "CreateMany: the same slot twice in one batch", errs[4], store.ErrConflict)
	for i, e := range others {
		if errs[5+i] != nil {
			t.Fatalf("CreateMany: execution %d: %v", 5+i, errs[5+i])
		}
		checkExecution(t, "after CreateMany", get(t, s, e.ID), e)
	}
	checkExecution(t, "after CreateMany", get(t, s, first.ID), first)
	wantGone(t, s, sameSlot.ID)
	if errs := store.CreateMany(ctx, s, nil); len(errs) != 0 {
		t.Fatalf("CreateMany(nil) = %v", errs)
	}
}
