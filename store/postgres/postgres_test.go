package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/postgres"
	"github.com/taskmill/taskmill/store/storetest"
)

// envURL names the variable that holds the test database's DSN.
const envURL = "TASKMILL_TEST_POSTGRES_URL"

// pgxpool's health-check goroutine ends shortly after Close; goleak waits
// for it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testURL returns the test database's DSN, or skips the test when the
// variable is unset.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		t.Skip(envURL + " is unset: skipping the PostgreSQL tests " +
			"(set it, for example, to postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return u
}

// freshPrefix returns a table prefix no other test uses, and drops its tables
// when the test ends (after the stores and pools the test opens later are
// closed: cleanups run last-in first-out).
func freshPrefix(t testing.TB) string {
	t.Helper()
	return freshPrefixLen(t, 17)
}

// freshPrefixLen is freshPrefix with n characters, from 17 to the longest
// prefix allowed, 41.
func freshPrefixLen(t testing.TB, n int) string {
	t.Helper()
	url := testURL(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	prefix := "tmt_" + hex.EncodeToString(b[:]) + strings.Repeat("x", n-17) + "_"
	t.Cleanup(func() { dropTables(t, url, prefix) })
	return prefix
}

func dropTables(t testing.TB, url, prefix string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("drop tables %s*: %v", prefix, err)
		return
	}
	defer closeConn(t, conn)
	sql := fmt.Sprintf("DROP TABLE IF EXISTS %[1]sexecutions, %[1]stask_state, %[1]sleases, %[1]sschema_version", prefix)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Errorf("drop tables %s*: %v", prefix, err)
	}
}

// withParam adds a setting to a DSN in URL or keyword/value form.
func withParam(dsn, key, value string) string {
	switch {
	case !strings.Contains(dsn, "://"):
		return dsn + " " + key + "=" + value
	case strings.Contains(dsn, "?"):
		return dsn + "&" + key + "=" + value
	}
	return dsn + "?" + key + "=" + value
}

func closeConn(t testing.TB, conn *pgx.Conn) {
	t.Helper()
	if err := conn.Close(context.Background()); err != nil {
		t.Errorf("close connection: %v", err)
	}
}

// newPool returns a pool on the test database, closed when the test ends.
func newPool(t testing.TB, maxConns int) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(testURL(t))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("NewWithConfig: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newStore returns a store on its own pool (New), closed when the test ends.
func newStore(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.New(context.Background(), newPool(t, 0), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { closeStore(t, s) })
	return s
}

func closeStore(t testing.TB, s *postgres.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestStore runs the conformance suite on stores made by Open, each on its
// own table prefix.
func TestStore(t *testing.T) {
	url := testURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		prefix := freshPrefix(t)
		s, err := postgres.Open(t.Context(), url, postgres.WithTablePrefix(prefix))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { closeStore(t, s) })
		return s
	})
}

// TestStorePersistent runs the persistence suite: every handle is a store
// made by New on a pool of its own, as another process would have.
func TestStorePersistent(t *testing.T) {
	testURL(t)
	storetest.RunPersistent(t, func(t *testing.T) func() store.Store {
		prefix := freshPrefix(t)
		return func() store.Store {
			s, err := postgres.New(t.Context(), newPool(t, 0), postgres.WithTablePrefix(prefix))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			return s // the suite closes it
		}
	})
}

