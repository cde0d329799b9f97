package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// abandoner returns s as a store.Abandoner, or skips the test.
func abandoner(t *testing.T, s store.Store) store.Abandoner {
	t.Helper()
	a, ok := s.(store.Abandoner)
	if !ok {
		t.Skip("the store is not a store.Abandoner")
	}
	return a
}

func testAbandon(t *testing.T, s store.Store) {
	a := abandoner(t, s)
	slot := base.Truncate(time.Minute)
	running := scheduled("ab", slot, store.TriggerSchedule)
	running.Args = []string{"x"}
	running.ParentID = uuid.New()
	pending := scheduled("ab", slot.Add(time.Minute), store.TriggerSchedule)
	pending.State = store.StatePending
	ended := scheduled("ab", slot.Add(2*time.Minute), store.TriggerSchedule)
	ended.State, ended.EndedAt = store.StateSucceeded, ended.StartedAt.Add(time.Second)
	create(t, s, running, pending, ended)

	at := base.Add(time.Hour)
	msg := "node node-1 last renewed 2025-03-14T01:26:53Z"
	for _, x := range []*store.Execution{running, pending} {
		if err := a.AbandonExecution(t.Context(), store.AbandonParams{ID: x.ID, Node: "node-1", EndedAt: at, Error: msg}); err != nil {
			t.Fatalf("AbandonExecution(%s, %s): %v", x.State, x.ID, err)
		}
		want := x.Clone()
		want.State, want.EndedAt, want.Error = store.StateAbandoned, at, msg
		checkExecution(t, "GetExecution after AbandonExecution", get(t, s, x.ID), want)
	}
	// Abandoned already, or ended: a conflict that changes nothing.
	for _, x := range []*store.Execution{running, ended} {
		before := get(t, s, x.ID)
		err := a.AbandonExecution(t.Context(), store.AbandonParams{ID: x.ID, Node: "node-1", EndedAt: at.Add(time.Hour), Error: "again"})
		wantErr(t, "AbandonExecution(final record)", err, store.ErrConflict)
		checkExecution(t, "GetExecution after a refused AbandonExecution", get(t, s, x.ID), before)
	}
	// A record of another node: a conflict.
	other := newExecution("ab", base)
	other.Node = "node-2"
	create(t, s, other)
	err := a.AbandonExecution(t.Context(), store.AbandonParams{ID: other.ID, Node: "node-1", EndedAt: at, Error: msg})
	wantErr(t, "AbandonExecution(another node's record)", err, store.ErrConflict)
	checkExecution(t, "GetExecution of another node's record", get(t, s, other.ID), other)

	err = a.AbandonExecution(t.Context(), store.AbandonParams{ID: uuid.New(), Node: "node-1", EndedAt: at, Error: msg})
	wantErr(t, "AbandonExecution(unknown ID)", err, store.ErrNotFound)

	for _, p := range []store.AbandonParams{
		{Node: "node-1", EndedAt: at},
		{ID: other.ID, Node: "node-2"},
		{ID: other.ID, Node: "node-2", EndedAt: at, Error: "nul\x00"},
		{ID: other.ID, Node: "node-2", EndedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		err := a.AbandonExecution(t.Context(), p)
		wantErr(t, "AbandonExecution(invalid params)", err, store.ErrInvalid)
	}
	checkExecution(t, "GetExecution after invalid AbandonExecution calls", get(t, s, other.ID), other)
}

// testAbandonRace abandons one record from many goroutines at once:
// exactly one succeeds, the others get ErrConflict.
func testAbandonRace(t *testing.T, s store.Store) {
	a := abandoner(t, s)
	x := newExecution("ab-race", base)
	create(t, s, x)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = a.AbandonExecution(t.Context(), store.AbandonParams{ID: x.ID, Node: x.Node,
				EndedAt: base.Add(time.Duration(i+1) * time.Second), Error: "abandoned"})
		}()
	}
	close(start)
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("AbandonExecution succeeded in goroutines %d and %d, want once", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("AbandonExecution in goroutine %d: %v, want nil or store.ErrConflict", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no AbandonExecution succeeded")
	}
	want := x.Clone()
	want.State, want.EndedAt, want.Error = store.StateAbandoned, base.Add(time.Duration(won+1)*time.Second), "abandoned"
	checkExecution(t, "GetExecution after the race", get(t, s, x.ID), want)
}
