package task

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/cron"
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
// graphRun.mu, backlog.mu, the node lease's mu (lease.go),
// singleLeases.mu (single.go), waitingRuns.mu (cluster.go),
// scheduleCache.mu and the OnInit hooks' lock are leaves:
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
		cfg.maxHeld = DefaultMaxHeldRecords
	}
	if cfg.node == "" {
		cfg.node = defaultNode()
	}
	cfg.resolveLease()
	hub, err := notify.NewHub(notify.WithLogger(cfg.logger.Named("taskmill").Named("notify")))
	if err != nil {
		return nil, fmt.Errorf("task: %w", err)
	}
	e := &Engine{
		cfg:       cfg,
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

// getState returns the task's state (the default if none is kept).
func (ent *entry) getState() store.TaskState {
	if ent.state == nil {
		return store.TaskState{Task: ent.spec.Name}
	}
	return *ent.state
}

// suspended reports whether the task is suspended.
func (ent *entry) suspended() bool { return ent.state != nil && ent.state.Suspended }

// changeStateLocked changes the task's state in one read-modify-write;
// e.mu must be held. Every change of a task's state after Start goes
// through it (or countOutcomeLocked, which calls it), so no change is ever
// written back from a copy read earlier.
func (e *Engine) changeStateLocked(ent *entry, change func(*store.TaskState)) {
	st := ent.getState()
	change(&st)
	ent.setState(st)
}

// setState keeps st, or nothing if it is the default.
func (ent *entry) setState(st store.TaskState) {
	if !st.Suspended && st.SuspendedReason == "" && st.SuspendedAt.IsZero() && st.ConsecutiveFailures == 0 &&
		st.LastScheduledAt.IsZero() {
		ent.state = nil
		return
	}
	ent.state = &st
}

// putTask adds a task; e.mu must be held.
func (e *Engine) putTask(ent *entry) {
	e.tasks[ent.spec.Name] = ent
	e.countDef(ent.spec, 1)
}

// dropTask removes a task; e.mu must be held.
func (e *Engine) dropTask(name string) {
	if ent, ok := e.tasks[name]; ok {
		e.countDef(ent.spec, -1)
		delete(e.tasks, name)
	}
}

// setDef replaces a task's definition; e.mu must be held.
func (e *Engine) setDef(ent *entry, d *def) {
	e.countDef(ent.spec, -1)
	ent.spec = d
	e.countDef(d, 1)
}

func (e *Engine) countDef(d *def, delta int) {
	if len(d.o().After) > 0 {
		e.nAfter += delta
	}
	if d.o().ErrorIntegration != "" {
		e.nInteg += delta
	}
}

// Store returns the store the engine records into.
func (e *Engine) Store() store.Store { return e.store }

// Register adds a task. Before Start it only validates and remembers the
// spec (the task graph is checked by Start); after Start the task graph is
// checked at once and the task armed. A bad spec is rejected with an error
// wrapping ErrInvalidSpec that names the task and the field; a name already
// registered with ErrDuplicateTask; a graph problem (an unknown
// predecessor, a cycle) with the dag package's error naming the tasks.
func (e *Engine) Register(spec Spec) error {
	if err := spec.prepare(&e.schedules); err != nil {
		return err
	}
	e.regMu.Lock()
	defer e.regMu.Unlock()
	e.mu.Lock()
	if e.status == statusClosed {
		e.mu.Unlock()
		return ErrEngineClosed
	}
	if _, ok := e.tasks[spec.Name]; ok {
		e.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrDuplicateTask, spec.Name)
	}
	d := newDef(&spec)
	ent := &entry{spec: d}
	if e.status != statusStarted {
		e.putTask(ent)
		if e.status == statusStarting {
			e.hookAdded = append(e.hookAdded, spec.Name)
		}
		e.mu.Unlock()
		return nil
	}
	if _, err := e.buildGraph(d); err != nil {
		e.mu.Unlock()
		return err
	}
	e.mu.Unlock()

	if err := e.loadState(ent); err != nil {
		return err
	}
	plan, err := e.planCatchUp(e.storeCtx, ent, e.clock.Now(), nil)
	if err != nil {
		return err
	}
	e.mu.Lock()
	g, err := e.buildGraph(d)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.putTask(ent)
	e.graph = g
	e.mu.Unlock()
	if err := e.arm(ent); err != nil {
		e.mu.Lock()
		e.dropTask(spec.Name)
		if g, gerr := e.buildGraph(nil); gerr == nil {
			e.graph = g
		}
		e.mu.Unlock()
		return err
	}
	if plan != nil {
		e.applyCatchUp(plan)
	}
	return nil
}