// versionRows returns the rows of a prefix's version table.
func versionRows(t *testing.T, pool *pgxpool.Pool, prefix string) []int {
	t.Helper()
	rows, err := pool.Query(t.Context(), "SELECT version FROM "+prefix+"schema_version ORDER BY version")
	if err != nil {
		t.Fatalf("read versions: %v", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatalf("read versions: %v", err)
	}
	return vs
}

func wantVersions(t *testing.T, pool *pgxpool.Pool, prefix string) {
	t.Helper()
	got := versionRows(t, pool, prefix)
	if len(got) != postgres.SchemaVersion || got[len(got)-1] != postgres.SchemaVersion {
		t.Errorf("version rows = %v, want 1 to %d once each", got, postgres.SchemaVersion)
	}
}

// slots numbers the slots roundTrip claims.
var slots atomic.Int64

// roundTrip checks that s stores and returns an execution.
func roundTrip(t *testing.T, s store.Store) {
	t.Helper()
	slot := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(slots.Add(1)) * time.Minute)
	e := &store.Execution{ID: uuid.New(), Task: "smoke", Trigger: store.TriggerSchedule,
		ScheduledAt: slot, StartedAt: time.Now(), State: store.StateRunning, Args: []string{"a"}}
	if err := s.CreateExecution(t.Context(), e); err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	got, err := s.GetExecution(t.Context(), e.ID)
	if err != nil {
		t.Fatalf("GetExecution: %v", err)
	}
	if got.Task != e.Task || !got.StartedAt.Equal(e.StartedAt.Truncate(time.Microsecond)) || len(got.Args) != 1 {
		t.Errorf("GetExecution = %+v, want %+v", got, e)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	prefix := freshPrefix(t)
	pool := newPool(t, 0)
	first, err := postgres.New(t.Context(), pool, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatalf("first New: %v", err)
	}
	t.Cleanup(func() { closeStore(t, first) })
	roundTrip(t, first)
	second, err := postgres.New(t.Context(), pool, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatalf("second New: %v", err)
	}
	t.Cleanup(func() { closeStore(t, second) })
	wantVersions(t, pool, prefix)
	roundTrip(t, second)
}

// TestMigrationsConcurrent: processes that open one new prefix at once all
// succeed, and the schema is applied once (the advisory lock).
func TestMigrationsConcurrent(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	prefix := freshPrefix(t)
	const openers = 8
	stores := make([]*postgres.Store, openers)
	errs := make([]error, openers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range openers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = postgres.Open(context.Background(), withParam(url, "pool_max_conns", "2"), postgres.WithTablePrefix(prefix))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { closeStore(t, stores[i]) })
	}
	if t.Failed() {
		t.FailNow()
	}
	wantVersions(t, newPool(t, 1), prefix)
	// What one writes, another reads.
	e := &store.Execution{ID: uuid.New(), Task: "t", Trigger: store.TriggerManual, StartedAt: time.Now(), State: store.StateRunning}
	if err := stores[0].CreateExecution(t.Context(), e); err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	if _, err := stores[openers-1].GetExecution(t.Context(), e.ID); err != nil {
		t.Errorf("GetExecution on another store: %v", err)
	}
}

func TestSchemaTooNew(t *testing.T) {
	t.Parallel()
	prefix := freshPrefix(t)
	pool := newPool(t, 0)
	s := newStore(t, postgres.WithTablePrefix(prefix))
	closeStore(t, s)
	newer := postgres.SchemaVersion + 1
	if _, err := pool.Exec(t.Context(), "INSERT INTO "+prefix+"schema_version (version) VALUES ($1)", newer); err != nil {
		t.Fatalf("insert version row: %v", err)
	}
	for _, opts := range [][]postgres.Option{
		{postgres.WithTablePrefix(prefix)},
		{postgres.WithTablePrefix(prefix), postgres.WithoutMigrations()},
	} {
		_, err := postgres.New(t.Context(), pool, opts...)
		if !errors.Is(err, postgres.ErrSchemaTooNew) {
			t.Fatalf("New on version %d: error = %v, want ErrSchemaTooNew", newer, err)
		}
		for _, v := range []int{newer, postgres.SchemaVersion} {
			if !strings.Contains(err.Error(), strconv.Itoa(v)) {
				t.Errorf("error %q does not name version %d", err, v)
			}
		}
	}
	// Nothing was applied or removed.
	if got := versionRows(t, pool, prefix); len(got) != newer || got[len(got)-1] != newer {
		t.Errorf("version rows = %v, want 1 to %d", got, newer)
	}
}

func TestWithoutMigrationsMissingSchema(t *testing.T) {
	t.Parallel()
	prefix := freshPrefix(t)
	pool := newPool(t, 0)
	_, err := postgres.New(t.Context(), pool, postgres.WithTablePrefix(prefix), postgres.WithoutMigrations())
	if !errors.Is(err, postgres.ErrSchemaMissing) {
		t.Fatalf("New(WithoutMigrations) on no schema: error = %v, want ErrSchemaMissing", err)
	}
	if !strings.Contains(err.Error(), prefix+"schema_version") {
		t.Errorf("error %q does not name the version table", err)
	}
	var exists bool
	if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", prefix+"executions").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("New(WithoutMigrations) created %sexecutions", prefix)
	}
}

