package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskmill/taskmill/internal/groupcommit/groupcommittest"
	"github.com/taskmill/taskmill/store"
)

// The tests of the group commit (see writer). They need the database that
// TASKMILL_TEST_POSTGRES_URL names, as the package's other tests do.

// batchCounter counts the batches of more than one write (BEGIN, two or
// more statements, COMMIT) that a pool's connections send: the groups.
type batchCounter struct {
	groups  atomic.Int64
	largest atomic.Int64 // writes in the largest group
}

func (c *batchCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	if n := int64(d.Batch.Len() - 2); n >= 2 {
		c.groups.Add(1)
		for {
			old := c.largest.Load()
			if n <= old || c.largest.CompareAndSwap(old, n) {
				break
			}
		}
	}
	return ctx
}

func (*batchCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (*batchCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (*batchCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (*batchCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// writerStore returns a store on tables of its own, on a pool of its own
// (configured by configure, if not nil) whose batches c counts, and the
// table prefix. All is dropped and closed when the test ends.
func writerStore(t *testing.T, c *batchCounter, configure func(*pgxpool.Config)) (*Store, string) {
	t.Helper()
	url := os.Getenv("TASKMILL_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("TASKMILL_TEST_POSTGRES_URL is unset: skipping the PostgreSQL tests")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	cfg.MaxConns = 8
	if c != nil {
		cfg.ConnConfig.Tracer = c
	}
	if configure != nil {
		configure(cfg)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewWithConfig: %v", err)
	}
	t.Cleanup(pool.Close)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "tmw_" + hex.EncodeToString(b[:]) + "_"
	t.Cleanup(func() {
		sql := fmt.Sprintf("DROP TABLE IF EXISTS %[1]sexecutions, %[1]stask_state, %[1]sleases, %[1]sschema_version;"+
			" DROP FUNCTION IF EXISTS %[1]sboom()", prefix)
		if _, err := pool.Exec(context.Background(), sql); err != nil {
			t.Errorf("drop tables %s*: %v", prefix, err)
		}
	})
	s, err := New(t.Context(), pool, WithTablePrefix(prefix))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, prefix
}

var slot0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func claim(task string, slot time.Time) *store.Execution {
	return &store.Execution{ID: uuid.New(), Task: task, Trigger: store.TriggerSchedule, ScheduledAt: slot,
		StartedAt: slot, State: store.StateRunning, Args: []string{"a"}}
}

func manual(task string) *store.Execution {
	return &store.Execution{ID: uuid.New(), Task: task, Trigger: store.TriggerManual, StartedAt: slot0,
		State: store.StateRunning}
}

func ended(e *store.Execution, msg string) *store.Execution {
	u := *e
	u.State, u.EndedAt, u.ExitMessage = store.StateSucceeded, e.StartedAt.Add(time.Second), msg
	return &u
}

func req(ctx context.Context, kind writeKind, e *store.Execution) *writeReq {
	return &writeReq{Ctx: ctx, Op: newWrite(kind, e, nil)}
}

func stored(t *testing.T, s *Store, id uuid.UUID) *store.Execution {
	t.Helper()
	e, err := s.GetExecution(t.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("GetExecution: %v", err)
	}
	return e
}

// TestGroupResults: in one group, a claim of a claimed slot and a duplicate
// ID insert no row, an update of an unknown ID updates none, and the other
// writes of the group commit.
func TestGroupResults(t *testing.T) {
	s, _ := writerStore(t, nil, nil)
	ctx := t.Context()
	old := manual("t")
	if err := s.CreateExecution(ctx, old); err != nil {
		t.Fatal(err)
	}
	a, dup, b := claim("t", slot0), claim("t", slot0), claim("t", slot0.Add(time.Minute))
	sameID := manual("u")
	sameID.ID = old.ID
	m := manual("v")
	group := []*writeReq{
		req(ctx, writeInsert, a), req(ctx, writeInsert, dup), req(ctx, writeInsert, sameID),
		req(ctx, writeUpdate, ended(old, "updated")), req(ctx, writeUpdate, ended(manual("w"), "")),
		req(ctx, writeInsert, b), req(ctx, writeInsert, m),
		{Ctx: ctx, Op: newWrite(writeTaskState, nil, &store.TaskState{Task: "t", ConsecutiveFailures: 3})},
	}
	s.w.Run(group)
	want := []int64{1, 0, 0, 1, 0, 1, 1, 1}
	// a and dup claim one slot: the first in the group's order wins.
	if a.ID.String() > dup.ID.String() {
		want[0], want[1] = 0, 1
		a, dup = dup, a
	}
	for i, r := range group {
		if r.Err != nil || r.N != want[i] {
			t.Errorf("write %d: %d rows, %v; want %d rows, no error", i, r.N, r.Err, want[i])
		}
	}
	for _, id := range []uuid.UUID{a.ID, b.ID, m.ID} {
		if stored(t, s, id) == nil {
			t.Errorf("execution %s was not stored", id)
		}
	}
	if stored(t, s, dup.ID) != nil {
		t.Errorf("the second claim of a slot was stored")
	}
	if e := stored(t, s, old.ID); e == nil || e.ExitMessage != "updated" || e.Task != "t" {
		t.Errorf("updated execution: %+v; want the update, task t", e)
	}
	if ts, err := s.GetTaskState(ctx, "t"); err != nil || ts.ConsecutiveFailures != 3 {
		t.Errorf("task state: %+v, %v; want 3 failures", ts, err)
	}
}

// TestGroupConflictErrors: writes that queue together run as one group;
// the claims that lose, and the duplicate ID, get the errors CreateExecution
// returns alone, and the other writes of the group succeed.
func TestGroupConflictErrors(t *testing.T) {
	c := &batchCounter{}
	s, _ := writerStore(t, c, nil)
	ctx := t.Context()
	old := manual("t")
	if err := s.CreateExecution(ctx, old); err != nil {
		t.Fatal(err)
	}
	const claimers = 3
	dupID := manual("other")
	dupID.ID = old.ID
	writes := []func() error{
		func() error { return s.CreateExecution(ctx, dupID) },
		func() error { return s.UpdateExecution(ctx, ended(old, "done")) },
	}
	for range claimers {
		e := claim("t", slot0)
		writes = append(writes, func() error { return s.CreateExecution(ctx, e) })
	}
	others := make([]*store.Execution, 5)
	for i := range others {
		others[i] = claim("t", slot0.Add(time.Duration(i+1)*time.Minute))
		writes = append(writes, func() error { return s.CreateExecution(ctx, others[i]) })
	}
	errs := inOneGroup(t, s, writes...)

	if c.groups.Load() != 1 || c.largest.Load() != int64(len(writes)) {
		t.Errorf("%d groups, the largest of %d writes; want one of %d", c.groups.Load(), c.largest.Load(), len(writes))
	}
	if err := errs[0]; !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "execution "+old.ID.String()+" exists") {
		t.Errorf("CreateExecution(duplicate ID): %v; want ErrConflict, execution %s exists", err, old.ID)
	}
	if errs[1] != nil {
		t.Errorf("UpdateExecution: %v", errs[1])
	}
	won := 0
	for _, err := range errs[2 : 2+claimers] {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), `task "t": slot `+slot0.String()+" is claimed"):
			t.Errorf("CreateExecution(claimed slot): %v; want ErrConflict, slot %s is claimed", err, slot0)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d claims of one slot succeeded, want 1", won, claimers)
	}
	for i, err := range errs[2+claimers:] {
		if err != nil {
			t.Errorf("CreateExecution(free slot %d): %v", i, err)
		}
	}
	if e := stored(t, s, old.ID); e == nil || e.ExitMessage != "done" || e.Task != "t" {
		t.Errorf("updated execution: %+v; want the update", e)
	}
}

// TestGroupConcurrent: 16 goroutines create and update executions and put
// task states at once; the writes form groups, and every one is stored.
func TestGroupConcurrent(t *testing.T) {
	c := &batchCounter{}
	s, _ := writerStore(t, c, nil)
	ctx := t.Context()
	const workers, each = 16, 25
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		want []*store.Execution
	)
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task := fmt.Sprintf("task-%d", g)
			for i := range each {
				e := claim(task, slot0.Add(time.Duration(i)*time.Minute))
				if i%3 == 0 {
					e = manual(task)
				}
				if err := s.CreateExecution(ctx, e); err != nil {
					t.Errorf("CreateExecution: %v", err)
					return
				}
				u := ended(e, fmt.Sprintf("%d/%d", g, i))
				if err := s.UpdateExecution(ctx, u); err != nil {
					t.Errorf("UpdateExecution: %v", err)
					return
				}
				if err := s.PutTaskState(ctx, &store.TaskState{Task: task, ConsecutiveFailures: i + 1}); err != nil {
					t.Errorf("PutTaskState: %v", err)
					return
				}
				mu.Lock()
				want = append(want, u)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, u := range want {
		e := stored(t, s, u.ID)
		if e == nil || e.State != store.StateSucceeded || e.ExitMessage != u.ExitMessage || !e.EndedAt.Equal(u.EndedAt) ||
			e.Task != u.Task || !e.ScheduledAt.Equal(u.ScheduledAt) {
			t.Errorf("execution %s: stored %+v, want %+v", u.ID, e, u)
		}
	}
	for g := range workers {
		ts, err := s.GetTaskState(ctx, fmt.Sprintf("task-%d", g))
		if err != nil || ts.ConsecutiveFailures != each {
			t.Errorf("task state %d: %+v, %v; want %d failures", g, ts, err, each)
		}
	}
	if c.groups.Load() == 0 {
		t.Errorf("16 goroutines writing at once formed no group")
	}
	t.Logf("%d groups, the largest of %d writes", c.groups.Load(), c.largest.Load())
	groupcommittest.CheckIdle(t, s.w.Writer)
}

// TestGroupClaimRace: two goroutines claim each slot at once while others
// write beside them: each slot is claimed once, the loser gets the claimed
// slot's ErrConflict, and the other writes succeed.
func TestGroupClaimRace(t *testing.T) {
	c := &batchCounter{}
	s, _ := writerStore(t, c, nil)
	ctx := t.Context()
	const slots, fillers = 150, 4
	stop := make(chan struct{})
	var fill sync.WaitGroup
	for range fillers {
		fill.Add(1)
		go func() {
			defer fill.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				e := manual("filler")
				if err := s.CreateExecution(ctx, e); err != nil {
					t.Errorf("CreateExecution(filler): %v", err)
					return
				}
				if err := s.UpdateExecution(ctx, ended(e, "")); err != nil {
					t.Errorf("UpdateExecution(filler): %v", err)
					return
				}
			}
		}()
	}
	for i := range slots {
		slot := slot0.Add(time.Duration(i) * time.Minute)
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  [2]error
		)
		for j := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := claim("race", slot)
				<-start
				errs[j] = s.CreateExecution(ctx, e)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "slot "+slot.String()+" is claimed"):
				t.Errorf("slot %d: CreateExecution: %v; want nil or ErrConflict, slot is claimed", i, err)
			}
		}
		if won != 1 {
			t.Errorf("slot %d: %d claims succeeded, want 1", i, won)
		}
	}
	close(stop)
	fill.Wait()
	t.Logf("%d groups, the largest of %d writes", c.groups.Load(), c.largest.Load())
	groupcommittest.CheckIdle(t, s.w.Writer)
}