// Update replaces the definition of a registered task: its job, schedule,
// predecessors, condition, policies. Runs in progress keep the definition
// they started with, and so does a graph run in progress, for every task in
// it (Snowflake's task versioning): the change applies from the next run.
// Update validates like Register and leaves the task as it was on error.
func (e *Engine) Update(spec Spec) error {
	if err := spec.prepare(&e.schedules); err != nil {
		return err
	}
	d := newDef(&spec)
	e.regMu.Lock()
	defer e.regMu.Unlock()
	e.mu.Lock()
	ent, err := e.lookup(spec.Name)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	started := e.status == statusStarted
	var g *dag.Graph
	if started {
		if g, err = e.buildGraph(d); err != nil {
			e.mu.Unlock()
			return err
		}
	}
	old := ent.spec
	e.setDef(ent, d)
	if started {
		e.graph = g
	}
	e.mu.Unlock()
	if !started || scheduleKey(old.Schedule) == scheduleKey(spec.Schedule) {
		return nil
	}
	e.disarm(ent)
	if err := e.arm(ent); err != nil {
		e.mu.Lock()
		e.setDef(ent, old)
		if g, gerr := e.buildGraph(nil); gerr == nil {
			e.graph = g
		}
		e.mu.Unlock()
		if rerr := e.arm(ent); rerr != nil {
			e.log.Error("re-arming the old schedule after a failed update", zap.String("task", spec.Name), zap.Error(rerr))
		}
		return err
	}
	return nil
}

// prepare validates the spec (parsing Cron) and copies what the caller
// could change after handing it over.
func (s *Spec) prepare(cache *scheduleCache) error {
	if err := s.validate(cache); err != nil {
		return err
	}
	s.Listeners = slices.Clone(s.Listeners)
	s.Params = maps.Clone(s.Params)
	s.After = slices.Clone(s.After)
	return nil
}

func scheduleKey(s cron.Schedule) string {
	if s == nil {
		return ""
	}
	return s.String()
}

// Start runs the init hooks (OnInit), takes the node lease if the engine
// has a locker, loads each task's persisted state, arms one timer per
// distinct schedule and begins firing. A node lease held by a killed
// earlier process of the node is waited for, at most its TTL and one
// renewal interval, within ctx; one held by a live engine fails Start with
// an error wrapping lock.ErrHeld (see the package doc). It returns an
// error naming the hook or task that failed; the engine is then unusable
// except for Shutdown.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	switch e.status {
	case statusStarting, statusStarted:
		e.mu.Unlock()
		return ErrAlreadyStarted
	case statusClosed:
		e.mu.Unlock()
		return ErrEngineClosed
	}
	e.status = statusStarting
	e.hookAdded = nil
	e.mu.Unlock()

	if err := e.start(ctx); err != nil {
		e.stopLease(ctx)
		// Undo what the hooks registered, so a corrected Start can run
		// them again.
		e.mu.Lock()
		for _, name := range e.hookAdded {
			e.dropTask(name)
		}
		e.hookAdded = nil
		e.graph = nil
		if e.status == statusStarting {
			e.status = statusNew
		}
		e.mu.Unlock()
		return err
	}
	return nil
}

