package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// calls returns a call of every method but Close, to run with a context,
// the optional ones the store has included: e is a stored execution, task
// a task without a state.
func calls(s store.Store, e *store.Execution, task string) []methodCall {
	fresh := newExecution("calls", base.Add(time.Hour))
	cs := []methodCall{
		{"CreateExecution", func(ctx context.Context) error { return s.CreateExecution(ctx, fresh) }},
		{"UpdateExecution", func(ctx context.Context) error {
			u := e.Clone()
			u.State = store.StateSucceeded
			u.EndedAt = u.StartedAt.Add(time.Second)
			return s.UpdateExecution(ctx, u)
		}},
		{"GetExecution", func(ctx context.Context) error { _, err := s.GetExecution(ctx, e.ID); return err }},
		{"ListExecutions", func(ctx context.Context) error { _, err := s.ListExecutions(ctx, store.ExecutionFilter{}); return err }},
		{"DeleteExecutions", func(ctx context.Context) error {
			_, err := s.DeleteExecutions(ctx, store.DeleteParams{Before: base.Add(24 * time.Hour)})
			return err
		}},
		{"PutTaskState", func(ctx context.Context) error {
			return s.PutTaskState(ctx, &store.TaskState{Task: task, Suspended: true, UpdatedAt: base})
		}},
		{"GetTaskState", func(ctx context.Context) error { _, err := s.GetTaskState(ctx, task); return err }},
	}
	if l, ok := s.(store.StateLister); ok {
		cs = append(cs, methodCall{"ListTaskStates", func(ctx context.Context) error { _, err := l.ListTaskStates(ctx); return err }})
	}
	if l, ok := s.(store.SlotLister); ok {
		cs = append(cs, methodCall{"LastSlots", func(ctx context.Context) error { _, err := l.LastSlots(ctx); return err }})
	}
	return cs
}

// methodCall is a call of one store method, named after it.
type methodCall struct {
	name string
	call func(ctx context.Context) error
}