// TestGroupRerun: a failure that aborts the group's transaction makes its
// writes run again one by one, each with its own answer; a write whose
// context has ended does not run.
func TestGroupRerun(t *testing.T) {
	s, prefix := writerStore(t, nil, nil)
	ctx := t.Context()
	// A host's trigger that raises, aborting the transaction.
	_, err := s.pool.Exec(ctx, fmt.Sprintf(`CREATE FUNCTION %[1]sboom() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.task = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER %[1]sboom BEFORE INSERT ON %[1]sexecutions FOR EACH ROW EXECUTE FUNCTION %[1]sboom()`, prefix))
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	a, boom, b, c := claim("ok", slot0), claim("boom", slot0), claim("ok", slot0.Add(time.Minute)),
		claim("ok", slot0.Add(2*time.Minute))
	group := []*writeReq{req(ctx, writeInsert, a), req(ctx, writeInsert, boom), req(ctx, writeInsert, b),
		req(cancelled, writeInsert, c)}
	s.w.Run(group)
	if group[0].Err != nil || group[2].Err != nil || group[0].N != 1 || group[2].N != 1 {
		t.Errorf("results: %d rows, %v; %d rows, %v; want 1 row each, no error",
			group[0].N, group[0].Err, group[2].N, group[2].Err)
	}
	if err := group[1].Err; err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("insert the trigger rejects: %v, want the trigger's error", err)
	}
	if !errors.Is(group[3].Err, context.Canceled) {
		t.Errorf("write with a cancelled context: %v, want context.Canceled", group[3].Err)
	}
	if stored(t, s, a.ID) == nil || stored(t, s, b.ID) == nil || stored(t, s, boom.ID) != nil || stored(t, s, c.ID) != nil {
		t.Errorf("stored: a %v, b %v, boom %v, cancelled %v; want a and b only", stored(t, s, a.ID) != nil,
			stored(t, s, b.ID) != nil, stored(t, s, boom.ID) != nil, stored(t, s, c.ID) != nil)
	}
}

