package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
	"github.com/taskmill/taskmill/store/sqlite"
	"github.com/taskmill/taskmill/store/storetest"
)

// hostDSN is how a host that uses New opens its database.
func hostDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
}

// rawDB opens path with the driver directly, as a host or an operator
// would, and closes it when the test ends.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", hostDSN(path))
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("closing the raw database: %v", err)
		}
	})
	return db
}

func versionRows(t *testing.T, db *sql.DB, prefix string) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT version FROM "+prefix+"schema_version ORDER BY version")
	if err != nil {
		t.Fatalf("reading %sschema_version: %v", prefix, err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatalf("scan: %v", err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return vs
}

func wantVersions(t *testing.T, db *sql.DB, prefix string) {
	t.Helper()
	got := versionRows(t, db, prefix)
	if len(got) != sqlite.SchemaVersion || got[len(got)-1] != sqlite.SchemaVersion {
		t.Errorf("%sschema_version rows = %v, want one per version up to %d", prefix, got, sqlite.SchemaVersion)
	}
}

func newExecution(task string) *store.Execution {
	return &store.Execution{
		ID:        uuid.New(),
		Task:      task,
		Trigger:   store.TriggerManual,
		StartedAt: time.Now(),
		State:     store.StateRunning,
	}
}

// slot returns a scheduled execution of task for the nominal time at.
func slot(task string, at time.Time) *store.Execution {
	e := newExecution(task)
	e.Trigger = store.TriggerSchedule
	e.ScheduledAt = at
	return e
}

// hostSchema applies the migrations (Migrations) to db with the prefix,
// each in a transaction, as a host that manages its own schema would.
func hostSchema(t *testing.T, db *sql.DB, prefix string) {
	t.Helper()
	ms, err := sqlite.Migrations(prefix)
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	for _, m := range ms {
		tx, err := db.BeginTx(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(t.Context(), m.SQL); err != nil {
			t.Fatalf("applying %s: %v", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMigrationFiles(t *testing.T) {
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != sqlite.SchemaVersion {
		t.Fatalf("%d migration files, SchemaVersion is %d", len(files), sqlite.SchemaVersion)
	}
	for i, f := range files {
		if want := fmt.Sprintf("%04d_", i+1); !strings.HasPrefix(filepath.Base(f), want) {
			t.Errorf("migration file %s: want a name starting %q", f, want)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("INSERT INTO {prefix}schema_version (version, name) VALUES (%d, ", i+1); !strings.Contains(string(b), want) {
			t.Errorf("migration file %s does not record its version (%s...)", f, want)
		}
		for n, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(line), "--") && strings.Contains(line, "taskmill_") {
				t.Errorf("%s:%d names a table without {prefix}: %s", f, n+1, line)
			}
		}
	}
}

// TestMigrations: Migrations returns the embedded files, each with the
// placeholder replaced by the prefix, and refuses the prefixes
// WithTablePrefix refuses. (Their numbering: TestMigrationFiles and
// internal/migrations.)
func TestMigrations(t *testing.T) {
	ms, err := sqlite.Migrations("Some_Prefix_")
	if err != nil || len(ms) != sqlite.SchemaVersion {
		t.Fatalf("Migrations: %d migrations, %v; want %d", len(ms), err, sqlite.SchemaVersion)
	}
	for _, m := range ms {
		raw, err := os.ReadFile("migrations/" + m.Name)
		if err != nil {
			t.Fatalf("the file of %s: %v", m.Name, err)
		}
		if want := strings.ReplaceAll(string(raw), sqlite.PrefixPlaceholder, "Some_Prefix_"); m.SQL != want {
			t.Errorf("%s is not its file with the prefix", m.Name)
		}
	}
	if _, err := sqlite.Migrations(`a"b`); !errors.Is(err, sqlite.ErrInvalidPrefix) {
		t.Errorf("Migrations(a\"b): error = %v, want ErrInvalidPrefix", err)
	}
}

func TestOpenTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "twice.db")
	first, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	e := newExecution("twice")
	if err := first.CreateExecution(t.Context(), e); err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	second := open(t, path)
	if _, err := second.GetExecution(t.Context(), e.ID); err != nil {
		t.Errorf("GetExecution after reopening: %v", err)
	}
	third := open(t, path) // while second is open
	if _, err := third.GetExecution(t.Context(), e.ID); err != nil {
		t.Errorf("GetExecution from a second handle: %v", err)
	}
	wantVersions(t, rawDB(t, path), sqlite.TablePrefixDefault)
}

// TestConcurrentOpen: processes starting together on a new file all open
// it, and the schema is applied once.
func TestConcurrentOpen(t *testing.T) {
	const openers = 8
	path := filepath.Join(t.TempDir(), "concurrent.db")
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		stores = make([]*sqlite.Store, openers)
		errs   = make([]error, openers)
	)
	for i := range openers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			stores[i], errs[i] = sqlite.Open(t.Context(), path)
		}()
	}
	close(start)
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	if t.Failed() {
		t.FailNow()
	}
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	wins := 0
	for i, s := range stores {
		if err := s.CreateExecution(t.Context(), newExecution(fmt.Sprint("opener-", i))); err != nil {
			t.Errorf("store %d: CreateExecution: %v", i, err)
		}
		switch err := s.CreateExecution(t.Context(), slot("shared", at)); {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("store %d: claiming a slot: %v", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("slot claimed %d times through %d stores, want once", wins, openers)
	}
	all, err := store.ListAll(t.Context(), stores[0], store.ExecutionFilter{})
	if err != nil {
		t.Fatalf("ListAll: %v", err)
	}
	if len(all) != openers+1 {
		t.Errorf("%d executions, want %d", len(all), openers+1)
	}
	wantVersions(t, rawDB(t, path), sqlite.TablePrefixDefault)
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	newer := sqlite.SchemaVersion + 1
	db := rawDB(t, path)
	if _, err := db.ExecContext(t.Context(), `INSERT INTO taskmill_schema_version (version, name) VALUES (?, 'from the future')`, newer); err != nil {
		t.Fatalf("recording a newer version: %v", err)
	}

	for _, opts := range [][]sqlite.Option{nil, {sqlite.WithoutMigrations()}} {
		s, err := sqlite.Open(t.Context(), path, opts...)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%d options) of a database at version %d: no error", len(opts), newer)
		}
		if !errors.Is(err, sqlite.ErrSchemaTooNew) {
			t.Errorf("Open: %v, want ErrSchemaTooNew", err)
		}
		var se *sqlite.SchemaError
		if !errors.As(err, &se) || se.Version != newer || se.Want != sqlite.SchemaVersion {
			t.Errorf("Open: %v, want a *SchemaError with versions %d and %d", err, newer, sqlite.SchemaVersion)
		}
		for _, want := range []string{path, fmt.Sprint(newer), fmt.Sprint(sqlite.SchemaVersion)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Open: error %q does not name %q", err, want)
			}
		}
	}
	// New says the same on a host's database.
	if _, err := sqlite.New(t.Context(), db); !errors.Is(err, sqlite.ErrSchemaTooNew) {
		t.Errorf("New: %v, want ErrSchemaTooNew", err)
	}
}

