package storetest

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// BenchCreateUpdate records b.N executions in s the way the engine does:
// each created running (claiming its slot), then updated to its end, from
// the given number of goroutines. It reports executions/s. Every backend's
// BenchmarkCreateUpdate calls it, so their numbers compare.
func BenchCreateUpdate(b *testing.B, s store.Store, goroutines int) {
	ctx := context.Background()
	slot := time.Now().Truncate(time.Minute)
	var next atomic.Uint64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range goroutines {
		spawn(&wg, func() {
			for {
				n := next.Add(1)
				if n > uint64(b.N) {
					return
				}
				started := slot.Add(time.Duration(n) * time.Microsecond)
				e := &store.Execution{
					ID:          benchID(n),
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
				e.State, e.EndedAt, e.ExitMessage = store.StateSucceeded, started.Add(time.Millisecond), "done"
				if err := s.UpdateExecution(ctx, e); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "executions/s")
}

// benchID returns a distinct version 4-shaped ID for n without the cost of
// uuid.New, so that the benchmark measures the store.
func benchID(n uint64) uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[:8], uint64(time.Now().UnixNano()))
	binary.BigEndian.PutUint64(id[8:], n)
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}