// TestGroupAllCancelled: a group blocked in the database ends when the
// contexts of all its callers end; its writes do not happen.
func TestGroupAllCancelled(t *testing.T) {
	// pgx's default answer to a cancelled context is to break off the
	// connection, which in pgx v5.8.0 leaves a goroutine of a cancelled
	// batch behind (pgx#1999) and fails goleak; asking the server to
	// cancel the statement does not.
	s, _ := writerStore(t, nil, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
			return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 10 * time.Second}
		}
	})
	ctx := t.Context()
	x, y := manual("x"), manual("y")
	for _, e := range []*store.Execution{x, y} {
		if err := s.CreateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Another transaction locks x's row, so the group's update of x waits.
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+s.t.executions+" WHERE id = $1 FOR UPDATE", pgUUID(x.ID)); err != nil {
		t.Fatal(err)
	}
	cx, cancelX := context.WithCancel(ctx)
	cy, cancelY := context.WithCancel(ctx)
	group := []*writeReq{req(cy, writeUpdate, ended(y, "y")), req(cx, writeUpdate, ended(x, "x"))}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.w.Run(group)
	}()
	defer func() {
		cancelX()
		cancelY()
		<-done
	}()
	// Wait until the group waits on the lock. (Not in tx, whose view of
	// pg_stat_activity stays as it first read it.)
	for i := 0; ; i++ {
		var waiting bool
		err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database())").Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		if i == 1000 {
			t.Fatal("the group never waited on the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancelY()
	select {
	case <-done:
		t.Fatal("the group ended when one of its two callers gave up")
	case <-time.After(100 * time.Millisecond):
	}
	cancelX()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the group still runs after all its callers gave up")
	}
	for i, r := range group {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("write %d: %v, want context.Canceled", i, r.Err)
		}
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if e := stored(t, s, y.ID); e == nil || e.State != store.StateRunning {
		t.Errorf("y after the group was cancelled: %+v, want it unchanged", e)
	}
}

