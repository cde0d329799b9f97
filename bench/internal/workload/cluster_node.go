package workload

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/taskmill/taskmill/store/postgres"
	"github.com/taskmill/taskmill/task"
)

// One engine of the cluster workloads (cluster.go), in a process of its
// own: `bench -cluster-node`, started by the measuring child. It speaks
// JSON lines: it reads a nodeConfig from stdin, opens the store, registers
// the tasks, starts the engine and answers ready; it then reads a
// nodeSchedule, samples its CPU time at the schedule's two instants, and
// at the schedule's stop (or when a line "stop" comes, or stdin ends)
// shuts down and answers its result. The engine's warnings go to stderr
// as JSON lines, which the measuring child counts.

// nodeConfig is the first line a node reads.
type nodeConfig struct {
	Prefix  string `json:"prefix"`   // table prefix
	Node    string `json:"node"`     // node id (WithNodeID)
	AppName string `json:"app_name"` // PostgreSQL application_name of the node's connections
	Leases  bool   `json:"leases"`   // false: WithLocker(nil)
	// Tasks registered t000000… on Spec, each with a job that notes its
	// start (steady), or one task "long" on Spec whose job blocks until
	// the engine stops it, with RecoverAbandoned (failover).
	Failover   bool          `json:"failover,omitempty"`
	Tasks      int           `json:"tasks"`
	Spec       string        `json:"spec"`
	LeaseTTL   time.Duration `json:"lease_ttl,omitempty"` // zero: the engine's defaults
	LeaseRenew time.Duration `json:"lease_renew,omitempty"`
}

// nodeSchedule is the second line: instants as Unix nanoseconds.
type nodeSchedule struct {
	CPUFrom int64 `json:"cpu_from,omitempty"` // CPU time is read here and at CPUTo
	CPUTo   int64 `json:"cpu_to,omitempty"`
	From    int64 `json:"from,omitempty"` // job starts of slots in [From, To) are returned
	To      int64 `json:"to,omitempty"`
	Stop    int64 `json:"stop,omitempty"` // zero: at "stop" or the end of stdin
}

// nodeMsg is what a node writes: ready, an error, or its result.
type nodeMsg struct {
	Ready  bool        `json:"ready,omitempty"`
	Error  string      `json:"error,omitempty"`
	Result *nodeResult `json:"result,omitempty"`
}

type nodeResult struct {
	CPUNs  int64   `json:"cpu_ns"`  // CPU time between CPUFrom and CPUTo
	LateUs []int64 `json:"late_us"` // job start − slot of the jobs of slots in [From, To), µs
	Shut   string  `json:"shut,omitempty"`
}

