// Package postgres is the PostgreSQL store.Store, on pgx v5 (pgxpool): the
// store that lets several host processes share one history and run every
// scheduled slot exactly once.
//
// It passes storetest.Run and storetest.RunPersistent. Every method is one
// SQL statement, so one round trip; a second query runs only on an error
// path, to tell one error from another: UpdateExecution's for an invalid
// record (store.ErrNotFound or store.ErrInvalid, as the memory store does)
// and for one it did not change (store.ErrNotFound, or store.ErrConflict
// for a final record), CreateExecution's for an exclusive execution that
// failed on an index of exclusive executions (see [Clusters (the claim)]). Reads run in implicit transactions of their own; the
// writes of executions and task states are committed in groups (see [Group
// commit]). ListTaskStates (store.StateLister) reads the whole task state
// table in one query, so an engine starting many tasks reads their states
// in one round trip instead of one per task; LastSlots (store.SlotLister)
// finds every task's latest claimed slot in one GROUP BY over the claim
// index, so Start plans catch-up in one round trip too.
//
// # Opening
//
// New takes the host's *pgxpool.Pool; Close leaves that pool open, for the
// host to close after the store. Open takes a DSN (URL or keyword/value, with
// pgxpool's pool_ settings), makes a pool of its own and closes it in Close.
// A DSN that does not parse is an error wrapping ErrInvalidDSN that does not
// repeat the DSN, so no password reaches a log; a server that cannot be
// reached is the connection error of pgx (which names host and user, not the
// password), cut to its head and tail when a long host or database name
// makes it long. Open's pool gives up on a connection after a connect
// timeout (WithConnectTimeout, else the DSN's connect_timeout, else
// ConnectTimeoutDefault), so a server that accepts TCP connections and
// never answers fails Open even on a context without deadline. Both apply
// the migrations the database lacks before they return, or, with
// WithoutMigrations, check the schema version.
//
// Options: WithTablePrefix (default TablePrefixDefault, "taskmill_"),
// WithSchema (default: none, the connection's search_path),
// WithoutMigrations and WithConnectTimeout (Open only). A nil Option is an
// error wrapping ErrInvalidOption. A prefix or schema name is a letter or underscore and
// at most 40 more letters, digits or underscores, checked before it goes
// into any SQL (ErrInvalidPrefix, ErrInvalidSchema), and lower-cased:
// identifiers are unquoted everywhere, in the store's queries and in the
// migration files alike, and PostgreSQL folds unquoted names to lower case,
// so "App_" and "app_" name the same tables. Several prefixes (or schemas)
// in one database are independent stores.
//
// After Close every method returns an error wrapping store.ErrClosed; a
// second Close returns nil. A method called with a context that has ended
// returns an error wrapping the context's error and sends nothing.
//
// # Group commit
//
// CreateExecution, UpdateExecution and PutTaskState go through the store's
// writer, which commits them in groups. Much of what a small write costs is
// its transaction: a round trip, a commit, a WAL flush (an fsync). So the
// writes that queue while a group runs go together in a later one: one
// transaction (BEGIN, a statement per write, COMMIT) sent as one pgx batch,
// pipelined in one round trip on one connection, and committed once. A
// write that finds no group running runs alone, one statement in autocommit
// mode with its caller's context, as before; one goroutine writing waits no
// longer than it did. Since PostgreSQL runs transactions side by side, and
// flushes the WAL once for the commits that wait together, up to two groups
// run at once: a second starts when at least as many writes wait as the running
// group carries, so that a few writers keep the concurrency they had and
// many make large groups. The writer has no goroutine of its own: one of
// the waiting callers leads each group and, when it ends, hands the lead to
// the first caller still waiting. With several goroutines writing, each
// write then costs the server and the client less (fewer transactions,
// round trips and flushes), and more of them commit per second.
//
// CreateExecutions (store.BatchCreator, which the engine uses for the
// records of one fire of many tasks) queues all its inserts at once, so
// that they go in groups of up to 128, one transaction and one round trip
// each, rather than one per record. Its inserts that met a unique key in a
// group are told apart by one query (which IDs exist, which slots are
// claimed), not one plain INSERT each; those that met neither (an
// exclusive execution that is busy, or a row gone meanwhile) are answered
// as CreateExecution answers them. Executions of one batch that share a
// key (an ID, a slot, a task's exclusive place) are written in successive
// rounds, so that each gets the answer CreateExecution called in the
// batch's order would give it, whatever order a group runs them in.
//
// Within a group, statements run in a fixed order of what they lock (slot
// claims by task and time, then other inserts, updates by ID, task states
// by task), not in queue order: a group's writes come from callers that run
// at the same time, so any order is one they may see, and the same order in
// every group and process keeps two groups claiming the same slots from
// deadlocking.
//
// Any failing statement aborts a PostgreSQL transaction, so a group's
// statements do not fail on the conflicts callers branch on: the insert is
// INSERT ... ON CONFLICT DO NOTHING (without a conflict target, which
// covers the primary key, the claim index and the indexes of exclusive
// executions alike), and a conflict shows as no row inserted; CreateExecution then runs the plain INSERT alone,
// which fails with the unique violation it would have met alone (or
// inserts the row, if the other one was deleted meanwhile), so its error is
// the same store.ErrConflict (or store.ErrBusy), naming the slot or the
// existing ID, and the rest of the group commits. An update of an unknown
// ID, or of a record that has ended, updates no row: store.ErrNotFound or
// store.ErrConflict. An update that would start a second exclusive
// execution of a task fails on its index, which aborts the group: its
// writes run again one by one, and it gets store.ErrBusy. That is rare (a
// queued run that starts while another engine runs the task), so it is
// not worth a read in every update. Any other failure (a statement the server rejects, the
// commit, a deadlock, the connection) rolls the whole group back, and its
// writes then run again one by one, each with its own answer. (After a
// connection lost during the commit, whether the group committed is not
// known: a write run again may then find its own row, and report
// store.ErrConflict.)
//
// A caller whose context ends while its write is queued gets the context's
// error at once, and its write never runs. A group runs without its
// callers' contexts, since interrupting one statement would roll back the
// others', but under a context that ends once every caller in the group has
// given up, so that a group stuck (on a lock, on a dead connection) cannot
// hold callers that have; its writes then do not happen, or are not known
// to. Otherwise, once a write's group has been taken, it runs unless its
// context has ended by then, and its caller waits for the answer.
//
// # Schema and migrations
//
// The schema is in SQL files under migrations/ (0001_init.sql, ...),
// embedded in the binary. In them the placeholder {prefix}
// (PrefixPlaceholder) stands for the table prefix; the tables are
// {prefix}executions, {prefix}task_state, {prefix}leases (Store.Locker's)
// and {prefix}schema_version, and the indexes and constraints of
// executions are named {prefix}exec_* (but for those of 0001_init.sql that
// PostgreSQL named; 0003_cluster.sql finds the CHECK on trigger it
// replaces by what it checks, since its name is cut short when the prefix
// is long). Each file ends by inserting its version
// into {prefix}schema_version; the highest version there is the schema's.
//
// At open the store runs, in one transaction: pg_advisory_xact_lock on a key
// derived from the schema and prefix (FNV-1a, 64 bits, of
// "taskmill/tables/<schema>/<prefix>"), then the files newer than the
// recorded version, then commit. Processes that open at once therefore apply
// each file once: the first takes the lock and migrates, the others wait for
// its commit and find the version current. Opening again is a no-op. With
// WithSchema the transaction first creates the schema if needed (under a
// second lock, on "taskmill/schema/<schema>/") and sets its search_path to
// it, so the unqualified names in the files land there. A recorded version
// newer than SchemaVersion is an error wrapping ErrSchemaTooNew that names
// both versions, and nothing changes.
//
// Hosts that manage their own schema pass WithoutMigrations: the store then
// creates nothing and fails with ErrSchemaMissing (no version table, or no
// version in it), ErrSchemaOutdated or ErrSchemaTooNew unless the recorded
// version is SchemaVersion. Migrations(prefix) returns the files with the
// prefix substituted, to apply with the host's tooling (in one transaction,
// with the search_path on the schema to use).
//
// Executions map column by column: id uuid primary key, times timestamptz
// (NULL for a zero time), args jsonb (an array of strings, in order, empty
// strings kept; a nil Args is stored as [] and read back as an empty
// slice), parent_id and graph_run_id uuid (NULL for uuid.Nil), exit_code
// bigint, exclusive and cancel_requested boolean, fence a bigint identity
// column (GENERATED ALWAYS, so the INSERT leaves it to its sequence), the
// rest text. Indexes: (task, started_at DESC, id DESC) and
// (started_at DESC, id DESC) for listings and oldest-first deletion,
// (graph_run_id, started_at DESC, id DESC) for graph runs, a partial
// index on the executions that are pending or running, and the unique
// ones of claims and exclusive executions (see below).
//
// Listings are keyset-paged: WHERE (started_at, id) < (cursor) ORDER BY
// started_at DESC, id DESC LIMIT limit+1, the extra row telling whether a
// NextCursor is due. PostgreSQL orders uuid bytewise, as backend.CompareIDs
// does. DeleteExecutions with a Limit deletes by DELETE ... WHERE id IN
// (SELECT id ... ORDER BY started_at, id LIMIT n FOR UPDATE SKIP LOCKED):
// oldest first, and batches run by several processes at once take
// different rows instead of waiting on each other.
//
// # Clusters (the claim)
//
// The claim that makes a scheduled slot run once is a unique partial index,
// {prefix}exec_claim on (task, scheduled_at) WHERE trigger IN ('schedule',
// 'catch-up'), not a read followed by a write: of any number of processes
// inserting an execution for one slot, PostgreSQL lets exactly one commit,
// and the others get unique_violation, which CreateExecution returns as
// store.ErrConflict (as it does for a duplicate ID). UpdateExecution never
// writes task, trigger or scheduled_at, so a claim stays where it was made;
// deleting the execution frees the slot.
//
// A task that must not run twice at once (store.Execution.Exclusive) is
// held to it the same way: unique partial indexes on task,
// {prefix}exec_busy_running over the exclusive executions that are running
// and {prefix}exec_busy_pending over those pending (recovery records
// aside), so the INSERT that claims the slot also takes the task's place,
// and a second fails with unique_violation: store.ErrBusy. PostgreSQL
// reports the first unique index that fails, in an order of its own, so
// for a violation of these CreateExecution asks whether the ID or the slot
// is taken too (store.ErrConflict wins). An UPDATE that would start a
// second running one fails the same way.
//
// UpdateExecution changes only a record that is pending or running (WHERE
// state IN ...): once final, a record never changes, so the late end write
// of a run that another engine marked abandoned changes nothing and gets
// store.ErrConflict. AbandonExecution with a recovery record is one
// statement, an INSERT ... SELECT from the UPDATE of the mark in a WITH
// clause: the record is created only if the mark is made, and an insert
// that fails (its ID exists) undoes the mark. The fence of an execution is
// its identity column's next value, taken as the row is inserted: every
// session draws from one sequence that never goes back (its cache is 1),
// so a record created after another's creation committed has a greater
// fence. RequestCancel is one conditional UPDATE of cancel_requested.
//
// Native errors do not leak for the cases callers branch on: no row is
// store.ErrNotFound, a unique violation store.ErrConflict, text PostgreSQL
// cannot hold (invalid UTF-8, NUL) or a time outside the years 1 to 9999
// store.ErrInvalid (checked before sending, as every backend checks: see
// store's doc). Other failures (connection, server) wrap the pgx error
// after a "postgres: <operation>: " prefix.
//
// # Leases
//
// Store.Locker returns a lock.Locker whose leases live in {prefix}leases,
// shared by every Store on the database with the same prefix and schema. It
// passes locktest.Run and locktest.RunShared. Every expiry is decided on the
// database's clock (now() in each statement), so hosts whose clocks differ
// by seconds agree on who holds a key; see Locker.
//
// # Precision
//
// timestamptz keeps microseconds: times are truncated to the microsecond
// when stored and come back in UTC (store.Store's conformance suite uses
// microsecond times and compares instants). Filter bounds and cursor
// positions given in nanoseconds compare as the memory store compares them:
// a bound is rounded up to the next microsecond, which selects exactly the
// stored rows before it. Stored times lie in the years 1 to 9999
// (store.TimeOK).
package postgres
