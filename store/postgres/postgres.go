package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/internal/rounds"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

// Store is the PostgreSQL store. Create one with New or Open; it is safe for
// concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool // Open made the pool, so Close closes it
	closed  atomic.Bool
	t       tables
	sql     statements
	w       writer // runs CreateExecution, UpdateExecution and PutTaskState
}

var _ store.Store = (*Store)(nil)

// New returns a store on the host's pool, after applying the migrations the
// database lacks (or, with WithoutMigrations, checking its schema version).
// Close does not close the pool: the host does, after closing the store.
// The pool's connections must resolve the tables through their search_path
// unless WithSchema names the schema.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, ErrNilPool
	}
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	return newStore(ctx, pool, false, o)
}

// Open connects to the database at dsn (a URL or keyword/value connection
// string, as pgxpool.ParseConfig reads it, pool_max_conns and the other
// pool_ settings included) and returns a store on a pool of its own, which
// Close closes. A DSN that does not parse is an error wrapping ErrInvalidDSN
// that says why without repeating the DSN, so no password ends up in a log.
//
// Each connection attempt of the pool gives up after a connect timeout
// (see WithConnectTimeout; ConnectTimeoutDefault unless the DSN sets
// connect_timeout), so Open returns an error for a server that accepts the
// connection but never answers, even when ctx has no deadline. Errors
// keep the head and tail of a long message of pgx's, which may repeat a
// host or database name of any length.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := poolConfig(dsn, o)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, bounded(fmt.Errorf("postgres: open: %w", err))
	}
	s, err := newStore(ctx, pool, true, o)
	if err != nil {
		pool.Close()
		return nil, bounded(err)
	}
	return s, nil
}

// poolConfig parses dsn and sets the connect timeout: the option's, else
// the DSN's, else ConnectTimeoutDefault.
func poolConfig(dsn string, o options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, dsnError(dsn, err)
	}
	switch {
	case o.connectTimeout > 0:
		cfg.ConnConfig.ConnectTimeout = o.connectTimeout
	case cfg.ConnConfig.ConnectTimeout == 0:
		cfg.ConnConfig.ConnectTimeout = ConnectTimeoutDefault
	}
	return cfg, nil
}

// maxMessage bounds the text of an error of Open that holds a message of
// pgx's.
const maxMessage = 512

// boundedError is an error whose text came from pgx and may repeat a part
// of the DSN at any length: Error keeps its head and tail (internal/quote).
type boundedError struct{ err error }

func (e *boundedError) Error() string { return quote.Text(e.err.Error(), maxMessage) }

func (e *boundedError) Unwrap() error { return e.err }

// bounded returns err, or err with a bounded text if its text is long.
func bounded(err error) error {
	if len(err.Error()) <= maxMessage {
		return err
	}
	return &boundedError{err: err}
}

func applyOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for i, opt := range opts {
		if opt == nil {
			return options{}, fmt.Errorf("%w: option %d is nil", ErrInvalidOption, i)
		}
		if err := opt(&o); err != nil {
			return options{}, err
		}
	}
	return o, nil
}

func newStore(ctx context.Context, pool *pgxpool.Pool, own bool, o options) (*Store, error) {
	t := newTables(o)
	var err error
	if o.migrations {
		err = migrate(ctx, pool, o, t)
	} else {
		err = checkVersion(ctx, pool, t)
	}
	if err != nil {
		return nil, err
	}
	sql := newStatements(t)
	return &Store{pool: pool, ownPool: own, t: t, sql: sql, w: newWriter(pool, sql)}, nil
}

// dsnError reports why a DSN does not parse. pgx's message quotes the DSN
// with the password masked, but only where it recognizes one: the text
// before the reason is dropped.
func dsnError(dsn string, err error) error {
	why := err.Error()
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		// "cannot parse `<dsn>`: <why>"
		if i := strings.LastIndex(why, "`: "); i >= 0 {
			why = why[i+len("`: "):]
		}
	}
	if dsn != "" && strings.Contains(why, dsn) {
		why = "cannot parse it"
	}
	return fmt.Errorf("%w: %s", ErrInvalidDSN, quote.Text(why, maxMessage))
}

// tables holds the names of the store's tables, qualified by the schema when
// WithSchema set one. They are made of validated identifiers only.
type tables struct {
	executions, taskState, version string
	claimIndex                     string // the unique index of slot claims, unqualified
	// The unique indexes of a task's exclusive running and pending
	// executions, unqualified.
	busyRunning, busyPending string
}