func TestWithoutMigrationsMissing(t *testing.T) {
	for _, name := range []string{"new.db", "empty.db", "other-prefix.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			switch name {
			case "empty.db":
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			case "other-prefix.db":
				open(t, path, sqlite.WithTablePrefix("other_"))
			}
			s, err := sqlite.Open(t.Context(), path, sqlite.WithoutMigrations())
			if err == nil {
				s.Close()
				t.Fatal("Open(WithoutMigrations) without a schema: no error")
			}
			if !errors.Is(err, sqlite.ErrSchemaMissing) {
				t.Errorf("Open: %v, want ErrSchemaMissing", err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), sqlite.TablePrefixDefault) {
				t.Errorf("Open: error %q does not name the path and the prefix", err)
			}
			var n int
			if err := rawDB(t, path).QueryRowContext(t.Context(),
				`SELECT count(*) FROM sqlite_schema WHERE name LIKE 'taskmill\_%' ESCAPE '\'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("Open(WithoutMigrations) created %d tables or indexes", n)
			}
		})
	}
}

// TestWithoutMigrationsInstalled: Open with WithoutMigrations works on the
// schema a host applied from Migrations.
func TestWithoutMigrationsInstalled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host.db")
	hostSchema(t, rawDB(t, path), sqlite.TablePrefixDefault)
	s := open(t, path, sqlite.WithoutMigrations())
	e := newExecution("host")
	if err := s.CreateExecution(t.Context(), e); err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	if _, err := s.GetExecution(t.Context(), e.ID); err != nil {
		t.Errorf("GetExecution: %v", err)
	}
	// Opening with migrations on finds nothing to do.
	open(t, path)
	db := rawDB(t, path)
	wantVersions(t, db, sqlite.TablePrefixDefault)

	// Without its version rows the schema counts as missing.
	if _, err := db.ExecContext(t.Context(), "DELETE FROM "+sqlite.TablePrefixDefault+"schema_version"); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(t.Context(), path, sqlite.WithoutMigrations()); !errors.Is(err, sqlite.ErrSchemaMissing) {
		t.Errorf("Open(WithoutMigrations) with no version row: error = %v, want ErrSchemaMissing", err)
	}
}

// TestHostSchema runs the suite on stores whose schema a host applied from
// the migration files, on the host's own *sql.DB (New, WithoutMigrations).
func TestHostSchema(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db := rawDB(t, filepath.Join(t.TempDir(), "host.db"))
		hostSchema(t, db, "host_")
		s, err := sqlite.New(t.Context(), db, sqlite.WithoutMigrations(), sqlite.WithTablePrefix("host_"))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { // before rawDB's cleanup closes db
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := db.PingContext(context.Background()); err != nil {
				t.Errorf("the host's database after Close: %v, want it open", err)
			}
		})
		return s
	})
}

// TestNewMigrates: New on a host's database creates the tables beside the
// host's own, once.
func TestNewMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host.db")
	db := rawDB(t, path)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE users (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s, err := sqlite.New(t.Context(), db, sqlite.WithTablePrefix("tm_"))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := s.CreateExecution(t.Context(), newExecution("x")); err != nil {
			t.Errorf("CreateExecution: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	wantVersions(t, db, "tm_")
	var busy int
	if err := db.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if busy != 5000 {
		t.Errorf("busy_timeout of the host's connection = %d after New, want the host's 5000", busy)
	}
}

func TestPrefixesAreIndependent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a := open(t, path, sqlite.WithTablePrefix("a_"))
	b := open(t, path, sqlite.WithTablePrefix("B2_"))
	ctx := t.Context()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

	ea, eb := slot("t", at), slot("t", at)
	if err := a.CreateExecution(ctx, ea); err != nil {
		t.Fatalf("a: CreateExecution: %v", err)
	}
	if err := b.CreateExecution(ctx, eb); err != nil {
		t.Fatalf("b: claiming the slot a claimed: %v, want no error", err)
	}
	if err := a.CreateExecution(ctx, slot("t", at)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a: claiming its slot again: %v, want ErrConflict", err)
	}
	if _, err := b.GetExecution(ctx, ea.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b: GetExecution(a's execution): %v, want ErrNotFound", err)
	}
	for name, s := range map[string]*sqlite.Store{"a": a, "b": b} {
		all, err := store.ListAll(ctx, s, store.ExecutionFilter{})
		if err != nil || len(all) != 1 {
			t.Errorf("%s: ListAll = %d executions, %v; want 1", name, len(all), err)
		}
	}
	if err := a.PutTaskState(ctx, &store.TaskState{Task: "t", Suspended: true}); err != nil {
		t.Fatalf("a: PutTaskState: %v", err)
	}
	if _, err := b.GetTaskState(ctx, "t"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b: GetTaskState(a's task): %v, want ErrNotFound", err)
	}
	if n, err := b.DeleteExecutions(ctx, store.DeleteParams{Before: at.Add(time.Hour * 1e5)}); err != nil || n != 0 {
		t.Errorf("b: DeleteExecutions = %d, %v; want 0 (nothing final)", n, err)
	}
	db := rawDB(t, path)
	wantVersions(t, db, "a_")
	wantVersions(t, db, "B2_")
}

func TestInvalidPrefix(t *testing.T) {
	for _, p := range []string{`a"b`, "x y", "1abc", "", strings.Repeat("a", 42), "drop;", "a-b", "é", "a'b", "a\nb"} {
		path := filepath.Join(t.TempDir(), "prefix.db")
		s, err := sqlite.Open(t.Context(), path, sqlite.WithTablePrefix(p))
		if err == nil {
			s.Close()
			t.Errorf("Open(WithTablePrefix(%q)): no error", p)
			continue
		}
		if !errors.Is(err, sqlite.ErrInvalidPrefix) {
			t.Errorf("Open(WithTablePrefix(%q)): %v, want ErrInvalidPrefix", p, err)
		}
		if q := fmt.Sprintf("%q", p); !strings.Contains(err.Error(), q) {
			t.Errorf("Open(WithTablePrefix(%q)): error %q does not name the prefix", p, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Open(WithTablePrefix(%q)) touched the file: %v", p, err)
		}
		if _, err := sqlite.New(t.Context(), nil, sqlite.WithTablePrefix(p)); !errors.Is(err, sqlite.ErrInvalidPrefix) {
			t.Errorf("New(WithTablePrefix(%q)): %v, want ErrInvalidPrefix", p, err)
		}
	}
	for _, p := range []string{"_", "A", "x_1_", "_9", strings.Repeat("a", 41)} {
		open(t, filepath.Join(t.TempDir(), "prefix.db"), sqlite.WithTablePrefix(p))
	}
}

func TestNotADatabase(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"short.txt": "hello\n",
		"long.txt":  strings.Repeat("this is a text file, not a database\n", 200),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := sqlite.Open(t.Context(), path)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s): no error", name)
			continue
		}
		if !errors.Is(err, sqlite.ErrNotDatabase) {
			t.Errorf("Open(%s): %v, want ErrNotDatabase", name, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%s): error %q does not name the path", name, err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != content {
			t.Errorf("Open(%s) changed the file", name)
		}
	}
}

func TestOpenBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{dir, filepath.Join(dir, "missing", "x.db")} {
		s, err := sqlite.Open(t.Context(), path)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q): no error", path)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%q): error %q does not name the path", path, err)
		}
	}
	for _, path := range []string{"", ":memory:"} {
		if _, err := sqlite.Open(t.Context(), path); !errors.Is(err, sqlite.ErrInvalidDB) {
			t.Errorf("Open(%q): %v, want ErrInvalidDB", path, err)
		}
	}
	// Characters that mean something in a URI are part of the file name.
	odd := filepath.Join(dir, "odd ?#%25 name.db")
	open(t, odd)
	if _, err := os.Stat(odd); err != nil {
		t.Errorf("Open(%q) did not create that file: %v", odd, err)
	}
}

// TestOpenNULPath: a NUL byte in the path is refused, not cut off: SQLite
// would open the file named by the part before it.
func TestOpenNULPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a\x00b.db")
	s, err := sqlite.Open(t.Context(), path)
	if err == nil {
		s.Close()
	}
	if !errors.Is(err, sqlite.ErrInvalidDB) || !strings.Contains(err.Error(), strconv.Quote(path)) {
		t.Errorf("Open(%q): %v, want ErrInvalidDB naming the path", path, err)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("Open(%q) left %v in the directory (%v), want nothing", path, entries, err)
	}
}

