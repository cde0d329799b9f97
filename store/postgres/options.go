package postgres

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/taskmill/taskmill/internal/quote"
)

// TablePrefixDefault is the table prefix used without WithTablePrefix.
const TablePrefixDefault = "taskmill_"

// ConnectTimeoutDefault is how long Open's pool waits for one connection
// to be established when neither WithConnectTimeout nor the DSN's
// connect_timeout says otherwise.
const ConnectTimeoutDefault = 10 * time.Second

// Option configures New and Open. A nil Option makes them fail with an
// error wrapping ErrInvalidOption.
type Option func(*options) error

type options struct {
	prefix         string // lower case, validated
	schema         string // lower case, validated; "" for the search_path
	migrations     bool
	connectTimeout time.Duration // 0: the DSN's, else ConnectTimeoutDefault
}

func defaultOptions() options {
	return options{prefix: TablePrefixDefault, migrations: true}
}

// identifier is what a prefix or a schema name may be: it is spliced into
// SQL as an unquoted identifier, so nothing else gets in.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,40}$`)

// WithTablePrefix sets the prefix of every table and index name (the tables
// are prefix+"executions", prefix+"task_state", prefix+"leases" and
// prefix+"schema_version"),
// so that several stores, or taskmill and the host's own tables, share one
// database. The prefix is a letter or underscore followed by at most 40
// letters, digits and underscores; anything else, a quote included, is an
// error wrapping ErrInvalidPrefix. It is lower-cased, because PostgreSQL
// folds unquoted names to lower case: "App_" and "app_" name the same
// tables. Default: TablePrefixDefault ("taskmill_").
func WithTablePrefix(prefix string) Option {
	return func(o *options) error {
		if !identifier.MatchString(prefix) {
			return fmt.Errorf("%w %s: want a letter or underscore, then at most 40 letters, digits or underscores", ErrInvalidPrefix, quote.Short(prefix))
		}
		o.prefix = strings.ToLower(prefix)
		return nil
	}
}

// WithSchema puts the tables in the named PostgreSQL schema, created at open
// if it does not exist (unless WithoutMigrations is given): every query
// names the schema, so the connections' search_path does not matter. The
// name follows the rule of WithTablePrefix (else an error wrapping
// ErrInvalidSchema) and is lower-cased. Default: no schema, so tables are
// created in and found through the connection's search_path (usually
// "public").
func WithSchema(name string) Option {
	return func(o *options) error {
		if !identifier.MatchString(name) {
			return fmt.Errorf("%w %s: want a letter or underscore, then at most 40 letters, digits or underscores", ErrInvalidSchema, quote.Short(name))
		}
		o.schema = strings.ToLower(name)
		return nil
	}
}

// WithoutMigrations is for hosts that manage the schema themselves (see
// Migrations): the store creates nothing and checks that the recorded
// schema version is SchemaVersion, failing with ErrSchemaMissing,
// ErrSchemaOutdated or ErrSchemaTooNew otherwise. Default: the store applies
// the migrations it lacks when it opens.
func WithoutMigrations() Option {
	return func(o *options) error {
		o.migrations = false
		return nil
	}
}

// WithConnectTimeout sets how long Open's pool waits for one connection to
// be established (TCP, TLS and PostgreSQL's startup), at Open and whenever
// the pool opens a connection later, so that a server that accepts
// connections but never answers fails the call instead of hanging it, even
// on a context without deadline. A context that ends sooner ends the
// attempt sooner. It overrides the DSN's connect_timeout; New ignores it
// (the host configured its pool). Zero or negative is an error wrapping
// ErrInvalidOption. Default: the DSN's connect_timeout (or
// PGCONNECT_TIMEOUT) if set and not 0, else ConnectTimeoutDefault (10s).
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithConnectTimeout(%v): must be positive", ErrInvalidOption, d)
		}
		o.connectTimeout = d
		return nil
	}
}
