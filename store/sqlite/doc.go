// Package sqlite is a store.Store on SQLite, through modernc.org/sqlite (pure
// Go, no cgo): execution history and task state that survive restarts,
// in one file next to the host.
//
//	s, err := sqlite.Open(ctx, "taskmill.db")
//	if err != nil { ... }
//	defer s.Close()
//	eng, err := task.New(task.WithStore(s))
//
// It passes storetest.Run and storetest.RunPersistent. Several processes may
// share the file (see Concurrency); a cluster of hosts on several machines
// needs store/postgres, since SQLite's locks do not work over network file
// systems.
//
// # Opening
//
// Open opens or creates a database file and owns it: Close closes it. It
// sets, on every connection, WAL mode (readers do not block the writer),
// a busy timeout (WithBusyTimeout; default 5s), foreign_keys=ON and
// synchronous=NORMAL (in WAL mode a commit is durable once the WAL is
// checkpointed; a power loss may lose the last commits, never corrupt the
// file). A path that is a directory, or a file that is not a SQLite
// database, fails with an error naming the path.
//
// New uses a *sql.DB the host opened with modernc.org/sqlite, for a host
// that keeps its own tables in the same file. Close leaves that database
// open, and New leaves its connections as the host configured them: the
// host's DSN should set WAL mode and a busy timeout
// ("file:app.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)").
//
// # Schema and migrations
//
// The schema is SQL files under migrations/ (0001_init.sql, ...), embedded
// in the package. They write {prefix} for the table prefix (WithTablePrefix;
// default "taskmill_"), which Open and New replace with the prefix after
// checking it is letters, digits and underscores, so it is never written
// into SQL unchecked. The tables are {prefix}executions, {prefix}task_state,
// {prefix}leases (Store.Locker's), {prefix}fence (the greatest fencing
// token of a deleted execution) and {prefix}schema_version, which has a row
// per applied file.
//
// Open and New apply the missing files in one BEGIN IMMEDIATE transaction
// (SQLite's write lock), so of several processes that open a new file at
// once one creates the tables and the others find them; opening again
// changes nothing. A database whose recorded version is newer than
// SchemaVersion fails with a *SchemaError wrapping ErrSchemaTooNew, so an
// old binary never writes to a schema it does not know.
//
// WithoutMigrations is for hosts that manage their schema (Spring Cloud
// Task's initialize-enabled=false): they apply the DDL Migrations returns
// for their prefix themselves, in order; each file records its own
// version. The store then creates nothing and only checks the version: a
// missing or different schema fails with a *SchemaError (ErrSchemaMissing,
// ErrSchemaOutdated, ErrSchemaTooNew).
//
// # Concurrency
//
// A Store is safe for concurrent use. Each store method is one SQL
// statement, atomic on its own (AbandonExecution with a recovery record is
// two, in one transaction): a slot claim is the INSERT itself, which the
// unique partial index on (task, scheduled_at) of the claiming triggers
// lets through once; the second fails with store.ErrConflict.
//
// The same INSERT makes the check of an exclusive execution
// (store.Execution.Exclusive): unique partial indexes on task, one over the
// exclusive executions that are running, one over those pending (recovery
// records aside), let a task have one of each, and a second fails the
// INSERT, or the UPDATE that would start one, with store.ErrBusy. SQLite
// names no index in the error and checks them in an order of its own, so
// when an INSERT that could meet more than the ID's index fails on one, a
// query tells a taken ID or a claimed slot (store.ErrConflict, which wins)
// from busy; that costs a query on this path only. An UPDATE changes only
// a record that is pending or running (WHERE state IN ...): a final record
// never changes, and when no row changes a query tells store.ErrNotFound
// from store.ErrConflict.
//
// The INSERT also assigns the fence, which is the table's rowid (an
// INTEGER PRIMARY KEY, which VACUUM keeps): one more than the greatest
// fence of the executions and of those deleted (a trigger on DELETE keeps
// the latter in {prefix}fence). SQLite's lock orders the writes of every
// Store and process on the file, so each fence is greater than those
// assigned before, and deleting the newest executions does not lower it.
// Reads run in parallel on up to 8 connections (Open) beside a write, as
// WAL allows. ListTaskStates (store.StateLister) reads every task state in
// one SELECT, which the engine does once at Start instead of a
// GetTaskState per task; LastSlots (store.SlotLister) finds every task's
// latest claimed slot in one GROUP BY over the claim index, so Start plans
// catch-up without a query per task.
//
// The writes of one Store queue in Go (honouring their contexts) rather
// than poll SQLite's lock, and are committed in groups: the writes that
// queued while one transaction ran go together in the next, one statement
// each, with one commit — most of what a small write costs. A claim that
// conflicts, or an exclusive execution that is busy, fails alone inside its
// group (a write of two statements runs in a savepoint, and is undone
// whole); any other failure rolls the group back and its writes run again
// one by one, each with its own answer. A write that finds none waiting
// runs alone, in autocommit mode (a write of two statements, in a
// transaction of its own). A write whose context ends while it is queued
// returns the context's error and never runs; once its group has begun, it
// runs and its caller gets the result.
//
// CreateExecutions (store.BatchCreator, which the engine uses for the
// records of one fire of many tasks) queues all its inserts at once, in
// order, so that they go in groups of up to 128 with one commit each,
// rather than one transaction per record; each gets CreateExecution's
// answer. (Executions of one batch that share a key, an ID, a slot or a
// task's exclusive place, are written in successive rounds, so that
// telling apart which key a refused one met cannot see a later one.)
//
// Other Stores and processes on the same file serialise with this one
// through SQLite's lock: a write waits for it up to the busy timeout, then
// fails with "database is locked". Write transactions begin IMMEDIATE
// (Open), so they wait for the lock at BEGIN instead of failing on an
// upgrade from a read. Close waits for the calls in progress.
//
// # Leases
//
// Store.Locker returns a lock.Locker whose leases live in {prefix}leases,
// shared by every Store and process on the file with the same prefix. It
// passes locktest.Run and locktest.RunShared. Expiry is decided on SQLite's
// clock, read in each statement, to the millisecond; see Locker.
//
// # Precision
//
// Times are stored as INTEGER microseconds since the Unix epoch (NULL for a
// zero time) and come back in UTC, rounded down to the microsecond: the
// precision storetest requires and PostgreSQL keeps. Filters and cursors
// with finer times compare exactly against the stored microseconds. IDs are
// 16-byte BLOBs, which SQLite compares with memcmp, the byte order of
// backend.CompareIDs, so listings go by StartedAt then ID, newest first, as
// store.Newer does. Args is a JSON array; nil and empty Args both come back
// nil. Text and times are checked before they are written, as every
// backend checks them (see store's doc): text that is not valid UTF-8 or
// holds a NUL byte (JSON would change invalid bytes in Args), and times
// outside the years 1 to 9999 (microseconds since 1970 wrap around an int64
// past the year 294247), are store.ErrInvalid.
package sqlite
