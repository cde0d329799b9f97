package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// The cases of what engines sharing a store rely on beyond the slot
// claim: exclusive executions (a task that must not run twice at once),
// fencing tokens, the recovery record made with an abandonment, and
// cancel requests.

// exclusive returns an exclusive execution of task in state st.
func exclusive(task string, at time.Time, st store.State) *store.Execution {
	e := newExecution(task, at)
	e.Exclusive, e.State = true, st
	return e
}

// recoveryOf returns the recovery record of x.
func recoveryOf(x *store.Execution, at time.Time) *store.Execution {
	r := newExecution(x.Task, at)
	r.Trigger, r.ScheduledAt, r.ParentID, r.State = store.TriggerRecovery, x.ScheduledAt, x.ID, store.StatePending
	r.Exclusive, r.Node = x.Exclusive, "node-2"
	return r
}

func testExclusive(t *testing.T, s store.Store) {
	running := exclusive("ex", base, store.StateRunning)
	create(t, s, running)
	err := s.CreateExecution(t.Context(), exclusive("ex", base.Add(time.Second), store.StateRunning))
	wantErr(t, "CreateExecution(a second exclusive running execution)", err, store.ErrBusy)

	// Not exclusive, another task, or final: not counted.
	loose := newExecution("ex", base.Add(2*time.Second))
	other := exclusive("ex-other", base.Add(2*time.Second), store.StateRunning)
	skipped := exclusive("ex", base.Add(3*time.Second), store.StateSkipped)
	skipped.EndedAt, skipped.SkipReason = skipped.StartedAt, store.ReasonOverlap
	create(t, s, loose, other, skipped)
	checkExecution(t, "GetExecution(exclusive)", get(t, s, running.ID), running)

	pending := exclusive("ex", base.Add(4*time.Second), store.StatePending)
	create(t, s, pending)
	err = s.CreateExecution(t.Context(), exclusive("ex", base.Add(5*time.Second), store.StatePending))
	wantErr(t, "CreateExecution(a second exclusive pending execution)", err, store.ErrBusy)

	// Recovery records may be pending beside a pending one.
	rec := recoveryOf(running, base.Add(5*time.Second))
	create(t, s, rec)

	// A claimed slot is a conflict, whether or not the task is busy.
	slot := base.Truncate(time.Minute)
	claimed := scheduled("ex", slot, store.TriggerSchedule)
	claimed.State, claimed.EndedAt, claimed.SkipReason = store.StateSkipped, claimed.StartedAt, store.ReasonOverlap
	claimed.Exclusive = true
	create(t, s, claimed)
	again := scheduled("ex", slot, store.TriggerSchedule)
	again.Exclusive = true
	err = s.CreateExecution(t.Context(), again)
	wantErr(t, "CreateExecution(claimed slot of a busy task)", err, store.ErrConflict)
	if errors.Is(err, store.ErrBusy) {
		t.Errorf("CreateExecution(claimed slot of a busy task): %v, want ErrConflict only", err)
	}

	// The end of the running one frees the task; so does abandonment.
	ended := running.Clone()
	ended.State, ended.EndedAt = store.StateSucceeded, ended.StartedAt.Add(time.Second)
	update(t, s, ended)
	next := exclusive("ex", base.Add(6*time.Second), store.StateRunning)
	create(t, s, next)
	if a, ok := s.(store.Abandoner); ok {
		if err := a.AbandonExecution(t.Context(), store.AbandonParams{ID: next.ID, Node: next.Node, EndedAt: base.Add(time.Hour), Error: "dead"}); err != nil {
			t.Fatalf("AbandonExecution: %v", err)
		}
		create(t, s, exclusive("ex", base.Add(7*time.Second), store.StateRunning))
	}
}

