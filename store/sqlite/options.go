package sqlite

import (
	"fmt"
	"regexp"
	"time"

	"github.com/taskmill/taskmill/internal/quote"
)

// Defaults of the options.
const (
	// TablePrefixDefault is the table prefix when WithTablePrefix is not
	// given.
	TablePrefixDefault = "taskmill_"
	// BusyTimeoutDefault is how long a statement waits for another
	// connection's lock when WithBusyTimeout is not given.
	BusyTimeoutDefault = 5 * time.Second
)

// Option configures Open and New. A nil Option makes them fail with an
// error wrapping ErrInvalidOption.
type Option func(*config) error

type config struct {
	prefix      string
	busyTimeout time.Duration
	migrate     bool
}

func newConfig(opts []Option) (config, error) {
	c := config{prefix: TablePrefixDefault, busyTimeout: BusyTimeoutDefault, migrate: true}
	for i, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("%w: option %d is nil", ErrInvalidOption, i)
		}
		if err := o(&c); err != nil {
			return config{}, err
		}
	}
	return c, nil
}

var prefixRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,40}$`)

// WithTablePrefix sets the prefix of every table, index and trigger name:
// the tables are {prefix}executions, {prefix}task_state, {prefix}leases,
// {prefix}fence and {prefix}schema_version.
// Stores with different prefixes share a file without seeing each other's
// records. The prefix must be a letter or underscore followed by up to 40
// letters, digits or underscores; anything else (a quote, a space, a
// semicolon) is an error wrapping ErrInvalidPrefix that names it, so the
// prefix is safe to write into SQL. SQLite compares names without regard to
// case, so prefixes that differ only in case name the same tables.
// Default: TablePrefixDefault ("taskmill_").
func WithTablePrefix(p string) Option {
	return func(c *config) error {
		if !prefixRE.MatchString(p) {
			return fmt.Errorf("%w %s: want a letter or underscore, then up to 40 letters, digits or underscores", ErrInvalidPrefix, quote.Short(p))
		}
		c.prefix = p
		return nil
	}
}

// WithoutMigrations stops the store from creating or migrating its tables,
// for hosts that manage their schema themselves (they apply what
// Migrations returns for their prefix). The store then only checks that
// {prefix}schema_version records SchemaVersion, and fails with a
// *SchemaError wrapping ErrSchemaMissing, ErrSchemaOutdated or
// ErrSchemaTooNew otherwise. Default: migrations are applied at open.
func WithoutMigrations() Option {
	return func(c *config) error {
		c.migrate = false
		return nil
	}
}

// WithBusyTimeout sets how long a statement waits for a lock held by
// another connection (another Store or process on the same file) before it
// fails with "database is locked". It is rounded up to a millisecond; 0
// fails at once; negative is an error wrapping ErrInvalidBusyTimeout. Open
// sets it on every connection; New leaves the host's connections as the
// host configured them and uses it only while it applies migrations.
// Default: BusyTimeoutDefault (5s).
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: %v is negative", ErrInvalidBusyTimeout, d)
		}
		c.busyTimeout = d
		return nil
	}
}

// busyMillis returns the busy timeout in whole milliseconds, rounded up and
// capped to what SQLite takes (an int).
func (c config) busyMillis() int64 {
	ms := int64(c.busyTimeout / time.Millisecond)
	if c.busyTimeout%time.Millisecond != 0 {
		ms++
	}
	return min(ms, 1<<31-1)
}
