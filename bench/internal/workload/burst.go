package workload

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/taskmill/taskmill/bench/internal/contender"
)

// burst: N run-now triggers of one task, as fast as one goroutine can
// issue them; throughput is N over the time until every run has finished
// and, for taskmill, is recorded finished in its store.
var burst = Workload{
	Name: "burst",
	Columns: []Column{
		{"runs_per_s", "runs/s", 0},
		{"elapsed_ms", "elapsed (ms)", 1},
		{"recorded", "succeeded on record", 0},
	},
	Title: func(p Params) string {
		return fmt.Sprintf("burst — %s run-now triggers of one task", thousands(p.N))
	},
	Run: runBurst,
}

func runBurst(ctx context.Context, c string, p Params) (Result, error) {
	// taskmill waits for each of the N runs of one task and counts them on
	// record: more than the default memory store keeps of a task.
	s, err := newSchedulerKeepingAll(c, p)
	if err != nil {
		return Result{}, err
	}
	defer s.Stop()
	r, ok := s.(contender.Runner)
	if !ok {
		return Result{Note: "no run-now"}, nil
	}
	var ran atomic.Int64
	done := make(chan struct{})
	job := func(int, time.Time) {
		if ran.Add(1) == int64(p.N) {
			close(done)
		}
	}
	if _, err := s.Add(ctx, contender.Tasks{N: 1, Overlap: true, Job: job}); err != nil {
		return Result{}, err
	}
	if err := s.Start(); err != nil {
		return Result{}, err
	}

	runCtx, cancel := context.WithTimeout(ctx, p.Budget)
	defer cancel()
	t0 := time.Now()
	for k := range p.N {
		if err := r.RunNow(0); err != nil {
			return Result{}, fmt.Errorf("run-now %d of %d: %w", k+1, p.N, err)
		}
	}
	if err := waitRuns(runCtx, done, &ran); err != nil {
		return Result{Note: fmt.Sprintf("only %d of %d runs ran: %v", ran.Load(), p.N, err)}, nil
	}
	if err := r.Settle(runCtx); err != nil {
		return Result{}, err
	}
	elapsed := time.Since(t0)
	res := Result{Metrics: map[string]float64{
		"runs_per_s": float64(p.N) / elapsed.Seconds(),
		"elapsed_ms": ms(elapsed),
	}}
	if rec, ok := s.(contender.Recorder); ok {
		n, err := rec.Succeeded(ctx)
		if err != nil {
			return Result{}, err
		}
		res.Metrics["recorded"] = float64(n)
		if n != p.N {
			res.Note = fmt.Sprintf("%d of %d runs recorded succeeded", n, p.N)
		}
	}
	return res, nil
}

// burstStall is how long the runs may make no progress before the burst
// is given up: a library that dropped triggers will never finish.
const burstStall = 2 * time.Second

// waitRuns waits for done, failing if ran stops growing for burstStall or
// ctx ends.
func waitRuns(ctx context.Context, done <-chan struct{}, ran *atomic.Int64) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last, since := ran.Load(), time.Now()
	for {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case now := <-tick.C:
			if n := ran.Load(); n != last {
				last, since = n, now
			} else if now.Sub(since) >= burstStall {
				return fmt.Errorf("none for %s after that", burstStall)
			}
		}
	}
}