// ClusterNode runs one engine of a cluster workload, talking over in and
// out as described above; the DSN is $TASKMILL_TEST_POSTGRES_URL. It
// returns the process's exit code.
func ClusterNode(in io.Reader, out io.Writer) int {
	enc := json.NewEncoder(out)
	fail := func(err error) int {
		enc.Encode(nodeMsg{Error: err.Error()})
		return 1
	}
	lines := bufio.NewScanner(in)
	var cfg nodeConfig
	if !lines.Scan() {
		return fail(errors.New("cluster node: no configuration on stdin"))
	}
	if err := json.Unmarshal(lines.Bytes(), &cfg); err != nil {
		return fail(fmt.Errorf("cluster node: configuration: %w", err))
	}
	dsn := os.Getenv("TASKMILL_TEST_POSTGRES_URL")
	if dsn == "" {
		return fail(errors.New("cluster node: no $TASKMILL_TEST_POSTGRES_URL"))
	}
	dsn, err := withAppName(dsn, cfg.AppName)
	if err != nil {
		return fail(err)
	}
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(cfg.Prefix))
	if err != nil {
		return fail(err)
	}
	defer st.Close()

	logger := zap.New(zapcore.NewCore(
		zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.Lock(os.Stderr), zapcore.WarnLevel))
	opts := []task.Option{task.WithStore(st), task.WithoutInitHooks(), task.WithNodeID(cfg.Node), task.WithLogger(logger)}
	if !cfg.Leases {
		opts = append(opts, task.WithLocker(nil))
	}
	if cfg.LeaseTTL > 0 {
		opts = append(opts, task.WithLease(cfg.LeaseTTL, cfg.LeaseRenew))
	}
	eng, err := task.New(opts...)
	if err != nil {
		return fail(err)
	}

	var (
		mu     sync.Mutex
		starts []nodeStart
	)
	quit := make(chan struct{})
	if cfg.Failover {
		err = eng.Register(task.Spec{
			Name: "long", Cron: cfg.Spec, RecoverAbandoned: true,
			Job: task.JobFunc(func(ctx context.Context) error {
				select {
				case <-ctx.Done():
					return context.Cause(ctx)
				case <-quit:
					return nil
				}
			}),
		})
	} else {
		for i := 0; i < cfg.Tasks && err == nil; i++ {
			err = eng.Register(task.Spec{
				Name: fmt.Sprintf("t%06d", i), Cron: cfg.Spec,
				Job: task.JobFunc(func(ctx context.Context) error {
					now := time.Now()
					slot := task.ScheduledAt(ctx)
					mu.Lock()
					starts = append(starts, nodeStart{slot.UnixNano(), now.UnixNano()})
					mu.Unlock()
					return nil
				}),
			})
		}
	}
	if err != nil {
		return fail(err)
	}
	if err := eng.Start(ctx); err != nil {
		return fail(err)
	}
	enc.Encode(nodeMsg{Ready: true})

	var sched nodeSchedule
	if !lines.Scan() {
		shutdownNode(eng, quit)
		return 1 // the measuring child is gone
	}
	if err := json.Unmarshal(lines.Bytes(), &sched); err != nil {
		shutdownNode(eng, quit)
		return fail(fmt.Errorf("cluster node: schedule: %w", err))
	}
	stopLine := make(chan struct{})
	go func() {
		for lines.Scan() && strings.TrimSpace(lines.Text()) != "stop" {
		}
		close(stopLine)
	}()

	var res nodeResult
	var cpu0 time.Duration
	if sched.CPUFrom != 0 {
		if !sleepOrStop(time.Unix(0, sched.CPUFrom), stopLine) {
			shutdownNode(eng, quit)
			return 1
		}
		stopProfile := startNodeProfile(cfg.Node)
		cpu0 = cpuTime()
		if !sleepOrStop(time.Unix(0, sched.CPUTo), stopLine) {
			shutdownNode(eng, quit)
			return 1
		}
		res.CPUNs = int64(cpuTime() - cpu0)
		stopProfile()
	}
	if sched.Stop != 0 {
		sleepOrStop(time.Unix(0, sched.Stop), stopLine)
	} else {
		<-stopLine
	}
	if err := shutdownNode(eng, quit); err != nil {
		res.Shut = err.Error()
	}
	mu.Lock()
	for _, s := range starts {
		if s.slot >= sched.From && s.slot < sched.To {
			res.LateUs = append(res.LateUs, (s.at-s.slot)/1000)
		}
	}
	mu.Unlock()
	enc.Encode(nodeMsg{Result: &res})
	return 0
}

type nodeStart struct{ slot, at int64 }

// NodeProfileEnv names the environment variable that makes each engine
// of the cluster workload write a CPU profile of the measured window to
// its value followed by "." and the node id.
const NodeProfileEnv = "TASKMILL_BENCH_NODE_CPUPROFILE"

// startNodeProfile starts the CPU profile NodeProfileEnv asks for, if
// any; the returned function stops it.
func startNodeProfile(node string) (stop func()) {
	base := os.Getenv(NodeProfileEnv)
	if base == "" {
		return func() {}
	}
	f, err := os.Create(base + "." + node)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster node: profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "cluster node: profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// sleepOrStop sleeps until t; false if stop came first.
func sleepOrStop(t time.Time, stop <-chan struct{}) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-stop:
		return false
	}
}

func shutdownNode(eng *task.Engine, quit chan struct{}) error {
	close(quit)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return eng.Shutdown(ctx)
}

// withAppName sets application_name in a PostgreSQL DSN, a URL or
// key=value pairs, so that the measuring child finds the node's server
// processes in pg_stat_activity.
func withAppName(dsn, name string) (string, error) {
	if name == "" {
		return dsn, nil
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("cluster node: the PostgreSQL DSN is not a valid URL: %w", err)
		}
		q := u.Query()
		q.Set("application_name", name)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " application_name=" + name, nil
}
