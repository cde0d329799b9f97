package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// fire returns the records of one fire of tasks at slot, as the engine
// creates them: running, claiming the slot.
func fire(tasks []string, slot time.Time) []*store.Execution {
	es := make([]*store.Execution, len(tasks))
	for i, task := range tasks {
		es[i] = &store.Execution{ID: uuid.New(), Task: task, Trigger: store.TriggerSchedule,
			ScheduledAt: slot, StartedAt: slot, State: store.StateRunning, Node: "node-1"}
	}
	return es
}

func createAll(t testing.TB, s *Store, es []*store.Execution) {
	t.Helper()
	for i, err := range s.CreateExecutions(context.Background(), es) {
		if err != nil {
			t.Fatalf("create %s: %v", es[i].Task, err)
		}
	}
}

func end(t testing.TB, s *Store, e *store.Execution) {
	t.Helper()
	e.State, e.EndedAt = store.StateSucceeded, e.StartedAt.Add(time.Millisecond)
	if err := s.UpdateExecution(context.Background(), e); err != nil {
		t.Fatalf("end %s: %v", e.ID, err)
	}
}

func countOf(t *testing.T, s *Store, task string) int {
	t.Helper()
	xs, err := store.ListAll(context.Background(), s, store.ExecutionFilter{Task: task, Limit: store.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(xs)
}

// A simulated day of tasks firing on a schedule, each run created and then
// ended, leaves the default store holding MaxPerTaskDefault records of each
// task, and no more memory than that: record slots, ID index entries and
// the tasks' slices are bounded by the records kept, not by the day's
// runs. (Scaled to run quickly under -race: 10 tasks every 10 seconds,
// 8,640 runs each. bench/cmd/retention runs 1,000 tasks every second.) A
// run that never ends, created first, is never evicted.
func TestDefaultCapBoundsASimulatedDay(t *testing.T) {
	const (
		nTasks = 10
		every  = 10 * time.Second
		keep   = MaxPerTaskDefault
	)
	s := New()
	defer s.Close()
	tasks := make([]string, nTasks)
	for i := range tasks {
		tasks[i] = fmt.Sprintf("task-%d", i)
	}
	day := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	stuck := fire(tasks[:1], day.Add(-time.Second))
	createAll(t, s, stuck)
	var last *store.Execution
	for at := day; at.Before(day.Add(24 * time.Hour)); at = at.Add(every) {
		es := fire(tasks, at)
		createAll(t, s, es)
		for _, e := range es {
			end(t, s, e)
		}
		last = es[len(es)-1]
	}

	for _, task := range tasks {
		if n := countOf(t, s, task); n != keep {
			t.Errorf("%s: %d records after a day, want %d", task, n, keep)
		}
	}
	if x := mustGet(t, s, stuck[0].ID); x.State != store.StateRunning {
		t.Errorf("the run that never ended is %s", x.State)
	}
	if x := mustGet(t, s, last.ID); x.State != store.StateSucceeded {
		t.Errorf("the newest run is %s", x.State)
	}
	live := nTasks * keep
	// Record slots: a create takes one before its task evicts one.
	if s.next > uint32(live+1) {
		t.Errorf("%d record slots taken, want at most %d", s.next, live+1)
	}
	ids := 0
	for i := range s.shards {
		x := &s.shards[i].ids
		ids += len(x.asc) + len(x.other)
	}
	if max := 2*live + 64*nShards; ids > max {
		t.Errorf("ID index holds %d entries, want at most %d", ids, max)
	}
	for name, tr := range s.tasks {
		if c := cap(tr.recs.items); c > 2*keep {
			t.Errorf("%s: record list of capacity %d, want at most %d", name, c, 2*keep)
		}
		if c := cap(tr.claims.items); c > 2*keep {
			t.Errorf("%s: claim list of capacity %d, want at most %d", name, c, 2*keep)
		}
	}
}

// The cap evicts a task's oldest final record and frees its slot claim;
// it never evicts a pending or running record, nor the record just
// created, and leaves other tasks alone.
func TestCapEvictsTheOldestFinalRecord(t *testing.T) {
	ctx := context.Background()
	s := New(WithMaxPerTask(3))
	defer s.Close()
	base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	mk := func(task string, i int, state store.State) *store.Execution {
		e := fire([]string{task}, at(i))[0]
		e.State = state
		if state.Final() {
			e.EndedAt = e.StartedAt
		}
		createAll(t, s, []*store.Execution{e})
		return e
	}
	gone := func(e *store.Execution) bool {
		_, err := s.GetExecution(ctx, e.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err != nil
	}

	running := mk("a", 0, store.StateRunning)
	b := mk("a", 1, store.StateSucceeded)
	other := mk("other", 1, store.StateSucceeded)
	c := mk("a", 2, store.StateFailed)
	d := mk("a", 3, store.StateSkipped) // the fourth: b goes, not the running one
	if !gone(b) || gone(running) || gone(c) || gone(d) || gone(other) {
		t.Fatalf("after a 4th record: b gone %v, running %v, c %v, d %v, other task's %v; want only b gone",
			gone(b), gone(running), gone(c), gone(d), gone(other))
	}
	// b's slot is free again; c's is still claimed.
	if err := s.CreateExecution(ctx, fire([]string{"a"}, at(2))[0]); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("claiming c's slot: %v, want ErrConflict", err)
	}
	again := mk("a", 1, store.StateSucceeded) // evicts c
	if gone(again) || !gone(c) || gone(running) {
		t.Fatalf("re-claiming b's slot: new record gone %v, c gone %v, running gone %v", gone(again), gone(c), gone(running))
	}
	if n := countOf(t, s, "a"); n != 3 {
		t.Fatalf("a holds %d records, want 3", n)
	}

	// Only open records before it: the new record stays, over the cap.
	s2 := New(WithMaxPerTask(2))
	defer s2.Close()
	s, base = s2, base.Add(time.Hour)
	x, y := mk("a", 0, store.StatePending), mk("a", 1, store.StateRunning)
	z := mk("a", 2, store.StateSucceeded)
	if gone(x) || gone(y) || gone(z) {
		t.Fatalf("with only open records before it: x gone %v, y %v, z %v; want none", gone(x), gone(y), gone(z))
	}
	end(t, s, x)
	w := mk("a", 3, store.StateSucceeded) // x and z are final now: both go, oldest first
	if !gone(x) || !gone(z) || gone(y) || gone(w) {
		t.Fatalf("after x ended: x gone %v, z %v, y %v, w %v; want x and z", gone(x), gone(z), gone(y), gone(w))
	}
}

// WithMaxPerTask(0), or less, keeps every record.
func TestWithoutCapKeepsEverything(t *testing.T) {
	for _, n := range []int{0, -1} {
		s := New(WithMaxPerTask(n))
		base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
		const runs = MaxPerTaskDefault + 10
		for i := range runs {
			es := fire([]string{"a"}, base.Add(time.Duration(i)*time.Second))
			es[0].State, es[0].EndedAt = store.StateSucceeded, es[0].StartedAt
			createAll(t, s, es)
		}
		if got := countOf(t, s, "a"); got != runs {
			t.Errorf("WithMaxPerTask(%d): %d records, want %d", n, got, runs)
		}
		s.Close()
	}
}

// Writers sharing tasks create, end and read their runs while others'
// creates evict across shards; listings and deletions run beside them.
// Run with -race. A run is never evicted before it ends (its end finds
// it), and each task ends with the cap's number of records.
func TestCapUnderConcurrentUse(t *testing.T) {
	ctx := context.Background()
	const (
		keep    = 8
		writers = 4
		per     = 300
	)
	s := New(WithMaxPerTask(keep))
	defer s.Close()
	base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	done := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.ListExecutions(ctx, store.ExecutionFilter{Task: "t0", Limit: 5}); err != nil {
				t.Errorf("List: %v", err)
			}
			if _, err := s.DeleteExecutions(ctx, store.DeleteParams{Task: "t1", Before: base.Add(time.Minute), Limit: 2}); err != nil {
				t.Errorf("Delete: %v", err)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				task := fmt.Sprintf("t%d", i%2)
				e := fire([]string{task}, base.Add(time.Duration(i*writers+w)*time.Second))[0]
				if i%5 == 0 {
					e.Trigger = store.TriggerManual // claims nothing
				}
				if err := s.CreateExecution(ctx, e); err != nil {
					t.Errorf("create: %v", err)
					return
				}
				if _, err := s.GetExecution(ctx, e.ID); err != nil {
					t.Errorf("get before its end: %v", err)
					return
				}
				e.State, e.EndedAt = store.StateSucceeded, e.StartedAt.Add(time.Millisecond)
				if err := s.UpdateExecution(ctx, e); err != nil {
					t.Errorf("end: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	bg.Wait()
	if n := countOf(t, s, "t0"); n != keep {
		t.Errorf("t0 holds %d records, want %d", n, keep)
	}
	if n := countOf(t, s, "t1"); n > keep {
		t.Errorf("t1 holds %d records, want at most %d", n, keep)
	}
}
