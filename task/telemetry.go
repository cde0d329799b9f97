// This file owns the engine's OpenTelemetry metrics and spans: the
// instruments, the attribute sets of each task, and the span of each run.

package task

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/taskmill/taskmill/store"
)

// InstrumentationName is the name of the OpenTelemetry meter and tracer the
// engine reports through (the instrumentation scope).
const InstrumentationName = "github.com/taskmill/taskmill/task"

// The metrics the engine reports, and the attribute keys of its metrics and
// spans. Attributes on metrics are the low-cardinality ones only: task,
// state, trigger and skip reason, never an execution id.
const (
	// MetricRunsEnded counts the runs this engine ended, by task, state
	// and trigger: succeeded, failed, cancelled, skipped by their
	// condition; and abandoned, for the runs of dead nodes its sweeps
	// marked.
	MetricRunsEnded = "taskmill.runs.ended"
	// MetricRunDuration is the time from a run's start to its end, in
	// seconds (its record's StartedAt to EndedAt), by task and state, for
	// the runs that started.
	MetricRunDuration = "taskmill.run.duration"
	// MetricRunLateness is how late a scheduled run started, in seconds:
	// when it started minus its nominal time, by task and trigger
	// (schedule or catch-up), queueing included.
	MetricRunLateness = "taskmill.run.lateness"
	// MetricRunWaitTime is how long a run waited queued behind a run of
	// its task (OverlapQueueOne, or the task running on another engine)
	// before it started, in seconds, by task.
	MetricRunWaitTime = "taskmill.run.wait_time"
	// MetricFiresSkipped counts the skipped records this engine wrote, by
	// task and reason: store.ReasonOverlap, ReasonCondition,
	// ReasonMissed, ReasonStoreUnavailable, or "upstream" for a graph
	// member that did not run.
	MetricFiresSkipped = "taskmill.fires.skipped"
	// MetricRunsActive is the number of runs executing on this engine
	// (their condition, listeners or job), by task.
	MetricRunsActive = "taskmill.runs.active"

	AttrTask        = attribute.Key("taskmill.task")
	AttrState       = attribute.Key("taskmill.state")
	AttrTrigger     = attribute.Key("taskmill.trigger")
	AttrReason      = attribute.Key("taskmill.reason")
	AttrExecutionID = attribute.Key("taskmill.execution.id")
	AttrScheduledAt = attribute.Key("taskmill.execution.scheduled_at")
	AttrGraphRunID  = attribute.Key("taskmill.graph_run.id")
	AttrRootTask    = attribute.Key("taskmill.graph_run.root")
	AttrExitCode    = attribute.Key("taskmill.exit_code")
)

// reasonUpstream is the skip reason counted for a graph member that did
// not run (its record's reason says which upstream and why).
const reasonUpstream = "upstream"

// WithMeterProvider sets the OpenTelemetry MeterProvider the engine's
// metrics go to (see the Metric constants). Default: the global one
// (otel.GetMeterProvider), which records nothing until the host sets one.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error {
		if mp == nil {
			return fmt.Errorf("%w: WithMeterProvider(nil): pass go.opentelemetry.io/otel/metric/noop's provider to report nothing", ErrInvalidOption)
		}
		c.meterProvider = mp
		return nil
	}
}

// WithTracerProvider sets the OpenTelemetry TracerProvider that traces
// runs: one span per run, named after its task. Default: the global one
// (otel.GetTracerProvider), which traces nothing until the host sets one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error {
		if tp == nil {
			return fmt.Errorf("%w: WithTracerProvider(nil): pass go.opentelemetry.io/otel/trace/noop's provider to trace nothing", ErrInvalidOption)
		}
		c.tracerProvider = tp
		return nil
	}
}

