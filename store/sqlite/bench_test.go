package sqlite_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/storetest"
)

// seqID returns a distinct ID for n without the cost of uuid.New, so that
// the benchmarks measure the store.
func seqID(n uint64) uuid.UUID {
	var id uuid.UUID
	id[0] = 1
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

// BenchmarkCreateUpdate is storetest.BenchCreateUpdate on a file, from 1
// and 8 goroutines sharing one Store.
func BenchmarkCreateUpdate(b *testing.B) {
	for _, goroutines := range []int{1, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			storetest.BenchCreateUpdate(b, open(b, filepath.Join(b.TempDir(), "bench.db")), goroutines)
		})
	}
}

// BenchmarkCreateFire is storetest.BenchCreateFire on a file: a fire of
// 128 tasks (the engine's chunk) created in one CreateExecutions call
// against 128 CreateExecution calls in a row, with the slots free and with
// them claimed before.
func BenchmarkCreateFire(b *testing.B) {
	for _, claimed := range []bool{false, true} {
		for _, batch := range []bool{true, false} {
			b.Run(fmt.Sprintf("claimed=%v/batch=%v", claimed, batch), func(b *testing.B) {
				storetest.BenchCreateFire(b, open(b, filepath.Join(b.TempDir(), "bench.db")), 128, batch, claimed)
			})
		}
	}
}

// BenchmarkList lists the newest page of one task among 100,000 executions
// of 100 tasks.
func BenchmarkList(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"))
	ctx := b.Context()
	start := time.Now()
	for i := range 100_000 {
		e := &store.Execution{
			ID:        seqID(uint64(i + 1)),
			Task:      fmt.Sprintf("task-%d", i%100),
			Trigger:   store.TriggerManual,
			StartedAt: start.Add(time.Duration(i) * time.Millisecond),
			State:     store.StateSucceeded,
		}
		if err := s.CreateExecution(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p, err := s.ListExecutions(ctx, store.ExecutionFilter{Task: "task-7", Limit: 100})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Executions) != 100 {
			b.Fatalf("%d executions, want 100", len(p.Executions))
		}
	}
}
