package main

import (
	"fmt"
	"strings"

	"github.com/taskmill/taskmill/bench/internal/workload"
	"github.com/taskmill/taskmill/task"
)

// target is one of the targets for taskmill.
type target struct {
	label     string // may hold a %s for the case's N
	caseID    string
	contender string // the taskmill contender measured
	metric    string
	peer      string // compared with this contender's median; "" for an absolute limit
	atMost    bool   // the value (or ratio) must be ≤ limit; else ≥
	limit     float64
	unit      string
	digits    int
	// every compares the worst repetition (min for ≥, max for ≤), not the
	// median: "every fire seen" must hold in every run. A limit of 0 then
	// means the case's N (burst: every run recorded).
	every bool
	// limitOf, if set, gives the limit from the case's parameters.
	limitOf func(workload.Params) float64
}

var targets = []target{
	{label: "tick 10,000: p99 lateness ≤ 0.5 × robfig's", caseID: "tick/n=10000", contender: "taskmill", metric: "p99_ms", peer: "robfig", atMost: true, limit: 0.5, unit: "ms", digits: 2},
	{label: "tick 10,000: every fire seen", caseID: "tick/n=10000", contender: "taskmill", metric: "seen_pct", limit: 100, unit: "%", digits: 2, every: true},
	{label: "tick 10,000: CPU per fire ≤ 2 × robfig's", caseID: "tick/n=10000", contender: "taskmill", metric: "cpu_ms_per_1k", peer: "robfig", atMost: true, limit: 2, unit: "ms/1k", digits: 2},
	{label: "tick 1,000: p99 lateness ≤ robfig's", caseID: "tick/n=1000", contender: "taskmill", metric: "p99_ms", peer: "robfig", atMost: true, limit: 1, unit: "ms", digits: 2},
	{label: "idle %s: heap ≤ 1.5 × robfig's", caseID: "idle", contender: "taskmill", metric: "heap_mib", peer: "robfig", atMost: true, limit: 1.5, unit: "MiB", digits: 1},
	{label: "idle %s: registration ≤ 3 µs per task", caseID: "idle", contender: "taskmill", metric: "reg_us_per_task", atMost: true, limit: 3, unit: "µs", digits: 2},
	{label: "idle %s: Start ≤ 250 ms", caseID: "idle", contender: "taskmill", metric: "start_ms", atMost: true, limit: 250, unit: "ms", digits: 1},
	{label: "burst %s: ≥ 4 × gocron's throughput", caseID: "burst", contender: "taskmill", metric: "runs_per_s", peer: "gocron", limit: 4, unit: "runs/s", digits: 0},
	{label: "burst %s: every run recorded", caseID: "burst", contender: "taskmill", metric: "recorded", unit: "runs", digits: 0, every: true},
	{label: "chain: hop p50 ≤ 50 µs", caseID: "chain", contender: "taskmill", metric: "hop_p50_us", atMost: true, limit: 50, unit: "µs", digits: 1},
	{label: "chain: hop p99 ≤ 500 µs", caseID: "chain", contender: "taskmill", metric: "hop_p99_us", atMost: true, limit: 500, unit: "µs", digits: 1},
	{label: "record, memory, 8 concurrent: ≥ 200,000/s", caseID: "record/conc=8", contender: "taskmill", metric: "execs_per_s", limit: 200_000, unit: "/s", digits: 0},
	{label: "record, SQLite, 8 concurrent: ≥ 5,000/s", caseID: "record/conc=8", contender: "taskmill-sqlite", metric: "execs_per_s", limit: 5000, unit: "/s", digits: 0},
	{label: "record, PostgreSQL, 8 concurrent: ≥ 3,000/s", caseID: "record/conc=8", contender: "taskmill-postgres", metric: "execs_per_s", limit: 3000, unit: "/s", digits: 0},
	{label: "cluster %s, leases: no slot claimed or run twice", caseID: "cluster/n=1000", contender: "leases", metric: "twice", atMost: true, unit: "slots", digits: 0, every: true, limitOf: zero},
	{label: "cluster %s, leases: every slot run exactly once", caseID: "cluster/n=1000", contender: "leases", metric: "once_pct", limit: 100, unit: "%", digits: 2, every: true},
	{label: "cluster %s, no leases: no slot claimed or run twice", caseID: "cluster/n=1000", contender: "no-leases", metric: "twice", atMost: true, unit: "slots", digits: 0, every: true, limitOf: zero},
	{label: "cluster %s, no leases: every slot run exactly once", caseID: "cluster/n=1000", contender: "no-leases", metric: "once_pct", limit: 100, unit: "%", digits: 2, every: true},
	{label: "cluster %s, leases: no slot claimed or run twice", caseID: "cluster/n=200", contender: "leases", metric: "twice", atMost: true, unit: "slots", digits: 0, every: true, limitOf: zero},
	{label: "cluster %s, leases: every slot run exactly once", caseID: "cluster/n=200", contender: "leases", metric: "once_pct", limit: 100, unit: "%", digits: 2, every: true},
	{label: "cluster %s, no leases: no slot claimed or run twice", caseID: "cluster/n=200", contender: "no-leases", metric: "twice", atMost: true, unit: "slots", digits: 0, every: true, limitOf: zero},
	{label: "cluster %s, no leases: every slot run exactly once", caseID: "cluster/n=200", contender: "no-leases", metric: "once_pct", limit: 100, unit: "%", digits: 2, every: true},
	{label: "cluster-failover: kill → abandoned ≤ lease TTL + renewal", caseID: "cluster-failover", contender: "leases", metric: "abandon_s", atMost: true, unit: "s", digits: 2, every: true,
		limitOf: func(p workload.Params) float64 {
			if p.LeaseTTL > 0 {
				return (p.LeaseTTL + p.LeaseRenew).Seconds()
			}
			return (task.LeaseTTLDefault + task.LeaseRenewDefault).Seconds()
		}},
}

