package task

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// otelKit is an engine's OpenTelemetry providers of the SDK, read back
// in memory.
type otelKit struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	mp     *sdkmetric.MeterProvider
	tp     *sdktrace.TracerProvider
}

func newOtelKit(t *testing.T) *otelKit {
	t.Helper()
	k := &otelKit{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	k.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(k.reader))
	k.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(k.spans))
	t.Cleanup(func() {
		_ = k.mp.Shutdown(context.Background())
		_ = k.tp.Shutdown(context.Background())
	})
	return k
}

func (k *otelKit) options() []Option {
	return []Option{WithMeterProvider(k.mp), WithTracerProvider(k.tp)}
}

// span returns the one ended span named name.
func (k *otelKit) span(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range k.spans.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d ended spans named %q, want 1", len(found), name)
	}
	return found[0]
}

// collect returns the metrics by name.
func (k *otelKit) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := k.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := make(map[string]metricdata.Metrics)
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != InstrumentationName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, InstrumentationName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// attrs is an attribute set written as "k=v,k=v", keys sorted.
func attrs(s attribute.Set) string {
	var b strings.Builder
	for i, kv := range s.ToSlice() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(kv.Key) + "=" + kv.Value.Emit())
	}
	return b.String()
}

// sums returns an int64 sum's points by attribute set.
func sums(t *testing.T, m metricdata.Metrics, unit string) map[string]int64 {
	t.Helper()
	if m.Unit != unit {
		t.Errorf("%s: unit %q, want %q", m.Name, m.Unit, unit)
	}
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s: data %T, want an int64 sum", m.Name, m.Data)
	}
	out := make(map[string]int64)
	for _, p := range s.DataPoints {
		out[attrs(p.Attributes)] = p.Value
	}
	return out
}

// hists returns a float64 histogram's points by attribute set.
func hists(t *testing.T, m metricdata.Metrics) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	if m.Unit != "s" {
		t.Errorf("%s: unit %q, want s", m.Name, m.Unit)
	}
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: data %T, want a float64 histogram", m.Name, m.Data)
	}
	out := make(map[string]metricdata.HistogramDataPoint[float64])
	for _, p := range h.DataPoints {
		out[attrs(p.Attributes)] = p
	}
	return out
}

func wantHist(t *testing.T, name string, got map[string]metricdata.HistogramDataPoint[float64], want map[string][]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d attribute sets %v, want %d", name, len(got), slices.Sorted(maps.Keys(got)), len(want))
	}
	for set, vs := range want {
		p, ok := got[set]
		if !ok {
			t.Errorf("%s{%s}: no points; have %v", name, set, slices.Sorted(maps.Keys(got)))
			continue
		}
		var sum float64
		for _, v := range vs {
			sum += v
		}
		if p.Count != uint64(len(vs)) || p.Sum != sum {
			t.Errorf("%s{%s}: count %d sum %v, want %d and %v", name, set, p.Count, p.Sum, len(vs), sum)
		}
	}
}

func wantSums(t *testing.T, name string, got, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", name, got, want)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s{%s} = %d, want %d (all: %v)", name, k, got[k], v, got)
		}
	}
}