// TestWithoutMigrationsHostSchema: a host applies the embedded DDL itself,
// then opens the store without migrations.
func TestWithoutMigrationsHostSchema(t *testing.T) {
	t.Parallel()
	prefix := freshPrefix(t)
	pool := newPool(t, 0)
	ms, err := postgres.Migrations(prefix)
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	tx, err := pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if _, err := tx.Exec(t.Context(), m.SQL); err != nil {
			t.Fatalf("apply %s: %v", m.Name, err)
		}
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, postgres.WithTablePrefix(prefix), postgres.WithoutMigrations())
	roundTrip(t, s)
	wantVersions(t, pool, prefix)

	// Without its version row the schema counts as missing.
	if _, err := pool.Exec(t.Context(), "DELETE FROM "+prefix+"schema_version"); err != nil {
		t.Fatal(err)
	}
	_, err = postgres.New(t.Context(), pool, postgres.WithTablePrefix(prefix), postgres.WithoutMigrations())
	if !errors.Is(err, postgres.ErrSchemaMissing) {
		t.Errorf("New(WithoutMigrations) with no version row: error = %v, want ErrSchemaMissing", err)
	}
}

func TestMigrationFiles(t *testing.T) {
	ms, err := postgres.Migrations("Some_Prefix_")
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	if len(ms) != postgres.SchemaVersion {
		t.Fatalf("%d migrations, want %d", len(ms), postgres.SchemaVersion)
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d (%s) has version %d", i, m.Name, m.Version)
		}
		if strings.Contains(m.SQL, postgres.PrefixPlaceholder) {
			t.Errorf("%s still holds the placeholder", m.Name)
		}
		if !strings.Contains(m.SQL, "some_prefix_executions") && i == 0 {
			t.Errorf("%s does not create some_prefix_executions", m.Name)
		}
		if want := fmt.Sprintf("schema_version (version) VALUES (%d)", m.Version); !strings.Contains(m.SQL, want) {
			t.Errorf("%s does not record its version (%q)", m.Name, want)
		}
		raw, err := os.ReadFile("migrations/" + m.Name)
		if err != nil {
			t.Fatalf("the file of %s: %v", m.Name, err)
		}
		if !strings.Contains(string(raw), "TABLE "+postgres.PrefixPlaceholder) {
			t.Errorf("migrations/%s does not use the placeholder", m.Name)
		}
	}
	if _, err := postgres.Migrations(`a"b`); !errors.Is(err, postgres.ErrInvalidPrefix) {
		t.Errorf("Migrations(a\"b): error = %v, want ErrInvalidPrefix", err)
	}
}

// TestInvalidNames needs no database: a bad prefix or schema fails before
// any connection.
func TestInvalidNames(t *testing.T) {
	bad := []string{`a"b`, "x y", "1abc", "", strings.Repeat("a", 42), "drop;", "a-b", "é", `a'b`, "a.b"}
	for _, p := range bad {
		_, err := postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none", postgres.WithTablePrefix(p))
		if !errors.Is(err, postgres.ErrInvalidPrefix) {
			t.Errorf("Open(WithTablePrefix(%q)): error = %v, want ErrInvalidPrefix", p, err)
			continue
		}
		if !strings.Contains(err.Error(), strconv.Quote(p)) {
			t.Errorf("Open(WithTablePrefix(%q)): error %q does not name the prefix", p, err)
		}
		_, err = postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none", postgres.WithSchema(p))
		if !errors.Is(err, postgres.ErrInvalidSchema) {
			t.Errorf("Open(WithSchema(%q)): error = %v, want ErrInvalidSchema", p, err)
		}
	}
	for _, p := range []string{"a", "_", "A_b9_", strings.Repeat("a", 41)} {
		if _, err := postgres.Migrations(p); err != nil {
			t.Errorf("Migrations(%q): %v, want no error", p, err)
		}
	}
	if _, err := postgres.New(t.Context(), nil); !errors.Is(err, postgres.ErrNilPool) {
		t.Errorf("New(nil): error = %v, want ErrNilPool", err)
	}
}

// TestInvalidPrefixWithPool: New on a live pool rejects the prefix too.
func TestInvalidPrefixWithPool(t *testing.T) {
	t.Parallel()
	pool := newPool(t, 1)
	_, err := postgres.New(t.Context(), pool, postgres.WithTablePrefix(`x"; DROP TABLE y; --`))
	if !errors.Is(err, postgres.ErrInvalidPrefix) {
		t.Errorf("New: error = %v, want ErrInvalidPrefix", err)
	}
}

