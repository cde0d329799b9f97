package contender

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
	"github.com/taskmill/taskmill/store/postgres"
	"github.com/taskmill/taskmill/store/sqlite"
	"github.com/taskmill/taskmill/task"
)

// Backend is the store a taskmill contender records into.
type Backend string

// Backends of the taskmill contender.
const (
	BackendMemory Backend = "memory" // the engine's default store
	// BackendMemoryAll is a memory store that keeps every record
	// (memory.WithMaxPerTask(0)), closed by Stop.
	BackendMemoryAll Backend = "memory-all"
	BackendSQLite    Backend = "sqlite"   // a file in a temporary directory, removed by Stop
	BackendPostgres  Backend = "postgres" // tables with a random prefix, dropped by Stop
)

// ErrNoPostgres is returned for taskmill-postgres without a DSN.
var ErrNoPostgres = errors.New("contender: taskmill-postgres needs a PostgreSQL DSN (-pg or $TASKMILL_TEST_POSTGRES_URL)")

// stopTimeout bounds Shutdown in Stop.
const stopTimeout = 10 * time.Second

// Taskmill is the library under test: an engine with default options on
// the chosen store. Every run is recorded.
type Taskmill struct {
	eng     *task.Engine
	st      store.Store // nil for the memory store the engine owns
	cleanup func()      // removes the SQLite file or drops the tables

	names []string

	mu  sync.Mutex
	ids []uuid.UUID // runs triggered by RunNow and not yet settled
}

var (
	_ Runner   = (*Taskmill)(nil)
	_ Recorder = (*Taskmill)(nil)
)

// NewTaskmill returns an engine recording into backend; dsn is the database
// of BackendPostgres.
func NewTaskmill(backend Backend, dsn string) (*Taskmill, error) {
	return newTaskmill(backend, dsn)
}

// newTaskmill is NewTaskmill with extra engine options.
func newTaskmill(backend Backend, dsn string, extra ...task.Option) (*Taskmill, error) {
	ctx := context.Background()
	t := &Taskmill{cleanup: func() {}}
	opts := extra
	switch backend {
	case BackendMemory:
	case BackendMemoryAll:
		t.st = memory.New(memory.WithMaxPerTask(0))
	case BackendSQLite:
		dir, err := os.MkdirTemp("", "taskmill-bench-")
		if err != nil {
			return nil, err
		}
		st, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		t.st, t.cleanup = st, func() { os.RemoveAll(dir) }
	case BackendPostgres:
		if dsn == "" {
			return nil, ErrNoPostgres
		}
		prefix := randomPrefix()
		st, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
		if err != nil {
			return nil, err
		}
		t.st, t.cleanup = st, func() { dropTables(dsn, prefix) }
	default:
		return nil, fmt.Errorf("%w: taskmill backend %q", ErrUnknown, backend)
	}
	if t.st != nil {
		opts = append(opts, task.WithStore(t.st))
	}
	eng, err := task.New(append(opts, task.WithoutInitHooks())...)
	if err != nil {
		t.closeStore()
		return nil, err
	}
	t.eng = eng
	return t, nil
}

// Engine returns the engine, for the workloads only taskmill runs (chain,
// record).
func (t *Taskmill) Engine() *task.Engine { return t.eng }

// Add registers t.N tasks named t000000, t000001, ... on tk.Spec (as
// Spec.Cron, parsed by Register like the peers parse theirs). The job reads
// the nominal time of its run (task.ScheduledAt).
func (t *Taskmill) Add(ctx context.Context, tk Tasks) (int, error) {
	overlap := task.OverlapSkip
	if tk.Overlap {
		overlap = task.OverlapAllow
	}
	for k := 0; k < tk.N; k++ {
		if k%checkEvery == 0 && ctx.Err() != nil {
			return k, ctx.Err()
		}
		i := len(t.names)
		name := fmt.Sprintf("t%06d", i)
		job := tk.Job
		err := t.eng.Register(task.Spec{
			Name:    name,
			Cron:    tk.Spec,
			Overlap: overlap,
			Job: task.JobFunc(func(ctx context.Context) error {
				job(i, task.ScheduledAt(ctx))
				return nil
			}),
		})
		if err != nil {
			return k, err
		}
		t.names = append(t.names, name)
	}
	return tk.N, nil
}

// Start starts the engine.
func (t *Taskmill) Start() error { return t.eng.Start(context.Background()) }

// Stop shuts the engine down, then closes and removes its store.
func (t *Taskmill) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := t.eng.Shutdown(ctx); err != nil && !errors.Is(err, task.ErrEngineClosed) {
		fmt.Fprintln(os.Stderr, "taskmill: shutdown:", err)
	}
	t.closeStore()
}

func (t *Taskmill) closeStore() {
	if t.st != nil {
		if err := t.st.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "taskmill: closing the store:", err)
		}
	}
	t.cleanup()
}

// RunNow starts a run of task i (Engine.RunNow) and remembers its id for
// Settle.
func (t *Taskmill) RunNow(i int) error {
	id, err := t.eng.RunNow(context.Background(), t.names[i])
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.ids = append(t.ids, id)
	t.mu.Unlock()
	return nil
}

// Settle waits (Engine.Wait) for every run RunNow started: it returns once
// each has its final record in the store, and fails if one did not succeed.
func (t *Taskmill) Settle(ctx context.Context) error {
	t.mu.Lock()
	ids := t.ids
	t.ids = nil
	t.mu.Unlock()
	for _, id := range ids {
		e, err := t.eng.Wait(ctx, id)
		if err != nil {
			return err
		}
		if e.State != store.StateSucceeded {
			return fmt.Errorf("taskmill: run %s of %s ended %s: %s", id, e.Task, e.State, e.Error)
		}
	}
	return nil
}

// Succeeded counts the succeeded executions in the store.
func (t *Taskmill) Succeeded(ctx context.Context) (int, error) {
	all, err := store.ListAll(ctx, t.eng.Store(), store.ExecutionFilter{
		States: []store.State{store.StateSucceeded},
		Limit:  store.MaxListLimit,
	})
	return len(all), err
}

func randomPrefix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "bench_" + hex.EncodeToString(b) + "_"
}

// dropTables removes the tables taskmill-postgres created.
func dropTables(dsn, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "taskmill-postgres: dropping the tables:", err)
		return
	}
	defer conn.Close(ctx)
	// The prefix is ours (randomPrefix): letters, digits and underscores.
	sql := fmt.Sprintf("DROP TABLE IF EXISTS %[1]sexecutions, %[1]stask_state, %[1]sleases, %[1]sschema_version", prefix)
	if _, err := conn.Exec(ctx, sql); err != nil {
		fmt.Fprintln(os.Stderr, "taskmill-postgres: dropping the tables:", err)
	}
}
