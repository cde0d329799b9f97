package contender

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/taskmill/taskmill/task"
)

// TaskmillOtel is taskmill on its default store with OpenTelemetry's SDK
// set as the engine's providers (task.WithMeterProvider,
// task.WithTracerProvider): every run is sampled into a span, batched and
// exported to nowhere, and its metrics are aggregated and collected every
// 10 s into nowhere — the cost a host pays with telemetry on, less its
// exporters' network.
type TaskmillOtel struct {
	*Taskmill
	mp *sdkmetric.MeterProvider
	tp *sdktrace.TracerProvider
}

// NewTaskmillOtel returns an engine on the memory store reporting to the
// OpenTelemetry SDK.
func NewTaskmillOtel() (*TaskmillOtel, error) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(
		sdkmetric.NewPeriodicReader(discardMetrics{}, sdkmetric.WithInterval(10*time.Second))))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	t, err := newTaskmill(BackendMemory, "", task.WithMeterProvider(mp), task.WithTracerProvider(tp))
	if err != nil {
		return nil, errors.Join(err, mp.Shutdown(context.Background()), tp.Shutdown(context.Background()))
	}
	return &TaskmillOtel{Taskmill: t, mp: mp, tp: tp}, nil
}

// Stop stops the engine, then the providers.
func (t *TaskmillOtel) Stop() {
	t.Taskmill.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := errors.Join(t.mp.Shutdown(ctx), t.tp.Shutdown(ctx)); err != nil {
		fmt.Fprintln(os.Stderr, "taskmill-otel: shutting the providers down:", err)
	}
}

// discardMetrics is a metric exporter that drops what it is given.
type discardMetrics struct{}

func (discardMetrics) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (discardMetrics) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (discardMetrics) Export(context.Context, *metricdata.ResourceMetrics) error { return nil }
func (discardMetrics) ForceFlush(context.Context) error                          { return nil }
func (discardMetrics) Shutdown(context.Context) error                            { return nil }