// TestPrefixesIndependent: two prefixes in one database share nothing.
func TestPrefixesIndependent(t *testing.T) {
	t.Parallel()
	pa, pb := freshPrefix(t), freshPrefix(t)
	a := newStore(t, postgres.WithTablePrefix(pa))
	b := newStore(t, postgres.WithTablePrefix(strings.ToUpper(pb))) // names fold to lower case
	slot := time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC)
	e := &store.Execution{ID: uuid.New(), Task: "t", Trigger: store.TriggerSchedule, ScheduledAt: slot,
		StartedAt: slot, State: store.StateSucceeded, EndedAt: slot.Add(time.Second)}
	for name, s := range map[string]*postgres.Store{"a": a, "b": b} {
		// The same ID and the same slot: no conflict across prefixes.
		if err := s.CreateExecution(t.Context(), e); err != nil {
			t.Fatalf("CreateExecution on %s: %v", name, err)
		}
		if err := s.PutTaskState(t.Context(), &store.TaskState{Task: "t", ConsecutiveFailures: len(name)}); err != nil {
			t.Fatalf("PutTaskState on %s: %v", name, err)
		}
	}
	if n, err := a.DeleteExecutions(t.Context(), store.DeleteParams{Before: slot.Add(time.Hour)}); err != nil || n != 1 {
		t.Fatalf("DeleteExecutions on a = %d, %v; want 1", n, err)
	}
	if _, err := b.GetExecution(t.Context(), e.ID); err != nil {
		t.Errorf("GetExecution on b after deleting on a: %v", err)
	}
	if _, err := a.GetExecution(t.Context(), e.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetExecution on a after deleting: error = %v, want ErrNotFound", err)
	}
	var n int
	if err := newPool(t, 1).QueryRow(t.Context(), "SELECT count(*) FROM "+pb+"executions").Scan(&n); err != nil || n != 1 {
		t.Errorf("rows in %sexecutions = %d, %v; want 1 (the upper-case prefix folds)", pb, n, err)
	}
}

// TestWithSchema: tables in a schema of their own, created at open.
func TestWithSchema(t *testing.T) {
	t.Parallel()
	url := testURL(t)
	prefix := freshPrefix(t)
	schema := strings.TrimSuffix(prefix, "_") + "_schema"
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer closeConn(t, conn)
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	s := newStore(t, postgres.WithSchema(schema), postgres.WithTablePrefix(prefix))
	roundTrip(t, s)
	pool := newPool(t, 1)
	var exists, elsewhere bool
	if err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL",
		schema+"."+prefix+"executions", prefix+"executions").Scan(&exists, &elsewhere); err != nil {
		t.Fatal(err)
	}
	if !exists || elsewhere {
		t.Errorf("%s.%sexecutions exists: %v; %sexecutions on the search_path: %v; want true, false", schema, prefix, exists, prefix, elsewhere)
	}
	again := newStore(t, postgres.WithSchema(schema), postgres.WithTablePrefix(prefix), postgres.WithoutMigrations())
	roundTrip(t, again)
}

