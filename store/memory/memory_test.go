package memory_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
	"github.com/taskmill/taskmill/store/storetest"
)

// The store starts no goroutine; the suite starts and must stop its own.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := memory.New()
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	})
}

// seqID returns a distinct ID for n without the cost of uuid.New, so that
// the benchmarks measure the store.
func seqID(n uint64) uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[8:], n)
	id[0] = 1
	return id
}

// BenchmarkCreateUpdate is storetest.BenchCreateUpdate on a memory store,
// from 1 and 8 goroutines, with the default cap on records per task (one
// task: past 1,000 records each create evicts one) and without it.
func BenchmarkCreateUpdate(b *testing.B) {
	for _, keep := range []int{memory.MaxPerTaskDefault, 0} {
		for _, g := range []int{1, 8} {
			b.Run(fmt.Sprintf("maxPerTask=%d/goroutines=%d", keep, g), func(b *testing.B) {
				storetest.BenchCreateUpdate(b, memory.New(memory.WithMaxPerTask(keep)), g)
			})
		}
	}
}

// BenchmarkList lists a page of 100 of one task's records among 100,000 records
// of 100 tasks.
func BenchmarkList(b *testing.B) {
	s := memory.New()
	ctx := context.Background()
	start := time.Now()
	for i := range 100_000 {
		e := &store.Execution{
			ID:        seqID(uint64(i + 1)),
			Task:      "task-" + string(rune('A'+i%100)),
			Trigger:   store.TriggerManual,
			StartedAt: start.Add(time.Duration(i) * time.Millisecond),
			State:     store.StateSucceeded,
		}
		if err := s.CreateExecution(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := s.ListExecutions(ctx, store.ExecutionFilter{Task: "task-A", Limit: 100})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Executions) != 100 {
			b.Fatalf("%d executions, want 100", len(p.Executions))
		}
	}
}
