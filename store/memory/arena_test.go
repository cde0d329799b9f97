package memory

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// The records' chunks must stay free of pointers, or the garbage collector
// scans every stored record again on every cycle.
func TestRecordHasNoPointers(t *testing.T) {
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				walk(path+"."+f.Name, f.Type)
			}
		case reflect.Array:
			walk(path+"[]", typ.Elem())
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
		default:
			t.Errorf("%s is a %s: records must hold no pointers", path, typ.Kind())
		}
	}
	walk("rec", reflect.TypeFor[rec]())
}

func newRun(task string, started time.Time) *store.Execution {
	return &store.Execution{
		ID:        uuid.New(),
		Task:      task,
		Trigger:   store.TriggerManual,
		StartedAt: started,
		State:     store.StateRunning,
		Node:      "node-1",
	}
}

func mustGet(t *testing.T, s *Store, id uuid.UUID) *store.Execution {
	t.Helper()
	e, err := s.GetExecution(context.Background(), id)
	if err != nil {
		t.Fatalf("GetExecution(%s): %v", id, err)
	}
	return e
}

// Times come back in the location they were stored in, also when more
// locations are used than the table holds, and beyond the range of
// UnixNano.
func TestTimesKeepLocation(t *testing.T) {
	ctx := context.Background()
	s := New()
	defer s.Close()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	base := time.Date(2026, 3, 8, 1, 30, 0, 123456789, ny)
	type stored struct {
		e *store.Execution
	}
	var all []stored
	for i := range maxLocs + 20 {
		loc := time.FixedZone(fmt.Sprintf("Z%d", i), i*60)
		e := newRun("t", base.Add(time.Duration(i)*time.Second).In(loc))
		e.Trigger = store.TriggerSchedule
		e.ScheduledAt = base.Add(time.Duration(i) * time.Minute) // New York
		if i%3 == 0 {
			e.ScheduledAt = e.ScheduledAt.In(loc)
		}
		if err := s.CreateExecution(ctx, e); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		all = append(all, stored{e})
	}
	// Far past and far future: outside UnixNano's range.
	for _, at := range []time.Time{
		time.Date(1500, 1, 2, 3, 4, 5, 6, time.UTC),
		time.Date(3000, 1, 2, 3, 4, 5, 6, ny),
	} {
		e := newRun("far", at)
		e.Trigger = store.TriggerSchedule
		e.ScheduledAt = at
		if err := s.CreateExecution(ctx, e); err != nil {
			t.Fatalf("create at %s: %v", at, err)
		}
		all = append(all, stored{e})
	}
	check := func(when string) {
		t.Helper()
		for _, st := range all {
			got := mustGet(t, s, st.e.ID)
			for _, p := range []struct {
				name      string
				got, want time.Time
			}{
				{"ScheduledAt", got.ScheduledAt, st.e.ScheduledAt},
				{"StartedAt", got.StartedAt, st.e.StartedAt},
				{"EndedAt", got.EndedAt, st.e.EndedAt},
			} {
				if p.got != p.want || p.got.Location() != p.want.Location() {
					t.Errorf("%s: %s: %s = %s, want %s", when, st.e.ID, p.name, p.got, p.want)
				}
			}
		}
	}
	check("after create")

	// An update keeps the stored scheduled time (and its location), and
	// stores the new times in theirs.
	for i, st := range all {
		u := *st.e
		u.State = store.StateSucceeded
		u.EndedAt = u.StartedAt.Add(time.Second).In(time.FixedZone(fmt.Sprintf("E%d", i), -i*60))
		u.ScheduledAt = time.Time{}
		if err := s.UpdateExecution(ctx, &u); err != nil {
			t.Fatalf("update: %v", err)
		}
		st.e.EndedAt, st.e.State = u.EndedAt, u.State
	}
	check("after update")

	slots, err := s.LastSlots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := all[maxLocs+19].e.ScheduledAt; slots["t"] != want {
		t.Errorf("LastSlots[t] = %s, want %s", slots["t"], want)
	}
	if want := all[len(all)-1].e.ScheduledAt; slots["far"] != want {
		t.Errorf("LastSlots[far] = %s, want %s", slots["far"], want)
	}
	if len(s.tables.locs) > maxLocs {
		t.Errorf("location table has %d entries, more than %d", len(s.tables.locs), maxLocs)
	}
}