func newTables(o options) tables {
	q := o.prefix
	if o.schema != "" {
		q = o.schema + "." + o.prefix
	}
	return tables{
		executions:  q + "executions",
		taskState:   q + "task_state",
		version:     q + "schema_version",
		claimIndex:  o.prefix + "exec_claim",
		busyRunning: o.prefix + "exec_busy_running",
		busyPending: o.prefix + "exec_busy_pending",
	}
}

// statements is the fixed SQL of the store, built once from the table names.
type statements struct {
	insert, update, get, exists string
	insertGroup                 string // insert, in a group (see writer)
	list                        string // without WHERE, ORDER BY and LIMIT
	deleteAll, deleteBatch      string // with a %s for the task condition
	getState, putState          string
	ensureState, lockState      string
	listStates                  string
	lastSlots                   string

	// Run on error paths, or rarely, only.
	stateOf     string // the state of an ID
	taken       string // whether an ID exists, and a slot is claimed
	takenMany   string // taken, for arrays of IDs, tasks and slots
	abandon     string // AbandonExecution's mark
	abandonWith string // AbandonExecution's mark and recovery record
	cancel      string // RequestCancel's
}

// insertColumns are the columns an insert writes, in the order of
// insertArgs; fence is the identity column's to fill.
const insertColumns = `id, task, trigger, scheduled_at, started_at, ended_at, state, exit_code,
	exit_message, error, args, external_id, parent_id, graph_run_id, root_task, node, skip_reason, exclusive,
	report`

// executionColumns are the columns of an execution, in the order
// scanExecution reads them.
const executionColumns = insertColumns + `, cancel_requested, fence`

// notEnded is the SQL condition of a record that is pending or running:
// the only ones an update, an abandonment or a cancel request changes.
const notEnded = `state IN ('pending', 'running')`

// stateColumns are the columns of a task state, in the order scanTaskState
// reads them.
const stateColumns = `task, suspended, suspended_reason, suspended_at, consecutive_failures,
	last_scheduled_at, updated_at`

// finalState is the SQL condition of a final state (store.State.Final).
var finalState = "state NOT IN ('" + string(store.StatePending) + "', '" + string(store.StateRunning) + "')"

