// This file owns the engine's options (Option) but for the cluster's,
// which are in lease.go.

package task

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/dag"
	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

// Option configures an Engine. Options validate their input: New returns an
// error wrapping ErrInvalidOption for a bad value.
type Option func(*config) error

// ExitCodeMapper maps a failed run's error to an exit code. It is asked only
// when the error carries no ExitCode() of its own; a result of 0 or less
// means "no opinion" and the code is 1.
type ExitCodeMapper func(err error) int

// ShutdownGraceDefault is how long RunMain lets a run finish after a signal
// before recording it cancelled.
const ShutdownGraceDefault = 10 * time.Second

type integration struct {
	name string
	n    notify.Notifier
}

type config struct {
	store      store.Store
	logger     *zap.Logger
	clock      clockwork.Clock
	node       string
	listeners  []Listener
	mapper     ExitCodeMapper
	noHooks    bool
	dagOpts    []dag.Option
	tenant     string
	retention  *Retention
	integs     []integration
	storeOwned bool // the engine made the store and closes it
	maxHeld    int  // WithMaxHeldRecords, or MaxHeldRecordsDefault
	maxHeldSet bool
	lease      leaseConfig // WithLocker, WithLease (lease.go)

	recentErrors    int // WithRecentErrors, or RecentErrorsDefault
	recentErrorsSet bool
	reportEvery     time.Duration // WithReportInterval, or ReportIntervalDefault

	meterProvider  metric.MeterProvider // WithMeterProvider, or nil: the global one
	tracerProvider trace.TracerProvider // WithTracerProvider, or nil: the global one
}

func defaultNode() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "taskmill"
	}
	return host + "-" + strconv.Itoa(os.Getpid()) + "-" + uuid.NewString()[:8]
}

// WithStore sets where executions and task state are recorded. The engine
// does not close a store it was given. Default: a new in-memory store
// (store/memory: memory.New()), which keeps the newest
// memory.MaxPerTaskDefault records of each task, closed by Shutdown.
func WithStore(s store.Store) Option {
	return func(c *config) error {
		if s == nil {
			return fmt.Errorf("%w: WithStore(nil)", ErrInvalidOption)
		}
		c.store = s
		c.storeOwned = false
		return nil
	}
}

// WithRecentErrors sets how many of the newest errors a run's live report
// keeps (Progress.Error); the count of all of them is kept regardless. 0
// keeps none. A negative n is an error. Default: RecentErrorsDefault.
func WithRecentErrors(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: WithRecentErrors(%d): must not be negative", ErrInvalidOption, n)
		}
		c.recentErrors, c.recentErrorsSet = n, true
		return nil
	}
}

// WithReportInterval sets how often a running execution's live report is
// saved to its record in the store (store.Execution.Report), where
// another engine, or anything reading the store, sees it while the run
// goes. The final report is written with the run's end regardless. d must
// be positive. Default: ReportIntervalDefault.
func WithReportInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithReportInterval(%v): must be positive", ErrInvalidOption, d)
		}
		c.reportEvery = d
		return nil
	}
}

// WithLogger sets the logger; the engine logs through named children of it.
// Default: zap.NewNop().
func WithLogger(l *zap.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger(nil)", ErrInvalidOption)
		}
		c.logger = l
		return nil
	}
}

// WithClock sets the clock the engine and its gocron scheduler share. Tests
// pass a clockwork.FakeClock and advance it. Default: the real clock.
func WithClock(clk clockwork.Clock) Option {
	return func(c *config) error {
		if clk == nil {
			return fmt.Errorf("%w: WithClock(nil)", ErrInvalidOption)
		}
		c.clock = clk
		return nil
	}
}

// WithNodeID names this engine instance in the records it writes
// (Execution.Node). The id follows the rule of Spec.Name: at most 200
// bytes of valid UTF-8, no control characters. Two live engines on one
// store must not share an id; an engine restarted under the id of a killed
// one waits at Start for the dead one's node lease to expire. Default:
// host name, process id and a random suffix.
func WithNodeID(id string) Option {
	return func(c *config) error {
		if err := validateName("node id", id); err != nil {
			return fmt.Errorf("%w: WithNodeID: %w", ErrInvalidOption, err)
		}
		c.node = id
		return nil
	}
}

// WithListener adds listeners told about every run of every task, in the
// order given, before each task's own Spec.Listeners. Default: none.
func WithListener(ls ...Listener) Option {
	return func(c *config) error {
		for i, l := range ls {
			if l == nil {
				return fmt.Errorf("%w: WithListener: listener %d is nil", ErrInvalidOption, i)
			}
		}
		c.listeners = append(c.listeners, ls...)
		return nil
	}
}

// WithExitCodeMapper sets how errors without an ExitCode() method map to
// exit codes. Default: every such error records 1.
func WithExitCodeMapper(m ExitCodeMapper) Option {
	return func(c *config) error {
		if m == nil {
			return fmt.Errorf("%w: WithExitCodeMapper(nil)", ErrInvalidOption)
		}
		c.mapper = m
		return nil
	}
}

// WithoutInitHooks makes Start skip the hooks added with OnInit; the engine
// runs only the tasks registered on it directly. Default: hooks run.
func WithoutInitHooks() Option {
	return func(c *config) error {
		c.noHooks = true
		return nil
	}
}

// WithMaxGraphTasks sets how many tasks one task graph may hold; Start and
// Register reject a larger graph naming its root. Default:
// dag.MaxNodesDefault (1,000).
func WithMaxGraphTasks(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: WithMaxGraphTasks(%d): must be at least 1", ErrInvalidOption, n)
		}
		c.dagOpts = append(c.dagOpts, dag.WithMaxNodes(n))
		return nil
	}
}

// WithMaxDependents sets how many tasks may run directly after one task;
// Start and Register reject more, naming the task. Default:
// dag.MaxChildrenDefault (100).
func WithMaxDependents(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: WithMaxDependents(%d): must be at least 1", ErrInvalidOption, n)
		}
		c.dagOpts = append(c.dagOpts, dag.WithMaxChildren(n))
		return nil
	}
}

// WithIntegration adds a named notification integration (a webhook, the
// zap integration, any notify.Notifier) that tasks name in
// Spec.ErrorIntegration. Messages are delivered in the background, never
// on the scheduler's path; see package notify. Default: none.
func WithIntegration(name string, n notify.Notifier) Option {
	return func(c *config) error {
		if n == nil {
			return fmt.Errorf("%w: WithIntegration(%s): notifier is nil", ErrInvalidOption, quote.Short(name))
		}
		for _, in := range c.integs {
			if in.name == name {
				return fmt.Errorf("%w: WithIntegration(%s): added twice", ErrInvalidOption, quote.Short(name))
			}
		}
		c.integs = append(c.integs, integration{name: name, n: n})
		return nil
	}
}

// WithTenantID sets the tenantId of every notification. Default: "".
func WithTenantID(id string) Option {
	return func(c *config) error {
		c.tenant = id
		return nil
	}
}

// WithMaxHeldRecords sets how many records the engine holds in memory while
// its store refuses them — a skipped execution for each fire that could not
// claim its slot, the missed-slots records of late fires — to write once
// the store answers again. Past the limit, a task's further slots are only
// counted, and recorded as one skipped execution saying how many (reason
// store.ReasonStoreUnavailable). 0 holds none: every such slot is counted.
// Negative is rejected. Default: MaxHeldRecordsDefault (10,000).
func WithMaxHeldRecords(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: WithMaxHeldRecords(%d): must not be negative", ErrInvalidOption, n)
		}
		c.maxHeld, c.maxHeldSet = n, true
		return nil
	}
}
