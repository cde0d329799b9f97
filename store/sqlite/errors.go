package sqlite

import (
	"errors"
	"fmt"
)

// Sentinel errors of this package; callers branch on them with errors.Is.
// The store's own sentinels (store.ErrNotFound, store.ErrConflict,
// store.ErrInvalid, store.ErrClosed) come from the store.Store methods.
var (
	// ErrInvalidPrefix is returned by WithTablePrefix for a prefix that is
	// not a letter or underscore followed by up to 40 letters, digits or
	// underscores. The wrapping error names the prefix.
	ErrInvalidPrefix = errors.New("sqlite: invalid table prefix")

	// ErrInvalidOption is returned by Open and New for a nil Option.
	ErrInvalidOption = errors.New("sqlite: invalid option")

	// ErrInvalidBusyTimeout is returned by WithBusyTimeout for a negative
	// duration.
	ErrInvalidBusyTimeout = errors.New("sqlite: invalid busy timeout")

	// ErrInvalidDB is returned by New for a nil *sql.DB or one whose driver
	// is not modernc.org/sqlite, and by Open for an empty path, ":memory:"
	// or a path with a NUL byte.
	ErrInvalidDB = errors.New("sqlite: invalid database")

	// ErrNotDatabase is returned by Open and New when the file is not a
	// SQLite database. The wrapping error names the path.
	ErrNotDatabase = errors.New("sqlite: file is not a SQLite database")

	// ErrSchemaTooNew is returned when the database records a schema
	// version newer than SchemaVersion: a newer taskmill migrated it.
	ErrSchemaTooNew = errors.New("sqlite: schema is newer than this code")

	// ErrSchemaMissing is returned with WithoutMigrations when the tables
	// (or the version table) do not exist.
	ErrSchemaMissing = errors.New("sqlite: schema not installed")

	// ErrSchemaOutdated is returned with WithoutMigrations when the
	// database records a schema version older than SchemaVersion.
	ErrSchemaOutdated = errors.New("sqlite: schema is older than this code")
)

// SchemaError reports a database whose schema this code cannot use as it
// is. Err is ErrSchemaTooNew, ErrSchemaMissing or ErrSchemaOutdated.
type SchemaError struct {
	Prefix  string // the table prefix
	Version int    // version recorded in the database; 0 when none is
	Want    int    // version this code knows: SchemaVersion
	Err     error
}

func (e *SchemaError) Error() string {
	switch {
	case errors.Is(e.Err, ErrSchemaMissing):
		return fmt.Sprintf("%v: no version recorded in %sschema_version (want version %d): apply the migrations (see Migrations), or open without WithoutMigrations",
			e.Err, e.Prefix, e.Want)
	case errors.Is(e.Err, ErrSchemaTooNew):
		return fmt.Sprintf("%v: tables with prefix %q are at schema version %d, this code knows versions up to %d: upgrade taskmill",
			e.Err, e.Prefix, e.Version, e.Want)
	}
	return fmt.Sprintf("%v: tables with prefix %q are at schema version %d, this code needs version %d",
		e.Err, e.Prefix, e.Version, e.Want)
}

// Unwrap returns e.Err.
func (e *SchemaError) Unwrap() error { return e.Err }