// TestOpenLongInput: errors quote at most a prefix of a path or a prefix
// of a megabyte.
func TestOpenLongInput(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 1<<20)
	for name, try := range map[string]func() error{
		"missing directory": func() error {
			_, err := sqlite.Open(t.Context(), filepath.Join(dir, long, "x.db"))
			return err
		},
		"NUL": func() error {
			_, err := sqlite.Open(t.Context(), filepath.Join(dir, long+"\x00.db"))
			return err
		},
		"prefix": func() error {
			_, err := sqlite.Open(t.Context(), filepath.Join(dir, "x.db"), sqlite.WithTablePrefix(long))
			return err
		},
	} {
		err := try()
		if err == nil || len(err.Error()) > 1024 || !strings.Contains(err.Error(), "bytes)") {
			t.Errorf("%s: error of %d bytes, want one quoting a bounded prefix: %.300v", name, len(fmt.Sprint(err)), err)
		}
	}
}

func TestNilOption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	if s, err := sqlite.Open(t.Context(), path, sqlite.WithoutMigrations(), nil); !errors.Is(err, sqlite.ErrInvalidOption) || !strings.Contains(err.Error(), "option 1") {
		if err == nil {
			s.Close()
		}
		t.Errorf("Open(nil option): %v, want ErrInvalidOption naming option 1", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(nil option) touched the file: %v", err)
	}
	if _, err := sqlite.New(t.Context(), nil, nil); !errors.Is(err, sqlite.ErrInvalidOption) {
		t.Errorf("New(nil option): %v, want ErrInvalidOption", err)
	}
}