func (e *Engine) start(ctx context.Context) error {
	if !e.cfg.noHooks {
		if err := runHooks(e); err != nil {
			return err
		}
	}
	if err := e.acquireLease(ctx); err != nil {
		return err
	}
	e.regMu.Lock()
	defer e.regMu.Unlock()
	e.mu.Lock()
	g, err := e.buildGraph(nil)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.graph = g
	ents := make([]*entry, 0, len(e.tasks))
	for _, ent := range e.tasks {
		ents = append(ents, ent)
	}
	e.mu.Unlock()
	startNow := e.clock.Now()
	if err := e.loadStates(ents); err != nil {
		return err
	}
	var slots map[string]time.Time
	if l, ok := e.store.(store.SlotLister); ok {
		if slots, err = l.LastSlots(ctx); err != nil {
			return fmt.Errorf("task: finding the tasks' last slots: %w", err)
		}
	}
	var plans []*catchUp
	for _, ent := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		plan, err := e.planCatchUp(ctx, ent, startNow, slots)
		if err != nil {
			return err
		}
		if plan != nil {
			plans = append(plans, plan)
		}
	}

	sched, err := gocron.NewScheduler(
		gocron.WithClock(e.clock),
		gocron.WithLocation(time.UTC),
		gocron.WithStopTimeout(e.schedStop),
		gocron.WithLogger(gocronLogger{e.log.Named("gocron").Sugar()}),
	)
	if err != nil {
		return fmt.Errorf("task: creating scheduler: %w", err)
	}
	e.mu.Lock()
	if e.status != statusStarting {
		// Shutdown came while we loaded state.
		e.mu.Unlock()
		e.stopScheduler(sched)
		return ErrEngineClosed
	}
	e.sched = sched
	names := make([]string, 0, len(e.tasks))
	for name := range e.tasks {
		names = append(names, name)
	}
	e.mu.Unlock()
	sort.Strings(names)
	for _, name := range names {
		e.mu.Lock()
		ent := e.tasks[name]
		e.mu.Unlock()
		if err := e.arm(ent); err != nil {
			e.mu.Lock()
			e.sched = nil
			e.groups = make(map[string]*group)
			for _, ent := range e.tasks {
				ent.group = nil
			}
			e.mu.Unlock()
			e.stopScheduler(sched)
			return err
		}
	}
	e.mu.Lock()
	if e.status != statusStarting {
		e.mu.Unlock()
		e.stopScheduler(sched)
		return ErrEngineClosed
	}
	sched.Start()
	e.status = statusStarted
	e.startHeld()
	e.startRenewer()
	e.log.Info("engine started", zap.Int("tasks", len(e.tasks)), zap.Int("timers", len(e.groups)), zap.String("node", e.cfg.node))
	e.mu.Unlock()
	for _, p := range plans {
		e.applyCatchUp(p)
	}
	return nil
}

func (e *Engine) stopScheduler(s gocron.Scheduler) {
	if err := s.Shutdown(); err != nil {
		e.log.Warn("stopping scheduler", zap.Error(err))
	}
}

// loadStates reads the persisted states of many tasks at once
// (store.ListStates: one call on a store.StateLister) and applies them as
// loadState does.
func (e *Engine) loadStates(ents []*entry) error {
	names := make([]string, len(ents))
	for i, ent := range ents {
		names[i] = ent.spec.Name
	}
	states, err := store.ListStates(e.storeCtx, e.store, names)
	if err != nil {
		return fmt.Errorf("task: loading task states: %w", err)
	}
	for _, ent := range ents {
		if err := e.applyState(ent, states[ent.spec.Name]); err != nil {
			return err
		}
	}
	return nil
}

// loadState reads the task's persisted state, or persists the initial one
// (suspended when Spec.StartSuspended).
func (e *Engine) loadState(ent *entry) error {
	st, err := e.store.GetTaskState(e.storeCtx, ent.spec.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		st = nil
	case err != nil:
		return fmt.Errorf("task: task %q: loading state: %w", ent.spec.Name, err)
	}
	return e.applyState(ent, st)
}