// telemetry is the engine's instruments and tracer.
type telemetry struct {
	// tracer traces runs; nil when the host's provider is a no-op.
	tracer trace.Tracer
	// global says that tracer is the global provider's: runs are traced
	// only once the host has set one (see tracing).
	global bool

	ended    metric.Int64Counter
	duration metric.Float64Histogram
	lateness metric.Float64Histogram
	wait     metric.Float64Histogram
	skipped  metric.Int64Counter
	active   metric.Int64UpDownCounter
}

// globalDefaultTracerProvider is the type of otel's global TracerProvider
// before a host sets one (it delegates to the one set later), read when
// the package is initialized; nil if by then a host had set one already.
// While the global provider is of this type, runs are not traced and cost
// nothing: starting a span of the unset global provider costs allocations,
// ten with a run's attributes, which the tick workload would pay for
// every run.
var globalDefaultTracerProvider = func() reflect.Type {
	t := reflect.TypeOf(otel.GetTracerProvider())
	if t == nil || !strings.HasSuffix(t.String(), "global.tracerProvider") {
		return nil
	}
	return t
}()

// Bucket boundaries, in seconds, suggested to the SDK: runs last from
// milliseconds to an hour, and a fire is late by milliseconds, or by hours
// for a catch-up.
var (
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
	latenessBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600}
)