// The text of a record lives in the shard's extras only while it has
// some; a deleted record's number is reused without its old text.
func TestExtras(t *testing.T) {
	ctx := context.Background()
	s := New()
	defer s.Close()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	extrasLen := func() int {
		n := 0
		for i := range s.shards {
			n += len(s.shards[i].extras)
		}
		return n
	}

	e := newRun("t", start)
	e.Args = []string{}
	if err := s.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, e.ID); got.Args == nil {
		t.Errorf("empty Args came back nil")
	}
	u := *e
	u.Args = nil
	u.State, u.EndedAt = store.StateRunning, start.Add(time.Second) // not final: updated again below
	u.Error, u.ExitMessage, u.ExitCode, u.ExternalID = "boom", "bad", 3, "ext-1"
	if err := s.UpdateExecution(ctx, &u); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, e.ID)
	if got.Error != "boom" || got.ExitMessage != "bad" || got.ExitCode != 3 || got.ExternalID != "ext-1" || got.Args != nil {
		t.Errorf("after update: %+v", got)
	}
	if n := extrasLen(); n != 1 {
		t.Errorf("%d extras, want 1", n)
	}
	u.Error, u.ExitMessage, u.ExternalID = "", "", ""
	if err := s.UpdateExecution(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, e.ID); got.Error != "" || got.ExitMessage != "" || got.ExternalID != "" {
		t.Errorf("text not cleared: %+v", got)
	}
	if n := extrasLen(); n != 0 {
		t.Errorf("%d extras after the text was cleared, want 0", n)
	}

	// Delete a record with text; its number goes to the next record.
	u.SkipReason, u.State = "overlap", store.StateSkipped
	if err := s.UpdateExecution(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExecutions(ctx, store.DeleteParams{Before: start.Add(time.Hour)}); err != nil || n != 1 {
		t.Fatalf("DeleteExecutions = %d, %v; want 1", n, err)
	}
	if _, err := s.GetExecution(ctx, e.ID); err == nil {
		t.Errorf("deleted record still found")
	}
	if n := extrasLen(); n != 0 {
		t.Errorf("%d extras after delete, want 0", n)
	}
	f := newRun("u", start.Add(time.Minute))
	if err := s.CreateExecution(ctx, f); err != nil {
		t.Fatal(err)
	}
	if len(s.free) != 0 || s.next != 1 {
		t.Errorf("free list %v, next %d: the deleted record's number was not reused", s.free, s.next)
	}
	want := f.Clone()
	want.Fence = 2 // the store's second record
	if got := mustGet(t, s, f.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("reused record = %+v, want %+v", got, want)
	}
}

// A run's update, with no text, a known node and known locations,
// allocates nothing in the store. (The state stays running: a final record
// does not change, so only one end could be measured.)
func TestUpdateAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	s := New()
	defer s.Close()
	e := newRun("t", time.Now())
	if err := s.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	u := *e
	u.State, u.EndedAt = store.StateRunning, e.StartedAt.Add(time.Millisecond)
	if n := testing.AllocsPerRun(100, func() {
		if err := s.UpdateExecution(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("UpdateExecution allocates %.1f times, want 0", n)
	}
}

// Creates (single and in batches), updates, gets, listings and deletions
// at once, many adding names and locations to the tables: run with -race. Every record that was
// not deleted reads back as last written.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	s := New()
	defer s.Close()
	const writers, per = 4, 300
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.ListExecutions(ctx, store.ExecutionFilter{Limit: 10}); err != nil {
				t.Errorf("List: %v", err)
			}
			if _, err := s.LastSlots(ctx); err != nil {
				t.Errorf("LastSlots: %v", err)
			}
			// Only the records of task "gone" are final before this cutoff.
			if _, err := s.DeleteExecutions(ctx, store.DeleteParams{Task: "gone", Before: base.Add(time.Hour)}); err != nil {
				t.Errorf("Delete: %v", err)
			}
		}
	}()
	final := make([][]*store.Execution, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				task := fmt.Sprintf("t%d", w)
				if i%10 == 0 {
					task = "gone"
				}
				e := newRun(task, base.Add(time.Duration(i)*time.Second))
				e.Trigger, e.ScheduledAt = store.TriggerSchedule, base.Add(time.Duration(w*per+i)*time.Minute)
				e.Node = fmt.Sprintf("node-%d", i%7)
				if err := s.CreateExecution(ctx, e); err != nil {
					t.Errorf("create: %v", err)
					return
				}
				u := *e
				u.State, u.EndedAt = store.StateSucceeded, e.StartedAt.Add(time.Second).In(time.FixedZone(fmt.Sprintf("w%d", i%5), w*3600))
				u.Node = fmt.Sprintf("other-%d", i%11)
				if i%3 == 0 {
					u.State, u.Error, u.Args = store.StateFailed, fmt.Sprintf("err %d", i), []string{task}
				}
				if err := s.UpdateExecution(ctx, &u); err != nil {
					t.Errorf("update: %v", err)
					return
				}
				if i%10 == 0 {
					// A batch with names and locations never seen: part of
					// it goes under the read lock, the rest under the write
					// lock.
					es := make([]*store.Execution, 5)
					for j := range es {
						es[j] = newRun(fmt.Sprintf("b%d-%d", w, j), base.In(time.FixedZone(fmt.Sprintf("b%d-%d-%d", w, i, j), 0)))
						es[j].State, es[j].RootTask = store.StatePending, fmt.Sprintf("r%d-%d", w, i+j)
					}
					for _, err := range s.CreateExecutions(ctx, es) {
						if err != nil {
							t.Errorf("batch create: %v", err)
						}
					}
				}
				if task == "gone" {
					continue // may be deleted already
				}
				if got, err := s.GetExecution(ctx, e.ID); err != nil || got.Node != u.Node {
					t.Errorf("read back %+v, %v; want node %q", got, err, u.Node)
				}
				final[w] = append(final[w], u.Clone())
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	for _, es := range final {
		for _, want := range es {
			got := mustGet(t, s, want.ID)
			got.Fence = 0 // assigned by the store
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("record %s = %+v, want %+v", want.ID, got, want)
			}
		}
	}
}
