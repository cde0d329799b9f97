package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/taskmill/taskmill/internal/quote"
	"github.com/taskmill/taskmill/store"
)

// Store is a store.Store on a SQLite database. Create one with Open or New;
// the zero value is not usable. A Store is safe for concurrent use.
type Store struct {
	db    *sql.DB
	ownDB bool // Open made db, so Close closes it

	// mu guards closed. Every method holds it for reading while it runs,
	// so Close waits for the calls in progress and no call sees a closed
	// *sql.DB.
	mu     sync.RWMutex
	closed bool
	// w runs this Store's writes one group at a time (see writer): they
	// wait for each other in Go, honouring their contexts, not on SQLite's
	// file lock, where a waiter sleeps and polls. Other Stores and
	// processes on the same file still wait on the lock, for up to the
	// busy timeout.
	w writer

	q     queries
	stmts statements
}

var _ store.Store = (*Store)(nil)

// maxOpenConns caps the connections of a Store made by Open. Writes use
// one at a time (see writer); the others serve reads, which WAL lets run
// beside a write.
const maxOpenConns = 8

// Open opens the SQLite database file at path, creating it if it does not
// exist, and returns a Store on it that Close closes. Every connection gets
// WAL mode, the busy timeout (WithBusyTimeout), foreign_keys=ON and
// synchronous=NORMAL. Unless WithoutMigrations is given, Open creates the
// tables or migrates them to SchemaVersion.
//
// path is a file name, not a DSN or URI. A path that is a directory, in a
// directory that does not exist, or of a file that is not a SQLite
// database is an error naming the path (the last wraps ErrNotDatabase).
// "" and ":memory:" wrap ErrInvalidDB, since an in-memory database would
// differ from connection to connection (use store/memory), and so does a
// path with a NUL byte. Errors quote at most a prefix of a long path.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("%w: path %q: Open needs a file; use store/memory for a store in memory", ErrInvalidDB, path)
	}
	if strings.IndexByte(path, 0) >= 0 {
		// SQLite would open the file named by the path cut at the NUL.
		return nil, fmt.Errorf("%w: path %s contains a NUL byte", ErrInvalidDB, quote.Short(path))
	}
	if isDir(path) {
		return nil, &pathError{path: path, err: errors.New("is a directory, not a database file")}
	}
	if dir := filepath.Dir(path); !isDir(dir) {
		return nil, &pathError{path: path, err: fmt.Errorf("directory %s does not exist", quote.Short(dir))}
	}
	db, err := sql.Open("sqlite", dsn(path, cfg))
	if err != nil {
		return nil, &pathError{path: path, err: err}
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxOpenConns)
	err = enableWAL(ctx, db, cfg.busyTimeout)
	var s *Store
	if err == nil {
		s, err = newStore(ctx, db, cfg)
	}
	if err != nil {
		if cerr := db.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, &pathError{path: path, err: err}
	}
	s.ownDB = true
	return s, nil
}

// New returns a Store on a database the host opened with modernc.org/sqlite
// (driver name "sqlite"). Close does not close db: the host does, after
// closing the Store. Unless WithoutMigrations is given, New creates the
// tables or migrates them to SchemaVersion.
//
// New leaves db's connections as the host configured them: the host sets
// WAL mode and a busy timeout in its DSN (for example
// "file:app.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"),
// or writes from other connections fail at once with "database is locked".
// A nil db, or one on another driver (whose errors the Store could not map
// to store.ErrConflict), is an error wrapping ErrInvalidDB.
func New(ctx context.Context, db *sql.DB, opts ...Option) (*Store, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if db == nil {
		return nil, fmt.Errorf("%w: *sql.DB is nil", ErrInvalidDB)
	}
	if _, ok := db.Driver().(*sqlite.Driver); !ok {
		return nil, fmt.Errorf("%w: driver %T is not modernc.org/sqlite's", ErrInvalidDB, db.Driver())
	}
	return newStore(ctx, db, cfg)
}

