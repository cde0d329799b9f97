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

// record: Conc goroutines, each running its own task in a loop of RunNow
// and Wait; throughput is the runs recorded finished per second over the
// measuring window. taskmill only, on each store.
var record = Workload{
	Name: "record",
	Columns: []Column{
		{"execs_per_s", "executions/s", 0},
	},
	Title: func(p Params) string {
		if p.Conc == 1 {
			return "record — RunNow + Wait in a loop, 1 task"
		}
		return fmt.Sprintf("record — RunNow + Wait in a loop, %d concurrent tasks", p.Conc)
	},
	Run: runRecord,
}

var recordBackends = map[string]contender.Backend{
	"taskmill":          contender.BackendMemory,
	"taskmill-sqlite":   contender.BackendSQLite,
	"taskmill-postgres": contender.BackendPostgres,
}

func runRecord(ctx context.Context, c string, p Params) (Result, error) {
	backend, ok := recordBackends[c]
	if !ok {
		return Result{Note: "records nothing"}, nil
	}
	tm, err := contender.NewTaskmill(backend, p.PostgresDSN)
	if err != nil {
		return Result{}, err
	}
	defer tm.Stop()
	eng := tm.Engine()
	for g := range p.Conc {
		err := eng.Register(task.Spec{Name: fmt.Sprintf("r%d", g), Job: task.JobFunc(func(context.Context) error { return nil })})
		if err != nil {
			return Result{}, err
		}
	}
	if err := eng.Start(ctx); err != nil {
		return Result{}, err
	}

	var (
		count atomic.Int64
		stop  atomic.Bool
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	for g := range p.Conc {
		name := fmt.Sprintf("r%d", g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := runAndWait(ctx, eng, name); err != nil {
					errMu.Lock()
					first = err
					errMu.Unlock()
					return
				}
				count.Add(1)
			}
		}()
	}
	if err := sleepUntil(ctx, time.Now().Add(p.Warmup)); err != nil {
		return Result{}, err
	}
	c0, t0 := count.Load(), time.Now()
	err = sleepUntil(ctx, t0.Add(p.Measure))
	c1, elapsed := count.Load(), time.Since(t0)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return Result{}, err
	}
	if first != nil {
		return Result{}, first
	}
	return Result{Metrics: map[string]float64{
		"execs_per_s": float64(c1-c0) / elapsed.Seconds(),
		"execs":       float64(c1 - c0),
	}}, nil
}

// runAndWait runs the task once and waits for its final record.
func runAndWait(ctx context.Context, eng *task.Engine, name string) error {
	id, err := eng.RunNow(ctx, name)
	if err != nil {
		return err
	}
	e, err := eng.Wait(ctx, id)
	if err != nil {
		return err
	}
	if e.State != store.StateSucceeded {
		return fmt.Errorf("run of %s ended %s: %s", name, e.State, e.Error)
	}
	return nil
}
