// This file owns the Engine and entry types, New, and the lock order of
// the package.

package task

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/dag"
	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// Locking in package task. A lock may be taken while holding only the
// locks listed before it:
//
//  1. Engine.regMu — Register, Update and the arming part of Start.
//  2. Engine.armMu — arming and disarming schedules (calls into gocron).
//  3. group.mu — one schedule's dispatch; held while its fire admits runs.
//  4. Engine.saveMu — writing a task's state to the store (saveState,
//     persistState, setSuspended) and reading every state from it
//     (pollStates); the state itself is read and changed under mu.
//  5. run.writeMu — one run's store writes after its creation.
//  6. Engine.mu — the tasks and their state, groups, graph runs, status.
//  7. runTable.mu, run.mu — taken under mu (never the other way round).
//
// graphRun.mu, workers.mu, backlog.mu, the node lease's mu (lease.go),
// singleLeases.mu (single.go), waitingRuns.mu (cluster.go),
// scheduleCache.mu, a run's jobCtx.mu and event.mu (runctx.go, run.go),
// taskTelemetry.mu (telemetry.go) and the OnInit hooks' lock are leaves; so is Progress.mu (progress.go)
// but for the mu of its phases and its run's mu, taken under it (never
// the other way round):
// nothing else is taken while one is held.
//
// A graph root's lease being acquired or released (entry.graphLease.busy,
// graphlease.go) is waited for holding at most group.mu; whoever acquires
// or releases it takes only mu, briefly, and calls the locker.
//
// A task's state (suspended, reason, consecutive failures, last slot) has
// one owner in a process, Engine.mu: every change is one read-modify-write
// under it (changeStateLocked); saveMu only orders the writes to the
// store. Among engines sharing a store the stored state is the owner: each
// change is one store.StateChange applied by the store, whose result
// replaces the engine's copy, and the engines poll it (lease.go).

type status int

const (
	statusNew status = iota
	statusStarting
	statusStarted
	statusClosed
)

// Engine runs registered tasks on their schedules and records every run in
// its store. Build one with New, add tasks with Register (or OnInit hooks),
// then Start it; Shutdown stops it. All methods are safe for concurrent use.
type Engine struct {
	cfg   config
	hub   *notify.Hub
	log   *zap.Logger
	clock clockwork.Clock
	store store.Store
	tel   *telemetry // OpenTelemetry instruments and tracer (telemetry.go)

	// storeCtx is used for the engine's own store writes: they must not be
	// cut short because a run or a caller's context ended.
	storeCtx context.Context

	regMu  sync.Mutex // serialises Register, Update and the arming part of Start
	armMu  sync.Mutex // serialises arming, which calls into gocron
	saveMu sync.Mutex // serialises writing task states to the store (see saveState)
	mu     sync.Mutex // guards what follows, and each entry's fields
	status status
	tasks  map[string]*entry // changed through putTask, dropTask, setDef
	// nAfter and nInteg count the tasks with predecessors and with an
	// error integration: with none, building the task graph has nothing to
	// look at.
	nAfter, nInteg int
	hookAdded      []string // tasks registered while Start ran the hooks
	groups         map[string]*group
	runs           runTable   // runs in flight here, by execution ID; its own lock
	pool           workers    // goroutines that execute runs (pool.go)
	graph          *dag.Graph // the task graph, built at Start and on changes after
	// graphRuns are the graph runs in progress.
	graphRuns map[uuid.UUID]*graphRun
	sched     gocron.Scheduler
	wg        sync.WaitGroup // one per run (pending or running)
	bg        sync.WaitGroup // background work: catch-up sequences, fires in progress
	forced    chan struct{}  // closed when Shutdown's context ended: stop retrying
	schedules scheduleCache  // Spec.Cron parsed, by text
	held      *backlog       // records the store refused, to write later (backlog.go)
	heldStop  func()         // stops the retrier of held; set by Start
	lease     *nodeLease     // the node lease, from Start to Shutdown; nil without a locker
	single    singleLeases   // the SingleInstance leases of one-shot runs (single.go)

	// schedStop bounds how long stopping gocron waits for a fire in
	// progress (schedulerStopTimeout; tests shorten it). Shutdown waits
	// for fires itself (bg), so it only bounds gocron's own wait.
	schedStop time.Duration

	dispatches atomic.Int64 // fires handled, for tests and diagnostics
	sweeps     atomic.Int64 // sweeps done (sweep.go), for tests and diagnostics
	polls      atomic.Int64 // task state polls done (lease.go), for tests
	leaseWaits atomic.Int64 // waits of Start for a held node lease (leasewait.go), for tests
	abandoned  atomic.Int64 // executions this engine's sweeps marked abandoned
	waiting    waitingRuns  // pending records to start when the task is free (cluster.go)
}

