package task

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/postgres"
	"github.com/taskmill/taskmill/store/sqlite"
)

// The multi-process cluster test: three OS processes (this test binary,
// run as TestClusterProcessChild) share one store, on SQLite and on
// PostgreSQL, with real time and short leases; one is killed with SIGKILL
// while it runs the 5 s job, and restarted. What must hold is read from
// the executions table at the end.

// Environment of TestClusterProcessChild.
const (
	procStoreEnv  = "TASKMILL_CLUSTER_CHILD_STORE" // "sqlite" or "postgres"
	procDSNEnv    = "TASKMILL_CLUSTER_CHILD_DSN"   // file path or URL
	procPrefixEnv = "TASKMILL_CLUSTER_CHILD_PREFIX"
	procNodeEnv   = "TASKMILL_CLUSTER_CHILD_NODE"
)

// The cluster's timing: short, so the test takes seconds.
const (
	procTTL   = 2 * time.Second
	procRenew = 400 * time.Millisecond
	procPoll  = 300 * time.Millisecond
	procLong  = 5 * time.Second // the long job
)

// openProcStore opens the store a child or the parent names.
func openProcStore(ctx context.Context, kind, dsn, prefix string) (store.Store, error) {
	switch kind {
	case "sqlite":
		return sqlite.Open(ctx, dsn)
	case "postgres":
		return postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	}
	return nil, fmt.Errorf("unknown store %q", kind)
}

