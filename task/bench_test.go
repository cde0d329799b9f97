package task

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// BenchmarkRunNowWait measures one manual run end to end on the memory
// store: record created, job run, listeners, record finished.
func BenchmarkRunNowWait(b *testing.B) {
	ctx := context.Background()
	eng, err := New(WithoutInitHooks())
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Register(Spec{Name: "t", Job: JobFunc(ok), Overlap: OverlapAllow}); err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer eng.Shutdown(ctx)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id, err := eng.RunNow(ctx, "t")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Wait(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDispatch measures one fire of a schedule shared by n tasks, until
// every run is recorded finished; ns/op is per fire, run/s per task run.
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			ctx := context.Background()
			clock := clockwork.NewFakeClockAt(testStart)
			var ended atomic.Int64
			eng, err := New(WithClock(clock), WithStore(memory.New()), WithoutInitHooks(),
				WithListener(ListenerFuncs{End: func(context.Context, *store.Execution) error { ended.Add(1); return nil }}))
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if err := eng.Register(Spec{Name: fmt.Sprintf("t%04d", i), Schedule: cron.Every(time.Second), Job: JobFunc(ok)}); err != nil {
					b.Fatal(err)
				}
			}
			if err := eng.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer eng.Shutdown(ctx)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := clock.BlockUntilContext(ctx, 1); err != nil {
					b.Fatal(err)
				}
				clock.Advance(time.Second)
				want := int64(i+1) * int64(n)
				for ended.Load() < want || !idle(eng) {
					time.Sleep(10 * time.Microsecond)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "runs/s")
		})
	}
}

// idle reports whether no run is in flight (a run's end listener returns
// before its bookkeeping ends; the next fire must not find it running).
func idle(e *Engine) bool {
	return e.runs.empty()
}