// testExclusiveUpdate: starting a pending exclusive execution (pending to
// running) is refused while another runs, and Exclusive is kept.
func testExclusiveUpdate(t *testing.T, s store.Store) {
	running := exclusive("exu", base, store.StateRunning)
	pending := exclusive("exu", base.Add(time.Second), store.StatePending)
	create(t, s, running, pending)

	start := pending.Clone()
	start.State, start.StartedAt = store.StateRunning, base.Add(2*time.Second)
	err := s.UpdateExecution(t.Context(), start)
	wantErr(t, "UpdateExecution(start a pending run while another runs)", err, store.ErrBusy)
	checkExecution(t, "GetExecution after a refused start", get(t, s, pending.ID), pending)

	// Updating the running one in place is fine; Exclusive cannot be
	// changed by an update.
	msg := running.Clone()
	msg.ExitMessage = "half way"
	msg.Exclusive = false
	update(t, s, msg)
	msg.Exclusive = true
	checkExecution(t, "GetExecution after an update", get(t, s, running.ID), msg)

	ended := msg.Clone()
	ended.State, ended.EndedAt = store.StateFailed, base.Add(3*time.Second)
	update(t, s, ended)
	update(t, s, start)
	checkExecution(t, "GetExecution after the start", get(t, s, pending.ID), start)

	// An update that makes a second pending one is refused too.
	p2 := exclusive("exu", base.Add(4*time.Second), store.StatePending)
	create(t, s, p2)
	back2 := start.Clone()
	back2.State = store.StatePending
	err = s.UpdateExecution(t.Context(), back2)
	wantErr(t, "UpdateExecution(a second pending exclusive execution)", err, store.ErrBusy)
	checkExecution(t, "GetExecution after a refused update", get(t, s, start.ID), start)
	r2 := exclusive("exu", base.Add(5*time.Second), store.StateRunning)
	r2.State = store.StateSucceeded
	r2.EndedAt = r2.StartedAt
	create(t, s, r2) // final: not counted
	back := exclusive("exu-2", base, store.StateRunning)
	create(t, s, back)
	// A non-exclusive record may move freely.
	loose := newExecution("exu", base.Add(6*time.Second))
	loose.State = store.StatePending
	create(t, s, loose)
	loose.State = store.StateRunning
	update(t, s, loose)
}

// testExclusiveCreateMany: the batch path gives each exclusive execution
// its own answer, two of one task in one batch included.
func testExclusiveCreateMany(t *testing.T, s store.Store) {
	busy := exclusive("exb-busy", base, store.StateRunning)
	create(t, s, busy)
	batch := []*store.Execution{
		exclusive("exb-busy", base.Add(time.Second), store.StateRunning),
		exclusive("exb", base.Add(time.Second), store.StateRunning),
		exclusive("exb", base.Add(2*time.Second), store.StateRunning),
		exclusive("exb", base.Add(3*time.Second), store.StatePending),
		exclusive("exb-free", base.Add(time.Second), store.StateRunning),
	}
	for i := range batch {
		slot := base.Truncate(time.Minute).Add(time.Duration(i) * time.Minute)
		batch[i].Trigger, batch[i].ScheduledAt = store.TriggerSchedule, slot
	}
	errs := store.CreateMany(t.Context(), s, batch)
	wantErr(t, "CreateMany: a busy task", errs[0], store.ErrBusy)
	if errs[1] != nil {
		t.Fatalf("CreateMany: first exclusive run of a task: %v", errs[1])
	}
	wantErr(t, "CreateMany: a second exclusive run of a task in one batch", errs[2], store.ErrBusy)
	for _, i := range []int{3, 4} {
		if errs[i] != nil {
			t.Fatalf("CreateMany: execution %d: %v", i, errs[i])
		}
	}
	wantGone(t, s, batch[0].ID)
	wantGone(t, s, batch[2].ID)
	// A refused execution did not claim its slot.
	retry := scheduled("exb", batch[2].ScheduledAt, store.TriggerSchedule)
	retry.State, retry.EndedAt, retry.SkipReason = store.StateSkipped, retry.StartedAt, store.ReasonOverlap
	create(t, s, retry)
}

// testExclusiveRace starts one task's exclusive execution from many
// goroutines at once: exactly one is created.
func testExclusiveRace(t *testing.T, s store.Store) {
	const n = 8
	for _, st := range []store.State{store.StateRunning, store.StatePending} {
		task := "exr-" + string(st)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.CreateExecution(t.Context(), exclusive(task, base.Add(time.Duration(i)*time.Second), st))
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrBusy):
				t.Errorf("%s: CreateExecution in goroutine %d: %v, want nil or store.ErrBusy", st, i, err)
			}
		}
		if won != 1 {
			t.Errorf("%s: %d exclusive executions created, want 1", st, won)
		}
		if got := listAll(t, s, store.ExecutionFilter{Task: task}); len(got) != 1 {
			t.Errorf("%s: %d executions stored, want 1", st, len(got))
		}
	}
}

