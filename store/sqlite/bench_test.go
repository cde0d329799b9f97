package sqlite_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// seqID returns a distinct ID for n without the cost of uuid.New, so that
// the benchmarks measure the store.
func seqID(n uint64) uuid.UUID {
	var id uuid.UUID
	id[0] = 1
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

// BenchmarkCreateUpdate records one execution per op the way the engine
// does: created running (claiming its slot), updated when it ends; from 1
// and from 8 goroutines sharing one Store on a file.
func BenchmarkCreateUpdate(b *testing.B) {
	for _, goroutines := range []int{1, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", goroutines), func(b *testing.B) {
			s := open(b, filepath.Join(b.TempDir(), "bench.db"))
			ctx := b.Context()
			start := time.Now()
			var next atomic.Uint64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := next.Add(1)
						if n > uint64(b.N) {
							return
						}
						e := &store.Execution{
							ID:          seqID(n),
							Task:        "bench",
							Trigger:     store.TriggerSchedule,
							ScheduledAt: start.Add(time.Duration(n) * time.Second),
							StartedAt:   start.Add(time.Duration(n) * time.Microsecond),
							State:       store.StateRunning,
							Args:        []string{"--region=eu"},
							Node:        "node-1",
						}
						if err := s.CreateExecution(ctx, e); err != nil {
							b.Error(err)
							return
						}
						e.State = store.StateSucceeded
						e.EndedAt = e.StartedAt.Add(time.Millisecond)
						e.ExitMessage = "done"
						if err := s.UpdateExecution(ctx, e); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "executions/s")
		})
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
