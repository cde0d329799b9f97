package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
	u.Report = `{"phases":[{"name":"","counters":[{"name":"processed","total":3}]}]}`
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
	cleared.Report = ""
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

// testCreateManyLarge: a batch larger than a backend's group (128 in the
// SQL stores' writers), mixing every answer, gives each execution the
// answer CreateExecution called in order would: claims and exclusive
// executions of the same task in one batch included, across the groups'
// boundaries.
func testCreateManyLarge(t *testing.T, s store.Store) {
	const n = 300
	ctx := t.Context()
	slot := base.Truncate(time.Minute)
	task := func(i int) string { return fmt.Sprintf("big-%03d", i) }
	batch := make([]*store.Execution, n)
	want := make([]error, n)
	var before []*store.Execution // created before the batch
	for i := range n {
		var e *store.Execution
		switch i % 10 {
		case 0: // a first claim
			e = scheduled(task(i), slot, store.TriggerSchedule)
		case 1: // a slot claimed before
			before = append(before, scheduled(task(i), slot, store.TriggerSchedule))
			e, want[i] = scheduled(task(i), slot, store.TriggerCatchUp), store.ErrConflict
		case 2: // an existing ID
			old := newExecution(task(i), base)
			before = append(before, old)
			e, want[i] = scheduled(task(i), slot, store.TriggerSchedule), store.ErrConflict
			e.ID = old.ID
		case 3: // invalid
			e, want[i] = scheduled("", slot, store.TriggerSchedule), store.ErrInvalid
		case 4: // a busy task's exclusive run, claiming a slot
			before = append(before, exclusive(task(i), base, store.StateRunning))
			e, want[i] = exclusive(task(i), base.Add(time.Second), store.StateRunning), store.ErrBusy
			e.Trigger, e.ScheduledAt = store.TriggerSchedule, slot
		case 5: // the slot the refused one did not claim
			e = scheduled(task(i-1), slot, store.TriggerSchedule)
		case 6: // a first exclusive run
			e = exclusive(task(i), base, store.StateRunning)
		case 7: // a second exclusive run of the same task in the batch
			e, want[i] = exclusive(task(i-1), base.Add(time.Second), store.StateRunning), store.ErrBusy
		case 8: // the slot of an earlier execution of the batch
			e, want[i] = scheduled(task(i-8), slot, store.TriggerCatchUp), store.ErrConflict
		case 9: // no slot, no conflict
			e = newExecution(task(i), base)
		}
		batch[i] = e
	}
	create(t, s, before...)
	var last int64
	for _, e := range before {
		last = max(last, get(t, s, e.ID).Fence)
	}

	errs := store.CreateMany(ctx, s, batch)
	if len(errs) != n {
		t.Fatalf("CreateMany returned %d errors for %d executions", len(errs), n)
	}
	fences := map[int64]int{}
	for i, e := range batch {
		if want[i] != nil {
			wantErr(t, fmt.Sprintf("CreateMany: execution %d (kind %d)", i, i%10), errs[i], want[i])
			if i%10 != 2 && i%10 != 3 { // the existing ID is there; the invalid has none
				wantGone(t, s, e.ID)
			}
			continue
		}
		if errs[i] != nil {
			t.Errorf("CreateMany: execution %d (kind %d): %v, want nil", i, i%10, errs[i])
			continue
		}
		got := get(t, s, e.ID)
		checkExecution(t, fmt.Sprintf("execution %d after CreateMany", i), got, e)
		if got.Fence <= last {
			t.Errorf("execution %d: Fence = %d, want > %d (those created before)", i, got.Fence, last)
		}
		if j, ok := fences[got.Fence]; ok {
			t.Errorf("executions %d and %d: the same Fence %d", j, i, got.Fence)
		}
		fences[got.Fence] = i
	}
	// The existing IDs kept their records.
	for _, e := range before {
		checkExecution(t, "a record created before the batch", get(t, s, e.ID), e)
	}
}

// testCreateManyRace: two batches claiming the same 200 slots at once, in
// opposite orders: each slot is claimed exactly once, and every other
// answer is store.ErrConflict.
func testCreateManyRace(t *testing.T, s store.Store) {
	const slots = 200
	ctx := t.Context()
	slotOf := func(i int) (string, time.Time) {
		return fmt.Sprintf("mrace-%02d", i%40), base.Truncate(time.Minute).Add(time.Duration(i/40) * time.Minute)
	}
	var batches [2][]*store.Execution
	for r := range batches {
		for k := range slots {
			i := k
			if r == 1 {
				i = slots - 1 - k
			}
			task, at := slotOf(i)
			trigger := store.TriggerSchedule
			if r == 1 {
				trigger = store.TriggerCatchUp
			}
			batches[r] = append(batches[r], scheduled(task, at, trigger))
		}
	}
	var errs [2][]error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for r := range batches {
		spawn(&wg, func() {
			<-start
			errs[r] = store.CreateMany(ctx, s, batches[r])
		})
	}
	close(start)
	wg.Wait()

	won := map[uuid.UUID]bool{}
	for r := range batches {
		if len(errs[r]) != slots {
			t.Fatalf("batch %d: %d errors for %d executions", r, len(errs[r]), slots)
		}
		for k, err := range errs[r] {
			switch {
			case err == nil:
				won[batches[r][k].ID] = true
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("batch %d, execution %d: %v, want nil or store.ErrConflict", r, k, err)
			}
		}
	}
	if len(won) != slots {
		t.Errorf("%d executions created, want %d (one per slot)", len(won), slots)
	}
	if n := checkClaims(t, s, won); n != slots {
		t.Errorf("%d slots claimed, want %d", n, slots)
	}
}

