// Command cluster shows several engine processes sharing one store: it
// starts three copies of itself (engine processes, each with its own node
// id) on one SQLite file — or on the PostgreSQL database named by
// TASKMILL_POSTGRES_URL — waits until one of them runs the 5-second job,
// kills that process with SIGKILL, and prints who ran which slot: every
// slot ran once, the killed process's run was marked abandoned by another
// process, and its slot ran again there (the task asks for recovery).
//
//	go run ./examples/cluster
//	TASKMILL_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go run ./examples/cluster
//
// The leases here are short (2 s, renewed every 500 ms) so that the
// failover shows within seconds; the defaults are 15 s and 5 s.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/postgres"
	"github.com/taskmill/taskmill/store/sqlite"
	"github.com/taskmill/taskmill/task"
)

const (
	ttl   = 2 * time.Second
	renew = 500 * time.Millisecond
)

func main() {
	node := flag.String("node", "", "run as the engine process with this node id (set by the parent)")
	db := flag.String("db", "", "SQLite file (default: a new one in a temporary directory)")
	prefix := flag.String("prefix", "taskmill_cluster_", "PostgreSQL table prefix")
	flag.Parse()
	if *node != "" {
		if err := engineProcess(*node, *db, *prefix); err != nil {
			fmt.Fprintf(os.Stderr, "cluster example: %s: %v\n", *node, err)
			os.Exit(1)
		}
		return
	}
	if err := parent(*db, *prefix); err != nil {
		fmt.Fprintln(os.Stderr, "cluster example:", err)
		os.Exit(1)
	}
}

// open opens the shared store: PostgreSQL if TASKMILL_POSTGRES_URL is set,
// else the SQLite file.
func open(ctx context.Context, db, prefix string) (store.Store, error) {
	if dsn := os.Getenv("TASKMILL_POSTGRES_URL"); dsn != "" {
		return postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	}
	return sqlite.Open(ctx, db)
}

// engineProcess is one member of the cluster: it runs until SIGTERM.
func engineProcess(node, db, prefix string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st, err := open(context.Background(), db, prefix)
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := task.New(task.WithStore(st), task.WithNodeID(node), task.WithLease(ttl, renew),
		task.WithStatePoll(renew), task.WithoutInitHooks())
	if err != nil {
		return err
	}
	sleep := func(d time.Duration) task.JobFunc {
		return func(ctx context.Context) error {
			select {
			case <-time.After(d):
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	}
	for _, s := range []task.Spec{
		{Name: "report", Cron: "*/2 * * * * *", Job: sleep(100 * time.Millisecond)},
		{Name: "long", Cron: "*/10 * * * * *", Job: sleep(5 * time.Second), RecoverAbandoned: true},
	} {
		if err := eng.Register(s); err != nil {
			return err
		}
	}
	if err := eng.Start(context.Background()); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return eng.Shutdown(sctx)
}

func parent(db, prefix string) error {
	if os.Getenv("TASKMILL_POSTGRES_URL") == "" && db == "" {
		dir, err := os.MkdirTemp("", "taskmill-cluster-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		db = filepath.Join(dir, "cluster.db")
	}
	ctx := context.Background()
	st, err := open(ctx, db, prefix) // creates the tables before the processes start
	if err != nil {
		return err
	}
	defer st.Close()
	began := time.Now()

	procs := map[string]*exec.Cmd{}
	for _, node := range []string{"node-a", "node-b", "node-c"} {
		cmd := exec.Command(os.Args[0], "-node", node, "-db", db, "-prefix", prefix)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		procs[node] = cmd
	}
	defer func() {
		for _, cmd := range procs {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	fmt.Println("started three engine processes: node-a, node-b, node-c")

	list := func() ([]*store.Execution, error) {
		return store.ListAll(ctx, st, store.ExecutionFilter{From: began})
	}
	waitFor := func(what string, limit time.Duration, cond func([]*store.Execution) bool) error {
		deadline := time.Now().Add(limit)
		for {
			xs, err := list()
			if err != nil {
				return err
			}
			if cond(xs) {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("gave up after %v waiting for %s", limit, what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	var victim *store.Execution
	if err := waitFor("the long job to run", 25*time.Second, func(xs []*store.Execution) bool {
		for _, x := range xs {
			if x.Task == "long" && x.State == store.StateRunning && time.Since(x.StartedAt) > time.Second {
				victim = x
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	fmt.Printf("%s runs the long job (slot %s): killing it with SIGKILL\n", victim.Node, victim.ScheduledAt.Format(time.TimeOnly))
	killed := time.Now()
	_ = procs[victim.Node].Process.Kill()
	_ = procs[victim.Node].Wait()
	delete(procs, victim.Node)

	if err := waitFor("the slot's recovery to end", 20*time.Second, func(xs []*store.Execution) bool {
		for _, x := range xs {
			if x.Trigger == store.TriggerRecovery && x.ParentID == victim.ID && x.State.Final() {
				return true
			}
		}
		return false
	}); err != nil {
		return err
	}
	for _, cmd := range procs {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	for node, cmd := range procs {
		if err := cmd.Wait(); err != nil {
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				return fmt.Errorf("%s: %w", node, err)
			}
			fmt.Fprintf(os.Stderr, "%s exited: %v\n", node, err)
		}
		delete(procs, node)
	}

	xs, err := list()
	if err != nil {
		return err
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].StartedAt.Before(xs[j].StartedAt) })
	fmt.Printf("\n%-8s %-9s %-8s %-12s %-8s %-7s %s\n", "task", "trigger", "slot", "state", "node", "time", "error")
	for _, x := range xs {
		slot := ""
		if !x.ScheduledAt.IsZero() {
			slot = x.ScheduledAt.Local().Format(time.TimeOnly)
		}
		fmt.Printf("%-8s %-9s %-8s %-12s %-8s %-7s %s\n", x.Task, x.Trigger, slot, x.State, x.Node,
			x.Duration().Round(100*time.Millisecond), firstLine(x.Error+x.SkipReason))
	}
	fmt.Println()
	for _, x := range xs {
		switch {
		case x.ID == victim.ID:
			fmt.Printf("abandoned: the long job's slot %s on %s, marked %v after the kill: %s\n",
				x.ScheduledAt.Local().Format(time.TimeOnly), x.Node, x.EndedAt.Sub(killed).Round(100*time.Millisecond), x.Error)
		case x.Trigger == store.TriggerRecovery:
			fmt.Printf("recovery: slot %s ran again on %s: %s\n", x.ScheduledAt.Local().Format(time.TimeOnly), x.Node, x.State)
		}
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