// A queued scheduled run and the one it waited for, on the fake clock:
// the counts, durations, lateness and queue wait read back through the
// SDK are the clock's, with the task, state and trigger as attributes and
// never an execution id.
func TestTelemetryMetricsOfScheduledRuns(t *testing.T) {
	t.Parallel()
	k := newOtelKit(t)
	b := setup(t, k.options()...)
	first := newGate()
	var calls atomic.Int32
	b.register(t, Spec{
		Name: "q", Schedule: cron.MustParse("0 * * * * *", "UTC"), Overlap: OverlapQueueOne,
		Job: JobFunc(func(ctx context.Context) error {
			if calls.Add(1) == 1 {
				return first.Run(ctx)
			}
			b.clock.Advance(3 * time.Second) // the second run lasts 3 s
			return nil
		}),
	})
	b.start(t)
	slot1, slot2 := testStart.Add(time.Minute), testStart.Add(2*time.Minute)
	b.advanceTo(t, 1, slot1)
	first.waitStarted(t)
	if got := sums(t, k.collect(t)[MetricRunsActive], "{run}"); got["taskmill.task=q"] != 1 {
		t.Errorf("runs active while the first runs: %v, want q=1", got)
	}
	b.advanceTo(t, 1, slot2)
	var xs []*store.Execution
	waitFor(t, "the second fire queued", func() bool {
		xs = b.history(t, "q")
		return len(xs) == 2 && xs[1].State == store.StatePending
	})
	b.clock.Advance(10 * time.Second)
	close(first.release)
	b.wait(t, xs[0].ID)
	second := b.wait(t, xs[1].ID)
	if second.State != store.StateSucceeded || !second.StartedAt.Equal(slot2.Add(10*time.Second)) {
		t.Fatalf("queued run: %s started %v", second.State, second.StartedAt)
	}

	ms := k.collect(t)
	wantSums(t, MetricRunsEnded, sums(t, ms[MetricRunsEnded], "{run}"), map[string]int64{
		"taskmill.state=succeeded,taskmill.task=q,taskmill.trigger=schedule": 2,
	})
	wantSums(t, MetricRunsActive, sums(t, ms[MetricRunsActive], "{run}"), map[string]int64{"taskmill.task=q": 0})
	wantHist(t, MetricRunDuration, hists(t, ms[MetricRunDuration]), map[string][]float64{
		// The first from slot 1 to slot 2 + 10 s; the second 3 s.
		"taskmill.state=succeeded,taskmill.task=q": {70, 3},
	})
	wantHist(t, MetricRunLateness, hists(t, ms[MetricRunLateness]), map[string][]float64{
		"taskmill.task=q,taskmill.trigger=schedule": {0, 10},
	})
	wantHist(t, MetricRunWaitTime, hists(t, ms[MetricRunWaitTime]), map[string][]float64{
		"taskmill.task=q": {10},
	})
	if _, ok := ms[MetricFiresSkipped]; ok {
		t.Errorf("%s reported with nothing skipped", MetricFiresSkipped)
	}
	for name, m := range ms {
		if !strings.HasPrefix(name, "taskmill.") || m.Description == "" {
			t.Errorf("metric %q: description %q", name, m.Description)
		}
	}
}

// Skipped fires count by reason: a fire while the task runs (overlap) and
// a fire whose condition is false; a failed run counts by its state.
func TestTelemetrySkipsAndFailures(t *testing.T) {
	t.Parallel()
	k := newOtelKit(t)
	b := setup(t, k.options()...)
	g := newGate()
	every := cron.MustParse("0 * * * * *", "UTC")
	b.register(t,
		Spec{Name: "busy", Schedule: every, Job: g},
		Spec{Name: "never", Schedule: every, When: func(context.Context) (bool, error) { return false, nil }, Job: JobFunc(ok)},
		Spec{Name: "broken", Job: JobFunc(func(context.Context) error { return errors.New("no disk\nmore") })},
	)
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Minute))
	g.waitStarted(t)
	b.wait(t, b.waitRecords(t, "never", 1)[0].ID)
	b.advanceTo(t, 1, testStart.Add(2*time.Minute))
	b.waitRecords(t, "busy", 1) // the second fire, skipped
	close(g.release)
	for _, name := range []string{"busy", "never"} {
		for _, x := range b.waitRecords(t, name, 2) {
			b.wait(t, x.ID)
		}
	}
	if x := b.wait(t, b.runNow(t, "broken")); x.State != store.StateFailed {
		t.Fatalf("broken: %s", x.State)
	}

	ms := k.collect(t)
	wantSums(t, MetricFiresSkipped, sums(t, ms[MetricFiresSkipped], "{fire}"), map[string]int64{
		"taskmill.reason=overlap,taskmill.task=busy":    1,
		"taskmill.reason=condition,taskmill.task=never": 2,
	})
	wantSums(t, MetricRunsEnded, sums(t, ms[MetricRunsEnded], "{run}"), map[string]int64{
		"taskmill.state=succeeded,taskmill.task=busy,taskmill.trigger=schedule": 1,
		"taskmill.state=skipped,taskmill.task=never,taskmill.trigger=schedule":  2,
		"taskmill.state=failed,taskmill.task=broken,taskmill.trigger=manual":    1,
	})
	// A run skipped by its condition started: it has a duration (zero).
	d := hists(t, ms[MetricRunDuration])
	if p := d["taskmill.state=skipped,taskmill.task=never"]; p.Count != 2 || p.Sum != 0 {
		t.Errorf("duration of the condition's skips: count %d sum %v", p.Count, p.Sum)
	}
	if p := d["taskmill.state=failed,taskmill.task=broken"]; p.Count != 1 {
		t.Errorf("duration of the failed run: count %d", p.Count)
	}
	// Lateness is a scheduled run's only.
	for set := range hists(t, ms[MetricRunLateness]) {
		if strings.Contains(set, "broken") {
			t.Errorf("lateness of a manual run: %s", set)
		}
	}

	failed := k.span(t, "broken")
	if st := failed.Status(); st.Code != codes.Error || st.Description != "no disk" {
		t.Errorf("failed run's span status %v %q, want Error and the error's first line", st.Code, st.Description)
	}
	if got := spanAttr(failed, AttrExitCode); got != "1" {
		t.Errorf("failed run's exit code attribute %q, want 1", got)
	}
}

