package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"sync"

	"github.com/taskmill/taskmill/internal/migrations"
)

// SchemaVersion is the schema version this code creates and expects: the
// number of the last file under migrations/.
const SchemaVersion = 4

// PrefixPlaceholder stands for the table prefix in the migration files.
const PrefixPlaceholder = "{prefix}"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one step of the schema: a file under migrations/.
type Migration struct {
	Version int    // 1, 2, ...: the number the file name starts with
	Name    string // the file name, such as "0001_init.sql"
	// SQL is the file's text with PrefixPlaceholder replaced by the
	// prefix. It ends by recording Version in the version table, and runs
	// as one batch of statements, inside a transaction.
	SQL string
}

// Migrations returns the schema migrations in order, with the placeholder
// replaced by prefix as WithTablePrefix validates it, for hosts that apply
// the schema with their own tooling and open the store WithoutMigrations.
// Apply them in order, each in a transaction (or all in one), on the
// database file the store will use.
func Migrations(prefix string) ([]Migration, error) {
	var c config
	if err := WithTablePrefix(prefix)(&c); err != nil {
		return nil, err
	}
	ms, err := embeddedMigrations()
	if err != nil {
		return nil, err
	}
	out := make([]Migration, len(ms))
	for i, m := range migrations.WithPrefix(ms, c.prefix) {
		out[i] = Migration(m)
	}
	return out, nil
}

// embeddedMigrations reads the embedded files once.
var embeddedMigrations = sync.OnceValues(func() ([]migrations.File, error) {
	ms, err := migrations.Read(migrationFiles, "migrations", SchemaVersion)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
})

// querier is what *sql.DB and *sql.Conn have in common here.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion returns the version recorded under prefix, or 0 if there is
// no version table or no row in it.
func schemaVersion(ctx context.Context, q querier, prefix string) (int, error) {
	table := prefix + "schema_version"
	var n int
	err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE`, table).Scan(&n)
	if err != nil || n == 0 {
		return 0, err
	}
	var v int
	err = q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+table).Scan(&v)
	return v, err
}

// checkSchema is what WithoutMigrations leaves of migrate: the recorded
// version must be SchemaVersion.
func checkSchema(ctx context.Context, db *sql.DB, prefix string) error {
	v, err := schemaVersion(ctx, db, prefix)
	if err != nil {
		return fail(ctx, "read schema version", err)
	}
	var cause error
	switch {
	case v == 0:
		cause = ErrSchemaMissing
	case v < SchemaVersion:
		cause = ErrSchemaOutdated
	case v > SchemaVersion:
		cause = ErrSchemaTooNew
	default:
		return nil
	}
	return &SchemaError{Prefix: prefix, Version: v, Want: SchemaVersion, Err: cause}
}

// migrate brings the tables under cfg.prefix to SchemaVersion. It applies
// the missing migrations and their version rows in one BEGIN IMMEDIATE
// transaction, which holds SQLite's write lock: of several processes
// opening the file at once, one migrates and the others wait (up to the
// busy timeout), then find the work done.
func migrate(ctx context.Context, db *sql.DB, cfg config) error {
	ms, err := embeddedMigrations()
	if err != nil {
		return err
	}
	// Most opens find the schema current: check without the write lock.
	v, err := schemaVersion(ctx, db, cfg.prefix)
	switch {
	case err != nil:
		return fail(ctx, "read schema version", err)
	case v == SchemaVersion:
		return nil
	case v > SchemaVersion:
		return &SchemaError{Prefix: cfg.prefix, Version: v, Want: SchemaVersion, Err: ErrSchemaTooNew}
	}

	conn, err := db.Conn(ctx)
	if err != nil {
		return fail(ctx, "migrate", err)
	}
	defer conn.Close()
	// Lend the connection the store's busy timeout while it waits for the
	// lock, and give it back as it was (New's connections are the host's).
	var prev int64
	if err := conn.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&prev); err != nil {
		return fail(ctx, "migrate: read busy_timeout", err)
	}
	if want := cfg.busyMillis(); prev != want {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", want)); err != nil {
			return fail(ctx, "migrate: set busy_timeout", err)
		}
		defer func() {
			if _, err := conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA busy_timeout = %d", prev)); err != nil {
				discard(conn)
			}
		}()
	}

	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fail(ctx, "migrate: begin", err)
	}
	done := false
	defer func() {
		if done {
			return
		}
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			// The transaction may be gone already (an interrupted
			// statement ends it); a connection in doubt is not
			// returned to the pool.
			discard(conn)
		}
	}()
	// Another process may have migrated while this one waited for the lock.
	if v, err = schemaVersion(ctx, conn, cfg.prefix); err != nil {
		return fail(ctx, "read schema version", err)
	}
	if v > SchemaVersion {
		return &SchemaError{Prefix: cfg.prefix, Version: v, Want: SchemaVersion, Err: ErrSchemaTooNew}
	}
	for _, m := range migrations.WithPrefix(ms[v:], cfg.prefix) {
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return fail(ctx, "migration "+m.Name, err)
		}
		got, err := schemaVersion(ctx, conn, cfg.prefix)
		if err != nil {
			return fail(ctx, "read schema version", err)
		}
		if got != m.Version {
			return fmt.Errorf("sqlite: migration %s recorded version %d, want %d", m.Name, got, m.Version)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fail(ctx, "migrate: commit", err)
	}
	done = true
	return nil
}

// discard closes conn's driver connection instead of returning it to the
// pool: database/sql does so when a Raw function reports ErrBadConn.
func discard(conn *sql.Conn) {
	// Raw returns the function's error, ErrBadConn, by design (or
	// sql.ErrConnDone if conn is closed already): nothing to handle.
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