// applyState sets the task's state to st, the persisted one, or when st is
// nil (none is stored) to the initial one, persisted if not the default.
func (e *Engine) applyState(ent *entry, st *store.TaskState) error {
	name := ent.spec.Name
	if st == nil {
		if !ent.spec.o().StartSuspended {
			e.mu.Lock()
			ent.setState(store.TaskState{}) // the default: nothing kept
			e.mu.Unlock()
			return nil
		}
		st = &store.TaskState{Task: name}
		{
			now := e.now()
			st.Suspended, st.SuspendedReason, st.SuspendedAt, st.UpdatedAt = true, "registered with StartSuspended", now, now
			if err := e.store.PutTaskState(e.storeCtx, st); err != nil {
				return fmt.Errorf("task: task %q: saving initial state: %w", name, err)
			}
		}
	}
	e.mu.Lock()
	ent.setState(*st)
	e.mu.Unlock()
	return nil
}

// schedulerStopTimeout bounds how long stopping gocron waits for a dispatch
// in progress. Shutdown waits for every fire in progress all the same (they
// count in Engine.bg), so that none writes to a store its host has closed.
const schedulerStopTimeout = 5 * time.Second

// ShutdownCancelGrace is how long Shutdown, once its context has ended and
// it has cancelled the runs still going, lets them end by themselves
// before recording them cancelled.
const ShutdownCancelGrace = 100 * time.Millisecond

// Shutdown stops firing, then waits for a fire in progress to write its
// records and for running executions to end. If ctx
// ends first it cancels them (cause ErrShutdown), gives them
// ShutdownCancelGrace to return, records those that did not as cancelled
// (without calling their OnTaskEnd listeners: their job is still running)
// and returns ctx.Err(). It then drains the notification queues until ctx
// ends.
// Pending (queued) runs are recorded cancelled. A store the engine created
// itself is closed. Later calls return ErrEngineClosed.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.status == statusClosed {
		e.mu.Unlock()
		return ErrEngineClosed
	}
	e.status = statusClosed
	sched := e.sched
	var pending []*run
	for _, ent := range e.tasks {
		if ent.pending != nil {
			pending = append(pending, ent.pending)
		}
	}
	e.mu.Unlock()

	if sched != nil {
		e.stopScheduler(sched)
	}
	for _, r := range pending {
		r.cancelPending(ErrShutdown)
	}
	e.dropWaiting()

	done := make(chan struct{})
	go func() {
		e.bg.Wait()
		e.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		close(e.forced)
		runs := e.runs.all()
		for _, r := range runs {
			r.cancel(ErrShutdown)
		}
		// Jobs that return promptly when cancelled end through the normal
		// path (their error recorded, OnTaskEnd called); the others are
		// recorded cancelled now and their later result is dropped.
		select {
		case <-done:
		case <-time.After(ShutdownCancelGrace):
			for _, r := range runs {
				r.abort(ErrShutdown)
			}
		}
	}
	e.stopHeld(ctx)
	e.stopLease(ctx)
	if herr := e.hub.Close(ctx); herr != nil && err == nil {
		err = herr // the notification queues did not drain in time
	}
	if e.cfg.storeOwned {
		if cerr := e.store.Close(); cerr != nil {
			e.log.Warn("closing store", zap.Error(cerr))
		}
	}
	e.log.Info("engine shut down", zap.Bool("forced", err != nil))
	return err
}

// lastFinal returns a copy of the task's last execution if it is the one
// with the ID and final, else nil.
func (e *Engine) lastFinal(task string, id uuid.UUID) *store.Execution {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent := e.tasks[task]
	if ent == nil || ent.last == nil || ent.last.ID != id || !ent.last.State.Final() {
		return nil
	}
	return ent.last.Clone()
}

// RunOption configures one run started by RunNow, RunOnce or RunMain.
type RunOption func(*runConfig) error

type runConfig struct {
	args           []string
	externalID     string
	parentID       uuid.UUID
	singleInstance bool
	engineOpts     []Option
	forMain        bool
}

// WithArgs sets the run's arguments, recorded in Execution.Args and read by
// the job with Args(ctx). Each must be valid UTF-8 without NUL bytes, text
// that every store can keep.
func WithArgs(args ...string) RunOption {
	return func(c *runConfig) error {
		for i, a := range args {
			if err := storableText(a); err != nil {
				return fmt.Errorf("%w: WithArgs: argument %d %w", ErrInvalidOption, len(c.args)+i, err)
			}
		}
		c.args = append(c.args, args...)
		return nil
	}
}

