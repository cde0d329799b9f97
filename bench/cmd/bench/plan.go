package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/taskmill/taskmill/bench/internal/contender"
	"github.com/taskmill/taskmill/bench/internal/workload"
)

// benchCase is one workload with one set of parameters, measured for each
// of its contenders.
type benchCase struct {
	id         string // stable name, used by the targets: "tick/n=1000", "idle", "record/conc=8"
	workload   string
	params     workload.Params
	contenders []string
	timeout    time.Duration // longest a child may take
}

var (
	scheduling = []string{"taskmill", "robfig", "gocron", "quartz", "floor"}
	// ticking is scheduling and taskmill with OpenTelemetry's SDK set
	// (issue 18: the cost of telemetry, measured on the tick workload).
	ticking   = append(slices.Clone(scheduling), "taskmill-otel")
	recording = []string{"taskmill", "taskmill-sqlite", "taskmill-postgres"}
)

// plan lists the cases to run. The full run is sized to finish in about
// fifteen minutes on two cores (half of it the cluster workloads); quick
// in under two.
func plan(quick bool, only, contenders string) ([]benchCase, error) {
	var cases []benchCase
	tickCase := func(n int, warmup, measure time.Duration) benchCase {
		return benchCase{
			id: fmt.Sprintf("tick/n=%d", n), workload: "tick", contenders: ticking,
			params:  workload.Params{N: n, Warmup: warmup, Measure: measure},
			timeout: warmup + measure + 90*time.Second,
		}
	}
	clusterCase := func(n int, warmup, measure time.Duration) benchCase {
		return benchCase{
			id: fmt.Sprintf("cluster/n=%d", n), workload: "cluster", contenders: workload.ClusterVariants,
			params:  workload.Params{N: n, Procs: 3, Warmup: warmup, Measure: measure},
			timeout: warmup + measure + 2*time.Minute,
		}
	}
	idleCase := func(n int, warmup, measure time.Duration) benchCase {
		c := clusterCase(n, warmup, measure)
		c.id, c.workload = fmt.Sprintf("cluster-idle/n=%d", n), "cluster-idle"
		return c
	}
	failoverCase := func(ttl, renew time.Duration) benchCase {
		return benchCase{
			id: "cluster-failover", workload: "cluster-failover", contenders: []string{"leases"},
			params:  workload.Params{Procs: 3, LeaseTTL: ttl, LeaseRenew: renew},
			timeout: 3 * time.Minute,
		}
	}
	recordCase := func(conc int, warmup, measure time.Duration) benchCase {
		return benchCase{
			id: fmt.Sprintf("record/conc=%d", conc), workload: "record", contenders: recording,
			params:  workload.Params{Conc: conc, Warmup: warmup, Measure: measure},
			timeout: warmup + measure + 60*time.Second,
		}
	}
	if quick {
		cases = []benchCase{
			tickCase(1000, time.Second, 2*time.Second),
			{id: "idle", workload: "idle", contenders: scheduling,
				params: workload.Params{N: 10_000, Budget: 5 * time.Second}, timeout: time.Minute},
			{id: "burst", workload: "burst", contenders: scheduling,
				params: workload.Params{N: 1000, Budget: 30 * time.Second}, timeout: time.Minute},
			{id: "chain", workload: "chain", contenders: []string{"taskmill", "floor"},
				params: workload.Params{N: 1000, Repeats: 2}, timeout: time.Minute},
			recordCase(1, 200*time.Millisecond, time.Second),
			recordCase(8, 200*time.Millisecond, time.Second),
		}
		// The quick failover uses a 3 s lease renewed every second: a
		// smoke test of the path, not the defaults' failover time.
		cases = append(cases, clusterCase(200, time.Second, 3*time.Second),
			idleCase(200, time.Second, 3*time.Second), failoverCase(3*time.Second, time.Second))
	} else {
		cases = []benchCase{
			tickCase(1000, 2*time.Second, 5*time.Second),
			tickCase(10_000, 2*time.Second, 5*time.Second),
			{id: "idle", workload: "idle", contenders: scheduling,
				params: workload.Params{N: 100_000, Budget: 20 * time.Second}, timeout: 2 * time.Minute},
			{id: "burst", workload: "burst", contenders: scheduling,
				params: workload.Params{N: 10_000, Budget: time.Minute}, timeout: 2 * time.Minute},
			{id: "chain", workload: "chain", contenders: []string{"taskmill", "floor"},
				params: workload.Params{N: 1000, Repeats: 5}, timeout: 2 * time.Minute},
			recordCase(1, 500*time.Millisecond, 3*time.Second),
			recordCase(8, 500*time.Millisecond, 3*time.Second),
		}
		// 1,000 tasks is the case; 200 is what this repository's
		// 2-core test machine sustains with three engines and the server
		// on it, so that the ratios compare costs rather than overloads.
		cases = append(cases,
			clusterCase(1000, 5*time.Second, 30*time.Second),
			clusterCase(200, 5*time.Second, 30*time.Second),
			idleCase(1000, 5*time.Second, 30*time.Second),
			failoverCase(0, 0))
	}

	if only != "" {
		want := split(only)
		for _, w := range want {
			if _, ok := workload.All[w]; !ok {
				return nil, fmt.Errorf("-only: unknown workload %q (known: %s)", w, strings.Join(workload.Order, ", "))
			}
		}
		if slices.Contains(want, "cluster") {
			// "cluster" is all three measurements.
			for _, w := range []string{"cluster-idle", "cluster-failover"} {
				if !slices.Contains(want, w) {
					want = append(want, w)
				}
			}
		}
		cases = slices.DeleteFunc(cases, func(c benchCase) bool { return !slices.Contains(want, c.workload) })
	}
	if contenders != "" {
		want := split(contenders)
		known := append(contender.Names(), workload.ClusterVariants...)
		for _, c := range want {
			if !slices.Contains(known, c) {
				return nil, fmt.Errorf("-contenders: unknown contender %q (known: %s)", c, strings.Join(known, ", "))
			}
		}
		for i := range cases {
			cases[i].contenders = slices.DeleteFunc(slices.Clone(cases[i].contenders),
				func(c string) bool { return !slices.Contains(want, c) })
		}
		cases = slices.DeleteFunc(cases, func(c benchCase) bool { return len(c.contenders) == 0 })
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("nothing to run: no workload has one of those contenders")
	}
	return cases, nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