// zero is a limit of 0 (a limit field of 0 with every means the case's N).
func zero(workload.Params) float64 { return 0 }

// targetTable evaluates every target on the results it can find.
func targetTable(cases []benchCase, results [][]*summary) string {
	find := func(caseID, name string) (*summary, *benchCase) {
		for i, c := range cases {
			if c.id != caseID {
				continue
			}
			for _, s := range results[i] {
				if s.Contender == name {
					return s, &cases[i]
				}
			}
		}
		return nil, nil
	}
	var b strings.Builder
	b.WriteString("| target | taskmill | peer | ratio | limit | met |\n|---|---:|---:|---:|---:|---|\n")
	for _, t := range targets {
		s, c := find(t.caseID, t.contender)
		label := t.label
		if strings.Contains(label, "%s") {
			n := "–"
			if c != nil {
				n = format(float64(c.params.N), 0)
			}
			label = fmt.Sprintf(label, n)
		}
		st, ok := stat{}, false
		if s != nil {
			st, ok = s.Metrics[t.metric]
		}
		if !ok {
			fmt.Fprintf(&b, "| %s | – | – | – | – | not measured |\n", label)
			continue
		}
		value := st.Median
		if t.every {
			value = st.Min
			if t.atMost {
				value = st.Max
			}
		}
		limit := t.limit
		if t.limitOf != nil {
			limit = t.limitOf(c.params)
		}
		if t.every && limit == 0 && t.limitOf == nil {
			limit = float64(c.params.N)
		}
		tm := format(value, t.digits) + " " + t.unit
		peer, ratio, got := "–", "–", value
		if t.peer != "" {
			ps, _ := find(t.caseID, t.peer)
			pst, pok := stat{}, false
			if ps != nil {
				pst, pok = ps.Metrics[t.metric]
			}
			if !pok || pst.Median == 0 {
				fmt.Fprintf(&b, "| %s | %s | – | – | %s | not measured (no %s result) |\n", label, tm, limitText(t, limit), t.peer)
				continue
			}
			peer = format(pst.Median, t.digits) + " " + t.unit
			got = value / pst.Median
			ratio = format(got, 2)
		}
		met := got >= limit
		if t.atMost {
			met = got <= limit
		}
		verdict := "yes"
		if !met {
			verdict = "**no**"
		}
		if t.every && s.OK < s.Reps {
			verdict = fmt.Sprintf("**no** (%d of %d reps failed)", s.Reps-s.OK, s.Reps)
		}
		if t.every {
			tm += " (worst rep)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", label, tm, peer, ratio, limitText(t, limit), verdict)
	}
	b.WriteString("\nRatios are taskmill ÷ peer, on the medians.\n")
	return b.String()
}

func limitText(t target, limit float64) string {
	op := "≥"
	if t.atMost {
		op = "≤"
	}
	if t.peer != "" {
		return fmt.Sprintf("%s %s", op, format(limit, 1))
	}
	return fmt.Sprintf("%s %s %s", op, format(limit, t.digits), t.unit)
}