// A late fire's record of missed slots counts as one skip with reason
// missed, and a graph member whose upstream failed as one with reason
// upstream.
func TestTelemetryMissedAndUpstreamSkips(t *testing.T) {
	t.Parallel()
	k := newOtelKit(t)
	b := setup(t, k.options()...)
	b.register(t, Spec{Name: "tick", Schedule: cron.Every(time.Second), Job: JobFunc(ok)})
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(3*time.Second)) // over two slots: one missed record
	for _, x := range b.waitRecords(t, "tick", 2) {
		b.wait(t, x.ID)
	}

	k2 := newOtelKit(t)
	g := setup(t, k2.options()...)
	g.register(t,
		Spec{Name: "extract", Schedule: cron.MustParse("0 */5 * * * *", "UTC"), Job: JobFunc(func(context.Context) error { return errors.New("down") })},
		Spec{Name: "load", After: []string{"extract"}, Job: JobFunc(ok)},
	)
	g.start(t)
	g.advanceTo(t, 1, testStart.Add(5*time.Minute))
	root := g.waitRecords(t, "extract", 1)[0]
	if _, err := g.eng.WaitGraphRun(context.Background(), root.GraphRunID); err != nil {
		t.Fatal(err)
	}

	wantSums(t, MetricFiresSkipped, sums(t, k.collect(t)[MetricFiresSkipped], "{fire}"), map[string]int64{
		"taskmill.reason=missed,taskmill.task=tick": 1,
	})
	wantSums(t, MetricFiresSkipped, sums(t, k2.collect(t)[MetricFiresSkipped], "{fire}"), map[string]int64{
		"taskmill.reason=upstream,taskmill.task=load": 1,
	})
}

// A dead node's run that this engine's sweep marks abandoned counts as
// ended abandoned, though the task is not registered here.
func TestTelemetryAbandonedBySweep(t *testing.T) {
	t.Parallel()
	k := newOtelKit(t)
	clock := clockwork.NewFakeClockAt(testStart)
	st := memory.New()
	locker := newLocker(t, clock)
	a := newCrashable(t, clock, st, locker, "node-a")
	b := member(t, clock, st, locker, "node-b", k.options()...)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := startLong(t, a.eng)
	a.crash(t)
	for range LeaseTTLDefault/LeaseRenewDefault + 1 {
		sweepRound(t, clock, b)
	}
	if x := getExecution(t, st, id); x.State != store.StateAbandoned {
		t.Fatalf("state = %v, want abandoned", x.State)
	}
	wantSums(t, MetricRunsEnded, sums(t, k.collect(t)[MetricRunsEnded], "{run}"), map[string]int64{
		"taskmill.state=abandoned,taskmill.task=long,taskmill.trigger=manual": 1,
	})
}