func newStatements(t tables) statements {
	return statements{
		insert: `INSERT INTO ` + t.executions + ` (` + insertColumns + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		// Without a conflict target, DO NOTHING covers every unique index,
		// the primary key and the partial ones of the claims and of the
		// exclusive executions alike.
		insertGroup: `INSERT INTO ` + t.executions + ` (` + insertColumns + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
			ON CONFLICT DO NOTHING`,
		// Task, trigger and scheduled_at never change, so the claim stays;
		// nor do exclusive, cancel_requested and fence; nor does a record
		// that has ended.
		update: `UPDATE ` + t.executions + ` SET started_at = $2, ended_at = $3, state = $4,
			exit_code = $5, exit_message = $6, error = $7, args = $8, external_id = $9,
			parent_id = $10, graph_run_id = $11, root_task = $12, node = $13, skip_reason = $14,
			report = $15
			WHERE id = $1 AND ` + notEnded,
		stateOf: `SELECT state FROM ` + t.executions + ` WHERE id = $1`,
		taken: `SELECT EXISTS (SELECT 1 FROM ` + t.executions + ` WHERE id = $1),
			EXISTS (SELECT 1 FROM ` + t.executions + ` WHERE task = $2 AND scheduled_at = $3
				AND trigger IN ('schedule', 'catch-up'))`,
		// LATERAL ... LIMIT 1 keeps each lookup on its index, one per
		// execution: as EXISTS, the planner may hash the whole table.
		takenMany: `SELECT id.t IS NOT NULL, claim.t IS NOT NULL
			FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS u(id, task, slot, i)
			LEFT JOIN LATERAL (SELECT true AS t FROM ` + t.executions + ` x WHERE x.id = u.id LIMIT 1) id ON true
			LEFT JOIN LATERAL (SELECT true AS t FROM ` + t.executions + ` x WHERE x.task = u.task
				AND x.scheduled_at = u.slot AND x.trigger IN ('schedule', 'catch-up') LIMIT 1) claim ON true
			ORDER BY u.i`,
		abandon: `UPDATE ` + t.executions + ` SET state = 'abandoned', ended_at = $2, error = $3
			WHERE id = $1 AND node = $4 AND ` + notEnded,
		// One statement: the recovery record is inserted only if the mark
		// is made, and a failed insert undoes the mark.
		abandonWith: `WITH marked AS (
				UPDATE ` + t.executions + ` SET state = 'abandoned', ended_at = $2, error = $3
				WHERE id = $1 AND node = $4 AND ` + notEnded + ` RETURNING id)
			INSERT INTO ` + t.executions + ` (` + insertColumns + `)
			SELECT $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23
			FROM marked`,
		cancel:    `UPDATE ` + t.executions + ` SET cancel_requested = true WHERE id = $1 AND ` + notEnded,
		get:       `SELECT ` + executionColumns + ` FROM ` + t.executions + ` WHERE id = $1`,
		exists:    `SELECT EXISTS (SELECT 1 FROM ` + t.executions + ` WHERE id = $1)`,
		list:      `SELECT ` + executionColumns + ` FROM ` + t.executions,
		deleteAll: keepSlots(t, `DELETE FROM `+t.executions+` WHERE `+finalState+` AND started_at < $1%s`),
		// Oldest first; rows another deleter has locked are skipped, so
		// that concurrent batches delete different rows.
		deleteBatch: keepSlots(t, `DELETE FROM `+t.executions+` WHERE id IN (
			SELECT id FROM `+t.executions+` WHERE `+finalState+` AND started_at < $1%s
			ORDER BY started_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)`),
		// ChangeTaskState's: the row made if missing, then locked.
		ensureState: `INSERT INTO ` + t.taskState + ` (task) VALUES ($1) ON CONFLICT (task) DO NOTHING`,
		lockState:   `SELECT ` + stateColumns + ` FROM ` + t.taskState + ` WHERE task = $1 FOR UPDATE`,
		getState:    `SELECT ` + stateColumns + ` FROM ` + t.taskState + ` WHERE task = $1`,
		listStates:  `SELECT ` + stateColumns + ` FROM ` + t.taskState,
		// The claim index's own condition, so that the index answers.
		lastSlots: `SELECT task, max(scheduled_at) FROM ` + t.executions + `
			WHERE trigger IN ('schedule', 'catch-up') GROUP BY task`,
		putState: `INSERT INTO ` + t.taskState + ` (task, suspended, suspended_reason, suspended_at,
			consecutive_failures, last_scheduled_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (task) DO UPDATE SET suspended = EXCLUDED.suspended,
			suspended_reason = EXCLUDED.suspended_reason, suspended_at = EXCLUDED.suspended_at,
			consecutive_failures = EXCLUDED.consecutive_failures,
			last_scheduled_at = EXCLUDED.last_scheduled_at, updated_at = EXCLUDED.updated_at`,
	}
}

// keepSlots makes a DELETE of executions one statement that also keeps,
// in each task's state, the newest slot among the claiming executions it
// deletes (store.Store.DeleteExecutions), and returns how many it deleted.
// The states are upserted in task order, the order in which any two
// deleters lock them.
func keepSlots(t tables, del string) string {
	return `WITH gone AS (` + del + ` RETURNING task, trigger, scheduled_at),
		kept AS (INSERT INTO ` + t.taskState + ` (task, last_scheduled_at)
			SELECT task, max(scheduled_at) FROM gone WHERE trigger IN ('schedule', 'catch-up')
			GROUP BY task ORDER BY task
			ON CONFLICT (task) DO UPDATE
			SET last_scheduled_at = GREATEST(` + t.taskState + `.last_scheduled_at, EXCLUDED.last_scheduled_at))
		SELECT count(*) FROM gone`
}

// begin is the check at the start of every method: not closed, context live.
func (s *Store) begin(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	return nil
}

// fail maps an error of pgx to what the store returns: ErrClosed when the
// store was closed meanwhile, the context's error when it ended, ErrInvalid
// for a value PostgreSQL rejects (SQLSTATE class 22, data exception, such as
// a time out of range), else the error wrapped.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrClosed)
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("postgres: %s: %w (%v)", op, ctxErr, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && strings.HasPrefix(pe.Code, "22") {
		return fmt.Errorf("postgres: %s: %w: %s (SQLSTATE %s)", op, store.ErrInvalid, pe.Message, pe.Code)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// CreateExecution inserts e, through the writer (see writer): alone, one
// INSERT; in a group, INSERT ... ON CONFLICT DO NOTHING. A unique violation,
// of the primary key or of the slot-claim index, is store.ErrConflict; of
// an index of exclusive executions, store.ErrBusy, unless e's ID or slot is
// taken too (a query says, on this path only). The fence is the identity
// column's next value. See store.Store.
func (s *Store) CreateExecution(ctx context.Context, e *store.Execution) error {
	const op = "create execution"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	n, err := s.w.Exec(ctx, newWrite(writeInsert, e, nil))
	if err == nil && n == 0 {
		return s.insertAlone(ctx, e)
	}
	return s.created(ctx, e, err)
}

// insertAlone is the answer for e, whose insert in a group met a unique
// key (a plain INSERT alone inserts its row or fails): which one, the
// plain INSERT says, as it would have. This is rare, so it may cost a
// round trip. (Should the other row be gone meanwhile, it inserts e,
// which is as if e had come after.)
func (s *Store) insertAlone(ctx context.Context, e *store.Execution) error {
	_, err := s.pool.Exec(ctx, s.sql.insert, insertArgs(e)...)
	return s.created(ctx, e, err)
}

// created is CreateExecution's answer for e from the error of its insert:
// nil, or the unique key it met, or the error mapped by fail.
func (s *Store) created(ctx context.Context, e *store.Execution, err error) error {
	const op = "create execution"
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" { // unique_violation
		return s.fail(ctx, op, err)
	}
	idTaken, claimed := false, false
	switch pe.ConstraintName {
	case s.t.claimIndex:
		claimed = true
	case s.t.busyRunning, s.t.busyPending:
		// PostgreSQL reports the first unique index that fails, in an
		// order of its own; a conflict wins over busy.
		if idTaken, claimed, err = s.taken(ctx, e); err != nil {
			return s.fail(ctx, op, err)
		}
		if !idTaken && !claimed {
			return busyError(e)
		}
	default:
		idTaken = true
	}
	return conflictError(e, idTaken)
}

// conflictError is the store.ErrConflict of e: its ID exists (idTaken),
// or its slot is claimed.
func conflictError(e *store.Execution, idTaken bool) error {
	if idTaken {
		return fmt.Errorf("%w: execution %s exists", store.ErrConflict, e.ID)
	}
	return fmt.Errorf("%w: task %q: slot %s is claimed", store.ErrConflict, e.Task, e.ScheduledAt)
}

// busyError is the store.ErrBusy of e, an exclusive execution.
func busyError(e *store.Execution) error {
	return fmt.Errorf("%w: task %q has an exclusive execution %s", store.ErrBusy, e.Task, e.State)
}

var _ store.BatchCreator = (*Store)(nil)

// CreateExecutions creates each of es as CreateExecution would, through
// the writer's batch path (ExecMany of internal/groupcommit): groups of up to maxBatch
// inserts, one transaction and one round trip each, rather than one per
// record. The inserts of a group run in lockOrder, not in the order of
// es, so that two processes claiming the same slots cannot deadlock; an
// execution that shares a key (its ID, its slot claim, its task's place
// among exclusive executions) with an earlier one of es therefore waits
// for a later round, after that one's answer, so that each gets the
// answer it would get from CreateExecution called in order (see
// internal/rounds). The inserts
// that met a unique key in a group are told apart by one query for the
// round (which IDs exist, which slots are claimed); one that met neither
// is answered as CreateExecution answers it, by a plain INSERT. A context
// that ends gives the executions not yet written its error. See
// store.BatchCreator.
func (s *Store) CreateExecutions(ctx context.Context, es []*store.Execution) []error {
	const op = "create execution"
	errs := make([]error, len(es))
	if err := s.begin(ctx, op); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, e := range es {
		errs[i] = e.Validate()
	}
	for _, round := range rounds.Split(es, func(i int) bool { return errs[i] != nil }) {
		if err := s.begin(ctx, op); err != nil {
			for _, i := range round {
				errs[i] = err
			}
			continue
		}
		s.createRound(ctx, es, errs, round)
	}
	return errs
}

// createRound creates es[i] for each i of round, which share no key, and
// sets errs[i].
func (s *Store) createRound(ctx context.Context, es []*store.Execution, errs []error, round []int) {
	const op = "create execution"
	ws := make([]write, len(round))
	for j, i := range round {
		ws[j] = newWrite(writeInsert, es[i], nil)
	}
	rs := s.w.ExecMany(ctx, ws)
	var met []int // of round: inserts that met a unique key in a group
	for j, i := range round {
		if rs[j].Err == nil && rs[j].N == 0 {
			met = append(met, j)
			continue
		}
		errs[i] = s.created(ctx, es[i], rs[j].Err)
	}
	if len(met) == 0 {
		return
	}
	idTaken, claimed, err := s.takenMany(ctx, es, round, met)
	for k, j := range met {
		i := round[j]
		switch {
		case err != nil:
			errs[i] = s.fail(ctx, op, err)
		case idTaken[k] || claimed[k]:
			errs[i] = conflictError(es[i], idTaken[k])
		default:
			// Busy, or the other row is gone: as CreateExecution.
			errs[i] = s.insertAlone(ctx, es[i])
		}
	}
}

// takenMany is taken for es[round[j]] for each j of met, in one query.
func (s *Store) takenMany(ctx context.Context, es []*store.Execution, round, met []int) (idTaken, claimed []bool, err error) {
	ids := make([]pgtype.UUID, len(met))
	tasks := make([]string, len(met))
	slots := make([]pgtype.Timestamptz, len(met)) // NULL: matches no claim
	for k, j := range met {
		e := es[round[j]]
		ids[k], tasks[k] = pgUUID(e.ID), e.Task
		if e.Trigger.Claims() {
			slots[k] = pgTime(e.ScheduledAt)
		}
	}
	rows, err := s.pool.Query(ctx, s.sql.takenMany, ids, tasks, slots)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	idTaken, claimed = make([]bool, 0, len(met)), make([]bool, 0, len(met))
	for rows.Next() {
		var id, claim bool
		if err := rows.Scan(&id, &claim); err != nil {
			return nil, nil, err
		}
		idTaken, claimed = append(idTaken, id), append(claimed, claim)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(idTaken) != len(met) {
		return nil, nil, fmt.Errorf("postgres: %d rows for %d executions", len(idTaken), len(met))
	}
	return idTaken, claimed, nil
}

// taken reports whether e's ID exists and whether e claims a slot that
// another execution has claimed.
func (s *Store) taken(ctx context.Context, e *store.Execution) (idTaken, claimed bool, err error) {
	var slot pgtype.Timestamptz // NULL: matches no claim
	if e.Trigger.Claims() {
		slot = pgTime(e.ScheduledAt)
	}
	err = s.pool.QueryRow(ctx, s.sql.taken, pgUUID(e.ID), e.Task, slot).Scan(&idTaken, &claimed)
	return idTaken, claimed, err
}

// UpdateExecution overwrites the record with e's ID, keeping its stored
// Task, Trigger, ScheduledAt, Exclusive, CancelRequested and Fence: one
// UPDATE of a record that is pending or running, through the writer (see
// writer). When it changes no row, a query tells store.ErrNotFound from
// store.ErrConflict (a final record); a unique violation of an index of
// exclusive executions is store.ErrBusy. See store.Store.
func (s *Store) UpdateExecution(ctx context.Context, e *store.Execution) error {
	const op = "update execution"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	if err := e.ValidateUpdate(); err != nil {
		// An unknown ID is ErrNotFound whatever else is wrong, as in the
		// memory store; this costs a query only on the error path.
		var exists bool
		if qerr := s.pool.QueryRow(ctx, s.sql.exists, pgUUID(e.ID)).Scan(&exists); qerr != nil {
			return s.fail(ctx, op, qerr)
		}
		if !exists {
			return fmt.Errorf("%w: execution %s", store.ErrNotFound, e.ID)
		}
		return err
	}
	n, err := s.w.Exec(ctx, newWrite(writeUpdate, e, nil))
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "23505":
		// An update writes no key of the other unique indexes.
		return fmt.Errorf("%w: task %q has an exclusive execution %s", store.ErrBusy, e.Task, e.State)
	case err != nil:
		return s.fail(ctx, op, err)
	case n == 0:
		return s.notChanged(ctx, op, e.ID)
	}
	return nil
}

// notChanged is the error of a write to the record with the ID, which is
// meant for a pending or running record and changed no row:
// store.ErrNotFound if no record has the ID, else store.ErrConflict naming
// the record's state. It costs a query only on this path.
func (s *Store) notChanged(ctx context.Context, op string, id uuid.UUID) error {
	var st string
	err := s.pool.QueryRow(ctx, s.sql.stateOf, pgUUID(id)).Scan(&st)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: execution %s", store.ErrNotFound, id)
	case err != nil:
		return s.fail(ctx, op, err)
	}
	return fmt.Errorf("%w: execution %s has ended (%s): a final record does not change", store.ErrConflict, id, st)
}

// insertArgs are the parameters of the insert statement for e.
func insertArgs(e *store.Execution) []any {
	return []any{
		pgUUID(e.ID), e.Task, string(e.Trigger), pgTime(e.ScheduledAt), pgTime(e.StartedAt), pgTime(e.EndedAt),
		string(e.State), int64(e.ExitCode), e.ExitMessage, e.Error, pgArgs(e.Args), e.ExternalID,
		pgUUID(e.ParentID), pgUUID(e.GraphRunID), e.RootTask, e.Node, e.SkipReason, e.Exclusive, e.Report,
	}
}

// updateArgs are the parameters of the update statement for e.
func updateArgs(e *store.Execution) []any {
	return []any{
		pgUUID(e.ID), pgTime(e.StartedAt), pgTime(e.EndedAt), string(e.State), int64(e.ExitCode),
		e.ExitMessage, e.Error, pgArgs(e.Args), e.ExternalID, pgUUID(e.ParentID), pgUUID(e.GraphRunID),
		e.RootTask, e.Node, e.SkipReason, e.Report,
	}
}

// taskStateArgs are the parameters of the putState statement for ts.
func taskStateArgs(ts *store.TaskState) []any {
	return []any{
		ts.Task, ts.Suspended, ts.SuspendedReason, pgTime(ts.SuspendedAt), int64(ts.ConsecutiveFailures),
		pgTime(ts.LastScheduledAt), pgTime(ts.UpdatedAt),
	}
}

// GetExecution returns the record with the ID. See store.Store.
func (s *Store) GetExecution(ctx context.Context, id uuid.UUID) (*store.Execution, error) {
	const op = "get execution"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	e, err := scanExecution(s.pool.QueryRow(ctx, s.sql.get, pgUUID(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: execution %s", store.ErrNotFound, id)
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return e, nil
}

// ListExecutions returns one page of records, newest first: one query that
// fetches Limit+1 rows after the cursor's position, (started_at, id) <
// (position), over the index on (task, started_at DESC, id DESC) or on
// (started_at DESC, id DESC). See store.Store.
func (s *Store) ListExecutions(ctx context.Context, f store.ExecutionFilter) (*store.Page, error) {
	const op = "list executions"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	var (
		b    strings.Builder
		args []any
	)
	b.WriteString(s.sql.list)
	cond := func(sql string, vals ...any) {
		if len(args) == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		// sql has one "$" per value; number them.
		for _, part := range strings.SplitAfter(sql, "$") {
			b.WriteString(part)
			if strings.HasSuffix(part, "$") {
				args = append(args, vals[0])
				vals = vals[1:]
				b.WriteString(strconv.Itoa(len(args)))
			}
		}
	}
	if f.Task != "" {
		if err := text("list executions: task name", f.Task); err != nil {
			return nil, err
		}
		cond("task = $", f.Task)
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		cond("state = ANY($)", states)
	}
	if len(f.Triggers) > 0 {
		triggers := make([]string, len(f.Triggers))
		for i, tr := range f.Triggers {
			triggers[i] = string(tr)
		}
		cond("trigger = ANY($)", triggers)
	}
	if f.GraphRunID != uuid.Nil {
		cond("graph_run_id = $", pgUUID(f.GraphRunID))
	}
	if !f.From.IsZero() {
		cond("started_at >= $", bound(f.From))
	}
	if !f.To.IsZero() {
		cond("started_at < $", bound(f.To))
	}
	if f.Cursor != "" {
		c, err := backend.DecodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		at, id := c.StartedAt, c.ID
		if up := bound(at); !up.Equal(at) {
			// A position between two microseconds (or outside the
			// range): every row before the bound follows it, whatever
			// its ID.
			at, id = up, uuid.Nil
		}
		// Not pgUUID: uuid.Nil is a position here, not NULL.
		cond("(started_at, id) < ($, $)", at, pgtype.UUID{Bytes: id, Valid: true})
	}
	limit := backend.PageLimit(f.Limit)
	args = append(args, limit+1)
	b.WriteString(" ORDER BY started_at DESC, id DESC LIMIT $" + strconv.Itoa(len(args)))

	rows, err := s.pool.Query(ctx, b.String(), args...)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	es, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.Execution, error) {
		return scanExecution(row)
	})
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	page := &store.Page{Executions: es}
	if len(es) > limit {
		page.Executions = es[:limit]
		page.NextCursor = backend.EncodeCursor(es[limit-1])
	}
	return page, nil
}

// DeleteExecutions deletes final records; with a Limit, the oldest first in
// one statement (DELETE ... WHERE id IN (SELECT ... ORDER BY started_at, id
// LIMIT n FOR UPDATE SKIP LOCKED)), so concurrent batches take different
// rows. Deleting a row frees its slot claim. See store.Store.
func (s *Store) DeleteExecutions(ctx context.Context, p store.DeleteParams) (int, error) {
	const op = "delete executions"
	if err := s.begin(ctx, op); err != nil {
		return 0, err
	}
	if err := p.Validate(); err != nil {
		return 0, err
	}
	args := []any{bound(p.Before)}
	sql := s.sql.deleteAll
	if p.Limit > 0 {
		sql = s.sql.deleteBatch
		args = append(args, p.Limit)
	}
	taskCond := ""
	if p.Task != "" {
		if err := text("delete executions: task name", p.Task); err != nil {
			return 0, err
		}
		args = append(args, p.Task)
		taskCond = " AND task = $" + strconv.Itoa(len(args))
	}
	var n int64
	if err := s.pool.QueryRow(ctx, fmt.Sprintf(sql, taskCond), args...).Scan(&n); err != nil {
		return 0, s.fail(ctx, op, err)
	}
	return int(n), nil
}

// GetTaskState returns the persisted state of task. See store.Store.
func (s *Store) GetTaskState(ctx context.Context, task string) (*store.TaskState, error) {
	const op = "get task state"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	notFound := fmt.Errorf("%w: task state %q", store.ErrNotFound, task)
	if text("task", task) != nil {
		return nil, notFound // no such name can be stored
	}
	ts, err := scanTaskState(s.pool.QueryRow(ctx, s.sql.getState, task))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return ts, nil
}

var _ store.StateLister = (*Store)(nil)

// ListTaskStates returns every persisted task state: one query, so one
// round trip, over the task state table. See store.StateLister.
func (s *Store) ListTaskStates(ctx context.Context) ([]*store.TaskState, error) {
	const op = "list task states"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql.listStates)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	states, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*store.TaskState, error) {
		return scanTaskState(row)
	})
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return states, nil
}

var _ store.SlotLister = (*Store)(nil)

// LastSlots returns every task's latest claimed slot, in one query over the
// claim index (one GROUP BY). See store.SlotLister.
func (s *Store) LastSlots(ctx context.Context) (map[string]time.Time, error) {
	const op = "last slots"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql.lastSlots)
	if err != nil {
		return nil, s.fail(ctx, op, err)
	}
	defer rows.Close()
	out := make(map[string]time.Time)
	for rows.Next() {
		var task string
		var slot pgtype.Timestamptz
		if err := rows.Scan(&task, &slot); err != nil {
			return nil, s.fail(ctx, op, err)
		}
		out[task] = goTime(slot)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, op, err)
	}
	return out, nil
}

// PutTaskState inserts or replaces the state of ts.Task (INSERT ... ON
// CONFLICT DO UPDATE), through the writer (see writer). See store.Store.
func (s *Store) PutTaskState(ctx context.Context, ts *store.TaskState) error {
	const op = "put task state"
	if err := s.begin(ctx, op); err != nil {
		return err
	}
	if err := ts.Validate(); err != nil {
		return err
	}
	_, err := s.w.Exec(ctx, newWrite(writeTaskState, nil, ts))
	if err != nil {
		return s.fail(ctx, op, err)
	}
	return nil
}

// Close marks the store closed: later calls return errors wrapping
// store.ErrClosed, and a second Close returns nil. If Open made the pool,
// Close closes it, waiting for calls in flight to give back their
// connections; a pool passed to New stays open for the host to close.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// scanExecution reads a row of executionColumns.
func scanExecution(row pgx.Row) (*store.Execution, error) {
	var (
		e                         store.Execution
		id, parent, graph         pgtype.UUID
		trigger, state            string
		scheduled, started, ended pgtype.Timestamptz
		exitCode                  int64
	)
	err := row.Scan(&id, &e.Task, &trigger, &scheduled, &started, &ended, &state, &exitCode,
		&e.ExitMessage, &e.Error, &e.Args, &e.ExternalID, &parent, &graph, &e.RootTask, &e.Node, &e.SkipReason,
		&e.Exclusive, &e.Report, &e.CancelRequested, &e.Fence)
	if err != nil {
		return nil, err
	}
	e.ID = id.Bytes
	e.Trigger = store.Trigger(trigger)
	e.ScheduledAt = goTime(scheduled)
	e.StartedAt = goTime(started)
	e.EndedAt = goTime(ended)
	e.State = store.State(state)
	e.ExitCode = int(exitCode)
	if parent.Valid {
		e.ParentID = parent.Bytes
	}
	if graph.Valid {
		e.GraphRunID = graph.Bytes
	}
	return &e, nil
}

// scanTaskState reads a row of stateColumns.
func scanTaskState(row pgx.Row) (*store.TaskState, error) {
	var (
		ts                                      store.TaskState
		suspendedAt, lastScheduledAt, updatedAt pgtype.Timestamptz
		failures                                int64
	)
	err := row.Scan(&ts.Task, &ts.Suspended, &ts.SuspendedReason, &suspendedAt, &failures, &lastScheduledAt, &updatedAt)
	if err != nil {
		return nil, err
	}
	ts.SuspendedAt = goTime(suspendedAt)
	ts.ConsecutiveFailures = int(failures)
	ts.LastScheduledAt = goTime(lastScheduledAt)
	ts.UpdatedAt = goTime(updatedAt)
	return &ts, nil
}

// pgUUID is id as a uuid parameter: NULL for uuid.Nil.
func pgUUID(id uuid.UUID) pgtype.UUID {
	return pgtype.UUID{Bytes: id, Valid: id != uuid.Nil}
}

// pgTime is t as a timestamptz parameter: NULL for the zero time, else
// truncated to the microsecond (PostgreSQL's precision) here rather than by
// whichever protocol the pool uses.
func pgTime(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: t.Truncate(time.Microsecond), Valid: true}
}

// goTime is a scanned timestamptz: the zero time for NULL, else in UTC.
func goTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// ceilMicro rounds t up to the microsecond. A bound or a position given in
// nanoseconds compares with microsecond rows as its ceiling does: a row at
// microsecond r is before t exactly when r < ceilMicro(t).
func ceilMicro(t time.Time) time.Time {
	d := t.Truncate(time.Microsecond)
	if d.Equal(t) {
		return d
	}
	return d.Add(time.Microsecond)
}

// pgArgs is the jsonb array of args; nil is stored as [].
func pgArgs(args []string) []string {
	if args == nil {
		return []string{}
	}
	return args
}

// Bounds that filters are clamped to, within what a timestamptz holds
// (PostgreSQL's own range is 4713 BC to 294276 AD; pgx computes
// microseconds since 1970 in an int64, which ends in 294247 AD). Stored
// times lie well within (store.TimeOK: years 1 to 9999), so clamping
// changes no result.
var (
	minTime = time.Date(-4712, time.January, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(294000, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// bound is a time a filter compares stored times with: rounded up to the
// microsecond (see ceilMicro) and clamped to the range stored times lie in.
func bound(t time.Time) time.Time {
	switch {
	case t.Before(minTime):
		return minTime
	case t.After(maxTime):
		return maxTime.Add(time.Microsecond)
	}
	return ceilMicro(t)
}

// text checks that v, a filter's text, can be compared with stored text
// (see textProblem); the error names what v is.
func text(what, v string) error {
	if p := textProblem(v); p != "" {
		return fmt.Errorf("%w: %s %s", store.ErrInvalid, what, p)
	}
	return nil
}

// textProblem says why PostgreSQL text cannot hold v, or returns "".
func textProblem(v string) string {
	switch {
	case !utf8.ValidString(v):
		return "is not valid UTF-8"
	case strings.IndexByte(v, 0) >= 0:
		return "contains a NUL byte"
	}
	return ""
}
