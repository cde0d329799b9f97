// Command bench runs taskmill and its Go peers (robfig/cron, gocron,
// go-quartz) and a hand-written floor through the same workloads, each
// measurement in a fresh child process, and reports median and min–max of
// the repetitions as JSON lines and a Markdown table. See ../../README.md.
//
//	go run ./cmd/bench                   # everything, about 8 minutes
//	go run ./cmd/bench -quick            # a smoke run, under a minute
//	go run ./cmd/bench -only tick -contenders taskmill,robfig -reps 5
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	var (
		quick      = flag.Bool("quick", false, "a short smoke run: small sizes, short windows, one repetition unless -reps says otherwise")
		only       = flag.String("only", "", "comma-separated workloads to run (tick, idle, burst, chain, record, cluster, cluster-idle, cluster-failover; cluster includes the other two); default all")
		contenders = flag.String("contenders", "", "comma-separated contenders to run (taskmill, taskmill-otel, taskmill-sqlite, taskmill-postgres, robfig, gocron, quartz, floor; leases, no-leases for the cluster workloads); default all")
		reps       = flag.Int("reps", 3, "repetitions of every measurement")
		out        = flag.String("out", "results.jsonl", "JSON lines file for the results (empty: none)")
		md         = flag.String("md", "results.md", "Markdown file for the results (empty: none)")
		pg         = flag.String("pg", os.Getenv("TASKMILL_TEST_POSTGRES_URL"), "PostgreSQL DSN for taskmill-postgres; empty skips it (default $TASKMILL_TEST_POSTGRES_URL)")

		// One measurement, in a child process.
		child     = flag.Bool("child", false, "run one measurement and print it as a JSON line (used by the parent)")
		workload  = flag.String("workload", "", "child: the workload")
		contender = flag.String("contender", "", "child: the contender")
		n         = flag.Int("n", 0, "child: tasks (tick, idle, chain) or triggers (burst)")
		conc      = flag.Int("conc", 1, "child: concurrent tasks (record)")
		warmup    = flag.Duration("warmup", 0, "child: warm-up (tick, record)")
		measure   = flag.Duration("measure", 0, "child: measuring window (tick, record)")
		repeats   = flag.Int("repeats", 0, "child: measured chains (chain)")
		budget    = flag.Duration("budget", time.Minute, "child: longest registration (idle) or burst allowed")
		procs     = flag.Int("procs", 0, "child: engine processes (cluster)")
		leaseTTL  = flag.Duration("lease-ttl", 0, "child: node lease TTL (cluster-failover; 0: the engine's default)")
		leaseRnw  = flag.Duration("lease-renew", 0, "child: node lease renewal interval, with -lease-ttl")
		node      = flag.Bool("cluster-node", false, "run one engine of a cluster workload, driven over stdin and stdout (used by the cluster child)")
		cpuprof   = flag.String("cpuprofile", "", "child: write a CPU profile of the measurement to this file")
		memprof   = flag.String("memprofile", "", "child: write a heap profile at the end of the measurement to this file")
		traceOut  = flag.String("trace", "", "child: write an execution trace of the whole child to this file (go tool trace)")
	)
	flag.Parse()
	if *node {
		os.Exit(runClusterNode())
	}
	if *child {
		os.Exit(runChild(childArgs{
			workload: *workload, contender: *contender, n: *n, conc: *conc,
			warmup: *warmup, measure: *measure, repeats: *repeats, budget: *budget, pg: *pg,
			procs: *procs, leaseTTL: *leaseTTL, leaseRenew: *leaseRnw,
			cpuprofile: *cpuprof, memprofile: *memprof, trace: *traceOut,
		}))
	}
	repsSet := false
	flag.Visit(func(f *flag.Flag) { repsSet = repsSet || f.Name == "reps" })
	if *quick && !repsSet {
		*reps = 1
	}
	if *reps < 1 {
		fmt.Fprintln(os.Stderr, "bench: -reps must be at least 1")
		os.Exit(2)
	}
	cases, err := plan(*quick, *only, *contenders)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := runParent(cases, parentConfig{reps: *reps, pg: *pg, out: *out, md: *md, quick: *quick}); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
