package storetest

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

// createShuffled creates es in a random order, so that insertion order says
// nothing about listing order.
func createShuffled(t *testing.T, s store.Store, es []*store.Execution) {
	t.Helper()
	shuffled := slices.Clone(es)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	create(t, s, shuffled...)
}

// createParallel creates es from a few goroutines: faster on a remote
// database.
func createParallel(t *testing.T, s store.Store, es []*store.Execution) {
	t.Helper()
	const workers = 8
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range workers {
		spawn(&wg, func() {
			for i := w; i < len(es); i += workers {
				if err := s.CreateExecution(ctx, es[i]); err != nil {
					t.Errorf("CreateExecution(%s): %v", es[i].ID, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// sameStart returns n running executions of task that all started at.
func sameStart(task string, at time.Time, n int) []*store.Execution {
	es := make([]*store.Execution, n)
	for i := range es {
		es[i] = newExecution(task, at)
	}
	return es
}

func testListOrder(t *testing.T, s store.Store) {
	var es []*store.Execution
	for i := range 20 {
		es = append(es, newExecution("order", base.Add(time.Duration(i*7%20)*time.Second)))
	}
	es = append(es, sameStart("order", base.Add(5*time.Second), 10)...)
	es = append(es, sameStart("order", base.Add(time.Microsecond), 5)...)
	createShuffled(t, s, es)

	p, err := s.ListExecutions(t.Context(), store.ExecutionFilter{Limit: store.MaxListLimit})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	if p.NextCursor != "" {
		t.Errorf("ListExecutions: NextCursor %q on the only page", p.NextCursor)
	}
	for i := 1; i < len(p.Executions); i++ {
		if a, b := p.Executions[i-1], p.Executions[i]; !store.Newer(a, b) {
			t.Errorf("executions %d (%s, %s) and %d (%s, %s) are out of order", i-1, show(a.StartedAt), a.ID, i, show(b.StartedAt), b.ID)
		}
	}
	checkIDs(t, "ListExecutions", p.Executions, newestFirst(es))
}

func testListFilters(t *testing.T, s store.Store) {
	g1, g2 := uuid.New(), uuid.New()
	states := []store.State{store.StateRunning, store.StateSucceeded, store.StateFailed, store.StateSkipped, store.StatePending}
	var es []*store.Execution
	for i := range 60 {
		e := newExecution([]string{"a", "b", "c"}[i%3], base.Add(time.Duration(i/2)*time.Minute))
		e.State = states[i%len(states)]
		switch i % 7 {
		case 0:
			e.Trigger = store.TriggerDependency
		case 1:
			e.Trigger = store.TriggerOneShot
		}
		switch i % 4 {
		case 0:
			e.GraphRunID = g1
		case 1:
			e.GraphRunID = g2
		}
		es = append(es, e)
	}
	createShuffled(t, s, es)

	at := func(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }
	tests := []struct {
		name string
		f    store.ExecutionFilter
		want func(e *store.Execution) bool
	}{
		{"None", store.ExecutionFilter{}, func(*store.Execution) bool { return true }},
		{"Task", store.ExecutionFilter{Task: "a"}, func(e *store.Execution) bool { return e.Task == "a" }},
		{"UnknownTask", store.ExecutionFilter{Task: "z"}, func(*store.Execution) bool { return false }},
		{"OneState", store.ExecutionFilter{States: []store.State{store.StateFailed}}, func(e *store.Execution) bool { return e.State == store.StateFailed }},
		{"States", store.ExecutionFilter{States: []store.State{store.StateSucceeded, store.StatePending}}, func(e *store.Execution) bool {
			return e.State == store.StateSucceeded || e.State == store.StatePending
		}},
		{"StateNotPresent", store.ExecutionFilter{States: []store.State{store.StateAbandoned}}, func(*store.Execution) bool { return false }},
		{"Trigger", store.ExecutionFilter{Triggers: []store.Trigger{store.TriggerDependency}}, func(e *store.Execution) bool { return e.Trigger == store.TriggerDependency }},
		{"Triggers", store.ExecutionFilter{Triggers: []store.Trigger{store.TriggerOneShot, store.TriggerManual}}, func(e *store.Execution) bool {
			return e.Trigger == store.TriggerOneShot || e.Trigger == store.TriggerManual
		}},
		{"TriggerAndState", store.ExecutionFilter{Triggers: []store.Trigger{store.TriggerDependency}, States: []store.State{store.StateRunning}}, func(e *store.Execution) bool {
			return e.Trigger == store.TriggerDependency && e.State == store.StateRunning
		}},
		{"GraphRun", store.ExecutionFilter{GraphRunID: g1}, func(e *store.Execution) bool { return e.GraphRunID == g1 }},
		{"UnknownGraphRun", store.ExecutionFilter{GraphRunID: uuid.New()}, func(*store.Execution) bool { return false }},
		// From and To fall on StartedAt values of stored records.
		{"FromInclusive", store.ExecutionFilter{From: at(10)}, func(e *store.Execution) bool { return !e.StartedAt.Before(at(10)) }},
		{"ToExclusive", store.ExecutionFilter{To: at(10)}, func(e *store.Execution) bool { return e.StartedAt.Before(at(10)) }},
		{"FromTo", store.ExecutionFilter{From: at(5), To: at(12).UTC()}, func(e *store.Execution) bool {
			return !e.StartedAt.Before(at(5)) && e.StartedAt.Before(at(12))
		}},
		{"FromEqualsTo", store.ExecutionFilter{From: at(5), To: at(5)}, func(*store.Execution) bool { return false }},
		{"FromBetween", store.ExecutionFilter{From: at(5).Add(time.Microsecond)}, func(e *store.Execution) bool { return e.StartedAt.After(at(5)) }},
		{"All", store.ExecutionFilter{Task: "b", States: []store.State{store.StateRunning, store.StateSkipped, store.StateSucceeded}, GraphRunID: g2, From: at(3), To: at(25)},
			func(e *store.Execution) bool {
				return e.Task == "b" && e.GraphRunID == g2 && !e.StartedAt.Before(at(3)) && e.StartedAt.Before(at(25)) &&
					(e.State == store.StateRunning || e.State == store.StateSkipped || e.State == store.StateSucceeded)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []*store.Execution
			for _, e := range es {
				if tt.want(e) {
					want = append(want, e)
				}
			}
			want = newestFirst(want)
			for _, limit := range []int{3, store.MaxListLimit} {
				f := tt.f
				f.Limit = limit
				checkIDs(t, fmt.Sprintf("ListExecutions(limit %d)", limit), listAll(t, s, f), want)
			}
		})
	}
}

func testListDefaultLimit(t *testing.T, s store.Store) {
	es := make([]*store.Execution, store.ListLimitDefault+1)
	for i := range es {
		es[i] = newExecution("default", base.Add(time.Duration(i)*time.Second))
	}
	createParallel(t, s, es)
	want := newestFirst(es)

	for _, limit := range []int{0, -1} {
		p, err := s.ListExecutions(t.Context(), store.ExecutionFilter{Limit: limit})
		if err != nil {
			t.Fatalf("ListExecutions(limit %d): %v", limit, err)
		}
		checkIDs(t, fmt.Sprintf("ListExecutions(limit %d)", limit), p.Executions, want[:store.ListLimitDefault])
		if p.NextCursor == "" {
			t.Fatalf("ListExecutions(limit %d): no NextCursor, want one", limit)
		}
		p, err = s.ListExecutions(t.Context(), store.ExecutionFilter{Limit: limit, Cursor: p.NextCursor})
		if err != nil {
			t.Fatalf("ListExecutions(limit %d, second page): %v", limit, err)
		}
		checkIDs(t, fmt.Sprintf("ListExecutions(limit %d, second page)", limit), p.Executions, want[store.ListLimitDefault:])
		if p.NextCursor != "" {
			t.Errorf("ListExecutions(limit %d, second page): NextCursor %q, want none", limit, p.NextCursor)
		}
	}
}

func testListMaxLimit(t *testing.T, s store.Store) {
	if testing.Short() {
		t.Skipf("inserts %d executions; skipped with -short", store.MaxListLimit+1)
	}
	es := make([]*store.Execution, store.MaxListLimit+1)
	for i := range es {
		es[i] = newExecution("max", base.Add(time.Duration(i/3)*time.Millisecond))
	}
	createParallel(t, s, es)
	want := newestFirst(es)

	for _, limit := range []int{store.MaxListLimit, store.MaxListLimit + 1, 1 << 30} {
		p, err := s.ListExecutions(t.Context(), store.ExecutionFilter{Limit: limit})
		if err != nil {
			t.Fatalf("ListExecutions(limit %d): %v", limit, err)
		}
		checkIDs(t, fmt.Sprintf("ListExecutions(limit %d)", limit), p.Executions, want[:store.MaxListLimit])
		if p.NextCursor == "" {
			t.Errorf("ListExecutions(limit %d): no NextCursor, want one", limit)
		}
	}
}

func testListPaging(t *testing.T, s store.Store) {
	var es []*store.Execution
	es = append(es, sameStart("page", base, 57)...) // many ties on StartedAt
	for i := range 20 {
		es = append(es, newExecution("page", base.Add(time.Duration(i-10)*time.Microsecond)))
	}
	es = append(es, sameStart("page", base.Add(-time.Hour), 9)...)
	es = append(es, sameStart("other", base, 13)...)
	createShuffled(t, s, es)
	want := newestFirst(es)
	var wantPage []*store.Execution
	for _, e := range want {
		if e.Task == "page" {
			wantPage = append(wantPage, e)
		}
	}

	for _, limit := range []int{1, 2, 7, 50, 56, 57, 98, 99, 100} {
		t.Run(fmt.Sprintf("Limit%d", limit), func(t *testing.T) {
			got := listAll(t, s, store.ExecutionFilter{Limit: limit})
			checkIDs(t, "ListExecutions", got, want)
			seen := map[uuid.UUID]bool{}
			for _, e := range got {
				if seen[e.ID] {
					t.Errorf("execution %s listed twice", e.ID)
				}
				seen[e.ID] = true
			}
			checkIDs(t, "ListExecutions(task)", listAll(t, s, store.ExecutionFilter{Task: "page", Limit: limit}), wantPage)
		})
	}
}

func testListLastPage(t *testing.T, s store.Store) {
	p, err := s.ListExecutions(t.Context(), store.ExecutionFilter{})
	if err != nil {
		t.Fatalf("ListExecutions(empty store): %v", err)
	}
	if len(p.Executions) != 0 || p.NextCursor != "" {
		t.Errorf("ListExecutions(empty store) = %d executions, NextCursor %q; want none", len(p.Executions), p.NextCursor)
	}

	es := make([]*store.Execution, 10)
	for i := range es {
		es[i] = newExecution("last", base.Add(time.Duration(i)*time.Second))
	}
	create(t, s, es...)
	want := newestFirst(es)

	// Exactly full pages: the last one has no NextCursor.
	for _, limit := range []int{5, 10} {
		var pages int
		f := store.ExecutionFilter{Limit: limit}
		var got []*store.Execution
		for {
			p, err := s.ListExecutions(t.Context(), f)
			if err != nil {
				t.Fatalf("ListExecutions(limit %d): %v", limit, err)
			}
			pages++
			got = append(got, p.Executions...)
			if p.NextCursor == "" {
				break
			}
			if pages > len(es) {
				t.Fatalf("ListExecutions(limit %d): paging does not end", limit)
			}
			f.Cursor = p.NextCursor
		}
		if want := len(es) / limit; pages != want {
			t.Errorf("ListExecutions(limit %d): %d pages, want %d (no NextCursor on a full last page)", limit, pages, want)
		}
		checkIDs(t, fmt.Sprintf("ListExecutions(limit %d)", limit), got, want)
	}

	// A cursor after the oldest record gives an empty page.
	p, err = s.ListExecutions(t.Context(), store.ExecutionFilter{Cursor: backend.EncodeCursor(want[len(want)-1])})
	if err != nil {
		t.Fatalf("ListExecutions(after the oldest): %v", err)
	}
	if len(p.Executions) != 0 || p.NextCursor != "" {
		t.Errorf("ListExecutions(after the oldest) = %d executions, NextCursor %q; want none", len(p.Executions), p.NextCursor)
	}
}

func testListCursorIsPosition(t *testing.T, s store.Store) {
	var es []*store.Execution
	es = append(es, sameStart("pos", base, 20)...)
	for i := range 10 {
		es = append(es, newExecution("pos", base.Add(time.Duration(i-5)*time.Second)))
	}
	createShuffled(t, s, es)
	want := newestFirst(es)

	// Positions that name no stored record: between two IDs of one start
	// time, and between two start times.
	positions := []store.Execution{
		{StartedAt: base, ID: uuid.Max},
		{StartedAt: base, ID: uuid.Nil},
		{StartedAt: base, ID: uuid.MustParse("80000000-0000-0000-0000-000000000000")},
		{StartedAt: base.Add(-1500 * time.Millisecond), ID: uuid.New()},
		{StartedAt: base.Add(time.Hour), ID: uuid.New()},
	}
	for i, pos := range positions {
		var after []*store.Execution
		c, err := backend.DecodeCursor(backend.EncodeCursor(&pos))
		if err != nil {
			t.Fatalf("DecodeCursor(EncodeCursor): %v", err)
		}
		for _, e := range want {
			if c.After(e) {
				after = append(after, e)
			}
		}
		got := listAll(t, s, store.ExecutionFilter{Limit: 4, Cursor: backend.EncodeCursor(&pos)})
		checkIDs(t, fmt.Sprintf("ListExecutions(position %d)", i), got, after)
	}

	// A cursor whose record was deleted still works.
	p, err := s.ListExecutions(t.Context(), store.ExecutionFilter{Limit: 12})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	last := p.Executions[len(p.Executions)-1]
	last.State = store.StateSucceeded
	last.EndedAt = last.StartedAt.Add(time.Second)
	update(t, s, last)
	if _, err := s.DeleteExecutions(t.Context(), store.DeleteParams{Before: last.StartedAt.Add(time.Microsecond), Task: "pos"}); err != nil {
		t.Fatalf("DeleteExecutions: %v", err)
	}
	wantGone(t, s, last.ID)
	got := listAll(t, s, store.ExecutionFilter{Limit: 5, Cursor: p.NextCursor})
	checkIDs(t, "ListExecutions(cursor of a deleted record)", got, want[12:])
}

func testListMalformedCursor(t *testing.T, s store.Store) {
	create(t, s, newExecution("cursor", base))
	enc := base64.RawURLEncoding.EncodeToString
	for _, c := range []string{
		"%%%",
		"not a cursor",
		enc([]byte("no separator")),
		enc([]byte("abc/" + uuid.NewString())),
		enc([]byte("123/not-a-uuid")),
		enc([]byte("/")),
		base64.StdEncoding.EncodeToString([]byte("1741911413589793000/" + uuid.NewString() + "?")),
	} {
		_, err := s.ListExecutions(t.Context(), store.ExecutionFilter{Cursor: c})
		wantErr(t, fmt.Sprintf("ListExecutions(cursor %q)", c), err, store.ErrInvalid)
	}
}

func testListPagingWhileInserting(t *testing.T, s store.Store) {
	const (
		old      = 300
		maxNewer = 2000
	)
	var es []*store.Execution
	for i := range old {
		// Ties on StartedAt in threes.
		es = append(es, newExecution("busy", base.Add(-time.Duration(i/3)*time.Millisecond)))
	}
	createParallel(t, s, es)
	want := newestFirst(es)

	// Take the first page before anything newer exists, then page on while
	// newer records arrive, one of them from this goroutine between pages.
	ctx := t.Context()
	f := store.ExecutionFilter{Task: "busy", Limit: 7}
	first, err := s.ListExecutions(ctx, f)
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	got := first.Executions
	f.Cursor = first.NextCursor

	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait() // after close(stop), also when a check below fails
	defer close(stop)
	spawn(&wg, func() {
		for i := range maxNewer {
			select {
			case <-stop:
				return
			default:
			}
			e := newExecution("busy", base.Add(time.Duration(i+1)*time.Microsecond))
			if err := s.CreateExecution(ctx, e); err != nil {
				t.Errorf("CreateExecution(newer): %v", err)
				return
			}
		}
	})
	for pages := 0; f.Cursor != ""; pages++ {
		create(t, s, newExecution("busy", base.Add(time.Hour+time.Duration(pages)*time.Second)))
		if pages > old {
			t.Fatalf("paging does not end")
		}
		p, err := s.ListExecutions(ctx, f)
		if err != nil {
			t.Fatalf("ListExecutions: %v", err)
		}
		got = append(got, p.Executions...)
		f.Cursor = p.NextCursor
	}
	checkIDs(t, "ListExecutions while inserting", got, want)
}
