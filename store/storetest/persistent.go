package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taskmill/taskmill/store"
)

// RunPersistent runs the tests only a persistent backend can pass; a
// backend runs it besides Run. open prepares a fresh, empty location (a
// database file, a schema or table prefix) and returns a function that opens
// a store on it. Each call of that function must return an independent
// handle on the same data, as another process would have; the suite closes
// every handle it opens.
func RunPersistent(t *testing.T, open func(t *testing.T) func() store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() store.Store)
	}{
		{"Reopen", testReopen},
		{"ClaimRaceAcrossHandles", testClaimRaceAcrossHandles},
		{"ListAcrossHandles", testListAcrossHandles},
		{"FenceAcrossHandles", testFenceAcrossHandles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opener := open(t)
			tt.fn(t, func() store.Store {
				s := opener()
				t.Cleanup(func() {
					if err := s.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				})
				return s
			})
		})
	}
}

// testReopen: what one handle wrote, a handle opened after it was closed
// reads back: records, task state and slot claims.
func testReopen(t *testing.T, open func() store.Store) {
	ctx := context.Background()
	first := open()
	full := fullExecution()
	slot := scheduled("reopen", base.Add(time.Hour), store.TriggerSchedule)
	done := newExecution("reopen", base.Add(2*time.Hour))
	create(t, first, full, slot, done)
	done.State, done.EndedAt, done.ExitCode, done.ExitMessage = store.StateFailed, base.Add(3*time.Hour), 3, "three"
	update(t, first, done)
	state := &store.TaskState{Task: "reopen", Suspended: true, SuspendedReason: "by hand", SuspendedAt: base,
		ConsecutiveFailures: 4, LastScheduledAt: base.Add(time.Hour), UpdatedAt: base.Add(time.Minute)}
	if err := first.PutTaskState(ctx, state); err != nil {
		t.Fatalf("PutTaskState: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	second := open()
	for _, want := range []*store.Execution{full, slot, done} {
		checkExecution(t, "after reopen", get(t, second, want.ID), want)
	}
	got, err := second.GetTaskState(ctx, "reopen")
	if err != nil {
		t.Fatalf("GetTaskState after reopen: %v", err)
	}
	if d := diff(got, state); len(d) > 0 {
		t.Errorf("task state after reopen: %s", strings.Join(d, "; "))
	}
	again := scheduled("reopen", base.Add(time.Hour), store.TriggerCatchUp)
	wantErr(t, "claiming a slot claimed before the reopen", second.CreateExecution(ctx, again), store.ErrConflict)
	checkIDs(t, "list after reopen", listAll(t, second, store.ExecutionFilter{Task: "reopen"}), newestFirst([]*store.Execution{slot, done}))
}

// testClaimRaceAcrossHandles: engines in several processes race for one
// slot; exactly one wins.
func testClaimRaceAcrossHandles(t *testing.T, open func() store.Store) {
	ctx := context.Background()
	handles := []store.Store{open(), open(), open()}
	const racers = 24
	for round := 0; round < 5; round++ {
		slot := base.Add(time.Duration(round) * time.Minute)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, conflicts := 0, 0
		var other []error
		start := make(chan struct{})
		for i := 0; i < racers; i++ {
			s := handles[i%len(handles)]
			spawn(&wg, func() {
				<-start
				err := s.CreateExecution(ctx, scheduled("race", slot, store.TriggerSchedule))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, store.ErrConflict):
					conflicts++
				default:
					other = append(other, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins != 1 || conflicts != racers-1 || len(other) > 0 {
			t.Fatalf("round %d: %d claims won, %d conflicts, other errors %v; want 1 and %d", round, wins, conflicts, other, racers-1)
		}
	}
}

// testListAcrossHandles: one handle pages through what others write at the
// same time, seeing every older record once.
func testListAcrossHandles(t *testing.T, open func() store.Store) {
	ctx := context.Background()
	writer, reader := open(), open()
	var old []*store.Execution
	for i := 0; i < 120; i++ {
		old = append(old, newExecution("x", base.Add(time.Duration(i)*time.Second)))
	}
	create(t, writer, old...)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	spawn(&wg, func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e := newExecution("x", base.Add(time.Hour+time.Duration(i)*time.Millisecond))
			if err := writer.CreateExecution(ctx, e); err != nil {
				t.Errorf("concurrent create: %v", err)
				return
			}
		}
	})
	var seen []*store.Execution
	f := store.ExecutionFilter{Task: "x", To: base.Add(time.Hour), Limit: 7}
	for {
		page, err := reader.ListExecutions(ctx, f)
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("ListExecutions: %v", err)
		}
		seen = append(seen, page.Executions...)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	close(stop)
	wg.Wait()
	checkIDs(t, fmt.Sprintf("paging across handles (%d seen)", len(seen)), seen, newestFirst(old))
}

// testLargeAndUnicode: big arguments and messages and text from many
// scripts round-trip exactly.
func testLargeAndUnicode(t *testing.T, s store.Store) {
	e := newExecution("ünïcødé-任务-مهمة-🚀", base)
	e.Args = make([]string, 1000)
	for i := range e.Args {
		e.Args[i] = fmt.Sprintf("--arg-%d=%s", i, strings.Repeat("é", 500))
	}
	e.ExitMessage = strings.Repeat("message 📨 ", 100_000)
	e.Error = strings.Repeat("trace 🧵\n", 100_000)
	e.ExternalID = "k8s/job/ジョブ-1"
	e.Node = "ノード-7"
	create(t, s, e)
	checkExecution(t, "large record", get(t, s, e.ID), e)
	checkIDs(t, "listing a unicode task", listAll(t, s, store.ExecutionFilter{Task: e.Task}), []*store.Execution{e})
}

// testFenceAcrossHandles: handles share the fence sequence: each
// execution, whichever handle creates it, gets a Fence greater than every
// one created before, also after the newest records (all of them) were
// deleted, where the greatest stored fence + 1 would not be.
func testFenceAcrossHandles(t *testing.T, open func() store.Store) {
	ctx := context.Background()
	handles := []store.Store{open(), open()}
	var last int64
	for i := range 10 {
		at := base.Add(time.Duration(i) * time.Second)
		e := newExecution("fence", at)
		e.State, e.EndedAt = store.StateSucceeded, at
		if err := handles[i%2].CreateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		got, err := handles[(i+1)%2].GetExecution(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Fence <= last {
			t.Fatalf("execution %d: Fence %d, want > %d", i, got.Fence, last)
		}
		last = got.Fence
		if i%3 == 2 {
			if _, err := handles[i%2].DeleteExecutions(ctx, store.DeleteParams{Before: base.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
