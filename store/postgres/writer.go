package postgres

import (
	"bytes"
	"cmp"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskmill/taskmill/internal/groupcommit"
	"github.com/taskmill/taskmill/store"
)

// The writes of a Store (CreateExecution, UpdateExecution, PutTaskState)
// go through a writer, which commits them in groups (see
// internal/groupcommit for the queue and who runs a group); this file
// holds how a group runs in PostgreSQL.
//
// Much of what a small write costs is its transaction: the round trip, the
// commit, its WAL flush. So the writes that queue while a group runs go
// together in a later one: one transaction whose statements (BEGIN, one
// per write, COMMIT, in a pgx.Batch on one connection) are pipelined in
// one round trip and committed once. A write that finds no group running
// runs alone, as one statement in autocommit mode with its caller's
// context, as it would without the writer.
//
// Unlike SQLite, PostgreSQL runs transactions side by side, and flushes
// the WAL once for the commits that wait together. With one group at a
// time, the server would idle while the group's results travel back and
// the next one forms; so up to maxGroups groups run at once.
//
// Within a group the statements run in the order of lockOrder, not in
// queue order: a group's writes come from callers that run at the same
// time, so any order is one they may see, and the same order in every
// group and process keeps two groups that want the same keys (say, two
// processes claiming a minute's slots of several tasks) from deadlocking.
//
// Any failing statement aborts a PostgreSQL transaction, so a group's
// statements do not fail on the conflicts callers branch on: an insert is
// INSERT ... ON CONFLICT DO NOTHING, and a conflict shows as no row
// inserted (CreateExecution then finds out alone which key it was); an
// update of an unknown ID updates no row. Any failure (a statement, the
// commit, a deadlock, the connection) rolls the whole group back, and its
// writes then run again one by one, so each gets its own answer. The
// statements of a group run without their callers' contexts, since
// interrupting one statement would roll back the others', but under one
// that ends once every caller's context in the group has ended
// (groupcommit.Context): nobody then needs the group any longer, and a
// stuck connection cannot hold callers that gave up.
type writer struct {
	*groupcommit.Writer[write]
}

// maxBatch caps the writes of one group commit; maxGroups, the groups that
// run at once.
const (
	maxBatch  = 128
	maxGroups = 2
)

// errAbandoned is the result of a write whose group's leader panicked.
var errAbandoned = errors.New("postgres: write abandoned: the goroutine running it panicked")

func newWriter(pool *pgxpool.Pool, sql statements) writer {
	return writer{groupcommit.New(groupcommit.Config[write]{
		Executor: executor{pool: pool, sql: sql}, MaxBatch: maxBatch, MaxGroups: maxGroups, Abandoned: errAbandoned,
	})}
}

// Kinds of write.
type writeKind uint8

const (
	writeInsert    writeKind = iota // CreateExecution
	writeUpdate                     // UpdateExecution
	writeTaskState                  // PutTaskState
)

// write is one write. The record it points to is read by whichever
// caller runs its group, while its own caller waits.
type write struct {
	kind writeKind
	e    *store.Execution // writeInsert, writeUpdate
	ts   *store.TaskState // writeTaskState
	key  lockOrder        // its place in a group: see newWrite
}

// newWrite returns the write of kind of e or ts.
func newWrite(kind writeKind, e *store.Execution, ts *store.TaskState) write {
	w := write{kind: kind, e: e, ts: ts}
	w.key = orderOf(&w)
	return w
}

// writeReq is a write queued in the writer, with its result.
type writeReq = groupcommit.Write[write]

// lockOrder is the place of a write in its group, from what the write
// locks until its transaction ends, as far as other transactions contend
// for it: a slot claim (the task and scheduled time of an insert that
// claims), a task's place among its exclusive executions (the task of an
// exclusive insert), an execution's ID, a task's state.
type lockOrder struct {
	rank int       // one of the ranks below
	name string    // a claim's task; a task state's task
	at   time.Time // a claim's scheduled time, to the microsecond
	id   uuid.UUID // an execution's ID
}

// Ranks of lockOrders: claims and exclusive inserts first, by task, then
// other inserts, updates, task states.
const (
	rankClaim = iota
	rankInsert
	rankUpdate
	rankTaskState
)