// WithExternalID records the id an outside system gave this run. It must
// be valid UTF-8 without NUL bytes.
func WithExternalID(id string) RunOption {
	return func(c *runConfig) error {
		if err := storableText(id); err != nil {
			return fmt.Errorf("%w: WithExternalID: id %w", ErrInvalidOption, err)
		}
		c.externalID = id
		return nil
	}
}

// WithParentID records the execution that caused this run.
func WithParentID(id uuid.UUID) RunOption {
	return func(c *runConfig) error {
		c.parentID = id
		return nil
	}
}

// SingleInstance refuses the run, with ErrAlreadyRunning naming the task,
// while another runs it.
//
// With RunOnce and RunMain on a store with a locker (store/sqlite and
// store/postgres have their own; WithEngineOptions(WithLocker(l)) gives
// another) it is a lease, on the key "single/<task name>": the process
// takes it before it records its run, holds it until the run has ended,
// renewing it with its node lease (WithLease: same TTL and interval), and
// releases it. A process that finds it held by another is refused, so of
// processes started at the same instant exactly one runs. A process killed
// mid-run (kill -9) leaves the lease to expire: it blocks the next start
// for at most the TTL after its last renewal (LeaseTTLDefault, 15 s by
// default; one renewal interval more if the kill fell between the renewals
// of its two leases). Once it holds the lease, the process marks abandoned
// the runs of nodes whose lease has ended, the killed process's among them
// (the sweep of the package doc), then also refuses while the store holds
// a pending or running execution of the task: a run of a live engine
// (RunNow, a schedule), which the lease does not cover, or of an engine
// without a lease. A lease lost mid-run (not renewed for a TTL) is logged
// at Error; if the node lease lapsed with it, the engine stops the run
// (cause ErrLeaseLost), as it does any run of a node whose lease lapsed.
//
// Without a locker (store/memory, WithLocker(nil)), and for RunNow, it is
// only that read of the store, not a lock: it holds against runs recorded
// before the check, but two runs checking at the same instant can both
// pass, and a record left running by a killed process refuses every later
// run until something marks it ended.
func SingleInstance() RunOption {
	return func(c *runConfig) error {
		c.singleInstance = true
		return nil
	}
}

// WithEngineOptions passes options to the engine RunOnce and RunMain build.
// RunNow rejects it: its engine exists already.
func WithEngineOptions(opts ...Option) RunOption {
	return func(c *runConfig) error {
		if !c.forMain {
			return fmt.Errorf("%w: WithEngineOptions is for RunOnce and RunMain only", ErrInvalidOption)
		}
		c.engineOpts = append(c.engineOpts, opts...)
		return nil
	}
}

