package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskmill/taskmill/internal/migrations"
)

// SchemaVersion is the schema version this code reads and writes: the
// version of the newest file under migrations/.
const SchemaVersion = 4

// PrefixPlaceholder stands for the table prefix in the migration files.
const PrefixPlaceholder = "{prefix}"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one step of the schema: a file under migrations/.
type Migration struct {
	Version int    // 1, 2, ...: the number the file name starts with
	Name    string // the file name, such as "0001_init.sql"
	// SQL is the file's text with PrefixPlaceholder replaced by the prefix.
	// It ends by recording Version in the version table, and runs as one
	// batch of statements (simple query protocol), inside a transaction.
	SQL string
}

// Migrations returns the schema migrations in order, with the placeholder
// replaced by prefix as WithTablePrefix validates and lower-cases it, for
// hosts that apply the schema with their own tooling and open the store
// WithoutMigrations. Apply them in one transaction, with the search_path
// set to the schema the store will use: the files name tables unqualified,
// and 0003_cluster.sql's DO block (PL/pgSQL, which PostgreSQL installs by
// default) looks up the executions table through the search_path to find
// the CHECK constraint it replaces.
func Migrations(prefix string) ([]Migration, error) {
	var o options
	if err := WithTablePrefix(prefix)(&o); err != nil {
		return nil, err
	}
	ms, err := embeddedMigrations()
	if err != nil {
		return nil, err
	}
	out := make([]Migration, len(ms))
	for i, m := range migrations.WithPrefix(ms, o.prefix) {
		out[i] = Migration(m)
	}
	return out, nil
}

// embeddedMigrations reads the embedded files once.
var embeddedMigrations = sync.OnceValues(func() ([]migrations.File, error) {
	ms, err := migrations.Read(migrationFiles, "migrations", SchemaVersion)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
})

// lockKey derives the pg_advisory_xact_lock key that serializes migrations
// of one set of tables (kind "tables") or the creation of one schema (kind
// "schema"): 64 bits of FNV-1a over a name that includes both.
func lockKey(kind, schema, prefix string) int64 {
	h := fnv.New64a()
	h.Write([]byte("taskmill/" + kind + "/" + schema + "/" + prefix)) // never fails
	return int64(h.Sum64())
}

// migrate applies the migrations the database lacks, in one transaction
// that holds an advisory lock on the tables' name, so that processes opening
// at once apply each migration exactly once: the first one applies them,
// the others wait for its commit and find nothing to do.
func migrate(ctx context.Context, pool *pgxpool.Pool, o options, t tables) (err error) {
	ms, err := embeddedMigrations()
	if err != nil {
		return err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		// A rollback that fails leaves the connection to be closed by
		// pgx; the schema is untouched either way.
		if rbErr := tx.Rollback(context.WithoutCancel(ctx)); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
			err = errors.Join(err, fmt.Errorf("postgres: migrate: rollback: %w", rbErr))
		}
	}()

	if o.schema != "" {
		// Two stores with other prefixes may create one schema at once:
		// CREATE SCHEMA IF NOT EXISTS is not safe against that alone.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("schema", o.schema, "")); err != nil {
			return fmt.Errorf("postgres: migrate: lock schema %s: %w", o.schema, err)
		}
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+o.schema); err != nil {
			return fmt.Errorf("postgres: migrate: create schema %s: %w", o.schema, err)
		}
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey("tables", o.schema, o.prefix)); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	if o.schema != "" {
		if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+o.schema); err != nil {
			return fmt.Errorf("postgres: migrate: set search_path: %w", err)
		}
	}
	v, installed, err := recordedVersion(ctx, tx, t)
	if err != nil {
		return err
	}
	switch {
	case v > SchemaVersion:
		return fmt.Errorf("%w: %s records version %d, this code knows versions up to %d", ErrSchemaTooNew, t.version, v, SchemaVersion)
	case v == SchemaVersion:
		return tx.Commit(ctx) // nothing to do; ends the transaction and its lock
	case installed && v == 0:
		return fmt.Errorf("%w: %s exists but records no version; drop it or add its version row", ErrSchemaMissing, t.version)
	}
	for _, m := range migrations.WithPrefix(ms[v:], o.prefix) {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("postgres: migrate: %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: commit: %w", err)
	}
	return nil
}

// checkVersion is what New does instead of migrating under
// WithoutMigrations: the schema must be installed at SchemaVersion.
func checkVersion(ctx context.Context, pool *pgxpool.Pool, t tables) error {
	v, installed, err := recordedVersion(ctx, pool, t)
	switch {
	case err != nil:
		return err
	case !installed:
		return fmt.Errorf("%w: table %s does not exist; apply the migrations (see Migrations) or open without WithoutMigrations", ErrSchemaMissing, t.version)
	case v == 0:
		return fmt.Errorf("%w: table %s records no version; apply the migrations (see Migrations)", ErrSchemaMissing, t.version)
	case v > SchemaVersion:
		return fmt.Errorf("%w: %s records version %d, this code knows versions up to %d", ErrSchemaTooNew, t.version, v, SchemaVersion)
	case v < SchemaVersion:
		return fmt.Errorf("%w: %s records version %d, this code needs %d; apply the later migrations (see Migrations)", ErrSchemaOutdated, t.version, v, SchemaVersion)
	}
	return nil
}

// querier is what recordedVersion needs of a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// recordedVersion returns the highest version in the version table, and
// whether that table exists (when it does not, the version is 0).
func recordedVersion(ctx context.Context, q querier, t tables) (version int, installed bool, err error) {
	if err := q.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", t.version).Scan(&installed); err != nil {
		return 0, false, fmt.Errorf("postgres: read schema version: %w", err)
	}
	if !installed {
		return 0, false, nil
	}
	if err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+t.version).Scan(&version); err != nil {
		return 0, true, fmt.Errorf("postgres: read schema version: %w", err)
	}
	return version, true, nil
}
