package postgres

import "errors"

// Errors of opening a store. The store's methods return the sentinels of
// package store (store.ErrNotFound, store.ErrConflict, store.ErrInvalid,
// store.ErrClosed) and, for a failed query or connection, an error that
// wraps pgx's.
var (
	// ErrInvalidPrefix is returned by New and Open for a table prefix that is
	// not a letter or underscore followed by at most 40 letters, digits and
	// underscores. The wrapping error quotes the prefix.
	ErrInvalidPrefix = errors.New("postgres: invalid table prefix")

	// ErrInvalidSchema is returned by New and Open for a schema name that
	// breaks the rule of ErrInvalidPrefix. The wrapping error quotes it.
	ErrInvalidSchema = errors.New("postgres: invalid schema name")

	// ErrInvalidOption is returned by New and Open for a nil Option and by
	// WithConnectTimeout for a duration that is not positive.
	ErrInvalidOption = errors.New("postgres: invalid option")

	// ErrNilPool is returned by New when the pool is nil.
	ErrNilPool = errors.New("postgres: pool is nil")

	// ErrInvalidDSN is returned by Open for a connection string pgx cannot
	// parse. The wrapping error says why, without the connection string.
	ErrInvalidDSN = errors.New("postgres: invalid DSN")

	// ErrSchemaTooNew is returned by New and Open when the database records a
	// schema version newer than this code knows (SchemaVersion): a newer
	// taskmill migrated it. The wrapping error names both versions.
	ErrSchemaTooNew = errors.New("postgres: schema version is newer than this taskmill supports")

	// ErrSchemaMissing is returned by New and Open with WithoutMigrations
	// when the tables do not exist or record no version.
	ErrSchemaMissing = errors.New("postgres: schema is not installed")

	// ErrSchemaOutdated is returned by New and Open with WithoutMigrations
	// when the database records an older schema version than SchemaVersion.
	// The wrapping error names both versions.
	ErrSchemaOutdated = errors.New("postgres: schema version is older than this taskmill needs")
)