// entry is a registered task and its live counters. Guarded by Engine.mu.
type entry struct {
	spec    *def // replaced whole by Update and shared with runs; only arm changes it (Schedule)
	group   *group
	running int  // runs reserved or running
	pending *run // the queued run of OverlapQueueOne
	// graphRuns counts the graph runs in progress that this task is the
	// root of; the root is busy until they end.
	graphRuns int
	// since is where the task's dispatching starts: slots after it that a
	// late fire passes over are recorded missed; older ones are the
	// misfire policy's.
	since time.Time
	// state is the persisted state, nil while it is the default (not
	// suspended, no failures, no slot): most tasks of a large host carry
	// nothing. Read and write it through getState and setState, under
	// Engine.mu.
	state *store.TaskState
	last  *store.Execution
	// lastRead says that Tasks has read the task's last execution from
	// the store once (see Tasks).
	lastRead bool
	// lastSlot is the newest slot this engine fired the task for (a
	// claiming record, run or skipped), kept in the persisted state's
	// LastScheduledAt whenever the engine writes it.
	lastSlot time.Time
	// graphLease is the lease a graph root holds on engines sharing a
	// store while it runs here (graphlease.go).
	graphLease graphLease
	// tel is the task's metric attributes, made on first use
	// (telemetry.go).
	tel atomic.Pointer[taskTelemetry]
}

// New returns an engine configured by opts. It starts nothing.
func New(opts ...Option) (*Engine, error) {
	cfg := config{}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.store == nil {
		cfg.store = memory.New()
		cfg.storeOwned = true
	}
	if cfg.logger == nil {
		cfg.logger = zap.NewNop()
	}
	if cfg.clock == nil {
		cfg.clock = clockwork.NewRealClock()
	}
	if !cfg.maxHeldSet {
		cfg.maxHeld = MaxHeldRecordsDefault
	}
	if !cfg.recentErrorsSet {
		cfg.recentErrors = RecentErrorsDefault
	}
	if cfg.reportEvery == 0 {
		cfg.reportEvery = ReportIntervalDefault
	}
	if cfg.node == "" {
		cfg.node = defaultNode()
	}
	cfg.resolveLease()
	tel, err := newTelemetry(&cfg)
	if err != nil {
		return nil, err
	}
	hub, err := notify.NewHub(notify.WithLogger(cfg.logger.Named("taskmill").Named("notify")))
	if err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	e := &Engine{
		cfg:       cfg,
		tel:       tel,
		log:       cfg.logger.Named("taskmill"),
		clock:     cfg.clock,
		store:     cfg.store,
		storeCtx:  context.Background(),
		schedStop: schedulerStopTimeout,
		tasks:     make(map[string]*entry),
		groups:    make(map[string]*group),

		graphRuns: make(map[uuid.UUID]*graphRun),
		forced:    make(chan struct{}),
		held:      newBacklog(cfg.maxHeld),
	}
	if cfg.retention != nil {
		spec := e.retentionSpec(*cfg.retention)
		if err := spec.prepare(nil); err != nil {
			return nil, fmt.Errorf("%w: WithRetention: %w", ErrInvalidOption, err)
		}
		e.putTask(&entry{spec: newDef(&spec)})
	}
	for _, in := range cfg.integs {
		if err := hub.Add(in.name, in.n); err != nil {
			if cerr := hub.Close(context.Background()); cerr != nil {
				cfg.logger.Warn("closing the notification hub", zap.Error(cerr))
			}
			return nil, fmt.Errorf("%w: WithIntegration(%s): %w", ErrInvalidOption, quote.Short(in.name), err)
		}
	}
	e.hub = hub
	return e, nil
}

// Store returns the store the engine records into.
func (e *Engine) Store() store.Store { return e.store }

// lookup finds a task; e.mu must be held.
func (e *Engine) lookup(name string) (*entry, error) {
	ent, ok := e.tasks[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTask, quote.Short(name))
	}
	return ent, nil
}

// notStarted returns the error for a call that needs a started engine; e.mu
// must be held.
func (e *Engine) notStarted() error {
	if e.status == statusClosed {
		return ErrEngineClosed
	}
	return ErrNotStarted
}

// now is the time the engine records: the clock's, in UTC, truncated to the
// microsecond every backend keeps (PostgreSQL's precision), so a record
// reads back equal from any store.
func (e *Engine) now() time.Time {
	return e.clock.Now().UTC().Truncate(time.Microsecond)
}
