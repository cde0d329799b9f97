package memory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// TestDifferential runs random operations against this store and against
// the implementation it replaced (commit a89e967, kept as refStore in
// reference_test.go), and compares every answer: with no cap on records
// per task, and with caps small enough that most creates evict.

func sameTime(a, b time.Time) bool {
	return a.Equal(b) && a.Location() == b.Location() && a.IsZero() == b.IsZero()
}

func sameExec(a, b *store.Execution) string {
	if a == nil || b == nil {
		if a != b {
			return fmt.Sprintf("nil mismatch: %v vs %v", a, b)
		}
		return ""
	}
	for _, p := range []struct {
		n    string
		x, y time.Time
	}{{"ScheduledAt", a.ScheduledAt, b.ScheduledAt}, {"StartedAt", a.StartedAt, b.StartedAt}, {"EndedAt", a.EndedAt, b.EndedAt}} {
		if !sameTime(p.x, p.y) {
			return fmt.Sprintf("%s: %v (%p) vs %v (%p)", p.n, p.x, p.x.Location(), p.y, p.y.Location())
		}
	}
	ac, bc := *a, *b
	if len(ac.Args) == 0 && len(bc.Args) == 0 {
		ac.Args, bc.Args = nil, nil // the old store returned nil for empty
	}
	ac.ScheduledAt, ac.StartedAt, ac.EndedAt = time.Time{}, time.Time{}, time.Time{}
	bc.ScheduledAt, bc.StartedAt, bc.EndedAt = time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(ac, bc) {
		return fmt.Sprintf("%+v\nvs\n%+v", ac, bc)
	}
	return ""
}

func errClass(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, store.ErrConflict):
		return "conflict"
	case errors.Is(err, store.ErrNotFound):
		return "notfound"
	case errors.Is(err, store.ErrInvalid):
		return "invalid"
	case errors.Is(err, store.ErrClosed):
		return "closed"
	}
	return "other:" + err.Error()
}

func copyExec(e *store.Execution) *store.Execution {
	c := *e
	c.Args = slices.Clone(e.Args)
	return &c
}

func TestDifferential(t *testing.T) {
	for _, maxPerTask := range []int{0, 1, 4} {
		t.Run(fmt.Sprintf("maxPerTask=%d", maxPerTask), func(t *testing.T) { differential(t, maxPerTask) })
	}
}