// checkClaims checks that every execution stored in s claims a slot of its
// own and is one of won, the executions whose creation was answered nil,
// and returns how many are stored.
func checkClaims(t *testing.T, s store.Store, won map[uuid.UUID]bool) int {
	t.Helper()
	claims := map[string]uuid.UUID{}
	for _, e := range listAll(t, s, store.ExecutionFilter{}) {
		key := e.Task + " " + e.ScheduledAt.UTC().Format(time.RFC3339Nano)
		if other, ok := claims[key]; ok {
			t.Errorf("slot %s claimed twice: %s and %s", key, other, e.ID)
		}
		claims[key] = e.ID
		if !won[e.ID] {
			t.Errorf("stored execution %s (slot %s) was not answered nil", e.ID, key)
		}
	}
	return len(claims)
}

// testCreateManyCanceled: a batch with a context already cancelled gets
// the context's error for every execution, invalid ones included, and
// creates nothing.
func testCreateManyCanceled(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var batch []*store.Execution
	for i := range 200 {
		batch = append(batch, scheduled("mcancel", base.Add(time.Duration(i)*time.Minute), store.TriggerSchedule))
	}
	batch = append(batch, newExecution("", base))
	errs := store.CreateMany(ctx, s, batch)
	if len(errs) != len(batch) {
		t.Fatalf("CreateMany returned %d errors for %d executions", len(errs), len(batch))
	}
	for i, err := range errs {
		wantErr(t, fmt.Sprintf("CreateMany with a cancelled context: execution %d", i), err, context.Canceled)
	}
	if got := listAll(t, s, store.ExecutionFilter{}); len(got) != 0 {
		t.Errorf("%d executions stored, want none", len(got))
	}
}

// BatchRace creates executions in batches (store.CreateMany) and one by one
// from many goroutines at once, on slots they share, some batches
// cancelled midway: every call returns, each answer is nil,
// store.ErrConflict or the context's error, every slot is claimed once,
// and the executions stored are those answered nil. It suits a store that
// queues writes (the SQL stores' group commit): a batch's writes wait
// behind other callers', and are cancelled there. s must be empty.
//
// It is not part of Run because a batch cancelled midway breaks off the
// database work of a SQL store, which a backend's test may have to prepare
// its store for (store/postgres asks the server to cancel rather than
// closing the connection: pgx issue 1999); a backend calls it on a store
// of its own and may check afterwards that its writer is idle.
func BatchRace(t *testing.T, s store.Store) {
	t.Helper()
	const (
		batchers = 4
		singles  = 4
		slots    = 400
		rounds   = 3
	)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  = map[uuid.UUID]bool{}
		fail []string
	)
	record := func(e *store.Execution, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			won[e.ID] = true
		case errors.Is(err, store.ErrConflict), errors.Is(err, context.Canceled):
		default:
			fail = append(fail, err.Error())
		}
	}
	slotOf := func(i int) *store.Execution {
		return scheduled(fmt.Sprintf("brace-%d", i%100), base.Truncate(time.Second).Add(time.Duration(i/100)*time.Second),
			store.TriggerSchedule)
	}
	for b := range batchers {
		spawn(&wg, func() {
			rng := rand.New(rand.NewPCG(uint64(b), 1))
			for range rounds {
				es := make([]*store.Execution, slots)
				for k := range es {
					es[k] = slotOf(rng.IntN(slots))
				}
				ctx, cancel := context.WithCancel(t.Context())
				if b%2 == 1 {
					time.AfterFunc(time.Duration(rng.IntN(20))*time.Millisecond, cancel)
				}
				for k, err := range store.CreateMany(ctx, s, es) {
					record(es[k], err)
				}
				cancel()
			}
		})
	}
	for g := range singles {
		spawn(&wg, func() {
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for range 100 {
				e := slotOf(rng.IntN(slots))
				record(e, s.CreateExecution(t.Context(), e))
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("calls still running after 2 minutes")
	}
	for _, f := range fail {
		t.Error(f)
	}
	if n := checkClaims(t, s, won); n != len(won) {
		t.Errorf("%d executions stored, %d creations answered nil", n, len(won))
	}
}
