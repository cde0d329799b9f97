// Command quickstart shows taskmill's core on the default in-memory store:
// a task every two seconds, one that fails with exit code 3, one whose
// condition is false, and one started on demand with arguments. After -for
// (default 10s) it shuts down and prints every recorded execution.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -for 4s
package main

import (
	"context"
	"errors"
	"flag"
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

func main() {
	runFor := flag.Duration("for", 10*time.Second, "how long to run before printing the history")
	flag.Parse()
	if err := run(*runFor, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(runFor time.Duration, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	eng, err := task.New() // in-memory store, real clock, no logging
	if err != nil {
		return err
	}
	specs := []task.Spec{
		{
			Name:     "heartbeat",
			Schedule: cron.Every(2 * time.Second),
			Job: task.JobFunc(func(ctx context.Context) error {
				x, _ := task.CurrentExecution(ctx)
				task.SetExitMessage(ctx, "beat for slot "+x.ScheduledAt.Format("15:04:05"))
				return nil
			}),
		},
		{
			Name: "flaky-import",
			Cron: "*/3 * * * * *", // six fields: every third second
			Job: task.JobFunc(func(context.Context) error {
				return task.Exit(3, errors.New("upstream returned 3 malformed rows"))
			}),
			SuspendAfterFailures: 2,
		},
		{
			Name:     "weekend-cleanup",
			Schedule: cron.Every(time.Second),
			When: func(context.Context) (bool, error) {
				return false, nil // imagine: "is it the weekend?"
			},
			Job: task.JobFunc(func(context.Context) error { return nil }),
		},
		{
			Name: "reindex",
			Job: task.JobFunc(func(ctx context.Context) error {
				// A live report: counters the engine (and the record,
				// once the run ends) keeps, and errors about single rows.
				p := task.ProgressOf(ctx)
				p.Add("rows", 1500)
				p.Add("skipped", 2)
				p.Error("row 17", errors.New("no such customer"))
				task.SetExitMessage(ctx, "reindexed "+strings.Join(task.Args(ctx), " "))
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
	id, err := eng.RunNow(ctx, "reindex", task.WithArgs("--table", "orders"))
	if err != nil {
		return err
	}
	if _, err := eng.Wait(ctx, id); err != nil {
		return err
	}

	fmt.Fprintf(out, "running for %v (ctrl-c to stop early)...\n\n", runFor)
	select {
	case <-time.After(runFor):
	case <-ctx.Done():
	}

	// Read the history before Shutdown: the default store lives and dies
	// with the engine.
	history, err := show.History(context.WithoutCancel(ctx), eng.Store(), store.ExecutionFilter{})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := eng.Shutdown(sctx); err != nil {
		return err
	}
	show.Table(out, history)
	fmt.Fprintln(out)
	for _, info := range eng.Tasks() {
		if info.Suspended {
			fmt.Fprintf(out, "%s is suspended: %s\n", info.Name, info.SuspendedReason)
		}
	}
	return nil
}