// testFence: the store assigns each record a fencing token greater than
// those of the records created before, whatever the caller sets, and an
// update keeps it.
func testFence(t *testing.T, s store.Store) {
	var last int64
	var xs []*store.Execution
	for i := range 5 {
		x := newExecution("fence", base.Add(time.Duration(i)*time.Second))
		x.Fence = int64(1000 - i) // ignored
		if i%2 == 1 {
			x.Fence = 1 << 60
		}
		create(t, s, x)
		got := get(t, s, x.ID)
		if got.Fence <= last {
			t.Fatalf("execution %d: Fence = %d, want > %d (the previous record's)", i, got.Fence, last)
		}
		last = got.Fence
		xs = append(xs, got)
	}
	// Batched creations are ordered too: each after the earlier records.
	batch := []*store.Execution{newExecution("fence", base.Add(time.Minute)), newExecution("fence-2", base.Add(time.Minute))}
	for i, err := range store.CreateMany(t.Context(), s, batch) {
		if err != nil {
			t.Fatalf("CreateMany: %d: %v", i, err)
		}
		if f := get(t, s, batch[i].ID).Fence; f <= last {
			t.Fatalf("batched execution %d: Fence = %d, want > %d", i, f, last)
		}
	}
	u := xs[2].Clone()
	u.State, u.EndedAt, u.Fence = store.StateSucceeded, u.StartedAt.Add(time.Second), 7
	update(t, s, u)
	if got := get(t, s, u.ID); got.Fence != xs[2].Fence {
		t.Errorf("after UpdateExecution: Fence = %d, want %d (kept)", got.Fence, xs[2].Fence)
	}
	for _, got := range listAll(t, s, store.ExecutionFilter{Task: "fence"}) {
		if got.Fence <= 0 {
			t.Errorf("ListExecutions: execution %s: Fence = %d, want > 0", got.ID, got.Fence)
		}
	}
}

func testAbandonWithRecovery(t *testing.T, s store.Store) {
	a := abandoner(t, s)
	slot := base.Truncate(time.Minute)
	x := scheduled("abr", slot, store.TriggerSchedule)
	x.Exclusive = true
	create(t, s, x)
	xFence := get(t, s, x.ID).Fence
	at := base.Add(time.Hour)

	// Invalid recovery records: nothing happens.
	bad := []func(r *store.Execution){
		func(r *store.Execution) { r.Trigger = store.TriggerManual },
		func(r *store.Execution) { r.ParentID = uuid.New() },
		func(r *store.Execution) { r.State = store.StateRunning },
		func(r *store.Execution) { r.ID = x.ID },
		func(r *store.Execution) { r.Task = "" },
	}
	for i, mutate := range bad {
		r := recoveryOf(x, at)
		mutate(r)
		err := a.AbandonExecution(t.Context(), store.AbandonParams{ID: x.ID, Node: x.Node, EndedAt: at, Error: "dead", Recovery: r})
		wantErr(t, "AbandonExecution(invalid recovery "+string(rune('0'+i))+")", err, store.ErrInvalid)
		checkExecution(t, "GetExecution after an invalid recovery", get(t, s, x.ID), x)
		if r.ID != x.ID {
			wantGone(t, s, r.ID)
		}
	}

	r := recoveryOf(x, at)
	if err := a.AbandonExecution(t.Context(), store.AbandonParams{ID: x.ID, Node: x.Node, EndedAt: at, Error: "dead", Recovery: r}); err != nil {
		t.Fatalf("AbandonExecution with a recovery: %v", err)
	}
	want := x.Clone()
	want.State, want.EndedAt, want.Error = store.StateAbandoned, at, "dead"
	checkExecution(t, "GetExecution(abandoned)", get(t, s, x.ID), want)
	got := get(t, s, r.ID)
	checkExecution(t, "GetExecution(recovery)", got, r)
	if got.Fence <= xFence {
		t.Errorf("recovery Fence = %d, want > %d (the abandoned execution's)", got.Fence, xFence)
	}

	// A second abandonment conflicts and creates nothing.
	r2 := recoveryOf(x, at)
	err := a.AbandonExecution(t.Context(), store.AbandonParams{ID: x.ID, Node: x.Node, EndedAt: at, Error: "again", Recovery: r2})
	wantErr(t, "AbandonExecution(abandoned, with a recovery)", err, store.ErrConflict)
	wantGone(t, s, r2.ID)

	// A recovery whose ID exists: the mark is not made either.
	y := newExecution("abr", base.Add(time.Minute))
	create(t, s, y)
	r3 := recoveryOf(y, at)
	r3.ID = r.ID
	err = a.AbandonExecution(t.Context(), store.AbandonParams{ID: y.ID, Node: y.Node, EndedAt: at, Error: "dead", Recovery: r3})
	wantErr(t, "AbandonExecution(recovery with an existing ID)", err, store.ErrConflict)
	checkExecution(t, "GetExecution after a refused abandonment", get(t, s, y.ID), y)

	// The recovery starts once nothing else of the task runs.
	start := got.Clone()
	start.State, start.StartedAt, start.Node = store.StateRunning, at.Add(time.Second), "node-2"
	update(t, s, start)
}