func spanAttr(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value.Emit()
		}
	}
	return ""
}

// A run started by RunNow with a request's context is a child of the
// request's span, and its job sees its own span in its context; the span
// carries the task, trigger, execution id and times of the record.
func TestTelemetrySpanJoinsTheCallersTrace(t *testing.T) {
	t.Parallel()
	k := newOtelKit(t)
	b := setup(t, k.options()...)
	var inJob trace.SpanContext
	b.register(t, Spec{Name: "report", Job: JobFunc(func(ctx context.Context) error {
		inJob = trace.SpanContextFromContext(ctx)
		b.clock.Advance(2 * time.Second)
		return nil
	})})
	b.start(t)

	reqCtx, req := k.tp.Tracer("test").Start(context.Background(), "GET /report")
	id, err := b.eng.RunNow(reqCtx, "report")
	if err != nil {
		t.Fatal(err)
	}
	x := b.wait(t, id)
	req.End()

	run := k.span(t, "report")
	if run.Parent().SpanID() != req.SpanContext().SpanID() || run.SpanContext().TraceID() != req.SpanContext().TraceID() {
		t.Errorf("run span's parent %v trace %v, want the request's span %v", run.Parent().SpanID(), run.SpanContext().TraceID(), req.SpanContext())
	}
	if inJob.SpanID() != run.SpanContext().SpanID() {
		t.Errorf("the job's context carries span %v, want the run's %v", inJob.SpanID(), run.SpanContext().SpanID())
	}
	if run.InstrumentationScope().Name != InstrumentationName || run.SpanKind() != trace.SpanKindInternal {
		t.Errorf("scope %q kind %v", run.InstrumentationScope().Name, run.SpanKind())
	}
	if !run.StartTime().Equal(x.StartedAt) || !run.EndTime().Equal(x.EndedAt) {
		t.Errorf("span %v–%v, record %v–%v", run.StartTime(), run.EndTime(), x.StartedAt, x.EndedAt)
	}
	for key, want := range map[attribute.Key]string{
		AttrTask: "report", AttrTrigger: "manual", AttrExecutionID: id.String(),
		AttrState: "succeeded", AttrExitCode: "0",
	} {
		if got := spanAttr(run, key); got != want {
			t.Errorf("span attribute %s = %q, want %q", key, got, want)
		}
	}
	if run.Status().Code != codes.Unset {
		t.Errorf("succeeded run's status %v", run.Status())
	}
}

// A graph run's members link to the root's span, with the graph run's id
// and root as attributes; a scheduled root's span has its nominal time.
func TestTelemetryGraphMembersLinkToTheRoot(t *testing.T) {
	t.Parallel()
	k := newOtelKit(t)
	b := setup(t, k.options()...)
	b.register(t,
		Spec{Name: "extract", Schedule: cron.MustParse("0 */5 * * * *", "UTC"), Job: JobFunc(ok)},
		Spec{Name: "load", After: []string{"extract"}, Job: JobFunc(ok)},
		Spec{Name: "skipped", After: []string{"load"}, When: func(context.Context) (bool, error) { return false, nil }, Job: JobFunc(ok)},
	)
	b.start(t)
	slot := testStart.Add(5 * time.Minute)
	b.advanceTo(t, 1, slot)
	root := b.waitRecords(t, "extract", 1)[0]
	if _, err := b.eng.WaitGraphRun(context.Background(), root.GraphRunID); err != nil {
		t.Fatal(err)
	}
	b.wait(t, b.waitRecords(t, "skipped", 1)[0].ID)

	spans := make(map[string]sdktrace.ReadOnlySpan)
	for _, s := range k.spans.Ended() {
		spans[s.Name()] = s
	}
	rs := spans["extract"]
	if rs == nil || len(spans) != 3 {
		t.Fatalf("spans %v, want extract, load and skipped", slices.Sorted(maps.Keys(spans)))
	}
	if got := spanAttr(rs, AttrScheduledAt); got != slot.Format(time.RFC3339Nano) {
		t.Errorf("root's nominal time attribute %q, want %q", got, slot.Format(time.RFC3339Nano))
	}
	for _, name := range []string{"load", "skipped"} {
		s := spans[name]
		if ls := s.Links(); len(ls) != 1 || !ls[0].SpanContext.Equal(rs.SpanContext()) {
			t.Errorf("%s links %v, want the root's span %v", name, ls, rs.SpanContext())
		}
		if spanAttr(s, AttrGraphRunID) != root.GraphRunID.String() || spanAttr(s, AttrRootTask) != "extract" || spanAttr(s, AttrTrigger) != "dependency" {
			t.Errorf("%s attributes %v", name, s.Attributes())
		}
	}
	if got := spanAttr(spans["skipped"], AttrReason); got != store.ReasonCondition {
		t.Errorf("skipped member's reason attribute %q", got)
	}
}

