// Package postgres is the PostgreSQL store.Store, on pgx v5 (pgxpool): the
// store that lets several host processes share one history and run every
// scheduled slot exactly once.
//
// It passes storetest.Run and storetest.RunPersistent. Every method is one
// SQL statement, so one round trip, in its own implicit transaction
// (UpdateExecution adds a second only for an invalid record, to tell
// store.ErrNotFound from store.ErrInvalid as the memory store does).
// ListTaskStates (store.StateLister) reads the whole task state table in
// one query, so an engine starting many tasks reads their states in one
// round trip instead of one per task.
//
// # Opening
//
// New takes the host's *pgxpool.Pool; Close leaves that pool open, for the
// host to close after the store. Open takes a DSN (URL or keyword/value, with
// pgxpool's pool_ settings), makes a pool of its own and closes it in Close.
// A DSN that does not parse is an error wrapping ErrInvalidDSN that does not
// repeat the DSN, so no password reaches a log; a server that cannot be
// reached is the connection error of pgx (which names host and user, not the
// password). Both apply the migrations the database lacks before they
// return, or, with WithoutMigrations, check the schema version.
//
// Options: WithTablePrefix (default DefaultTablePrefix, "taskmill_"),
// WithSchema (default: none, the connection's search_path) and
// WithoutMigrations. A prefix or schema name is a letter or underscore and
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
// # Schema and migrations
//
// The schema is in SQL files under migrations/ (0001_init.sql, ...),
// embedded in the binary. In them the placeholder {prefix}
// (PrefixPlaceholder) stands for the table prefix; the tables are
// {prefix}executions, {prefix}task_state and {prefix}schema_version, and the
// indexes are named {prefix}exec_*. Each file ends by inserting its version
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
// bigint, the rest text. Indexes: (task, started_at DESC, id DESC) and
// (started_at DESC, id DESC) for listings and oldest-first deletion,
// (graph_run_id, started_at DESC, id DESC) for graph runs, and a partial
// index on the executions that are pending or running.
//
// Listings are keyset-paged: WHERE (started_at, id) < (cursor) ORDER BY
// started_at DESC, id DESC LIMIT limit+1, the extra row telling whether a
// NextCursor is due. PostgreSQL orders uuid bytewise, as store.CompareIDs
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
// Native errors do not leak for the cases callers branch on: no row is
// store.ErrNotFound, a unique violation store.ErrConflict, text PostgreSQL
// cannot hold (invalid UTF-8, NUL) or a time outside its range
// store.ErrInvalid (checked before sending). Other failures (connection,
// server) wrap the pgx error after a "postgres: <operation>: " prefix.
//
// # Precision
//
// timestamptz keeps microseconds: times are truncated to the microsecond
// when stored and come back in UTC (store.Store's conformance suite uses
// microsecond times and compares instants). Filter bounds and cursor
// positions given in nanoseconds compare as the memory store compares them:
// a bound is rounded up to the next microsecond, which selects exactly the
// stored rows before it. Stored times must lie between the years 4713 BC
// and 294000 AD.
package postgres
