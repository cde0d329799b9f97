// Command telemetry shows a run's live report and the engine's
// OpenTelemetry metrics and spans. An import task parses a few thousand
// fake rows, some of them unparseable, faster after its first seconds;
// while it runs the report is printed every second (the totals grow, the
// 1-, 5- and 15-minute moving averages move at each 5 s tick). The import
// is started by RunNow inside a span standing for the request that asked
// for it, so its run joins that trace; a heartbeat runs on a schedule
// beside it. At exit the engine's metrics and every run's span are
// printed by the OpenTelemetry SDK's stdout exporters, one JSON document
// each: the SDK is this example's dependency, not the library's.
//
//	go run ./examples/telemetry
//	go run ./examples/telemetry -rows 8000
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

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/task"
)

func main() {
	rows := flag.Int("rows", 4500, "rows the import parses")
	flag.Parse()
	if *rows <= 0 {
		fmt.Fprintln(os.Stderr, "telemetry: -rows must be positive")
		os.Exit(2)
	}
	if err := run(*rows, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "telemetry:", err)
		os.Exit(1)
	}
}

// The import's pace: slow while it warms up, then faster.
const (
	warmRows     = 1250 // parsed at slowRate
	slowRate     = 250  // rows per second
	fastRate     = 450
	badRowsEvery = 53 // every 53rd row is unparseable
)

func run(rows int, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// The host's OpenTelemetry SDK: here stdout exporters, flushed at exit.
	res := resource.NewSchemaless(attribute.String("service.name", "taskmill-telemetry-example"))
	metricExp, err := stdoutmetric.New(stdoutmetric.WithWriter(out))
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp, sdkmetric.WithInterval(time.Hour))))
	traceExp, err := stdouttrace.New(stdouttrace.WithWriter(out))
	if err != nil {
		return err
	}
	// Spans are exported at exit, not every 5 s among the reports.
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res),
		sdktrace.WithBatcher(traceExp, sdktrace.WithBatchTimeout(time.Hour)))

	eng, err := task.New(task.WithMeterProvider(mp), task.WithTracerProvider(tp))
	if err != nil {
		return err
	}
	specs := []task.Spec{
		{Name: "import-rows", Job: task.JobFunc(func(ctx context.Context) error { return importRows(ctx, rows) })},
		{Name: "heartbeat", Schedule: cron.Every(2 * time.Second), Job: task.JobFunc(func(context.Context) error { return nil })},
	}
	for _, s := range specs {
		if err := eng.Register(s); err != nil {
			return err
		}
	}
	if err := eng.Start(ctx); err != nil {
		return err
	}

	// A request asks for the import: the run is a child of its span.
	reqCtx, req := tp.Tracer("example").Start(ctx, "POST /imports")
	id, err := eng.RunNow(reqCtx, "import-rows")
	req.End()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "import %s started; its live report every second:\n", id)
	if err := watch(ctx, eng, id, out); err != nil {
		return err
	}
	x, err := eng.Wait(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "import %s: %s; final report %s\n\n", x.State, x.ExitMessage, x.Report)

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := eng.Shutdown(sctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "metrics (stdoutmetric):")
	if err := mp.Shutdown(sctx); err != nil { // collects and exports once
		return err
	}
	fmt.Fprintln(out, "\nspans (stdouttrace):")
	return tp.Shutdown(sctx) // exports the batched spans
}

// importRows parses rows fake rows, reporting each row parsed or not, and
// an error for each unparseable one.
func importRows(ctx context.Context, rows int) error {
	p := task.ProgressOf(ctx)
	p.SetPhase("ingest")
	processed, unparseable := p.Counter("processed"), p.Counter("unparseable")
	const batch = 25
	start := time.Now()
	for i := 1; i <= rows; i++ {
		if i%badRowsEvery == 0 {
			unparseable.Add(1)
			p.Error(fmt.Sprintf("row %d", i), errors.New("column 3: not a number"))
		} else {
			processed.Add(1)
		}
		if i%batch == 0 {
			// Pace the rows: the first warmRows at slowRate, then fastRate.
			due := time.Duration(min(i, warmRows)) * time.Second / slowRate
			if i > warmRows {
				due += time.Duration(i-warmRows) * time.Second / fastRate
			}
			select {
			case <-time.After(time.Until(start.Add(due))):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	task.SetExitMessage(ctx, fmt.Sprintf("%d rows, %d unparseable", rows, rows/badRowsEvery))
	return nil
}

// watch prints the run's live report every second until the run ends.
func watch(ctx context.Context, eng *task.Engine, id uuid.UUID, out io.Writer) error {
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		rep, ok := eng.Report(id)
		if !ok {
			return nil // the run has ended
		}
		fmt.Fprintf(out, "  t=%2.0fs %s\n", time.Since(start).Seconds(), line(rep))
	}
}

// line is a report in one line: each counter's total and moving averages.
func line(rep task.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s", rep.Phase)
	for _, ph := range rep.Phases {
		for _, c := range ph.Counters {
			fmt.Fprintf(&b, "  %s=%d (1m %.1f/s 5m %.1f/s 15m %.1f/s)", c.Name, c.Total, c.Rate1m, c.Rate5m, c.Rate15m)
		}
	}
	fmt.Fprintf(&b, "  errors=%d", rep.ErrorCount)
	if n := len(rep.Errors); n > 0 {
		e := rep.Errors[n-1]
		fmt.Fprintf(&b, " (newest: %s: %s)", e.Item, e.Message)
	}
	return b.String()
}
