// Command pipeline runs a task graph every three seconds:
//
//	extract -> transform -> load-a ─┐
//	                     -> load-b ─┴-> report (runs when both loads are done)
//
// load-b fails at random; report's trigger rule is AllDone, so it runs
// anyway, while audit (AllSucceeded, after load-b) is skipped with the
// reason. Each graph run is printed when it completes.
//
//	go run ./examples/pipeline -for 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/task"
)

func main() {
	runFor := flag.Duration("for", 10*time.Second, "how long to run")
	failRate := flag.Float64("fail", 0.5, "probability that load-b fails")
	flag.Parse()
	if err := run(*runFor, *failRate, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

func run(runFor time.Duration, failRate float64, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var printing sync.WaitGroup
	var eng *task.Engine
	// When the root starts, wait for its graph run in the background and
	// print it when it completes.
	watch := task.ListenerFuncs{Startup: func(ctx context.Context, x *store.Execution) error {
		if x.Task != "extract" || x.GraphRunID == uuid.Nil {
			return nil
		}
		printing.Add(1)
		go func(id uuid.UUID) {
			defer printing.Done()
			xs, err := eng.WaitGraphRun(context.WithoutCancel(ctx), id)
			if err != nil {
				fmt.Fprintln(out, "graph run", id, err)
				return
			}
			printRun(out, xs)
		}(x.GraphRunID)
		return nil
	}}

	var err error
	eng, err = task.New(task.WithListener(watch))
	if err != nil {
		return err
	}
	step := func(name string, d time.Duration) task.Job {
		return task.JobFunc(func(ctx context.Context) error {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
			task.SetExitMessage(ctx, name+" ok")
			return nil
		})
	}
	specs := []task.Spec{
		{Name: "extract", Cron: "*/3 * * * * *", Job: step("extract", 50*time.Millisecond)},
		{Name: "transform", After: []string{"extract"}, Job: step("transform", 50*time.Millisecond)},
		{Name: "load-a", After: []string{"transform"}, Job: step("load-a", 100*time.Millisecond)},
		{Name: "load-b", After: []string{"transform"}, Job: task.JobFunc(func(ctx context.Context) error {
			if rand.Float64() < failRate {
				return errors.New("warehouse rejected the batch")
			}
			return step("load-b", 80*time.Millisecond).Run(ctx)
		})},
		{Name: "report", After: []string{"load-a", "load-b"}, TriggerRule: task.AllDone, Job: step("report", 10*time.Millisecond)},
		{Name: "audit", After: []string{"load-b"}, Job: step("audit", 10*time.Millisecond)},
	}
	for _, s := range specs {
		if err := eng.Register(s); err != nil {
			return err
		}
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	g, err := eng.Graph("extract")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "graph %q: %d tasks, %d edges; running for %v\n\n", g.Root, len(g.Nodes), len(g.Edges), runFor)

	select {
	case <-time.After(runFor):
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = eng.Shutdown(sctx)
	printing.Wait()
	return err
}

func printRun(out io.Writer, xs []*store.Execution) {
	if len(xs) == 0 {
		return
	}
	root := xs[0]
	fmt.Fprintf(out, "graph run %s (slot %s)\n", root.GraphRunID.String()[24:], root.ScheduledAt.Local().Format("15:04:05"))
	for _, x := range xs {
		line := fmt.Sprintf("  %-10s %-10s", x.Task, x.State)
		switch x.State {
		case store.StateSkipped:
			line += " " + x.SkipReason
		case store.StateFailed, store.StateCancelled:
			line += " " + x.Error
		default:
			line += fmt.Sprintf(" %v", x.Duration().Round(time.Millisecond))
		}
		fmt.Fprintln(out, line)
	}
	fmt.Fprintln(out)
}
