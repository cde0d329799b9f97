// Package task is taskmill's engine: it runs the tasks a host registers at
// startup on cron or interval schedules (or on demand), and records every
// execution in a store.
//
//	eng, err := task.New(task.WithLogger(logger))
//	err = eng.Register(task.Spec{
//		Name:                 "nightly-report",
//		Schedule:             cron.MustParse("0 0 2 * * *", "Europe/Berlin"),
//		Job:                  task.JobFunc(buildReport),
//		SuspendAfterFailures: 3,
//	})
//	err = eng.Start(ctx)
//	defer eng.Shutdown(ctx)
//	id, err := eng.RunNow(ctx, "nightly-report", task.WithArgs("--full"))
//	exec, err := eng.Wait(ctx, id) // the finished store.Execution
//
// # Schedules and fires
//
// gocron is the timer substrate only. Each distinct schedule (its String:
// expression, zone and DST policy) becomes one gocron job whose body
// dispatches every task on that schedule, so ten thousand tasks on one
// schedule cost one timer. gocron does not tell a job which slot fired, so
// each schedule keeps a cursor: on a fire the newest slot at or before now
// is due, and any older slots after the cursor (a fire that came late, a
// process that was paused) are recorded as one skipped execution with reason
// "missed" — nothing is missed silently. (Engines sharing a store record
// each such slot on its own, claiming it: another engine may have run it.) The engine and gocron share one
// clockwork.Clock (WithClock), so tests move a fake clock instead of
// sleeping.
//
// A schedule given as Spec.Schedule is the host's code, and every walk
// through slots relies on its Next returning a time after its argument.
// Register (asking it after 1970) and Start (after the clock's now) return
// an error wrapping ErrBadSchedule and naming the task when Next panics or
// does not move forward. One that breaks later stops firing, for good: the
// break is logged at Error, each task on the schedule gets a failed
// execution (trigger schedule, nominal time just after the last slot the
// schedule answered for) whose error says why, and its error integration
// is told. A Next that returns the zero time has no more slots: the task
// stops firing with no error.
//
// For each task on the schedule a fire:
//
//   - does nothing if the task is suspended (a suspended task's slots are
//     not fires, so nothing is recorded for them);
//   - applies the overlap policy (Spec.Overlap): by default a task that is
//     still running makes the fire a skipped execution with reason
//     "overlap"; OverlapAllow runs alongside; OverlapQueueOne records a
//     pending execution that starts when the running one ends;
//   - claims the slot by creating the execution record: the store refuses a
//     second scheduled execution of one task for one nominal time
//     (store.ErrConflict), which is how engines sharing a store run each
//     slot once;
//   - evaluates Spec.When in the run's goroutine: false turns the record
//     into a skipped execution with reason "condition";
//   - runs the listeners and the job, and records the end.
//
// # Executions
//
// Every run has a store.Execution, created before the job runs and updated
// when it ends: id, task, trigger, nominal time, start, end, state, exit
// code, exit message, error, arguments, external and parent ids, node, and
// the skip reason. The run's context carries it: CurrentExecution, Args and
// Param read it from inside a job (ScheduledAt reads only the nominal time,
// without copying the record), and SetExitMessage sets the message.
//
// The text a run produces — its error (a panic's, with the stack), the exit
// message set by the job or a listener, a skip reason — is recorded as
// store.CleanText makes it: bytes that are not valid UTF-8 become U+FFFD
// and NUL bytes are dropped, so that every store holds it and no string a
// job makes keeps its end from being recorded; Wait returns the record as
// stored. Arguments and the external id given to RunNow are the caller's
// and are not changed: WithArgs and WithExternalID refuse text a store
// cannot hold.
//
// Exit codes: 0 on success. A failed run records the ExitCode() of the first
// error in the chain that has one (see Exit); otherwise what the
// WithExitCodeMapper function says; otherwise 1. A cancelled run records
// ExitCodeCancelled (130).
//
// States: a job returning nil succeeds. An error, a panic, a failing
// condition or listener, or Spec.Timeout (an error wrapping ErrTimeout)
// fails it. Cancel and Shutdown cancel the run's context; a job that then
// returns an error is recorded cancelled (a job that returns nil anyway
// succeeded: it finished its work). A job that ignores its context past
// Shutdown's deadline is recorded cancelled by Shutdown and its later
// result is dropped.
//
// No call into the host's code can take the host down or leave a run
// unrecorded. A panic in the job, the condition, a listener, an init hook,
// the exit code mapper, a custom Schedule, or in a method of the error a
// run returned (Error, ExitCode, Unwrap, Is, As) is recovered, and the run
// is recorded failed with the panic and its stack (exit code 1). A job,
// condition or listener that ends its goroutine with runtime.Goexit (as
// testing's t.FailNow does) is recorded failed with ErrGoexit.
//
// # Listeners
//
// Listeners (WithListener for every task, Spec.Listeners for one) follow
// Spring Cloud Task's TaskExecutionListener. For each run that is not
// skipped, in registration order, engine listeners first:
//
//  1. OnTaskStartup, before the job. An error stops the remaining startup
//     listeners, fails the run and the job does not run.
//  2. the job.
//  3. OnTaskFailed, if the run failed (job error or panic, timeout,
//     condition error, startup listener error), with that error.
//  4. OnTaskEnd, always, with the outcome in e.State. An error here turns a
//     success into a failure.
//
// An error in one listener stops the rest of that event's listeners but
// never stops OnTaskFailed and OnTaskEnd from being called. A condition
// error is a failure of a run whose job never started: OnTaskFailed and
// OnTaskEnd are called, OnTaskStartup is not. Cancelled runs call
// OnTaskEnd only. A panic in a listener is recovered and treated as its
// error.
//
// The exit message recorded is, by precedence: the one set by an OnTaskEnd
// listener, else by an OnTaskFailed listener, else by the job
// (SetExitMessage), else by an OnTaskStartup listener.
//
// # Operations
//
// SuspendAfterFailures suspends a task after N consecutive failed runs
// (cancelled and skipped runs do not count; a success resets the count) and
// persists that with the reason. Suspend and Resume do it by hand; Resume
// resets the count. Suspended state is kept in the store, so it survives a
// restart on a persistent store. RunNow runs a task now, even a suspended
// one, without its condition; Cancel stops a run; Wait waits for one to end;
// Tasks lists every task with its next fire and last execution.
//
// # Live reports
//
// A job reports how far it got through ProgressOf(ctx): Add counts into
// named counters (Druid's processed, processedWithError, thrownAway,
// unparseable, or any), grouped by the phase SetPhase names, and Error
// records a recoverable error about one input item. Engine.Report reads a
// running execution's report on the engine running it: per phase, each
// counter's total and its 1-, 5- and 15-minute moving averages in events
// per second, computed as Druid's row statistics are (ticked every 5 s,
// alpha = 1 - exp(-5 s / window), caught up on read), and the newest
// errors (WithRecentErrors) with the count of all. The report is saved to
// the run's record every WithReportInterval (store.Execution.Report, as
// JSON), where other engines and anything reading the store see it while
// the run goes, and the final one is written with the run's end: Wait
// returns it, ReportOf decodes it.
//
// # OpenTelemetry
//
// The engine reports metrics and traces through the OpenTelemetry API
// (go.opentelemetry.io/otel; the library imports no SDK) to the providers
// WithMeterProvider and WithTracerProvider give it, by default the global
// ones, which report nothing until the host sets them (otel.SetMeterProvider,
// otel.SetTracerProvider, before or after New). The instrumentation scope is
// InstrumentationName. Metrics, with the low-cardinality attributes only
// (taskmill.task, taskmill.state, taskmill.trigger, taskmill.reason; never
// an execution id):
//
//	taskmill.runs.ended     counter {run}       task, state, trigger: runs this engine ended (abandoned: its sweeps')
//	taskmill.run.duration   histogram s         task, state: start to end of the runs that started
//	taskmill.run.lateness   histogram s         task, trigger: a scheduled or catch-up run's start minus its nominal time
//	taskmill.run.wait_time  histogram s         task: how long a run waited queued behind a run of its task
//	taskmill.fires.skipped  counter {fire}      task, reason: skipped records written (overlap, condition, missed, store unavailable, upstream)
//	taskmill.runs.active    updowncounter {run} task: runs executing on this engine
//
// Each run is one span named after its task, from its record's StartedAt to
// its EndedAt, with the task, trigger, execution id, nominal time and graph
// run as attributes, its state and exit code at the end, and status Error
// with the error's first line when it failed. A run started by RunNow is a
// child of the span in RunNow's context, so a run a request starts joins
// the request's trace; the run's context carries its span (and the
// caller's values, never its cancellation), so the job's own spans are
// its children. A graph run's members link to the root's span. A
// provider that records nothing costs a run nothing: with no provider set,
// the tick workload's cost is within noise of having no telemetry
// (bench/README.md).
//
// # Task graphs
//
// A task with After runs when its predecessors finish in the same graph
// run (Snowflake's and Databend's AFTER), as its TriggerRule says:
// AllSucceeded (the default), AllDone, OneFailed or NoneFailed (none
// failed, at least one succeeded). Start validates the whole graph with
// package dag — cycles (named by their path), unknown predecessors, more
// than one root per graph, more than 1,000 tasks in a graph or 100
// dependents of one task (WithMaxGraphTasks, WithMaxDependents) — and
// Register and Update after Start validate it again. A dependent has no
// schedule (Register rejects one that has); its graph's root has one, or is
// run with RunNow.
//
// When a root with dependents runs, a graph run starts: every execution in
// it records the same GraphRunID and the root's name as RootTask, and a
// dependent's ParentID is the execution of the predecessor that ended last.
// Dependents start as soon as their rule is met, so siblings run
// concurrently; a dependent whose rule can no longer be met is recorded as
// skipped with a reason naming the upstream task and its state (upstream
// "load-b" failed), and the skip propagates downstream by the same
// rules. A suspended dependent is recorded skipped ("suspended") and its
// dependents follow their rules. A root whose When condition is false
// records one skipped execution and the graph run ends there: its
// dependents record nothing (recording every member skipped said nothing
// more and multiplied the history). Cancelled and abandoned runs count as
// failed for the rules. WaitGraphRun waits for a graph run and returns its
// executions; Graph returns a graph's tasks and edges for drawing;
// ResumeGraph resumes a root and all its dependents.
//
// A graph run uses the definitions its members had when the root's run was
// admitted (Snowflake's task versioning): Update (a new job, schedule,
// predecessors or policy) and Register apply from the next graph run. The
// root's overlap policy covers the whole graph run: by default a root fire
// that finds the previous graph run still in progress is recorded skipped
// ("overlap"). RunNow of a dependent runs only that task, as a manual run
// outside any graph run.
//
// # Error notifications
//
// WithIntegration adds named integrations (a notify.Webhook, the zap
// integration, any notify.Notifier); a task names one in ErrorIntegration
// (Databend's ERROR_INTEGRATION), and Start rejects a name that is not
// configured. A failed run (an error, a panic, a timeout) sends
// TASK_FAILED; the failure that auto-suspends a task also sends
// TASK_SUSPENDED; NotifyOnSuccess adds TASK_SUCCEEDED. Messages go through
// a bounded queue per integration and are delivered by background workers,
// so a slow or dead receiver never delays a run or the scheduler; a full
// queue drops the message, counts it and logs it at Warn.
// SetIntegrationEnabled switches an integration off and on;
// IntegrationStats reads the delivery counters.
// Shutdown drains the queues until its context ends. Messages of one task
// may arrive out of order (several workers deliver); receivers order by
// timestamp and deduplicate on messageId. The payload and its mapping from
// the execution record are documented in package notify; taskId is TaskID
// of the name.
//
// # Restarts, catch-up and retention
//
// On a persistent store (store/sqlite, store/postgres) a task's state
// survives the host: suspended (and why), its consecutive failures and its
// last scheduled slot. At Start each scheduled task's slots that passed
// while no engine ran are found from its last slot (the newest schedule or
// catch-up execution, or the persisted state) and handled by its Misfire
// policy: MisfireSkip (the default) records one skipped execution saying
// how many slots were missed and from when to when; MisfireRunOnce runs the
// newest missed slot now; MisfireRunAll runs every missed slot within
// CatchUpWindow, oldest first, one after another, each with its own nominal
// time and trigger catch-up. A task with no history has nothing to catch
// up; a suspended one's slots were not fires. Slots younger than
// MisfireGrace at Start are left to the dispatcher, in case another engine
// is firing them; its first fire records them as missed if nobody did.
// Missed slots are claimed like fires, so engines starting together catch
// each slot up once.
//
// A store error while recording a run's end is retried with a doubling
// backoff on the engine's clock for as long as the engine runs, so a
// passing fault loses no record; Shutdown's deadline ends the retries.
//
// A fire whose record the store refuses (it is down, the connection was
// cut) does not run, and is not lost: the engine holds a skipped execution
// for it in memory (reason store.ReasonStoreUnavailable, the store's error
// as the detail; a fire skipped for overlap keeps its reason), as it holds
// the missed-slots records of late fires, and writes them once the store
// answers again — at once after a fire's record is written, else after a
// doubling backoff on the engine's clock. Each claims its slot, so a slot
// that another engine recorded meanwhile keeps that engine's record. Held
// fires follow the task's misfire policy when the store is back:
// MisfireRunOnce runs the newest if the task's next slot has not come yet,
// MisfireRunAll those within CatchUpWindow (trigger catch-up); the others
// are recorded skipped. The engine holds at most WithMaxHeldRecords
// records (MaxHeldRecordsDefault, 10,000: a few hundred bytes each); past
// it a task's slots are only counted, logged at Error, and recorded as one
// skipped execution saying how many and from when to when. Shutdown gives
// what is still held one last attempt within its context, and logs what
// the store still refuses at Error with the count: those records are lost.
//
// WithRetention registers RetentionTaskName, an ordinary recorded task
// that deletes old records in batches on a schedule (hourly by default):
// older than MaxAge, and beyond the KeepPerTask newest of each task.
// Pending and running executions are never deleted. Without it the
// default store still bounds its memory: the memory store keeps the
// newest memory.MaxPerTaskDefault (1,000) records of each task, evicting
// older final ones as it records new ones (memory.WithMaxPerTask changes
// the cap; see package store/memory). SQLite and PostgreSQL keep every
// record until a retention deletes it.
//
// # Registration at startup
//
// Modules register their tasks the way Metabase modules implement init!:
// from their own init(), call OnInit with a name and a function that
// registers on a Registrar. Start runs every hook in name order. Hooks are
// process-wide; WithoutInitHooks gives an engine that ignores them (tests,
// RunOnce).
//
// # One-shot processes
//
// RunMain (and RunOnce, which returns the record) is for a short-lived
// program started by an outside scheduler, Spring Cloud Task's purpose: it
// records a one-shot execution, runs the job, records the end and returns
// the exit code for os.Exit; SIGINT and SIGTERM cancel the run.
// SingleInstance refuses to start while another process runs the task.
// On store/sqlite and store/postgres (or with WithLocker) it is a lease on
// "single/<task name>", taken before the run is recorded, renewed with the
// node lease (below) and released at the end: of processes started at the
// same instant exactly one runs, and a process killed mid-run (kill -9)
// blocks the next start for at most the lease TTL after its last renewal.
// The next process, once it holds the lease, sweeps (below), which marks
// the killed one's record abandoned, naming its node, rather than leaving
// it running to refuse every later start. It then also refuses while the
// store holds a pending or running execution of the task on a live engine
// (RunNow, a schedule). On store/memory (no locker) it is only that read
// of the store, not a lock: two processes checking at the same instant can
// both pass.
//
// # Several engines on one store
//
// Engines sharing a store each hold a lease on "node/<node id>" (package
// lock) from Start to Shutdown, renewed every renewal interval: one call
// per engine, whatever the number of runs (WithLease; LeaseTTLDefault,
// LeaseRenewDefault). The locker is the store's own on store/sqlite and
// store/postgres, whose expiries are on the database clock; store/memory
// is not shared, so an engine on it holds no lease unless WithLocker
// gives one. Two live engines must not share a node id: Start fails while
// another live engine holds the lease of its node id. A lease held at
// Start may also be that of an earlier process of the node, killed before
// it could release it, which a supervisor restarts at once (systemd within
// 100 ms): failing would make it restart again and again until it gives
// up. So Start watches the held lease, for at most the TTL and one renewal
// interval: a holder that renews it is alive, and Start fails with
// lock.ErrHeld; a lease that expires was a dead process's, and Start takes
// it. What follows holds among engines that hold node leases on one store.
//
// Each slot runs once: the record of a fire claims the task's slot in the
// store (store.Store.CreateExecution), whichever engine fires first.
//
// A task runs once at a time unless its overlap policy is OverlapAllow:
// its records are exclusive (store.Execution.Exclusive), so the store
// refuses a second running one whichever engine asks. A fire that finds
// the task running on another engine is recorded skipped ("overlap:
// running on another engine"); with OverlapQueueOne it is recorded
// pending, at most one across the engines, and starts within one renewal
// interval of the other run's end. RunNow of such a task is refused with
// ErrAlreadyRunning. A graph root's policy covers its whole graph run
// across engines too: the engine that runs the root holds a lease on
// "graph/<root>" until the graph run has ended, and another engine's fire
// of the root meanwhile is recorded skipped ("overlap: a graph run of the
// task is in progress on another engine"), or queued with
// OverlapQueueOne; RunNow is refused.
//
// A dead engine's runs are found. After each renewal an engine sweeps: a
// pending or running execution that names another node whose lease is no
// longer live will never end by itself, and is marked abandoned, its error
// saying which node and when its lease was last renewed ("node
// host-1/4242 last renewed 2026-12-04T10:00:03Z"). That happens within
// the TTL plus one renewal interval of the last renewal (20 s by default).
// The mark is one conditional write (store.Abandoner), so of several
// engines sweeping at once one marks each record; that engine calls the
// task's OnTaskFailed (an error wrapping ErrAbandoned) and OnTaskEnd
// listeners and sends TASK_FAILED (error kind notify.KindAbandoned) to its
// error integration. A task with Spec.RecoverAbandoned is re-run: the
// marking engine creates the re-run (trigger recovery, the same slot,
// ParentID the abandoned execution) in the same store step, so the slot
// runs once more exactly once. A node that never held a lease is not
// swept. A process restarted under the same node id (WithNodeID) starts
// once the dead one's lease has ended, and its Start marks that one's runs
// abandoned itself.
//
// A stale engine stops itself. An engine that finds its lease lost, or
// has not renewed it for a TTL (the store unreachable), cancels its runs
// with cause ErrLeaseLost: another engine may have marked them abandoned
// and re-run them. A record, once final, never changes (the store refuses
// the write), so the late end of such a run does not overwrite the
// abandoned record. A job that writes to other systems can fence those
// writes with FencingToken.
//
// One task state. A run's failure or success, Suspend, Resume and
// auto-suspension are each one atomic change of the stored state
// (store.StateChanger), so failures are counted once whichever engines
// ran them, and every engine reads all task states once per poll interval
// (WithStatePoll; StatePollDefault, 1 s): a Suspend on one engine stops
// the others' fires within that. Cancel of a run on another engine is
// stored and carried out by that engine at its next renewal.
//
// # Panics
//
// A panic in a job, a condition, a listener or an init hook is recovered
// and recorded (a *PanicError with the stack); it never crashes the host.
//
// # Concurrency
//
// A run starts once its record is created, and nothing bounds how many run
// at once, as with a goroutine per request in net/http: runs go to a queue
// that a few workers take one after another, and a run queued behind jobs
// that block gets a goroutine of its own within about a millisecond. A
// fire of many tasks admits them in chunks of 128: one pass under the
// engine's lock reserves a chunk's runs, one batch create records them
// (store.BatchCreator), then they start. A run's record reads running from
// its creation until its job returns, and its end (listeners, final record,
// task state) is done at once after that. What a fire costs is measured in
// ../bench (bench/README.md).
package task