// TestClusterProcessChild is one engine process of the cluster tests; it
// does nothing when run on its own. It runs until SIGTERM (or SIGKILL).
func TestClusterProcessChild(t *testing.T) {
	kind := os.Getenv(procStoreEnv)
	if kind == "" {
		t.Skip("runs as a child process of the multi-process cluster tests")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	st, err := openProcStore(context.Background(), kind, os.Getenv(procDSNEnv), os.Getenv(procPrefixEnv))
	if err != nil {
		t.Fatal(err)
	}
	node := os.Getenv(procNodeEnv)
	cfg := zap.NewDevelopmentConfig()
	cfg.Level, cfg.DisableStacktrace = zap.NewAtomicLevelAt(zap.InfoLevel), true
	log, err := cfg.Build()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(WithStore(st), WithNodeID(node), WithLease(procTTL, procRenew), WithStatePoll(procPoll),
		WithLogger(log.With(zap.String("child", node))), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	sleep := func(d time.Duration) Job {
		return JobFunc(func(ctx context.Context) error {
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
	}
	specs := []Spec{
		// Every second, on whichever process claims the slot.
		{Name: "tick", Cron: "* * * * * *", Job: JobFunc(ok)},
		// Fires every second and runs 2.5 s: most fires find it running
		// on some process, and must not start it again.
		{Name: "overlap", Cron: "* * * * * *", Job: sleep(2500 * time.Millisecond)},
		// The long job, re-run if its process dies.
		{Name: "long", Cron: "*/10 * * * * *", Job: sleep(procLong), RecoverAbandoned: true},
		// This process's own task: shows it runs.
		{Name: "own-" + node, Cron: "* * * * * *", Job: JobFunc(ok)},
	}
	for _, s := range specs {
		if err := eng.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eng.Shutdown(sctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// procCluster is the parent's view of the child processes.
type procCluster struct {
	t                 *testing.T
	kind, dsn, prefix string
	cmds              map[string]*exec.Cmd
	logs              map[string]*strings.Builder
	exited            map[string]chan error
}

func (c *procCluster) start(node string) {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterProcessChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), procStoreEnv+"="+c.kind, procDSNEnv+"="+c.dsn, procPrefixEnv+"="+c.prefix, procNodeEnv+"="+node)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	c.cmds[node], c.logs[node], c.exited[node] = cmd, &out, done
}

// stopAll sends SIGTERM to every live child and waits for it.
func (c *procCluster) stopAll() {
	for node, cmd := range c.cmds {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-c.exited[node]:
			if err != nil {
				c.t.Errorf("child %s: %v\n%s", node, err, c.logs[node])
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			c.t.Errorf("child %s did not stop", node)
		}
	}
	c.cmds = map[string]*exec.Cmd{}
}

func (c *procCluster) kill(node string) {
	c.t.Helper()
	if err := c.cmds[node].Process.Kill(); err != nil {
		c.t.Fatal(err)
	}
	<-c.exited[node]
	delete(c.cmds, node)
}

func multiProcess(t *testing.T, kind, dsn, prefix string) {
	st, err := openProcStore(context.Background(), kind, dsn, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &procCluster{t: t, kind: kind, dsn: dsn, prefix: prefix,
		cmds: map[string]*exec.Cmd{}, logs: map[string]*strings.Builder{}, exited: map[string]chan error{}}
	defer func() {
		for _, cmd := range c.cmds {
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			for node, out := range c.logs {
				t.Logf("child %s:\n%s", node, out)
			}
		}
	}()
	nodes := []string{"proc-1", "proc-2", "proc-3"}
	for _, n := range nodes {
		c.start(n)
	}
	list := func(task string) []*store.Execution {
		xs, err := store.ListAll(context.Background(), st, store.ExecutionFilter{Task: task, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return xs
	}
	waitUntil := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %v waiting for %s", limit, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Kill the process running the long job, a second into it.
	var victim *store.Execution
	waitUntil("the long job to run", 25*time.Second, func() bool {
		for _, x := range list("long") {
			if x.State == store.StateRunning && time.Since(x.StartedAt) > time.Second {
				victim = x
				return true
			}
		}
		return false
	})
	c.kill(victim.Node)
	killed := time.Now()

	// Its record is abandoned within TTL + one sweep, naming the node;
	// the slot runs once more, on another process.
	var abandoned *store.Execution
	waitUntil("the killed process's run to be abandoned", procTTL+procRenew+5*time.Second, func() bool {
		x, err := st.GetExecution(context.Background(), victim.ID)
		if err != nil {
			t.Fatal(err)
		}
		abandoned = x
		return x.State.Final()
	})
	if abandoned.State != store.StateAbandoned || !strings.Contains(abandoned.Error, "node "+victim.Node+" last renewed ") {
		t.Fatalf("the killed process's run: %s (%q), want abandoned naming node %s", abandoned.State, abandoned.Error, victim.Node)
	}
	detected := abandoned.EndedAt.Sub(killed)
	t.Logf("detected %v after the kill (TTL %v, renewal %v)", detected.Round(time.Millisecond), procTTL, procRenew)
	if detected > procTTL+2*procRenew+time.Second {
		t.Errorf("detection took %v, want within TTL + one renewal (%v) and a margin", detected, procTTL+procRenew)
	}
	var recovery *store.Execution
	waitUntil("the recovery run to end", procLong+10*time.Second, func() bool {
		for _, x := range list("long") {
			if x.Trigger == store.TriggerRecovery && x.State.Final() {
				recovery = x
				return true
			}
		}
		return false
	})

	// The killed process restarts under its node id and rejoins.
	c.start(victim.Node)
	restarted := time.Now()
	waitUntil("the restarted process to run its own task", 15*time.Second, func() bool {
		for _, x := range list("own-" + victim.Node) {
			if x.StartedAt.After(restarted) && x.State == store.StateSucceeded {
				return true
			}
		}
		return false
	})
	c.stopAll()

	// What the table says.
	var recoveries []*store.Execution
	for _, x := range list("long") {
		if x.Trigger == store.TriggerRecovery {
			recoveries = append(recoveries, x)
		}
	}
	if len(recoveries) != 1 || recoveries[0].ParentID != victim.ID || !recoveries[0].ScheduledAt.Equal(victim.ScheduledAt) ||
		recoveries[0].State != store.StateSucceeded || recoveries[0].Node == victim.Node {
		t.Errorf("recovery runs: %d (first %+v); want one, succeeded, of %s's slot on another node", len(recoveries), recovery, victim.ID)
	}
	for _, task := range []string{"tick", "overlap", "long", "own-" + nodes[0]} {
		xs := list(task)
		if len(xs) == 0 {
			t.Errorf("task %s: no executions", task)
		}
		checkOnceAndApart(t, task, xs)
	}
}

// checkOnceAndApart checks what the executions of a task that does not
// allow overlap must show: no slot ran twice (a recovery re-runs an
// abandoned slot), and no two runs overlapped in time.
func checkOnceAndApart(t *testing.T, task string, xs []*store.Execution) {
	t.Helper()
	ran := map[time.Time]int{}
	var runs []*store.Execution
	for _, x := range xs {
		switch x.State {
		case store.StatePending, store.StateSkipped:
			continue
		case store.StateRunning:
			t.Errorf("task %s: execution %s still running after every process stopped", task, x.ID)
			continue
		}
		runs = append(runs, x)
		if x.Trigger.Claims() || x.Trigger == store.TriggerRecovery {
			if x.State != store.StateAbandoned {
				ran[x.ScheduledAt.UTC()]++
			}
		}
	}
	for slot, n := range ran {
		if n > 1 {
			t.Errorf("task %s: slot %v ran %d times", task, slot, n)
		}
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].StartedAt.Before(runs[j].StartedAt) })
	for i := 1; i < len(runs); i++ {
		// A record's StartedAt is taken before its insert, and EndedAt
		// before the end write: across processes, a run admitted as the
		// previous end's write landed may show a start a write's time
		// before that end. A second run would overlap by seconds.
		const slack = 250 * time.Millisecond
		if prev := runs[i-1]; runs[i].StartedAt.Add(slack).Before(prev.EndedAt) {
			t.Errorf("task %s: %s (%s on %s, %v to %v) overlaps %s (%s on %s, from %v)", task,
				prev.ID, prev.State, prev.Node, prev.StartedAt.Format(time.StampMilli), prev.EndedAt.Format(time.StampMilli),
				runs[i].ID, runs[i].State, runs[i].Node, runs[i].StartedAt.Format(time.StampMilli))
		}
	}
}

func TestClusterOfProcessesOnSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and runs for about 25 s")
	}
	t.Parallel()
	multiProcess(t, "sqlite", filepath.Join(t.TempDir(), "cluster.db"), "")
}

func TestClusterOfProcessesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and runs for about 25 s")
	}
	_, prefix := postgresStorePrefix(t, "procs") // creates the tables, drops them at the end
	multiProcess(t, "postgres", os.Getenv("TASKMILL_TEST_POSTGRES_URL"), prefix)
}