func orderOf(r *write) lockOrder {
	switch {
	case r.kind == writeTaskState:
		return lockOrder{rank: rankTaskState, name: r.ts.Task}
	case r.kind == writeUpdate:
		return lockOrder{rank: rankUpdate, id: r.e.ID}
	case r.e.Trigger.Claims():
		return lockOrder{rank: rankClaim, name: r.e.Task, at: r.e.ScheduledAt.Truncate(time.Microsecond), id: r.e.ID}
	case r.e.Exclusive && !r.e.State.Final():
		// It takes the task's place in an index of exclusive executions,
		// which claims of the task may take too.
		return lockOrder{rank: rankClaim, name: r.e.Task, id: r.e.ID}
	}
	return lockOrder{rank: rankInsert, id: r.e.ID}
}

func (a lockOrder) compare(b lockOrder) int {
	return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.name, b.name),
		a.at.Compare(b.at), bytes.Compare(a.id[:], b.id[:]))
}

// executor runs the writer's groups on pool.
type executor struct {
	pool *pgxpool.Pool
	sql  statements
}

// statement returns r's statement, alone or in a group, and its arguments.
func (x executor) statement(r *write, inGroup bool) (string, []any) {
	switch r.kind {
	case writeInsert:
		if inGroup {
			return x.sql.insertGroup, insertArgs(r.e)
		}
		return x.sql.insert, insertArgs(r.e)
	case writeUpdate:
		return x.sql.update, updateArgs(r.e)
	}
	return x.sql.putState, taskStateArgs(r.ts)
}

// Alone runs r as one statement in autocommit mode, with its context.
func (x executor) Alone(r *writeReq) {
	sql, args := x.statement(&r.Op, false)
	tag, err := x.pool.Exec(r.Ctx, sql, args...)
	r.N, r.Err = tag.RowsAffected(), err
}

// Group runs live in one transaction, pipelined. It reports whether the
// transaction failed after it was sent, so that the group must run again
// one by one.
func (x executor) Group(live []*writeReq) (rerun bool) {
	slices.SortStableFunc(live, func(a, b *writeReq) int { return a.Op.key.compare(b.Op.key) })

	// (pgx v5.8.0, by default, breaks off a connection whose batch's
	// context ends, and then leaves one goroutine behind for good, pgx
	// issue 1999: a small cost of a rare event, for writers that cannot
	// be held forever.)
	ctx, stop := groupcommit.Context(live)
	defer stop()
	conn, err := x.pool.Acquire(ctx)
	if err != nil {
		// The pool is closed, or cannot connect: the answer for every
		// write of the group, without trying each again.
		for _, r := range live {
			r.Err = err
		}
		return false
	}
	defer conn.Release()

	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(live)+2)}
	b.Queue("BEGIN")
	for _, r := range live {
		sql, args := x.statement(&r.Op, true)
		b.Queue(sql, args...)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	committed := readGroup(br, live)
	// Once COMMIT was answered COMMIT the group is durable: an error
	// closing the batch (the connection lost before the final
	// ReadyForQuery) concerns only the connection, which pgx has closed
	// and Release then destroys. Rerunning the writes would report the
	// group's own inserts as conflicts.
	// (Without a COMMIT answer the group is not committed either way.)
	_ = br.Close()
	if committed {
		for _, r := range live {
			r.Err = nil
		}
		return false
	}
	// A failed statement leaves the transaction aborted (in the same
	// Sync, the statements after it and COMMIT are skipped): end it so
	// the connection can go back to the pool. Should this fail, Release
	// closes the connection instead, as it does any not idle.
	if pc := conn.Conn().PgConn(); !pc.IsClosed() && pc.TxStatus() != 'I' {
		_, _ = conn.Exec(ctx, "ROLLBACK")
	}
	return true
}

// readGroup reads the results of a group's batch, BEGIN, the statements of
// live, COMMIT, setting the rows each statement affected (not err). It
// reports whether the transaction committed.
func readGroup(br pgx.BatchResults, live []*writeReq) bool {
	if _, err := br.Exec(); err != nil {
		return false
	}
	for _, r := range live {
		tag, err := br.Exec()
		if err != nil {
			return false
		}
		r.N = tag.RowsAffected()
	}
	// COMMIT of an aborted transaction succeeds, saying ROLLBACK.
	tag, err := br.Exec()
	return err == nil && tag.String() == "COMMIT"
}