// testAbandonWithRecoveryRace: of many sweeps abandoning one record with
// their own recovery records, one marks it and exactly one recovery
// exists.
func testAbandonWithRecoveryRace(t *testing.T, s store.Store) {
	a := abandoner(t, s)
	x := scheduled("abr-race", base.Truncate(time.Minute), store.TriggerSchedule)
	create(t, s, x)
	const n = 8
	recs := make([]*store.Execution, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		recs[i] = recoveryOf(x, base.Add(time.Hour))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = a.AbandonExecution(t.Context(), store.AbandonParams{ID: x.ID, Node: x.Node,
				EndedAt: base.Add(time.Hour), Error: "dead", Recovery: recs[i]})
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			get(t, s, recs[i].ID)
		case errors.Is(err, store.ErrConflict):
			wantGone(t, s, recs[i].ID)
		default:
			t.Errorf("AbandonExecution in goroutine %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d abandonments succeeded, want 1", won)
	}
	got := listAll(t, s, store.ExecutionFilter{Task: "abr-race", Triggers: []store.Trigger{store.TriggerRecovery}})
	if len(got) != 1 {
		t.Fatalf("%d recovery records, want 1", len(got))
	}
}

func testRequestCancel(t *testing.T, s store.Store) {
	c, ok := s.(store.CancelRequester)
	if !ok {
		t.Skip("the store is not a store.CancelRequester")
	}
	x := newExecution("cancel", base)
	x.CancelRequested = true // ignored by CreateExecution
	create(t, s, x)
	x.CancelRequested = false
	checkExecution(t, "GetExecution after create", get(t, s, x.ID), x)

	for range 2 {
		if err := c.RequestCancel(t.Context(), x.ID); err != nil {
			t.Fatalf("RequestCancel: %v", err)
		}
	}
	want := x.Clone()
	want.CancelRequested = true
	checkExecution(t, "GetExecution after RequestCancel", get(t, s, x.ID), want)
	found := false
	for _, got := range listAll(t, s, store.ExecutionFilter{Task: "cancel", States: []store.State{store.StateRunning}}) {
		if got.ID == x.ID {
			found = true
			checkExecution(t, "ListExecutions after RequestCancel", got, want)
		}
	}
	if !found {
		t.Fatal("ListExecutions: the running execution is missing")
	}

	// An update keeps the request.
	u := want.Clone()
	u.CancelRequested, u.ExitMessage = false, "still going"
	update(t, s, u)
	u.CancelRequested = true
	checkExecution(t, "GetExecution after an update", get(t, s, x.ID), u)

	ended := u.Clone()
	ended.State, ended.EndedAt = store.StateCancelled, base.Add(time.Second)
	update(t, s, ended)
	wantErr(t, "RequestCancel(ended)", c.RequestCancel(t.Context(), x.ID), store.ErrConflict)
	checkExecution(t, "GetExecution after a refused RequestCancel", get(t, s, x.ID), ended)
	wantErr(t, "RequestCancel(unknown ID)", c.RequestCancel(t.Context(), uuid.New()), store.ErrNotFound)
	wantErr(t, "RequestCancel(zero ID)", c.RequestCancel(t.Context(), uuid.Nil), store.ErrInvalid)

	p := newExecution("cancel", base.Add(time.Minute))
	p.State = store.StatePending
	create(t, s, p)
	if err := c.RequestCancel(t.Context(), p.ID); err != nil {
		t.Fatalf("RequestCancel(pending): %v", err)
	}
	if !get(t, s, p.ID).CancelRequested {
		t.Error("RequestCancel(pending): CancelRequested not set")
	}
}
