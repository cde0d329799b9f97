// Package store owns what taskmill persists: the Execution record of every
// run, each task's TaskState, the Store interface the engine records
// through, its filters and params, and its sentinel errors. It imports no
// other public taskmill package. It is the contract a host reads; the
// helpers only a backend needs (cursor encoding, page sizes) are in
// store/backend.
//
// # Records
//
// An Execution is created before a job runs and updated when it ends: id,
// task, trigger, nominal time, start, end, state, exit code and message,
// error, arguments, external and parent ids, graph run and root task, the
// node that ran it and the reason it was skipped. A TaskState keeps what a
// task must remember between runs and restarts: suspended and why, its
// consecutive failures, its last scheduled slot.
//
// # Text and times
//
// Every backend stores the same records and refuses the same ones: a record
// whose text or times some backend could not hold exactly is refused by
// every backend, at the call, with an error wrapping ErrInvalid that names
// the field (Execution.Validate, Execution.ValidateUpdate and
// TaskState.Validate, which every backend calls).
//
//   - Text — an Execution's Task, ExitMessage, Error, each of Args,
//     ExternalID, RootTask, Node and SkipReason, a TaskState's Task and
//     SuspendedReason — must be valid UTF-8 without NUL bytes (TextOK), as
//     PostgreSQL's text requires. Any such text is stored and read back
//     exactly. CleanText makes any string storable (invalid bytes become
//     U+FFFD, NUL bytes are removed): the engine cleans what a run produces
//     (its error, exit message) before writing it, so that what a job puts
//     in a string never keeps a run's end from being recorded.
//   - Times are zero (not set) or an instant after the zero time and
//     before the year 10000 UTC (TimeOK): years 1 to 9999, which every
//     backend holds and JSON writes. They are read back to the microsecond
//     (see storetest).
//
// # The claim
//
// CreateExecution refuses (ErrConflict) a second execution of one task for
// one nominal time among the triggers that claim a slot (schedule and
// catch-up). Engines sharing a store create the record before they run the
// job, so each slot runs once however many engines fire it. Backends make
// the claim a unique constraint, never a read followed by a write.
//
// # Choosing a backend
//
//   - store/memory (memory.New()): the engine's default. Fast, nothing
//     survives the process, and it keeps the newest 1,000 records of each
//     task (memory.MaxPerTaskDefault; memory.WithMaxPerTask). For tests,
//     examples, and hosts whose history may vanish with them.
//   - store/sqlite (sqlite.Open(ctx, "taskmill.db")): one embedded file, no
//     cgo, no server. For one host process (or a few on one machine) that
//     must remember its history, suspensions and missed slots across
//     restarts.
//   - store/postgres (postgres.New(ctx, pool) or postgres.Open(ctx, dsn)):
//     for many host processes sharing one database, each slot run once.
//
// Each backend passes the conformance suite in store/storetest, which pins
// down the details they must agree on (microsecond times, ordering, cursors,
// claims, deletion).
//
// # Listing
//
// ListExecutions returns pages newest first (StartedAt, then ID, both
// descending) with an opaque positional cursor, so paging while runs are
// recorded sees every older record exactly once; ListAll pages through a
// whole filter.
package store
