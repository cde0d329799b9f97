package workload

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/taskmill/taskmill/bench/internal/contender"
)

// idle: N tasks registered, each firing once a minute, and nothing firing
// while it is measured: what registering and holding them costs.
var idle = Workload{
	Name: "idle",
	Columns: []Column{
		{"heap_mib", "heap in use (MiB)", 1},
		{"heap_alloc_mib", "live heap (MiB)", 1},
		{"rss_mib", "RSS (MiB)", 1},
		{"goroutines", "goroutines", 0},
		{"reg_us_per_task", "registration (µs/task)", 2},
		{"start_ms", "Start (ms)", 2},
	},
	Title: func(p Params) string {
		return fmt.Sprintf("idle — %s registered tasks firing once a minute", thousands(p.N))
	},
	Run: runIdle,
}

// idleSettle is how long the scheduler runs after Start before the memory
// is read, for libraries that arm their timers in the background.
const idleSettle = 500 * time.Millisecond

func runIdle(ctx context.Context, c string, p Params) (Result, error) {
	s, err := newScheduler(c, p)
	if err != nil {
		return Result{}, err
	}
	defer s.Stop()
	// Every task fires at the second half a minute from now: once a
	// minute, and never while this child measures.
	spec := fmt.Sprintf("%d * * * * *", (time.Now().Second()+30)%60)
	noop := func(int, time.Time) {}

	regCtx, cancel := context.WithTimeout(ctx, p.Budget)
	defer cancel()
	t0 := time.Now()
	n, err := s.Add(regCtx, contender.Tasks{N: p.N, Spec: spec, Job: noop})
	reg := time.Since(t0)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return Result{
				Metrics: map[string]float64{"registered": float64(n)},
				Note: fmt.Sprintf("could not register %s tasks in %s (%s registered, %.0f µs/task on average)",
					thousands(p.N), p.Budget, thousands(n), us(reg)/float64(max(n, 1))),
			}, nil
		}
		return Result{}, err
	}
	t1 := time.Now()
	if err := s.Start(); err != nil {
		return Result{}, err
	}
	start := time.Since(t1)
	if err := sleepUntil(ctx, time.Now().Add(idleSettle)); err != nil {
		return Result{}, err
	}
	m := heapAfterGC()
	return Result{Metrics: map[string]float64{
		"registered":      float64(n),
		"heap_mib":        float64(m.HeapInuse) / mib,
		"heap_alloc_mib":  float64(m.HeapAlloc) / mib,
		"rss_mib":         rssBytes() / mib,
		"goroutines":      float64(runtime.NumGoroutine()),
		"reg_us_per_task": us(reg) / float64(n),
		"start_ms":        ms(start),
	}}, nil
}