// newTelemetry makes the engine's instruments from the configured
// providers, or the global ones.
func newTelemetry(c *config) (*telemetry, error) {
	t := &telemetry{}
	tp := c.tracerProvider
	if tp == nil {
		tp, t.global = otel.GetTracerProvider(), true
	}
	switch tp.(type) {
	case tracenoop.TracerProvider, *tracenoop.TracerProvider:
	default:
		t.tracer = tp.Tracer(InstrumentationName)
	}
	mp := c.meterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(InstrumentationName)
	var errs []error
	note := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	var err error
	t.ended, err = m.Int64Counter(MetricRunsEnded, metric.WithUnit("{run}"),
		metric.WithDescription("Runs ended, by task, state and trigger."))
	note(MetricRunsEnded, err)
	t.duration, err = m.Float64Histogram(MetricRunDuration, metric.WithUnit("s"),
		metric.WithDescription("Time from a run's start to its end."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	note(MetricRunDuration, err)
	t.lateness, err = m.Float64Histogram(MetricRunLateness, metric.WithUnit("s"),
		metric.WithDescription("A scheduled run's start minus its nominal time."),
		metric.WithExplicitBucketBoundaries(latenessBuckets...))
	note(MetricRunLateness, err)
	t.wait, err = m.Float64Histogram(MetricRunWaitTime, metric.WithUnit("s"),
		metric.WithDescription("Time a run waited queued behind a run of its task before it started."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	note(MetricRunWaitTime, err)
	t.skipped, err = m.Int64Counter(MetricFiresSkipped, metric.WithUnit("{fire}"),
		metric.WithDescription("Skipped records written, by task and reason."))
	note(MetricFiresSkipped, err)
	t.active, err = m.Int64UpDownCounter(MetricRunsActive, metric.WithUnit("{run}"),
		metric.WithDescription("Runs executing on this engine, by task."))
	note(MetricRunsActive, err)
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: WithMeterProvider: creating the engine's instruments: %w", ErrInvalidOption, errors.Join(errs...))
	}
	return t, nil
}

// tracing returns the tracer of runs, or nil when runs are not traced.
func (t *telemetry) tracing() trace.Tracer {
	if t.global && reflect.TypeOf(otel.GetTracerProvider()) == globalDefaultTracerProvider {
		return nil
	}
	return t.tracer
}

// taskTelemetry is one task's metric attributes, made on first use (so
// only when a provider records them) and kept on its entry: a measurement
// then costs no allocation.
type taskTelemetry struct {
	name string
	base measureOpts // the task alone

	mu sync.Mutex
	by map[attrKey]*measureOpts
}

// attrKey is the attributes beside the task's of one measurement.
type attrKey struct {
	state   store.State
	trigger store.Trigger
	reason  string
}

// measureOpts is one attribute set, as the options of each kind of
// instrument.
type measureOpts struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

func newMeasureOpts(kvs ...attribute.KeyValue) *measureOpts {
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	return &measureOpts{add: []metric.AddOption{o}, rec: []metric.RecordOption{o}}
}

// telemetryOf returns ent's attributes, making them on first use; ent nil
// (a task not registered here) makes them for name, uncached.
func telemetryOf(ent *entry, name string) *taskTelemetry {
	if ent != nil {
		if tt := ent.tel.Load(); tt != nil {
			return tt
		}
	}
	tt := &taskTelemetry{name: name, base: *newMeasureOpts(AttrTask.String(name))}
	if ent != nil && !ent.tel.CompareAndSwap(nil, tt) {
		return ent.tel.Load()
	}
	return tt
}

// opts returns the options of the task's attributes and k's.
func (tt *taskTelemetry) opts(k attrKey) *measureOpts {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if o := tt.by[k]; o != nil {
		return o
	}
	kvs := []attribute.KeyValue{AttrTask.String(tt.name)}
	if k.state != "" {
		kvs = append(kvs, AttrState.String(string(k.state)))
	}
	if k.trigger != "" {
		kvs = append(kvs, AttrTrigger.String(string(k.trigger)))
	}
	if k.reason != "" {
		kvs = append(kvs, AttrReason.String(k.reason))
	}
	o := newMeasureOpts(kvs...)
	if tt.by == nil {
		tt.by = make(map[attrKey]*measureOpts)
	}
	tt.by[k] = o
	return o
}

// runStarted is told when r begins to execute (after the check that it
// was not cancelled while it waited): it starts r's span, counts r
// active, and records how late r started and how long it waited queued.
// A run that Shutdown recorded ended meanwhile is not counted, and its
// span ends at once.
func (t *telemetry) runStarted(r *run) {
	bg := context.Background()
	x := r.exec
	var span trace.Span
	if tr := t.tracing(); tr != nil {
		span = r.startSpan(tr)
	}
	active := t.active.Enabled(bg)
	r.mu.Lock()
	gaveUp, final := r.finalized, r.final
	if !gaveUp {
		r.started, r.span, r.active = true, span, active
	}
	r.mu.Unlock()
	if gaveUp {
		if span != nil {
			endSpan(span, final)
		}
		return
	}
	if active {
		t.active.Add(bg, 1, telemetryOf(r.ent, x.Task).base.add...)
	}
	if x.Trigger.Claims() && t.lateness.Enabled(bg) {
		o := telemetryOf(r.ent, x.Task).opts(attrKey{trigger: x.Trigger})
		t.lateness.Record(bg, r.e.now().Sub(x.ScheduledAt).Seconds(), o.rec...)
	}
	if !r.queuedAt.IsZero() && t.wait.Enabled(bg) {
		t.wait.Record(bg, x.StartedAt.Sub(r.queuedAt).Seconds(), telemetryOf(r.ent, x.Task).base.rec...)
	}
}

// ranOut is what runStarted left on a run for runEnded, read with its
// final record.
type ranOut struct {
	started bool       // runStarted counted it
	active  bool       // counted in MetricRunsActive
	span    trace.Span // its span, if traced
}

// runEnded is told when r's final record x is written (or given up on).
func (t *telemetry) runEnded(r *run, x *store.Execution, o ranOut) {
	ctx := context.Background()
	if o.span != nil {
		ctx = trace.ContextWithSpan(ctx, o.span) // for exemplars
	}
	if o.active {
		t.active.Add(ctx, -1, telemetryOf(r.ent, x.Task).base.add...)
	}
	if t.ended.Enabled(ctx) {
		m := telemetryOf(r.ent, x.Task).opts(attrKey{state: x.State, trigger: x.Trigger})
		t.ended.Add(ctx, 1, m.add...)
	}
	if o.started && t.duration.Enabled(ctx) {
		m := telemetryOf(r.ent, x.Task).opts(attrKey{state: x.State})
		t.duration.Record(ctx, x.Duration().Seconds(), m.rec...)
	}
	if x.State == store.StateSkipped {
		t.skip(r.ent, x)
	}
	if o.span != nil {
		endSpan(o.span, x)
	}
}

// skip counts a skipped record written; ent may be nil (a task not
// registered here).
func (t *telemetry) skip(ent *entry, x *store.Execution) {
	bg := context.Background()
	if !t.skipped.Enabled(bg) {
		return
	}
	o := telemetryOf(ent, x.Task).opts(attrKey{reason: skipClass(x)})
	t.skipped.Add(bg, 1, o.add...)
}

// abandonedEnded counts a record of a dead node this engine marked
// abandoned; ent is its task's entry here, or nil.
func (t *telemetry) abandonedEnded(ent *entry, x *store.Execution) {
	bg := context.Background()
	if !t.ended.Enabled(bg) {
		return
	}
	o := telemetryOf(ent, x.Task).opts(attrKey{state: store.StateAbandoned, trigger: x.Trigger})
	t.ended.Add(bg, 1, o.add...)
}

// skipClass is the reason of a skipped record without its details: one of
// store's Reason constants, or reasonUpstream for a graph member.
func skipClass(x *store.Execution) string {
	for _, r := range [...]string{store.ReasonOverlap, store.ReasonCondition, store.ReasonMissed, store.ReasonStoreUnavailable} {
		if x.SkipReason == r || strings.HasPrefix(x.SkipReason, r+":") {
			return r
		}
	}
	if x.Trigger == store.TriggerDependency {
		return reasonUpstream
	}
	return "other"
}

// startSpan starts r's span with tr, as a child of the span in the run's
// parent context (a RunNow caller's), and makes the run's context carry
// it. A graph member's span links to its root's. It runs on the goroutine
// that executes r, before r's condition, listeners and job see its
// context.
func (r *run) startSpan(tr trace.Tracer) trace.Span {
	x := r.exec
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs,
		AttrTask.String(x.Task),
		AttrTrigger.String(string(x.Trigger)),
		AttrExecutionID.String(x.ID.String()))
	if !x.ScheduledAt.IsZero() {
		attrs = append(attrs, AttrScheduledAt.String(x.ScheduledAt.UTC().Format(time.RFC3339Nano)))
	}
	gr := r.graph
	if gr != nil {
		attrs = append(attrs, AttrGraphRunID.String(gr.id.String()), AttrRootTask.String(gr.root))
	}
	opts := []trace.SpanStartOption{
		trace.WithTimestamp(x.StartedAt),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrs...),
	}
	member := gr != nil && x.Trigger == store.TriggerDependency
	if member {
		if sc := gr.rootSpan(); sc.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
		}
	}
	ctx, span := tr.Start(r.jc.parentCtx(), x.Task, opts...)
	r.jc.setParent(ctx)
	if gr != nil && !member {
		gr.setRootSpan(span.SpanContext())
	}
	return span
}

// endSpan ends a run's span with its record's end: its state, exit code
// and skip reason as attributes, status Error with the error's first line
// for a failed run.
func endSpan(span trace.Span, x *store.Execution) {
	span.SetAttributes(AttrState.String(string(x.State)), AttrExitCode.Int(x.ExitCode))
	if x.State == store.StateSkipped {
		span.SetAttributes(AttrReason.String(skipClass(x)))
	}
	if x.State == store.StateFailed {
		span.SetStatus(codes.Error, firstLine(x.Error))
	}
	span.End(trace.WithTimestamp(x.EndedAt))
}

// rootSpan returns the span context of the graph run's root's run.
func (gr *graphRun) rootSpan() trace.SpanContext {
	gr.mu.Lock()
	defer gr.mu.Unlock()
	return gr.span
}

func (gr *graphRun) setRootSpan(sc trace.SpanContext) {
	gr.mu.Lock()
	gr.span = sc
	gr.mu.Unlock()
}