func buildRunConfig(forMain bool, opts []RunOption) (runConfig, error) {
	c := runConfig{forMain: forMain}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil run option", ErrInvalidOption)
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// RunNow starts a run of the task now (trigger manual) and returns its
// execution id; Wait returns the finished record. It runs suspended tasks
// too and does not evaluate the task's When condition: it is an operator's
// explicit request. If the task is running, its overlap policy decides:
// OverlapSkip returns ErrAlreadyRunning, OverlapQueueOne queues the run (or
// returns ErrAlreadyRunning if one is queued), OverlapAllow runs it.
func (e *Engine) RunNow(ctx context.Context, name string, opts ...RunOption) (uuid.UUID, error) {
	rc, err := buildRunConfig(false, opts)
	if err != nil {
		return uuid.Nil, err
	}
	return e.runNow(ctx, name, store.TriggerManual, rc)
}

func (e *Engine) runNow(ctx context.Context, name string, trig store.Trigger, rc runConfig) (uuid.UUID, error) {
	if err := ctx.Err(); err != nil {
		return uuid.Nil, err
	}
	if rc.singleInstance {
		e.mu.Lock()
		_, err := e.lookup(name)
		if err == nil && e.status != statusStarted {
			err = e.notStarted()
		}
		e.mu.Unlock()
		if err != nil {
			return uuid.Nil, err
		}
		page, err := e.store.ListExecutions(ctx, store.ExecutionFilter{
			Task: name, States: []store.State{store.StatePending, store.StateRunning}, Limit: 1,
		})
		if err != nil {
			return uuid.Nil, fmt.Errorf("task: task %q: checking for a running execution: %w", name, err)
		}
		if len(page.Executions) > 0 {
			x := page.Executions[0]
			return uuid.Nil, fmt.Errorf("%w: task %q has execution %s %s on node %q since %s",
				ErrAlreadyRunning, name, x.ID, x.State, x.Node, x.StartedAt.Format(time.RFC3339))
		}
	}
	exec := &store.Execution{
		ID:         newID(),
		Task:       name,
		Trigger:    trig,
		Args:       slices.Clone(rc.args),
		ExternalID: rc.externalID,
		ParentID:   rc.parentID,
	}
	r, ent, err := e.admitTask(nil, name, exec, true)
	if err != nil {
		return uuid.Nil, err
	}
	if r == nil {
		return uuid.Nil, fmt.Errorf("%w: task %q (overlap policy %s)", ErrAlreadyRunning, name, ent.spec.o().Overlap)
	}
	return exec.ID, nil
}

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

// Wait blocks until the execution has a final state and returns its record.
// It returns ctx.Err() if ctx ends first, and store.ErrNotFound for an
// unknown id. An execution running on another engine is polled.
func (e *Engine) Wait(ctx context.Context, id uuid.UUID) (*store.Execution, error) {
	r := e.runs.get(id)
	if r != nil {
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		r.mu.Lock()
		final := r.final
		r.mu.Unlock()
		if final != nil {
			// The run ended here: its final record is what was written
			// (or, if the store refused it, the truth).
			return final.Clone(), nil
		}
	}
	for {
		x, err := e.store.GetExecution(ctx, id)
		if err != nil {
			return nil, err
		}
		if x.State.Final() {
			return x, nil
		}
		if last := e.lastFinal(x.Task, id); last != nil {
			// It ended here after all, and the store refused its final
			// record (the run had left the table before Wait looked).
			return last, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-e.clock.After(waitPollInterval):
		}
	}
}

// waitPollInterval is how often Wait polls the store for a run that is not
// on this engine.
const waitPollInterval = 500 * time.Millisecond

// Cancel cancels a pending or running execution: a running job's context
// is cancelled (cause ErrCancelled) and the run is recorded cancelled when
// the job returns; a pending run is recorded cancelled at once. It returns
// without waiting; use Wait. The execution of another engine sharing the
// store is cancelled by that engine: the request is stored
// (store.CancelRequester) and the engine running it stops it at its next
// lease renewal (within LeaseRenewDefault by default; an engine without a
// node lease never sees the request). An execution that has ended, or that
// is not on this engine and cannot be requested, returns ErrNotRunning;
// an unknown id store.ErrNotFound.
func (e *Engine) Cancel(ctx context.Context, id uuid.UUID) error {
	r := e.runs.get(id)
	if r == nil {
		x, err := e.store.GetExecution(ctx, id)
		if err != nil {
			return err
		}
		if cr, ok := e.store.(store.CancelRequester); ok && !x.State.Final() && x.Node != e.cfg.node {
			// Another engine's run: the request is stored, and that
			// engine stops the run at its next sweep.
			err := cr.RequestCancel(ctx, id)
			if !errors.Is(err, store.ErrConflict) {
				return err
			}
			if x, err = e.store.GetExecution(ctx, id); err != nil {
				return err
			}
		}
		return fmt.Errorf("%w: execution %s of task %q is %s", ErrNotRunning, id, x.Task, x.State)
	}
	r.stop(ErrCancelled)
	return nil
}

// cancelRun stops a run on this engine, if it is here, with cause.
func (e *Engine) cancelRun(id uuid.UUID, cause error) {
	r := e.runs.get(id)
	if r != nil {
		r.stop(cause)
	}
}

// Suspend stops the task's schedule from firing until Resume; the state is
// persisted, so it survives restarts, and engines sharing the store see it
// within their state poll interval (WithStatePoll). A run in progress goes
// on. RunNow still runs a suspended task. A task already suspended stays
// as it is, with its reason.
func (e *Engine) Suspend(ctx context.Context, name string) error {
	return e.setSuspended(ctx, name, true, "suspended by Suspend")
}

// Resume lets a suspended task fire again and resets its consecutive
// failure count.
func (e *Engine) Resume(ctx context.Context, name string) error {
	return e.setSuspended(ctx, name, false, "")
}

func (e *Engine) setSuspended(ctx context.Context, name string, suspended bool, reason string) error {
	c := store.StateChange{Task: name, At: e.now(), Suspend: suspended, Resume: !suspended, Reason: reason}
	// The store is written first, so that a refused write changes
	// nothing; the change is then applied to the state as it is by then
	// (a run's end may have counted meanwhile: its write, waiting for
	// saveMu, persists the two together).
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	ent, err := e.lookup(name)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	st := ent.getState()
	c.Slot = ent.lastSlot // the newest slot fired: LastScheduledAt never lags it
	e.mu.Unlock()
	if sc, ok := e.store.(store.StateChanger); ok {
		// One atomic change of the stored state, which other engines
		// change too; its result replaces this engine's copy.
		after, _, err := sc.ChangeTaskState(ctx, c)
		if err != nil {
			return fmt.Errorf("task: task %q: saving state: %w", name, err)
		}
		e.mu.Lock()
		ent.setState(*after)
		e.mu.Unlock()
	} else {
		change := func(st *store.TaskState) { c.Apply(st) }
		change(&st)
		if err := e.store.PutTaskState(ctx, &st); err != nil {
			return fmt.Errorf("task: task %q: saving state: %w", name, err)
		}
		e.mu.Lock()
		e.changeStateLocked(ent, change)
		e.mu.Unlock()
	}
	e.log.Info("task state changed", zap.String("task", name), zap.Bool("suspended", suspended), zap.String("reason", reason))
	return nil
}

// TaskInfo is the diagnostic view of one task.
type TaskInfo struct {
	Name                string
	Description         string
	Schedule            string    // the schedule's canonical text; empty if none
	Next                time.Time // next fire, zero if none or suspended
	Suspended           bool
	SuspendedReason     string
	ConsecutiveFailures int
	Running             int  // runs in progress on this engine
	Pending             bool // a run is queued (OverlapQueueOne)
	// LastExecution is the task's newest execution, nil if none: read
	// from the store (so it survives a restart, and names the node that
	// ran it, whichever engine that was), else the newest this engine
	// ended or skipped.
	LastExecution *store.Execution
	Predecessors  []string // tasks this one runs after (Spec.After)
	Dependents    []string // tasks that run after this one
	GraphRuns     int      // graph runs in progress with this task as root
}

// Tasks returns every registered task, sorted by name. Its
// LastExecution is read from the store: with a node lease (other engines
// run the task too) for every task, one query each; otherwise once per
// task that has not run on this engine (it may have run before a
// restart). A store that does not answer leaves the engine's own view.
func (e *Engine) Tasks() []TaskInfo {
	out := e.localTasks()
	e.readLastExecutions(out)
	return out
}

// lastReadTimeout bounds the store reads of one Tasks call.
const lastReadTimeout = 5 * time.Second

// readLastExecutions sets the LastExecution of the tasks of out from the
// store where it is newer (see Tasks).
func (e *Engine) readLastExecutions(out []TaskInfo) {
	e.mu.Lock()
	clustered := e.lease != nil
	var names []string
	for _, ti := range out {
		if ent := e.tasks[ti.Name]; ent != nil && (clustered || !ent.lastRead) {
			names = append(names, ti.Name)
		}
	}
	e.mu.Unlock()
	if len(names) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(e.storeCtx, lastReadTimeout)
	defer cancel()
	found := make(map[string]*store.Execution, len(names))
	for _, name := range names {
		page, err := e.store.ListExecutions(ctx, store.ExecutionFilter{Task: name, Limit: 1})
		if err != nil {
			e.log.Debug("Tasks: reading the last execution from the store", zap.String("task", name), zap.Error(err))
			return
		}
		if len(page.Executions) > 0 {
			found[name] = page.Executions[0]
		}
	}
	e.mu.Lock()
	for _, name := range names {
		ent := e.tasks[name]
		if ent == nil {
			continue
		}
		ent.lastRead = true
		if x := found[name]; x != nil && (ent.last == nil || store.Newer(x, ent.last)) && !clustered {
			ent.last = x // a restart's history: the newest until this engine runs it
		}
	}
	e.mu.Unlock()
	for i := range out {
		if x := found[out[i].Name]; x != nil && (out[i].LastExecution == nil || store.Newer(x, out[i].LastExecution)) {
			out[i].LastExecution = x.Clone()
		}
	}
}

// taskNames returns the names of the registered tasks, sorted.
func (e *Engine) taskNames() []string {
	e.mu.Lock()
	names := make([]string, 0, len(e.tasks))
	for name := range e.tasks {
		names = append(names, name)
	}
	e.mu.Unlock()
	sort.Strings(names)
	return names
}

// localTasks is Tasks as this engine knows them, without the store.
func (e *Engine) localTasks() []TaskInfo {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]TaskInfo, 0, len(e.tasks))
	for _, ent := range e.tasks {
		info := TaskInfo{
			Name:                ent.spec.Name,
			Description:         ent.spec.o().Description,
			Suspended:           ent.suspended(),
			SuspendedReason:     ent.getState().SuspendedReason,
			ConsecutiveFailures: ent.getState().ConsecutiveFailures,
			Running:             ent.running,
			Pending:             ent.pending != nil,
			Predecessors:        slices.Sorted(slices.Values(ent.spec.o().After)),
			GraphRuns:           ent.graphRuns,
		}
		if e.graph != nil && e.graph.Has(ent.spec.Name) {
			info.Dependents = e.graph.Successors(ent.spec.Name)
		}
		if s := ent.spec.Schedule; s != nil {
			info.Schedule = s.String()
			if !info.Suspended && e.status != statusClosed {
				info.Next = e.peekNext(ent, now)
			}
		}
		if ent.last != nil {
			info.LastExecution = ent.last.Clone()
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// now is the time the engine records: the clock's, in UTC, truncated to the
// microsecond every backend keeps (PostgreSQL's precision), so a record
// reads back equal from any store.
func (e *Engine) now() time.Time {
	return e.clock.Now().UTC().Truncate(time.Microsecond)
}

// lastIDTime is the newest (milliseconds << 12 | sequence) newID used.
var lastIDTime atomic.Uint64

// newID returns a version 7 UUID: the Unix time in milliseconds and a
// 12-bit sequence (monotonic within the process, as uuid.NewV7 makes them,
// so executions created in one instant list in creation order), then 62
// random bits. Unlike uuid.NewV7 it reads no system randomness per call
// (math/rand/v2's generator is seeded from it once): IDs must be unique,
// not secret, and one is made per execution.
func newID() uuid.UUID {
	var u [1]uuid.UUID
	newIDs(u[:])
	return u[0]
}

// newIDs fills ids with new IDs as newID makes them, in increasing order,
// with one clock read and one reservation of the sequence for all of them.
func newIDs(ids []uuid.UUID) {
	n := uint64(len(ids))
	if n == 0 {
		return
	}
	ts := uint64(time.Now().UnixMilli()) << 12
	for {
		last := lastIDTime.Load()
		if ts <= last {
			ts = last + 1
		}
		if lastIDTime.CompareAndSwap(last, ts+n-1) {
			break
		}
	}
	for i := range ids {
		u := &ids[i]
		binary.BigEndian.PutUint64(u[8:], rand.Uint64())
		ms := ts >> 12
		u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
		u[6] = 0x70 | byte(ts>>8)&0x0f // version 7
		u[7] = byte(ts)
		u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
		ts++
	}
}
