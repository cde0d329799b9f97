// Package restart is the body of the sqlite and postgres examples: a host
// that remembers. Run it twice against one store and the second run shows
// the first run's history and records the slots missed in between.
package restart

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/examples/internal/show"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/task"
)

// Run registers two tasks on st, runs for runFor and prints the whole
// history the store holds, old runs included.
func Run(st store.Store, node string, runFor time.Duration, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	before, err := show.History(ctx, st, store.ExecutionFilter{})
	if err != nil {
		return err
	}
	eng, err := task.New(task.WithStore(st), task.WithNodeID(node),
		task.WithRetention(task.Retention{KeepPerTask: 50}))
	if err != nil {
		return err
	}
	specs := []task.Spec{
		{
			// Missed seconds while the program was not running are
			// recorded as one skipped execution (MisfireSkip).
			Name:     "heartbeat",
			Schedule: cron.Every(time.Second),
			Job: task.JobFunc(func(ctx context.Context) error {
				task.SetExitMessage(ctx, "alive")
				return nil
			}),
		},
		{
			// The newest missed slot runs at start (MisfireRunOnce).
			Name:     "rollup",
			Schedule: cron.Every(2 * time.Second),
			Misfire:  task.MisfireRunOnce,
			Job: task.JobFunc(func(ctx context.Context) error {
				x, _ := task.CurrentExecution(ctx)
				task.SetExitMessage(ctx, "rolled up the slot of "+x.ScheduledAt.Local().Format("15:04:05"))
				return nil
			}),
		},
	}
	for _, s := range specs {
		if err := eng.Register(s); err != nil {
			return err
		}
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}
	if len(before) == 0 {
		fmt.Fprintln(out, "first run: the store is empty; run me again to see this run's history and the gap")
	} else {
		fmt.Fprintf(out, "the store holds %d executions from earlier runs\n", len(before))
	}
	select {
	case <-time.After(runFor):
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := eng.Shutdown(sctx); err != nil {
		return err
	}
	all, err := show.History(sctx, st, store.ExecutionFilter{})
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	show.Table(out, all)
	header := false
	for _, x := range all {
		if strings.HasPrefix(x.SkipReason, store.ReasonMissed) || x.Trigger == store.TriggerCatchUp {
			if !header {
				fmt.Fprintln(out, "\nslots missed while the program was not running, and how they were handled:")
				header = true
			}
			fmt.Fprintf(out, "  %-9s %-9s %s\n", x.Task, x.State, show.Message(x))
		}
	}
	return nil
}
