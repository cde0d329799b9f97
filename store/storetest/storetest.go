package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

// Run runs the conformance suite against the stores newStore returns. Each
// subtest calls newStore once and owns the store it gets; newStore registers
// whatever cleanup the store needs with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateGetRoundTrip", testRoundTrip},
		{"NotFound", testNotFound},
		{"DuplicateID", testDuplicateID},
		{"Claim", testClaim},
		{"CreateMany", testCreateMany},
		{"CreateManyLarge", testCreateManyLarge},
		{"CreateManyRace", testCreateManyRace},
		{"CreateManyCanceled", testCreateManyCanceled},
		{"ClaimRace", testClaimRace},
		{"Invalid", testInvalid},
		{"Update", testUpdate},
		{"UpdateInvalid", testUpdateInvalid},
		{"Abandon", testAbandon},
		{"AbandonRace", testAbandonRace},
		{"AbandonWithRecovery", testAbandonWithRecovery},
		{"AbandonWithRecoveryRace", testAbandonWithRecoveryRace},
		{"Exclusive", testExclusive},
		{"ExclusiveUpdate", testExclusiveUpdate},
		{"ExclusiveCreateMany", testExclusiveCreateMany},
		{"ExclusiveRace", testExclusiveRace},
		{"Fence", testFence},
		{"RequestCancel", testRequestCancel},
		{"NoAliasing", testNoAliasing},
		{"ListOrder", testListOrder},
		{"ListFilters", testListFilters},
		{"ListDefaultLimit", testListDefaultLimit},
		{"ListMaxLimit", testListMaxLimit},
		{"ListPaging", testListPaging},
		{"ListLastPage", testListLastPage},
		{"ListCursorIsPosition", testListCursorIsPosition},
		{"ListMalformedCursor", testListMalformedCursor},
		{"ListPagingWhileInserting", testListPagingWhileInserting},
		{"Delete", testDelete},
		{"DeleteLimit", testDeleteLimit},
		{"DeleteFreesClaim", testDeleteFreesClaim},
		{"DeleteInvalid", testDeleteInvalid},
		{"TaskState", testTaskState},
		{"ListTaskStates", testListTaskStates},
		{"ChangeTaskState", testChangeTaskState},
		{"ChangeTaskStateRace", testChangeTaskStateRace},
		{"DeleteKeepsLastSlot", testDeleteKeepsLastSlot},
		{"LastSlots", testLastSlots},
		{"Closed", testClosed},
		{"ContextCanceled", testContextCanceled},
		{"Concurrent", testConcurrent},
		{"LargeAndUnicode", testLargeAndUnicode},
		{"CreateTextAndTimes", testCreateTextAndTimes},
		{"UpdateTextAndTimes", testUpdateTextAndTimes},
		{"TaskStateTextAndTimes", testTaskStateTextAndTimes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// base is the time the fixtures are built around: realistic, in a zone that
// is not UTC, and on a whole microsecond.
var base = time.Date(2025, time.March, 14, 9, 26, 53, 589_793_000, time.FixedZone("JST", 9*60*60))

// newExecution returns a running manual execution of task.
func newExecution(task string, startedAt time.Time) *store.Execution {
	return &store.Execution{
		ID:        uuid.New(),
		Task:      task,
		Trigger:   store.TriggerManual,
		StartedAt: startedAt,
		State:     store.StateRunning,
		Node:      "node-1",
	}
}

// scheduled returns a running execution of task for the slot, fired by
// trigger (which claims the slot when it is schedule or catch-up).
func scheduled(task string, slot time.Time, trigger store.Trigger) *store.Execution {
	e := newExecution(task, slot.Add(1500*time.Microsecond))
	e.Trigger = trigger
	e.ScheduledAt = slot
	return e
}

// fullExecution returns an execution with every field set.
func fullExecution() *store.Execution {
	started := base
	return &store.Execution{
		ID:          uuid.New(),
		Task:        "report.daily",
		Trigger:     store.TriggerCatchUp,
		ScheduledAt: started.Add(-42 * time.Minute).Truncate(time.Minute),
		StartedAt:   started,
		EndedAt:     started.Add(2*time.Second + 345_678*time.Microsecond),
		State:       store.StateFailed,
		ExitCode:    3,
		ExitMessage: "partial: 2 of 3 regions — ok",
		Error:       "report: region ap-northeast-1: connection reset\n\n" + strings.Repeat("goroutine 1 [running]:\nmain.main()\n\t/src/main.go:42 +0x1d\n", 100),
		Args:        []string{"--region=eu", "", "日本語 ✓ ünïcödé 🚀", "with space", `quote"'\`, "x"},
		ExternalID:  "ext-42",
		ParentID:    uuid.New(),
		GraphRunID:  uuid.New(),
		RootTask:    "report",
		Node:        "node-a.example:8080",
		SkipReason:  store.ReasonMissed + ": 3 slots",
		Report:      `{"phase":"load","phases":[{"name":"load","counters":[{"name":"processed","total":1200,"rate1m":19.5}]}],"errors":[{"item":"row-7","message":"bad date ✗"}],"errorCount":4}`,
		Exclusive:   true,
	}
}

// wantErr checks that err wraps want.
func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error = %v, want %v", op, err, want)
	}
}

func create(t *testing.T, s store.Store, es ...*store.Execution) {
	t.Helper()
	for _, e := range es {
		if err := s.CreateExecution(t.Context(), e); err != nil {
			t.Fatalf("CreateExecution(%s, task %q): %v", e.ID, e.Task, err)
		}
	}
}

func update(t *testing.T, s store.Store, e *store.Execution) {
	t.Helper()
	if err := s.UpdateExecution(t.Context(), e); err != nil {
		t.Fatalf("UpdateExecution(%s): %v", e.ID, err)
	}
}

func get(t *testing.T, s store.Store, id uuid.UUID) *store.Execution {
	t.Helper()
	e, err := s.GetExecution(t.Context(), id)
	if err != nil {
		t.Fatalf("GetExecution(%s): %v", id, err)
	}
	if e.ID != id {
		t.Fatalf("GetExecution(%s) returned ID %s", id, e.ID)
	}
	return e
}

// wantGone checks that no execution with the ID is stored.
func wantGone(t *testing.T, s store.Store, id uuid.UUID) {
	t.Helper()
	_, err := s.GetExecution(t.Context(), id)
	wantErr(t, fmt.Sprintf("GetExecution(%s)", id), err, store.ErrNotFound)
}

// checkExecution reports every field where got differs from want.
func checkExecution(t *testing.T, op string, got, want *store.Execution) {
	t.Helper()
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("%s: execution %s:\n\t%s", op, want.ID, strings.Join(d, "\n\t"))
	}
}

// diff compares two pointers to structs of one type field by field: times
// by instant, string slices with nil equal to empty, the rest with
// reflect.DeepEqual. It goes by reflection so that a field added to the
// records is compared without touching the suite.
func diff(got, want any) []string {
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	typ := gv.Type()
	var out []string
	for i := range typ.NumField() {
		if typ.Field(i).Name == "Fence" {
			continue // assigned by the store; see testFence
		}
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !fieldEqual(g, w) {
			out = append(out, fmt.Sprintf("%s = %s, want %s", typ.Field(i).Name, show(g), show(w)))
		}
	}
	return out
}

func fieldEqual(a, b any) bool {
	switch a := a.(type) {
	case time.Time:
		return a.Equal(b.(time.Time))
	case []string:
		return slices.Equal(a, b.([]string))
	}
	return reflect.DeepEqual(a, b)
}

func show(v any) string {
	switch v := v.(type) {
	case time.Time:
		if v.IsZero() {
			return "zero time"
		}
		return v.Format(time.RFC3339Nano)
	case string:
		if len(v) > 80 {
			return fmt.Sprintf("%q... (%d bytes)", v[:80], len(v))
		}
		return fmt.Sprintf("%q", v)
	case []string:
		if v == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%v", v)
}

// listAll pages through every execution matching f (starting at f.Cursor)
// and checks the page contract on the way: no page above the limit, a page
// with a NextCursor is full.
func listAll(t *testing.T, s store.Store, f store.ExecutionFilter) []*store.Execution {
	t.Helper()
	limit := backend.PageLimit(f.Limit)
	var all []*store.Execution
	for range 1_000_000 {
		p, err := s.ListExecutions(t.Context(), f)
		if err != nil {
			t.Fatalf("ListExecutions(%+v): %v", f, err)
		}
		if len(p.Executions) > limit {
			t.Fatalf("ListExecutions: page of %d executions, limit %d", len(p.Executions), limit)
		}
		all = append(all, p.Executions...)
		if p.NextCursor == "" {
			return all
		}
		if len(p.Executions) != limit {
			t.Fatalf("ListExecutions: page of %d executions with a NextCursor, want a full page of %d", len(p.Executions), limit)
		}
		f.Cursor = p.NextCursor
	}
	t.Fatalf("ListExecutions: paging does not end")
	return nil
}

// newestFirst returns a copy of es in listing order.
func newestFirst(es []*store.Execution) []*store.Execution {
	out := slices.Clone(es)
	slices.SortFunc(out, func(a, b *store.Execution) int {
		switch {
		case store.Newer(a, b):
			return -1
		case store.Newer(b, a):
			return 1
		}
		return 0
	})
	return out
}

// checkIDs checks that got lists the executions of want, in want's order.
func checkIDs(t *testing.T, op string, got, want []*store.Execution) {
	t.Helper()
	n := min(len(got), len(want))
	for i := range n {
		if got[i].ID != want[i].ID {
			t.Errorf("%s: execution %d is %s (task %q, started %s), want %s (task %q, started %s)",
				op, i, got[i].ID, got[i].Task, show(got[i].StartedAt), want[i].ID, want[i].Task, show(want[i].StartedAt))
			return
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d executions, want %d", op, len(got), len(want))
	}
}

// spawn runs f in a goroutine counted by wg (sync.WaitGroup.Go needs Go
// 1.25; the module supports 1.24).
func spawn(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}
