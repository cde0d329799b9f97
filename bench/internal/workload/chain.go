package workload

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskmill/taskmill/bench/internal/contender"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/task"
)

// chain: a graph of N tasks in a line, task i running after task i-1, the
// root run now. A hop is the time from a task's job returning to its
// successor's job starting. The first chain warms up; Repeats more are
// measured. Only taskmill has task graphs; the floor is N goroutines
// handing a channel on.
var chain = Workload{
	Name: "chain",
	Columns: []Column{
		{"hop_p50_us", "hop p50 (µs)", 1},
		{"hop_p99_us", "hop p99 (µs)", 1},
		{"hop_max_us", "hop max (µs)", 0},
		{"chain_ms", "whole chain (ms)", 1},
	},
	Title: func(p Params) string {
		return fmt.Sprintf("chain — a graph of %s tasks in a line", thousands(p.N))
	},
	Run: runChain,
}

// chainTimes are the job start and end of each task of one chain.
type chainTimes struct {
	start, end []atomic.Int64 // UnixNano
}

func newChainTimes(n int) *chainTimes {
	return &chainTimes{start: make([]atomic.Int64, n), end: make([]atomic.Int64, n)}
}

// job is task i's body: it records when it started and when it returns.
func (c *chainTimes) job(i int) {
	c.start[i].Store(time.Now().UnixNano())
	c.end[i].Store(time.Now().UnixNano())
}

// hops appends the chain's hop latencies to d.
func (c *chainTimes) hops(d []time.Duration) []time.Duration {
	for i := 1; i < len(c.start); i++ {
		d = append(d, time.Duration(c.start[i].Load()-c.end[i-1].Load()))
	}
	return d
}

func (c *chainTimes) whole() time.Duration {
	return time.Duration(c.end[len(c.end)-1].Load() - c.start[0].Load())
}

func runChain(ctx context.Context, c string, p Params) (Result, error) {
	var run func(ctx context.Context, times *chainTimes) error
	switch c {
	case "taskmill":
		tm, err := contender.NewTaskmill(contender.BackendMemory, "")
		if err != nil {
			return Result{}, err
		}
		defer tm.Stop()
		if run, err = taskmillChain(tm.Engine(), p.N); err != nil {
			return Result{}, err
		}
	case "floor":
		run = floorChain
	default:
		return Result{Note: "no task graphs"}, nil
	}
	var hops []time.Duration
	var whole time.Duration
	for r := 0; r <= p.Repeats; r++ {
		times := newChainTimes(p.N)
		if err := run(ctx, times); err != nil {
			return Result{}, err
		}
		if r > 0 { // the first chain warms up
			hops = times.hops(hops)
			whole += times.whole()
		}
	}
	p50, p99, top := percentiles(hops)
	return Result{Metrics: map[string]float64{
		"hop_p50_us": us(p50),
		"hop_p99_us": us(p99),
		"hop_max_us": us(top),
		"hops":       float64(len(hops)),
		"chain_ms":   ms(whole) / float64(p.Repeats),
	}}, nil
}

// taskmillChain registers tasks c0000 ... (each After the one before) and
// starts the engine; the function it returns runs the chain once.
func taskmillChain(eng *task.Engine, n int) (func(context.Context, *chainTimes) error, error) {
	var mu sync.Mutex
	var cur *chainTimes // the chain running now
	for i := range n {
		spec := task.Spec{
			Name: fmt.Sprintf("c%04d", i),
			Job: task.JobFunc(func(context.Context) error {
				mu.Lock()
				t := cur
				mu.Unlock()
				t.job(i)
				return nil
			}),
		}
		if i > 0 {
			spec.After = []string{fmt.Sprintf("c%04d", i-1)}
		}
		if err := eng.Register(spec); err != nil {
			return nil, err
		}
	}
	if err := eng.Start(context.Background()); err != nil {
		return nil, err
	}
	return func(ctx context.Context, t *chainTimes) error {
		mu.Lock()
		cur = t
		mu.Unlock()
		id, err := eng.RunNow(ctx, "c0000")
		if err != nil {
			return err
		}
		root, err := eng.Wait(ctx, id)
		if err != nil {
			return err
		}
		execs, err := eng.WaitGraphRun(ctx, root.GraphRunID)
		if err != nil {
			return err
		}
		ok := 0
		for _, e := range execs {
			if e.State == store.StateSucceeded {
				ok++
			}
		}
		if ok != n {
			return fmt.Errorf("chain: %d of %d tasks succeeded", ok, n)
		}
		return nil
	}, nil
}

// floorChain runs the chain as goroutines, each waiting for its
// predecessor to close its channel.
func floorChain(_ context.Context, t *chainTimes) error {
	n := len(t.start)
	ready := make([]chan struct{}, n)
	for i := range ready {
		ready[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready[i]
			t.job(i)
			if i+1 < n {
				close(ready[i+1])
			}
		}()
	}
	t.job(0)
	close(ready[1])
	wg.Wait()
	return nil
}