func testClosed(t *testing.T, s store.Store) {
	e := newExecution("closed", base)
	create(t, s, e)
	putTaskState(t, s, &store.TaskState{Task: "closed", UpdatedAt: base})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, c := range calls(s, e, "closed") {
		wantErr(t, c.name+" after Close", c.call(t.Context()), store.ErrClosed)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
}

func testContextCanceled(t *testing.T, s store.Store) {
	done := newExecution("ctx", base.Add(-time.Hour))
	done.State = store.StateFailed
	done.EndedAt = done.StartedAt.Add(time.Second)
	create(t, s, done)
	running := newExecution("ctx", base)
	create(t, s, running)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	cs := calls(s, running, "ctx")
	for _, c := range cs {
		wantErr(t, c.name+" with a cancelled context", c.call(ctx), context.Canceled)
	}

	// None of them had an effect.
	checkStored(t, s, []*store.Execution{done, running}, nil)
	checkExecution(t, "GetExecution", get(t, s, running.ID), running)
	_, err := s.GetTaskState(t.Context(), "ctx")
	wantErr(t, "GetTaskState", err, store.ErrNotFound)
	// With a live context the same calls work.
	for _, c := range cs {
		if err := c.call(t.Context()); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// testConcurrent runs every method from many goroutines at once, then
// checks that the counts add up. Its value is in running under -race.
func testConcurrent(t *testing.T, s store.Store) {
	const (
		workers   = 8
		perWorker = 60
		doomed    = 120
	)
	ctx := t.Context()

	// Final records that a deleting goroutine removes meanwhile.
	var old []*store.Execution
	for i := range doomed {
		e := newExecution("doomed", base.Add(-time.Hour-time.Duration(i)*time.Second))
		e.State = store.StateSucceeded
		e.EndedAt = e.StartedAt.Add(time.Millisecond)
		old = append(old, e)
	}
	createParallel(t, s, old)

	var (
		wg      sync.WaitGroup
		claimed atomic.Int64
		deleted atomic.Int64
		stop    = make(chan struct{})
	)
	for w := range workers {
		spawn(&wg, func() {
			task := fmt.Sprintf("worker-%d", w)
			for i := range perWorker {
				// Every worker uses the same start times: ties across tasks.
				e := newExecution(task, base.Add(time.Duration(i)*time.Millisecond))
				if err := s.CreateExecution(ctx, e); err != nil {
					t.Errorf("%s: CreateExecution: %v", task, err)
					return
				}
				e.State = store.StateSucceeded
				e.EndedAt = e.StartedAt.Add(time.Millisecond)
				e.Args = []string{task, fmt.Sprint(i)}
				if err := s.UpdateExecution(ctx, e); err != nil {
					t.Errorf("%s: UpdateExecution: %v", task, err)
					return
				}
				if g, err := s.GetExecution(ctx, e.ID); err != nil || g.State != store.StateSucceeded {
					t.Errorf("%s: GetExecution = %v, %v; want a succeeded execution", task, g, err)
					return
				}
				// Every worker tries to claim every slot of the shared task.
				trigger := store.TriggerSchedule
				if (w+i)%2 == 1 {
					trigger = store.TriggerCatchUp
				}
				c := scheduled("shared", base.Add(time.Duration(i)*time.Minute), trigger)
				switch err := s.CreateExecution(ctx, c); {
				case err == nil:
					claimed.Add(1)
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("%s: CreateExecution(shared): %v", task, err)
					return
				}
				switch i % 10 {
				case 0:
					if _, err := s.ListExecutions(ctx, store.ExecutionFilter{Task: task, Limit: 5}); err != nil {
						t.Errorf("%s: ListExecutions: %v", task, err)
						return
					}
				case 5:
					ts := &store.TaskState{Task: task, ConsecutiveFailures: i, UpdatedAt: e.EndedAt}
					if err := s.PutTaskState(ctx, ts); err != nil {
						t.Errorf("%s: PutTaskState: %v", task, err)
						return
					}
					if _, err := s.GetTaskState(ctx, task); err != nil {
						t.Errorf("%s: GetTaskState: %v", task, err)
						return
					}
					if l, ok := s.(store.StateLister); ok {
						if _, err := l.ListTaskStates(ctx); err != nil {
							t.Errorf("%s: ListTaskStates: %v", task, err)
							return
						}
					}
				}
			}
		})
	}
	// Listers page through everything while it changes: the order holds
	// and no record shows up twice.
	var listers sync.WaitGroup
	for range 2 {
		spawn(&listers, func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				seen := map[uuid.UUID]bool{}
				var prev *store.Execution
				f := store.ExecutionFilter{Limit: 17}
				for {
					p, err := s.ListExecutions(ctx, f)
					if err != nil {
						t.Errorf("ListExecutions: %v", err)
						return
					}
					for _, e := range p.Executions {
						if seen[e.ID] {
							t.Errorf("ListExecutions: execution %s listed twice", e.ID)
							return
						}
						seen[e.ID] = true
						if prev != nil && !store.Newer(prev, e) {
							t.Errorf("ListExecutions: %s listed after %s, out of order", e.ID, prev.ID)
							return
						}
						prev = e
					}
					if p.NextCursor == "" {
						break
					}
					f.Cursor = p.NextCursor
				}
			}
		})
	}
	spawn(&listers, func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := s.DeleteExecutions(ctx, store.DeleteParams{Before: base, Task: "doomed", Limit: 3})
			if err != nil {
				t.Errorf("DeleteExecutions: %v", err)
				return
			}
			deleted.Add(int64(n))
			if n == 0 {
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	listers.Wait()
	if t.Failed() {
		t.FailNow()
	}

	deleted.Add(int64(deleteExecutions(t, s, store.DeleteParams{Before: base, Task: "doomed"})))
	if n := deleted.Load(); n != doomed {
		t.Errorf("deleted %d doomed executions, want %d", n, doomed)
	}
	if n := claimed.Load(); n != perWorker {
		t.Errorf("%d shared slots claimed, want %d", n, perWorker)
	}
	for w := range workers {
		task := fmt.Sprintf("worker-%d", w)
		es := listAll(t, s, store.ExecutionFilter{Task: task, Limit: 25})
		if len(es) != perWorker {
			t.Errorf("%s: %d executions, want %d", task, len(es), perWorker)
		}
		for _, e := range es {
			if e.State != store.StateSucceeded || len(e.Args) != 2 {
				t.Errorf("%s: execution %s: state %s, args %q; want succeeded with 2 args", task, e.ID, e.State, e.Args)
			}
		}
		if ts := getTaskState(t, s, task); ts.ConsecutiveFailures != perWorker-5 {
			t.Errorf("%s: ConsecutiveFailures = %d, want %d", task, ts.ConsecutiveFailures, perWorker-5)
		}
	}
	if n := len(listAll(t, s, store.ExecutionFilter{Task: "shared", Limit: 25})); n != perWorker {
		t.Errorf("shared: %d executions, want %d", n, perWorker)
	}
	if n := len(listAll(t, s, store.ExecutionFilter{Limit: store.MaxListLimit})); n != workers*perWorker+perWorker {
		t.Errorf("%d executions in all, want %d", n, workers*perWorker+perWorker)
	}
}
