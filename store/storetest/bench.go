package storetest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
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

// BenchCreateFire creates the records of b.N fires of one schedule shared
// by tasks tasks, as the engine does for each chunk of a fire: with batch,
// one store.CreateMany call per fire (one CreateExecutions if s is a
// store.BatchCreator); without, one CreateExecution per record, one after
// another. With claimed, another process has claimed every slot of the
// fire before (untimed), so every record is refused with
// store.ErrConflict: what the engines that lose a fire pay. It reports
// records/s.
func BenchCreateFire(b *testing.B, s store.Store, tasks int, batch, claimed bool) {
	ctx := context.Background()
	names := make([]string, tasks)
	for i := range names {
		names[i] = fmt.Sprintf("fire-%04d", i)
	}
	slot := time.Now().Truncate(time.Second)
	var n uint64
	fire := func(at time.Time) []*store.Execution {
		es := make([]*store.Execution, tasks)
		for i := range es {
			n++
			es[i] = &store.Execution{ID: benchID(n), Task: names[i], Trigger: store.TriggerSchedule,
				ScheduledAt: at, StartedAt: at.Add(time.Millisecond), State: store.StateRunning, Node: "node-1"}
		}
		return es
	}
	want := error(nil)
	if claimed {
		want = store.ErrConflict
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		at := slot.Add(time.Duration(i) * time.Second)
		if claimed {
			b.StopTimer()
			for j, err := range store.CreateMany(ctx, s, fire(at)) {
				if err != nil {
					b.Fatalf("fire %d, record %d, claimed before: %v", i, j, err)
				}
			}
			b.StartTimer()
		}
		es := fire(at)
		var errs []error
		if batch {
			errs = store.CreateMany(ctx, s, es)
		} else {
			errs = make([]error, len(es))
			for j, e := range es {
				errs[j] = s.CreateExecution(ctx, e)
			}
		}
		for j, err := range errs {
			if !errors.Is(err, want) {
				b.Fatalf("fire %d, record %d: %v, want %v", i, j, err, want)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*tasks)/b.Elapsed().Seconds(), "records/s")
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
