package memory_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// LastSlots reads the claiming records' ScheduledAt under the read lock
// only, while UpdateExecution overwrites the record in place (*old = *e,
// then restores Task, Trigger and ScheduledAt) under the read lock and the
// shard's lock: a data race, and LastSlots can see the update's
// ScheduledAt (here zero) instead of the stored slot. Run with -race for
// the race report; the value check fails without it too, now and then.
func TestLastSlotsDuringUpdate(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	slot := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	x := &store.Execution{ID: uuid.New(), Task: "t", Trigger: store.TriggerSchedule, ScheduledAt: slot,
		StartedAt: slot, State: store.StateRunning}
	if err := s.CreateExecution(ctx, x); err != nil {
		t.Fatal(err)
	}
	// An update that does not carry the slot: the store keeps the stored
	// one.
	upd := *x
	upd.ScheduledAt = time.Time{}

	const n = 20000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			if err := s.UpdateExecution(ctx, &upd); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	bad := 0
	for i := 0; i < n; i++ {
		slots, err := s.LastSlots(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slots["t"].Equal(slot) {
			bad++
		}
	}
	wg.Wait()
	if bad > 0 {
		t.Errorf("LastSlots returned a slot other than %v %d times out of %d", slot, bad, n)
	}
}