// inOneGroup runs writes from goroutines of their own, queued behind a
// held writer so that they run as one group, and returns their errors.
func inOneGroup(t *testing.T, s *Store, writes ...func() error) []error {
	t.Helper()
	return groupcommittest.InOneGroup(t, s.w.Writer, writes...)
}

// TestGroupExclusive: in a group, an exclusive execution that is busy gets
// store.ErrBusy, one whose slot is claimed too store.ErrConflict only, and
// an update of a final record store.ErrConflict, as each would alone; an
// update that would start a second running one aborts the group, whose
// writes then get their own answers.
func TestGroupExclusive(t *testing.T) {
	c := &batchCounter{}
	s, _ := writerStore(t, c, nil)
	ctx := t.Context()
	excl := func(e *store.Execution, st store.State) *store.Execution {
		e.Exclusive, e.State = true, st
		return e
	}
	yRunning := excl(claim("y", slot0), store.StateRunning)
	zRunning, zPending := excl(manual("z"), store.StateRunning), excl(manual("z"), store.StatePending)
	final := manual("f")
	for _, e := range []*store.Execution{yRunning, zRunning, zPending, final} {
		if err := s.CreateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdateExecution(ctx, ended(final, "done")); err != nil {
		t.Fatal(err)
	}

	x1, x2 := excl(manual("x"), store.StateRunning), excl(manual("x"), store.StateRunning)
	xPending := excl(manual("x"), store.StatePending)
	yAgain := excl(claim("y", slot0), store.StateRunning)
	m := manual("m")
	errs := inOneGroup(t, s,
		func() error { return s.CreateExecution(ctx, x1) },
		func() error { return s.CreateExecution(ctx, x2) },
		func() error { return s.CreateExecution(ctx, yAgain) },
		func() error { return s.UpdateExecution(ctx, ended(final, "late")) },
		func() error { return s.CreateExecution(ctx, m) },
		func() error { return s.CreateExecution(ctx, xPending) },
	)
	if c.groups.Load() != 1 {
		t.Errorf("%d groups, want 1", c.groups.Load())
	}
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errs[0], store.ErrBusy) && !errors.Is(errs[1], store.ErrBusy) {
		t.Errorf("two exclusive running executions of a task: %v, %v; want one nil, one store.ErrBusy", errs[0], errs[1])
	}
	if err := errs[2]; !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrBusy) {
		t.Errorf("CreateExecution(claimed slot of a busy task): %v, want store.ErrConflict only", err)
	}
	if err := errs[3]; !errors.Is(err, store.ErrConflict) {
		t.Errorf("UpdateExecution(final record): %v, want store.ErrConflict", err)
	}
	if errs[4] != nil || errs[5] != nil {
		t.Errorf("CreateExecution of a free execution: %v, %v; want nil", errs[4], errs[5])
	}
	if e := stored(t, s, final.ID); e.ExitMessage != "done" {
		t.Errorf("final record's exit message = %q after a refused update, want %q", e.ExitMessage, "done")
	}

	// The start of zPending fails on the index of running ones, which
	// aborts the group; the others run again, alone, and succeed.
	c.groups.Store(0)
	start := *zPending
	start.State = store.StateRunning
	n := manual("n")
	errs = inOneGroup(t, s,
		func() error { return s.UpdateExecution(ctx, &start) },
		func() error { return s.CreateExecution(ctx, n) },
		func() error { return s.UpdateExecution(ctx, ended(m, "m done")) },
	)
	if c.groups.Load() != 1 {
		t.Errorf("%d groups, want 1", c.groups.Load())
	}
	if !errors.Is(errs[0], store.ErrBusy) {
		t.Errorf("UpdateExecution(start a second running exclusive execution): %v, want store.ErrBusy", errs[0])
	}
	if errs[1] != nil || errs[2] != nil {
		t.Errorf("the other writes of the group: %v, %v; want nil", errs[1], errs[2])
	}
	if e := stored(t, s, zPending.ID); e.State != store.StatePending {
		t.Errorf("refused start: state %s, want pending", e.State)
	}
	if e := stored(t, s, m.ID); e.ExitMessage != "m done" {
		t.Errorf("update in the aborted group: exit message %q, want %q", e.ExitMessage, "m done")
	}
}
