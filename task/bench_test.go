package task

import (
	"context"
	"fmt"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// startOneTask starts an engine on the memory store with one task, "t",
// whose runs may overlap; it is shut down when the benchmark ends.
func startOneTask(b *testing.B) *Engine {
	ctx := context.Background()
	eng, err := New(WithStore(memory.New()), WithoutInitHooks())
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Register(Spec{Name: "t", Job: JobFunc(ok), Overlap: OverlapAllow}); err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Shutdown(ctx) })
	return eng
}

// BenchmarkRunNowWait measures one manual run end to end on the memory
// store: record created, job run, listeners, record finished.
func BenchmarkRunNowWait(b *testing.B) {
	ctx := context.Background()
	eng := startOneTask(b)
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

// BenchmarkBurst measures the bench module's burst workload: 10,000
// RunNow calls of one task (overlap allowed) from one goroutine, until
// every run is recorded finished, on the memory store; ns/op is per burst,
// runs/s the throughput, cpu-ns/run the process's CPU time per run.
func BenchmarkBurst(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	eng := startOneTask(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		for range n {
			if _, err := eng.RunNow(ctx, "t"); err != nil {
				b.Fatal(err)
			}
		}
		for !idle(eng) {
			time.Sleep(100 * time.Microsecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "runs/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/run")
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

// BenchmarkFire measures fires of one schedule shared by 1,000 and 10,000
// tasks whose jobs only note when they started, the shape of the bench
// module's tick workload, on a fake clock: ns/op is per fire; cpu-ns/run is
// the process's CPU time (all goroutines) per task run, from getrusage;
// goroutines/fire is how many goroutines each fire started (a runtime
// metric since Go 1.26); start-p50-µs and start-last-µs are, over the fires
// (their median), when the median and the last job of a fire started after
// the clock advanced — what the tick workload's lateness percentiles see.
func BenchmarkFire(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) { benchmarkFire(b, n) })
	}
}

// BenchmarkFireTelemetry is BenchmarkFire's 1,000 tasks with OpenTelemetry's
// SDK as the engine's providers: metrics only (aggregated, never
// collected), traces only (every run sampled, batched to a no-op
// exporter), and both.
func BenchmarkFireTelemetry(b *testing.B) {
	for _, c := range []struct {
		name            string
		metrics, traces bool
	}{{"metrics", true, false}, {"traces", false, true}, {"both", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			var opts []Option
			if c.metrics {
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				defer mp.Shutdown(context.Background())
				opts = append(opts, WithMeterProvider(mp))
			}
			if c.traces {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
				defer tp.Shutdown(context.Background())
				opts = append(opts, WithTracerProvider(tp))
			}
			benchmarkFire(b, 1_000, opts...)
		})
	}
}

func benchmarkFire(b *testing.B, n int, opts ...Option) {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(testStart)
	var ran atomic.Int64
	eng, err := New(append([]Option{WithClock(clock), WithStore(memory.New()), WithoutInitHooks()}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	started := make([]int64, n) // when each task's job last started, UnixNano
	for i := 0; i < n; i++ {
		job := JobFunc(func(context.Context) error {
			started[i] = time.Now().UnixNano()
			ran.Add(1)
			return nil
		})
		if err := eng.Register(Spec{Name: fmt.Sprintf("t%06d", i), Schedule: cron.Every(time.Second), Job: job}); err != nil {
			b.Fatal(err)
		}
	}
	if err := eng.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer eng.Shutdown(ctx)
	var p50s, lasts []int64 // per fire
	fire := func(i int) {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now().UnixNano()
		clock.Advance(time.Second)
		want := int64((i + 1) * n)
		for ran.Load() < want || !idle(eng) {
			time.Sleep(200 * time.Microsecond)
		}
		lates := make([]int64, n)
		for j, at := range started {
			lates[j] = at - t0
		}
		slices.Sort(lates)
		p50s, lasts = append(p50s, lates[n/2]), append(lasts, lates[n-1])
	}
	fire(0) // the first fire starts the workers
	p50s, lasts = nil, nil
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, g0 := cpuTime(), goroutinesCreated()
	for i := 1; i <= b.N; i++ {
		fire(i)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*n), "cpu-ns/run")
	slices.Sort(p50s)
	slices.Sort(lasts)
	b.ReportMetric(float64(p50s[len(p50s)/2])/1e3, "start-p50-µs")
	b.ReportMetric(float64(lasts[len(lasts)/2])/1e3, "start-last-µs")
	if g0 >= 0 {
		b.ReportMetric(float64(goroutinesCreated()-g0)/float64(b.N), "goroutines/fire")
	}
}

// goroutinesCreated returns how many goroutines the process has started, or
// -1 if the runtime does not say (before Go 1.26).
func goroutinesCreated() int64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return -1
	}
	return int64(s[0].Value.Uint64())
}
