package task

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/taskmill/taskmill/lock"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/postgres"
	"github.com/taskmill/taskmill/store/sqlite"
)

// SingleInstance across real processes: one-shot processes of the same
// task (TestSingleInstanceChild) on one SQLite file or PostgreSQL
// database. These tests are not parallel: they measure real time, and the
// lease's TTL is short.

// Environment of TestSingleInstanceChild.
const (
	singleKindEnv = "TASKMILL_TASK_SINGLE_CHILD" // "sqlite" or "postgres"
	singleDBEnv   = "TASKMILL_TASK_SINGLE_DB"    // the file, or the table prefix
	singleDirEnv  = "TASKMILL_TASK_SINGLE_DIR"   // where the job leaves its marks
	singleAtEnv   = "TASKMILL_TASK_SINGLE_AT"    // Unix nanoseconds to call RunOnce at
)

// The lease of the processes: short, so that a killed one frees the task
// soon.
const (
	singleTTL   = time.Second
	singleRenew = 300 * time.Millisecond
)

func openSingleStore(t *testing.T, kind, db string) store.Store {
	t.Helper()
	var (
		st  store.Store
		err error
	)
	switch kind {
	case "sqlite":
		st, err = sqlite.Open(context.Background(), db)
	case "postgres":
		st, err = postgres.Open(context.Background(), os.Getenv("TASKMILL_TEST_POSTGRES_URL"), postgres.WithTablePrefix(db))
	default:
		t.Fatalf("unknown store kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// singleOpts are the options of every one-shot process of these tests.
func singleOpts(st store.Store) []OnceOption {
	return []OnceOption{SingleInstance(), WithEngineOptions(WithStore(st), WithLease(singleTTL, singleRenew))}
}

// TestSingleInstanceChild is one process of the tests below; it does
// nothing when run on its own. It runs the task "etl" once with
// SingleInstance: the job writes the file running-<pid> and returns once
// the file stop exists. It prints outcome=ran or outcome=refused.
func TestSingleInstanceChild(t *testing.T) {
	kind := os.Getenv(singleKindEnv)
	if kind == "" {
		t.Skip("runs as a child process of the TestSingleInstanceProcesses tests")
	}
	st := openSingleStore(t, kind, os.Getenv(singleDBEnv))
	dir := os.Getenv(singleDirEnv)
	if at := os.Getenv(singleAtEnv); at != "" {
		n, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", singleAtEnv, err)
		}
		time.Sleep(time.Until(time.Unix(0, n)))
	}
	job := JobFunc(func(ctx context.Context) error {
		if err := os.WriteFile(filepath.Join(dir, "running-"+strconv.Itoa(os.Getpid())), nil, 0o600); err != nil {
			return err
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	})
	x, err := RunOnce(context.Background(), Spec{Name: "etl", Job: job}, singleOpts(st)...)
	switch {
	case errors.Is(err, ErrAlreadyRunning):
		fmt.Println("outcome=refused")
	case err != nil:
		t.Fatalf("RunOnce: %v", err)
	case x.State != store.StateSucceeded:
		t.Fatalf("RunOnce: %s %q", x.State, x.Error)
	default:
		fmt.Println("outcome=ran")
	}
}

// singleChild returns the command of a child process on the store of kind
// and db, marking in dir, calling RunOnce at at (at once if zero).
func singleChild(t *testing.T, kind, db, dir string, at time.Time) *exec.Cmd {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSingleInstanceChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), singleKindEnv+"="+kind, singleDBEnv+"="+db, singleDirEnv+"="+dir)
	if !at.IsZero() {
		cmd.Env = append(cmd.Env, singleAtEnv+"="+strconv.FormatInt(at.UnixNano(), 10))
	}
	return cmd
}

func runningMarks(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "running-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var outcomeRE = regexp.MustCompile(`(?m)^outcome=(\w+)$`)

// singleStartTogether starts processes that call RunOnce at the same
// instant: exactly one runs, the others are refused.
func singleStartTogether(t *testing.T, kind, db string, st store.Store) {
	const children = 4
	dir := t.TempDir()
	// Time for the children to start (a race-enabled test binary).
	at := time.Now().Add(1500 * time.Millisecond)
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, children)
	for range children {
		cmd := singleChild(t, kind, db, dir, at)
		go func() {
			out, err := cmd.CombinedOutput()
			results <- result{out, err}
		}()
	}
	// The one that runs waits for the stop file: it is written once the
	// others have ended, or two run.
	var got []result
	limit := time.After(20 * time.Second)
wait:
	for len(got) < children-1 && len(runningMarks(t, dir)) < 2 {
		select {
		case r := <-results:
			got = append(got, r)
		case <-limit:
			t.Error("the processes did not end in time")
			break wait
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "stop"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for len(got) < children {
		got = append(got, <-results)
	}
	outcomes := map[string]int{}
	for _, r := range got {
		m := outcomeRE.FindSubmatch(r.out)
		if r.err != nil || m == nil {
			t.Errorf("child: %v\n%s", r.err, r.out)
			continue
		}
		outcomes[string(m[1])]++
	}
	if outcomes["ran"] != 1 || outcomes["refused"] != children-1 {
		t.Errorf("outcomes of %d processes started together: %v, want 1 ran and %d refused", children, outcomes, children-1)
	}
	if m := runningMarks(t, dir); len(m) != 1 {
		t.Errorf("%d jobs ran (%v), want 1", len(m), m)
	}
	xs, err := store.ListAll(context.Background(), st, store.ExecutionFilter{Task: "etl"})
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) != 1 || xs[0].State != store.StateSucceeded {
		t.Errorf("records of etl: %d (%v), want one succeeded", len(xs), states(xs))
	}
}

// singleKilled kills a process with SIGKILL while its job runs, then
// starts the task again and again from this process: the first start is
// refused, one a TTL or so after the kill runs, and the killed process's
// record is marked abandoned, naming its node.
func singleKilled(t *testing.T, kind, db string, st store.Store) {
	dir := t.TempDir()
	cmd := singleChild(t, kind, db, dir, time.Time{})
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := cmd.Process.Pid
	mark := filepath.Join(dir, "running-"+strconv.Itoa(pid))
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(mark); err == nil {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the child exited before its job ran: %v\n%s", err, out.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child's job did not run\n%s", out.String())
		}
	}
	// Mid-run, renewals behind it, and between two of them.
	time.Sleep(2*singleRenew + singleRenew/2)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the child: %v, want killed\n%s", err, out.String())
	}

	var (
		x                    *store.Execution
		byLease, byRead, ran int
		ranAt                time.Time
	)
	for x == nil {
		at := time.Now()
		if at.Sub(killedAt) > 10*time.Second {
			t.Fatalf("no start ran within 10 s of the kill (%d refused by the lease, %d by the read)", byLease, byRead)
		}
		got, err := RunOnce(context.Background(), Spec{Name: "etl", Job: JobFunc(ok)}, singleOpts(st)...)
		switch {
		case err == nil:
			x, ranAt = got, at
			ran++
		case !errors.Is(err, ErrAlreadyRunning):
			t.Fatalf("RunOnce after the kill: %v", err)
		case errors.Is(err, lock.ErrHeld):
			byLease++
		default:
			byRead++
			t.Logf("refused by the read: %v", err)
		}
		if x == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	blocked := ranAt.Sub(killedAt)
	t.Logf("the killed process blocked the task for %v (TTL %v, renewal %v): %d starts refused by the lease, %d by the read",
		blocked, singleTTL, singleRenew, byLease, byRead)
	if byLease+byRead == 0 {
		t.Errorf("the first start after the kill ran: the killed process's lease should have refused it")
	}
	if limit := singleTTL + time.Second; blocked > limit {
		t.Errorf("the killed process blocked the task for %v, want at most the TTL %v (with a margin: %v)", blocked, singleTTL, limit)
	}
	if x.State != store.StateSucceeded {
		t.Errorf("the run after the kill: %s %q, want succeeded", x.State, x.Error)
	}
	xs, err := store.ListAll(context.Background(), st, store.ExecutionFilter{Task: "etl"})
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) != 2 {
		t.Fatalf("records of etl: %d (%v), want the killed run and the new one", len(xs), states(xs))
	}
	dead := xs[1]
	if dead.State != store.StateAbandoned || !strings.Contains(dead.Node, "-"+strconv.Itoa(pid)+"-") ||
		!strings.HasPrefix(dead.Error, "node "+dead.Node+" last renewed ") {
		t.Errorf("the killed run: %s on node %q, %q; want abandoned, naming the killed process's node (pid %d)", dead.State, dead.Node, dead.Error, pid)
	}
}

func TestSingleInstanceProcessesStartTogetherSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "taskmill.db")
	singleStartTogether(t, "sqlite", path, openSingleStore(t, "sqlite", path))
}

func TestSingleInstanceProcessKilledSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "taskmill.db")
	singleKilled(t, "sqlite", path, openSingleStore(t, "sqlite", path))
}

// singlePostgres returns the table prefix of a new PostgreSQL store and
// the store, as postgresStore does, but for a test that is not parallel.
func singlePostgres(t *testing.T) (string, store.Store) {
	t.Helper()
	dsn := os.Getenv("TASKMILL_TEST_POSTGRES_URL")
	if dsn == "" {
		t.Skip("TASKMILL_TEST_POSTGRES_URL is not set; skipping the PostgreSQL test")
	}
	prefix := fmt.Sprintf("tm_single_%d_", time.Now().UnixNano()%1_000_000_000)
	t.Cleanup(func() {
		if err := dropTables(context.Background(), dsn, prefix); err != nil {
			t.Errorf("dropping the test tables: %v", err)
		}
	})
	return prefix, openSingleStore(t, "postgres", prefix)
}

func TestSingleInstanceProcessesStartTogetherPostgres(t *testing.T) {
	prefix, st := singlePostgres(t)
	singleStartTogether(t, "postgres", prefix, st)
}

func TestSingleInstanceProcessKilledPostgres(t *testing.T) {
	prefix, st := singlePostgres(t)
	singleKilled(t, "postgres", prefix, st)
}
