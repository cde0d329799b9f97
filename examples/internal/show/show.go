// Package show prints execution histories for the examples.
package show

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/taskmill/taskmill/store"
)

// History returns every execution matching f in the store, oldest first.
func History(ctx context.Context, st store.Store, f store.ExecutionFilter) ([]*store.Execution, error) {
	if f.Limit == 0 {
		f.Limit = 500
	}
	all, err := store.ListAll(ctx, st, f)
	if err != nil {
		return nil, err
	}
	slices.Reverse(all)
	return all, nil
}

// Table prints executions as an aligned table: task, trigger, state,
// scheduled, start, duration, exit code, message.
func Table(out io.Writer, xs []*store.Execution) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TASK\tTRIGGER\tSTATE\tSCHEDULED\tSTART\tDURATION\tEXIT\tMESSAGE")
	for _, x := range xs {
		scheduled := "-"
		if !x.ScheduledAt.IsZero() {
			scheduled = x.ScheduledAt.Local().Format("15:04:05")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n",
			x.Task, x.Trigger, x.State, scheduled, x.StartedAt.Local().Format("15:04:05.000"),
			x.Duration().Round(time.Microsecond), x.ExitCode, Message(x))
	}
	w.Flush()
}

// Message is what a table shows of an execution's outcome: the skip
// reason, the error's first line, or the exit message.
func Message(x *store.Execution) string {
	switch {
	case x.SkipReason != "":
		return "skipped: " + x.SkipReason
	case x.Error != "":
		line, _, _ := strings.Cut(x.Error, "\n")
		return "error: " + line
	}
	return x.ExitMessage
}