func newStore(ctx context.Context, db *sql.DB, cfg config) (*Store, error) {
	if err := db.PingContext(ctx); err != nil {
		return nil, fail(ctx, "connect", err)
	}
	if cfg.migrate {
		if err := migrate(ctx, db, cfg); err != nil {
			return nil, err
		}
	} else if err := checkSchema(ctx, db, cfg.prefix); err != nil {
		return nil, err
	}
	s := &Store{db: db, w: newWriter(db), q: newQueries(cfg.prefix)}
	if err := s.stmts.prepare(ctx, db, &s.q); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the Store: it waits for the calls in progress, then closes
// the database if Open opened it (a database given to New stays open).
// Later calls of other methods return an error wrapping store.ErrClosed; a
// second Close returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.stmts.close()
	if s.ownDB {
		err = errors.Join(err, s.db.Close())
	}
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// enableWAL puts the database file in WAL mode, which the file keeps. The
// switch needs a moment alone with the file, and SQLite reports
// SQLITE_BUSY at once, without the busy handler, when another connection
// (another process opening the same new file) is using it: enableWAL
// retries until busyTimeout has passed.
func enableWAL(ctx context.Context, db *sql.DB, busyTimeout time.Duration) error {
	deadline := time.Now().Add(busyTimeout)
	wait := time.Millisecond
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
		switch {
		case err == nil && strings.EqualFold(mode, "wal"):
			return nil
		case err == nil:
			return fmt.Errorf("sqlite: journal_mode is %q after setting WAL", mode)
		case sqliteCode(err)&0xff != sqlite3.SQLITE_BUSY || !time.Now().Add(wait).Before(deadline):
			return fail(ctx, "set WAL mode", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(ctx, "set WAL mode", ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// enter starts a read: it fails once the Store is closed. The caller calls
// s.leave when done.
func (s *Store) enter(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrClosed)
	}
	return nil
}

func (s *Store) leave() { s.mu.RUnlock() }

// fail wraps an error of a statement: a context that ended shows as its
// error, whatever SQLite said.
func fail(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("sqlite: %s: %w (%v)", op, cerr, err)
	}
	if err := classify(err); err != nil && errors.Is(err, ErrNotDatabase) {
		return err // what was being done is beside the point
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// sqliteCode returns the (extended) result code of a SQLite error, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// classify maps the driver errors this package names to its sentinels.
func classify(err error) error {
	if sqliteCode(err)&0xff == sqlite3.SQLITE_NOTADB {
		return ErrNotDatabase
	}
	return err
}

// dsn returns the driver's data source name for the file at path: a file:
// URI, so that any file name works, with the pragmas every connection
// runs as it opens (the driver runs busy_timeout first), and transactions
// that begin IMMEDIATE, taking the write lock (or waiting for it) at BEGIN.
// WAL mode is not among the pragmas: it is a property of the file, set
// once by enableWAL.
func dsn(path string, cfg config) string {
	p := filepath.ToSlash(filepath.Clean(path))
	if filepath.VolumeName(path) != "" {
		p = "/" + p // file:/C:/dir/x.db
	}
	var b strings.Builder
	b.WriteString("file:")
	for _, r := range p {
		switch r {
		case '%':
			b.WriteString("%25")
		case '?':
			b.WriteString("%3F")
		case '#':
			b.WriteString("%23")
		default:
			b.WriteRune(r)
		}
	}
	q := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", cfg.busyMillis()),
		"foreign_keys(ON)",
		"synchronous(NORMAL)",
	}, "_txlock": {"immediate"}}
	b.WriteString("?")
	b.WriteString(q.Encode())
	return b.String()
}

// pathError is an error of Open: it names the path.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string {
	return fmt.Sprintf("sqlite: open %s: %s", quote.Short(e.path), strings.TrimPrefix(e.err.Error(), "sqlite: "))
}

func (e *pathError) Unwrap() error { return e.err }
