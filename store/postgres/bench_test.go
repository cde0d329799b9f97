package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/postgres"
)

// BenchmarkCreateUpdate records one execution per op the way the engine
// does, created running and updated when it ends, from 1 and from 8
// goroutines sharing one store (a pool of as many connections). It reports
// executions/s: two statements, each its own transaction, per execution.
func BenchmarkCreateUpdate(b *testing.B) {
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", workers), func(b *testing.B) {
			prefix := freshPrefix(b)
			s, err := postgres.New(context.Background(), newPool(b, workers), postgres.WithTablePrefix(prefix))
			if err != nil {
				b.Fatalf("New: %v", err)
			}
			b.Cleanup(func() { closeStore(b, s) })
			benchCreateUpdate(b, s, workers)
		})
	}
}

func benchCreateUpdate(b *testing.B, s store.Store, workers int) {
	ctx := context.Background()
	slot := time.Now().Truncate(time.Minute)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	b.ReportAllocs()
	b.ResetTimer()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				started := time.Now()
				e := &store.Execution{
					ID:          uuid.New(),
					Task:        "bench",
					Trigger:     store.TriggerSchedule,
					ScheduledAt: slot.Add(time.Duration(n) * time.Second),
					StartedAt:   started,
					State:       store.StateRunning,
					Args:        []string{"--region=eu"},
					Node:        "node-1",
				}
				if err := s.CreateExecution(ctx, e); err != nil {
					b.Error(err)
					return
				}
				e.State = store.StateSucceeded
				e.EndedAt = started.Add(time.Millisecond)
				if err := s.UpdateExecution(ctx, e); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "executions/s")
}