func TestOptions(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "x.db"), sqlite.WithBusyTimeout(-time.Second)); !errors.Is(err, sqlite.ErrInvalidBusyTimeout) {
		t.Errorf("WithBusyTimeout(-1s): %v, want ErrInvalidBusyTimeout", err)
	}
	open(t, filepath.Join(t.TempDir(), "x.db"), sqlite.WithBusyTimeout(0))
	if _, err := sqlite.New(t.Context(), nil); !errors.Is(err, sqlite.ErrInvalidDB) {
		t.Errorf("New(nil): %v, want ErrInvalidDB", err)
	}
}

func TestOpenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	path := filepath.Join(t.TempDir(), "x.db")
	if _, err := sqlite.Open(ctx, path); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context: %v, want context.Canceled", err)
	}
	open(t, path) // nothing half-done stands in the way
}

// TestTimes: times between microseconds are rounded down when stored, and
// filters and cursors between microseconds compare exactly.
func TestTimes(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "times.db"))
	ctx := t.Context()
	at := time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.UTC)
	e := newExecution("ns")
	e.StartedAt = at
	if err := s.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetExecution(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := at.Truncate(time.Microsecond); !got.StartedAt.Equal(want) || got.StartedAt.Location() != time.UTC {
		t.Errorf("StartedAt = %v, want %v in UTC", got.StartedAt, want)
	}
	stored := at.Truncate(time.Microsecond)
	for _, tt := range []struct {
		name string
		f    store.ExecutionFilter
		want int
	}{
		{"FromAtStored", store.ExecutionFilter{From: stored}, 1},
		{"FromJustAfter", store.ExecutionFilter{From: stored.Add(time.Nanosecond)}, 0},
		{"ToJustAfter", store.ExecutionFilter{To: stored.Add(time.Nanosecond)}, 1},
		{"ToAtStored", store.ExecutionFilter{To: stored}, 0},
		{"CursorJustAfter", store.ExecutionFilter{Cursor: backend.EncodeCursor(&store.Execution{StartedAt: stored.Add(time.Nanosecond)})}, 1},
		{"CursorAtStoredMaxID", store.ExecutionFilter{Cursor: backend.EncodeCursor(&store.Execution{StartedAt: stored, ID: uuid.Max})}, 1},
		{"CursorAtStoredNilID", store.ExecutionFilter{Cursor: backend.EncodeCursor(&store.Execution{StartedAt: stored})}, 0},
	} {
		p, err := s.ListExecutions(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if len(p.Executions) != tt.want {
			t.Errorf("%s: %d executions, want %d", tt.name, len(p.Executions), tt.want)
		}
	}
	e.State, e.EndedAt = store.StateSucceeded, at.Add(time.Second)
	if err := s.UpdateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExecutions(ctx, store.DeleteParams{Before: stored}); err != nil || n != 0 {
		t.Errorf("DeleteExecutions(Before = StartedAt) = %d, %v; want 0", n, err)
	}
	if n, err := s.DeleteExecutions(ctx, store.DeleteParams{Before: stored.Add(time.Nanosecond)}); err != nil || n != 1 {
		t.Errorf("DeleteExecutions(Before = StartedAt + 1ns) = %d, %v; want 1", n, err)
	}
}
