// Package workload holds the benchmark workloads. Each runs one measurement
// of one contender in the current process (the child the bench command
// starts for it) and returns its metrics.
package workload

import (
	"context"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/taskmill/taskmill/bench/internal/contender"
)

// Params are a measurement's inputs; each workload reads the ones it needs.
type Params struct {
	N           int           `json:"n,omitempty"`              // tasks (tick, idle, chain) or triggers (burst)
	Conc        int           `json:"conc,omitempty"`           // concurrent tasks (record)
	Warmup      time.Duration `json:"warmup_ns,omitempty"`      // before measuring (tick, record)
	Measure     time.Duration `json:"measure_ns,omitempty"`     // measuring window (tick, record)
	Repeats     int           `json:"repeats,omitempty"`        // measured chains per child (chain)
	Budget      time.Duration `json:"budget_ns,omitempty"`      // longest registration (idle) or run (burst) allowed
	Procs       int           `json:"procs,omitempty"`          // engine processes (cluster)
	LeaseTTL    time.Duration `json:"lease_ttl_ns,omitempty"`   // node lease TTL (cluster-failover); zero: the engine's default
	LeaseRenew  time.Duration `json:"lease_renew_ns,omitempty"` // node lease renewal, with LeaseTTL
	PostgresDSN string        `json:"-"`                        // database of taskmill-postgres; never written out
}

// Result is what a measurement reports: named metrics and an optional note
// (why a metric is missing, what was off).
type Result struct {
	Metrics map[string]float64 `json:"metrics"`
	Note    string             `json:"note,omitempty"`
}

// Column is one metric as the report's table shows it.
type Column struct {
	Key    string // metric name
	Header string
	Digits int // decimals shown
}

// Workload is one of the benchmark's workloads.
type Workload struct {
	Name    string
	Columns []Column
	// Postgres says the workload runs only on PostgreSQL: without a DSN
	// every contender is skipped.
	Postgres bool
	// Title names a case of the workload in the report.
	Title func(p Params) string
	// Run measures contender c once.
	Run func(ctx context.Context, c string, p Params) (Result, error)
}

// All are the workloads by name.
var All = map[string]Workload{
	"tick":   tick,
	"idle":   idle,
	"burst":  burst,
	"chain":  chain,
	"record": record,

	"cluster":          cluster,
	"cluster-idle":     clusterIdle,
	"cluster-failover": clusterFailover,
}

// Order is the order the workloads run and are reported in.
var Order = []string{"tick", "idle", "burst", "chain", "record", "cluster", "cluster-idle", "cluster-failover"}

// newScheduler builds contender c.
func newScheduler(c string, p Params) (contender.Scheduler, error) {
	return contender.New(c, contender.Options{PostgresDSN: p.PostgresDSN})
}

// newSchedulerKeepingAll builds contender c, taskmill on a memory store
// that keeps every record.
func newSchedulerKeepingAll(c string, p Params) (contender.Scheduler, error) {
	return contender.New(c, contender.Options{PostgresDSN: p.PostgresDSN, KeepEveryRecord: true})
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssBytes is the resident set size from /proc/self/statm (Linux), or 0.
func rssBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return 0
	}
	return pages * float64(os.Getpagesize())
}

// heapAfterGC collects twice and reads the memory statistics.
func heapAfterGC() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// percentiles sorts d and returns its nearest-rank p50 and p99 and its
// maximum.
func percentiles(d []time.Duration) (p50, p99, top time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(d)))) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return rank(0.50), rank(0.99), d[len(d)-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

const mib = 1 << 20

// sleepUntil sleeps until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// thousands writes n with thousands separators: 10000 → "10,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