// TestCloseKeepsHostPool: Close leaves a pool given to New open.
func TestCloseKeepsHostPool(t *testing.T) {
	t.Parallel()
	prefix := freshPrefix(t)
	pool := newPool(t, 0)
	s, err := postgres.New(t.Context(), pool, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	closeStore(t, s)
	closeStore(t, s)
	if err := pool.Ping(t.Context()); err != nil {
		t.Errorf("Ping after Close: %v, want the host's pool open", err)
	}
	if _, err := s.GetExecution(t.Context(), uuid.New()); !errors.Is(err, store.ErrClosed) {
		t.Errorf("GetExecution after Close: error = %v, want ErrClosed", err)
	}
}

// TestInvalidText: text PostgreSQL cannot hold is ErrInvalid, not a driver
// error.
func TestInvalidText(t *testing.T) {
	t.Parallel()
	s := newStore(t, postgres.WithTablePrefix(freshPrefix(t)))
	for name, modify := range map[string]func(e *store.Execution){
		"NULInMessage":  func(e *store.Execution) { e.ExitMessage = "a\x00b" },
		"BadUTF8InArgs": func(e *store.Execution) { e.Args = []string{"ok", "\xff"} },
		"NULInTask":     func(e *store.Execution) { e.Task = "t\x00" },
		"TimeTooLate":   func(e *store.Execution) { e.StartedAt = time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"TimeTooEarly":  func(e *store.Execution) { e.EndedAt = time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		e := &store.Execution{ID: uuid.New(), Task: "t", Trigger: store.TriggerManual, StartedAt: time.Now(), State: store.StateRunning}
		modify(e)
		if err := s.CreateExecution(t.Context(), e); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: CreateExecution: error = %v, want ErrInvalid", name, err)
		}
	}
}

// TestOpenBadDSN needs no database.
func TestOpenBadDSN(t *testing.T) {
	const secret = "s3cr3t-pw"
	for _, dsn := range []string{
		"postgres://u:" + secret + "@host:notaport/db",
		"postgres://u:" + secret + "@host/db?sslmode=bogus",
		"host=h password=" + secret + " port=abc",
		"%%%" + secret,
		"postgres://u:" + secret + "@host/db?pool_max_conns=x",
	} {
		_, err := postgres.Open(t.Context(), dsn)
		if !errors.Is(err, postgres.ErrInvalidDSN) {
			t.Errorf("Open(%q): error = %v, want ErrInvalidDSN", dsn, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open(%q): error %q shows the password", dsn, err)
		}
	}
}

// TestOpenUnreachable needs no database: nothing listens on port 1.
func TestOpenUnreachable(t *testing.T) {
	const secret = "s3cr3t-pw"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := postgres.Open(ctx, "postgres://u:"+secret+"@127.0.0.1:1/db?sslmode=disable&connect_timeout=1")
	if err == nil {
		t.Fatal("Open on port 1: no error")
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("Open: error %q shows the password", err)
	}
}

// TestOpenNilOption needs no database: a nil option or a connect timeout
// that is not positive fails before any connection.
func TestOpenNilOption(t *testing.T) {
	for name, opts := range map[string][]postgres.Option{
		"nil":       {postgres.WithoutMigrations(), nil},
		"zero":      {postgres.WithConnectTimeout(0)},
		"negative":  {postgres.WithConnectTimeout(-time.Second)},
		"nil first": {nil, postgres.WithTablePrefix("x_")},
	} {
		_, err := postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none", opts...)
		if !errors.Is(err, postgres.ErrInvalidOption) {
			t.Errorf("Open(%s option): error = %v, want ErrInvalidOption", name, err)
		}
	}
}

// TestOpenLongInput needs no database: errors about a megabyte of input
// (in an option or in the DSN) quote a bounded part of it, and never the
// password.
func TestOpenLongInput(t *testing.T) {
	const secret = "s3cr3t-pw"
	long := strings.Repeat("x", 1<<20)
	for name, c := range map[string]struct {
		dsn string
		opt postgres.Option
	}{
		"prefix":          {"postgres://nobody@127.0.0.1:1/none", postgres.WithTablePrefix(long)},
		"schema":          {"postgres://nobody@127.0.0.1:1/none", postgres.WithSchema(long)},
		"port":            {"postgres://u:" + secret + "@host:" + long + "/db", nil},
		"connect_timeout": {"postgres://u:" + secret + "@host/db?connect_timeout=" + long, nil},
		"host":            {"postgres://u:" + secret + "@" + long + ":5432/db?sslmode=disable&connect_timeout=5", nil},
		"keyword host":    {"host=" + long + " password=" + secret + " sslmode=disable connect_timeout=5", nil},
	} {
		var opts []postgres.Option
		if c.opt != nil {
			opts = append(opts, c.opt)
		}
		_, err := postgres.Open(t.Context(), c.dsn, opts...)
		if err == nil {
			t.Errorf("%s: Open: no error", name)
			continue
		}
		if msg := err.Error(); len(msg) > 1024 || strings.Contains(msg, secret) {
			t.Errorf("%s: Open: error of %d bytes, want at most 1 KiB and no password: %.300s", name, len(msg), msg)
		}
	}
}

// silentServer listens on 127.0.0.1 and accepts connections but never
// writes a byte: a server that hangs. It returns its address.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestOpenServerNeverAnswers needs no database: on a context without
// deadline, Open against a server that accepts the connection and never
// answers fails after the connect timeout instead of hanging. The option
// beats the DSN's connect_timeout.
func TestOpenServerNeverAnswers(t *testing.T) {
	addr := silentServer(t)
	for _, dsn := range []string{
		"postgres://u:pw@" + addr + "/db?sslmode=disable",
		"postgres://u:pw@" + addr + "/db?sslmode=disable&connect_timeout=60",
		"postgres://u:pw@" + addr + "/db", // TLS first, then plain text
	} {
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			s, err := postgres.Open(context.Background(), dsn, postgres.WithConnectTimeout(200*time.Millisecond))
			if err == nil {
				s.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Open(%s): error = %v, want one wrapping context.DeadlineExceeded", dsn, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Open(%s) took %v, want about the 200ms connect timeout", dsn, d)
			}
			t.Logf("Open(%s) after %v: %v", dsn, time.Since(start).Round(time.Millisecond), err)
		case <-time.After(5 * time.Second):
			t.Fatalf("Open(%s) on context.Background() still waits after 5s", dsn)
		}
	}
}
