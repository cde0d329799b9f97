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
	"github.com/taskmill/taskmill/task"
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
// scheduled, start, duration, exit code, message, and the short form of
// the run's report.
func Table(out io.Writer, xs []*store.Execution) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TASK\tTRIGGER\tSTATE\tSCHEDULED\tSTART\tDURATION\tEXIT\tMESSAGE\tREPORT")
	for _, x := range xs {
		scheduled := "-"
		if !x.ScheduledAt.IsZero() {
			scheduled = x.ScheduledAt.Local().Format("15:04:05")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n",
			x.Task, x.Trigger, x.State, scheduled, x.StartedAt.Local().Format("15:04:05.000"),
			x.Duration().Round(time.Microsecond), x.ExitCode, Message(x), Report(x))
	}
	w.Flush()
}

// Report is the short form of a run's final report: each counter's total
// over the phases, and the count of errors, as "rows=1500 errors=2"; "-"
// when the job reported nothing.
func Report(x *store.Execution) string {
	rep, ok, err := task.ReportOf(x)
	switch {
	case err != nil:
		return "unreadable report"
	case !ok:
		return "-"
	}
	var names []string
	totals := map[string]int64{}
	for _, ph := range rep.Phases {
		for _, c := range ph.Counters {
			if _, seen := totals[c.Name]; !seen {
				names = append(names, c.Name)
			}
			totals[c.Name] += c.Total
		}
	}
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", n, totals[n]))
	}
	if rep.ErrorCount > 0 {
		parts = append(parts, fmt.Sprintf("errors=%d", rep.ErrorCount))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
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
