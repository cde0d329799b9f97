package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

func TestListAllPagesThroughEverything(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 250; i++ {
		x := &store.Execution{ID: uuid.New(), Task: "t", Trigger: store.TriggerManual, State: store.StateSucceeded,
			StartedAt: base.Add(time.Duration(i) * time.Second), EndedAt: base.Add(time.Duration(i) * time.Second)}
		if err := s.CreateExecution(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	all, err := store.ListAll(ctx, s, store.ExecutionFilter{Task: "t", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 250 {
		t.Fatalf("ListAll returned %d executions, want 250", len(all))
	}
	for i := 1; i < len(all); i++ {
		if !store.Newer(all[i-1], all[i]) {
			t.Fatalf("executions %d and %d out of order", i-1, i)
		}
	}
	if _, err := store.ListAll(ctx, s, store.ExecutionFilter{Cursor: "!!"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("ListAll with a bad cursor = %v, want ErrInvalid", err)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	x := &store.Execution{ID: uuid.New(), StartedAt: time.Date(2026, 5, 1, 2, 3, 4, 5000, time.UTC)}
	c, err := store.DecodeCursor(store.EncodeCursor(x))
	if err != nil {
		t.Fatal(err)
	}
	if !c.StartedAt.Equal(x.StartedAt) || c.ID != x.ID {
		t.Fatalf("cursor = %+v, want %v %v", c, x.StartedAt, x.ID)
	}
	for _, bad := range []string{"", "%%%", "bm9zZXBhcmF0b3I", "eC95"} {
		if _, err := store.DecodeCursor(bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("DecodeCursor(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