// The providers' options refuse nil; the no-op providers trace and count
// nothing and cost no span.
func TestTelemetryOptions(t *testing.T) {
	t.Parallel()
	for _, o := range []Option{WithMeterProvider(nil), WithTracerProvider(nil)} {
		if _, err := New(o); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("nil provider: %v, want ErrInvalidOption", err)
		}
	}
	b := setup(t, WithMeterProvider(metricnoop.NewMeterProvider()), WithTracerProvider(tracenoop.NewTracerProvider()))
	if b.eng.tel.tracing() != nil {
		t.Error("the no-op tracer provider traces runs")
	}
	var seen trace.SpanContext
	b.register(t, Spec{Name: "t", Job: JobFunc(func(ctx context.Context) error {
		seen = trace.SpanContextFromContext(ctx)
		return nil
	})})
	b.start(t)
	if x := b.wait(t, b.runNow(t, "t")); x.State != store.StateSucceeded || seen.IsValid() {
		t.Errorf("run %s with span %v", x.State, seen)
	}
}

// Environment of TestTelemetryGlobalProvidersChild.
const telemetryChildEnv = "TASKMILL_TELEMETRY_CHILD"

// Without options the engine reports to otel's global providers: nothing
// while the host has set none, and to the host's once it sets them, even
// after New. Setting the globals cannot be undone, so the check runs in a
// child process (this test binary, as TestTelemetryGlobalProvidersChild).
func TestTelemetryGlobalProviders(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestTelemetryGlobalProvidersChild$", "-test.v")
	cmd.Env = append(os.Environ(), telemetryChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestTelemetryGlobalProvidersChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestTelemetryGlobalProvidersChild(t *testing.T) {
	if os.Getenv(telemetryChildEnv) == "" {
		return
	}
	b := setup(t)
	var seen []trace.SpanContext
	b.register(t, Spec{Name: "t", Job: JobFunc(func(ctx context.Context) error {
		seen = append(seen, trace.SpanContextFromContext(ctx))
		return nil
	})})
	b.start(t)
	if b.eng.tel.tracing() != nil {
		t.Error("runs are traced while the global tracer provider is unset")
	}
	b.wait(t, b.runNow(t, "t"))

	k := newOtelKit(t)
	otel.SetTracerProvider(k.tp)
	otel.SetMeterProvider(k.mp)
	b.wait(t, b.runNow(t, "t"))
	if len(seen) != 2 || seen[0].IsValid() || !seen[1].IsValid() {
		t.Fatalf("spans seen by the jobs: %v, want none and then one", seen)
	}
	if n := len(k.spans.Ended()); n != 1 {
		t.Errorf("%d spans recorded, want 1", n)
	}
	wantSums(t, MetricRunsEnded, sums(t, k.collect(t)[MetricRunsEnded], "{run}"), map[string]int64{
		"taskmill.state=succeeded,taskmill.task=t,taskmill.trigger=manual": 1,
	})
}