func differential(t *testing.T, maxPerTask int) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 2; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		s, ref := New(WithMaxPerTask(maxPerTask)), newRef(maxPerTask)
		locs := []*time.Location{time.UTC, time.Local}
		for i := range 300 {
			locs = append(locs, time.FixedZone(fmt.Sprintf("Z%d", i), (i%25-12)*3600))
		}
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		tasks := []string{"a", "b", "c", "d"}
		var ids []uuid.UUID
		rt := func() time.Time {
			if rng.IntN(10) == 0 {
				return time.Time{}
			}
			return base.Add(time.Duration(rng.IntN(200))*time.Second + time.Duration(rng.IntN(3))).In(locs[rng.IntN(len(locs))])
		}
		rstr := func() string {
			if rng.IntN(2) == 0 {
				return ""
			}
			return fmt.Sprintf("s%d", rng.IntN(1000))
		}
		rargs := func() []string {
			switch rng.IntN(3) {
			case 0:
				return nil
			case 1:
				return []string{}
			}
			return []string{rstr(), "x"}
		}
		allStates := []store.State{store.StatePending, store.StateRunning, store.StateSucceeded, store.StateFailed,
			store.StateSkipped, store.StateCancelled, store.StateAbandoned}
		allTrig := []store.Trigger{store.TriggerSchedule, store.TriggerManual, store.TriggerDependency, store.TriggerCatchUp,
			store.TriggerOneShot, store.TriggerRecovery}
		mk := func() *store.Execution {
			id := uuid.New()
			if len(ids) > 0 && rng.IntN(30) == 0 {
				id = ids[rng.IntN(len(ids))]
			}
			started := rt()
			if started.IsZero() {
				started = base.In(locs[rng.IntN(len(locs))])
			}
			e := &store.Execution{
				ID: id, Task: tasks[rng.IntN(len(tasks))], Trigger: allTrig[rng.IntN(len(allTrig))],
				ScheduledAt: rt(), StartedAt: started, EndedAt: rt(), State: allStates[rng.IntN(len(allStates))],
				ExitCode: rng.IntN(3), ExitMessage: rstr(), Error: rstr(), Args: rargs(), ExternalID: rstr(),
				RootTask: rstr(), Node: fmt.Sprintf("n%d", rng.IntN(400)), SkipReason: rstr(),
				Exclusive: rng.IntN(3) == 0, CancelRequested: rng.IntN(5) == 0, Fence: int64(rng.IntN(3)),
			}
			if rng.IntN(3) == 0 {
				e.ParentID = uuid.New()
			}
			if e.Trigger.Claims() && e.ScheduledAt.IsZero() {
				e.ScheduledAt = base.Add(time.Duration(rng.IntN(50)) * time.Second).In(locs[rng.IntN(len(locs))])
			}
			return e
		}
		for op := range 2000 {
			where := fmt.Sprintf("seed %d op %d", seed, op)
			switch k := rng.IntN(20); {
			case k < 5:
				e := mk()
				e1, e2 := copyExec(e), copyExec(e)
				a, b := s.CreateExecution(ctx, e1), ref.CreateExecution(ctx, e2)
				if errClass(a) != errClass(b) {
					t.Fatalf("%s: create: %v vs ref %v", where, a, b)
				}
				ids = append(ids, e.ID)
			case k < 7:
				var es1, es2 []*store.Execution
				for range rng.IntN(5) + 1 {
					e := mk()
					es1, es2 = append(es1, copyExec(e)), append(es2, copyExec(e))
					ids = append(ids, e.ID)
				}
				a, b := s.CreateExecutions(ctx, es1), ref.CreateExecutions(ctx, es2)
				for i := range a {
					if errClass(a[i]) != errClass(b[i]) {
						t.Fatalf("%s: batch %d: %v vs ref %v", where, i, a[i], b[i])
					}
				}
			case k < 12 && len(ids) > 0:
				u := mk()
				u.ID = ids[rng.IntN(len(ids))]
				if rng.IntN(20) == 0 {
					u.StartedAt = time.Time{}
				}
				a, b := s.UpdateExecution(ctx, copyExec(u)), ref.UpdateExecution(ctx, copyExec(u))
				if errClass(a) != errClass(b) {
					t.Fatalf("%s: update: %v vs ref %v", where, a, b)
				}
			case k < 15 && len(ids) > 0:
				id := ids[rng.IntN(len(ids))]
				a, ea := s.GetExecution(ctx, id)
				b, eb := ref.GetExecution(ctx, id)
				if errClass(ea) != errClass(eb) {
					t.Fatalf("%s: get: %v vs ref %v", where, ea, eb)
				}
				if d := sameExec(a, b); d != "" {
					t.Fatalf("%s: get %s: %s", where, id, d)
				}
			case k < 17:
				f := store.ExecutionFilter{Limit: rng.IntN(7) + 1}
				if rng.IntN(2) == 0 {
					f.Task = tasks[rng.IntN(len(tasks))]
				}
				if rng.IntN(3) == 0 {
					f.States = []store.State{allStates[rng.IntN(len(allStates))], allStates[rng.IntN(len(allStates))]}
				}
				if rng.IntN(3) == 0 {
					f.Triggers = []store.Trigger{allTrig[rng.IntN(len(allTrig))]}
				}
				if rng.IntN(3) == 0 {
					f.From = base.Add(time.Duration(rng.IntN(100)) * time.Second)
				}
				if rng.IntN(3) == 0 {
					f.To = base.Add(time.Duration(100+rng.IntN(100)) * time.Second)
				}
				fa, fb := f, f
				for page := 0; ; page++ {
					pa, ea := s.ListExecutions(ctx, fa)
					pb, eb := ref.ListExecutions(ctx, fb)
					if errClass(ea) != errClass(eb) {
						t.Fatalf("%s: list: %v vs ref %v", where, ea, eb)
					}
					if len(pa.Executions) != len(pb.Executions) || (pa.NextCursor == "") != (pb.NextCursor == "") {
						t.Fatalf("%s: list page %d: %d rows cursor %q vs ref %d rows cursor %q", where, page,
							len(pa.Executions), pa.NextCursor, len(pb.Executions), pb.NextCursor)
					}
					for i := range pa.Executions {
						if d := sameExec(pa.Executions[i], pb.Executions[i]); d != "" {
							t.Fatalf("%s: list page %d row %d: %s", where, page, i, d)
						}
					}
					if pa.NextCursor == "" {
						break
					}
					fa.Cursor, fb.Cursor = pa.NextCursor, pb.NextCursor
				}
			case k < 19:
				p := store.DeleteParams{Before: base.Add(time.Duration(rng.IntN(200)) * time.Second), Limit: rng.IntN(4)}
				if rng.IntN(2) == 0 {
					p.Task = tasks[rng.IntN(len(tasks))]
				}
				a, ea := s.DeleteExecutions(ctx, p)
				b, eb := ref.DeleteExecutions(ctx, p)
				if a != b || errClass(ea) != errClass(eb) {
					t.Fatalf("%s: delete %+v: %d %v vs ref %d %v", where, p, a, ea, b, eb)
				}
			default:
				a, _ := s.LastSlots(ctx)
				b, _ := ref.LastSlots(ctx)
				if len(a) != len(b) {
					t.Fatalf("%s: LastSlots %v vs ref %v", where, a, b)
				}
				for k, v := range a {
					if !sameTime(v, b[k]) {
						t.Fatalf("%s: LastSlots[%s] %v vs ref %v", where, k, v, b[k])
					}
				}
			}
		}
	}
}
