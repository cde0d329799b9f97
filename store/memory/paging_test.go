package memory

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// The store keeps and orders times outside UnixNano's range, and paging
// through them neither repeats nor drops a row. (A cursor holding
// StartedAt.UnixNano, as backend.EncodeCursor once did, overflowed for them:
// the next page started from a wrong position and store.ListAll never
// ended.)
func TestPagingOutsideUnixNano(t *testing.T) {
	ctx := context.Background()
	s := New()
	defer s.Close()
	want := map[uuid.UUID]bool{}
	for _, at := range []time.Time{
		time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1500, 1, 2, 0, 0, 0, 0, time.UTC),
		time.Date(1500, 1, 3, 0, 0, 0, 0, time.UTC),
	} {
		e := &store.Execution{ID: uuid.New(), Task: "far", Trigger: store.TriggerManual, StartedAt: at, State: store.StateSucceeded}
		if err := s.CreateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		want[e.ID] = true
	}
	f := store.ExecutionFilter{Task: "far", Limit: 1}
	seen := map[uuid.UUID]bool{}
	for page := 0; page < 6; page++ {
		p, err := s.ListExecutions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Executions {
			if seen[e.ID] {
				t.Fatalf("page %d repeats %s (StartedAt %s): cursor %q", page, e.ID, e.StartedAt, f.Cursor)
			}
			seen[e.ID] = true
		}
		if p.NextCursor == "" {
			break
		}
		f.Cursor = p.NextCursor
	}
	if len(seen) != len(want) {
		t.Errorf("paging returned %d of %d records", len(seen), len(want))
	}
}
