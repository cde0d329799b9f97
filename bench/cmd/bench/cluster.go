package main

import (
	"fmt"
	"slices"
	"strings"
)

// The cluster workload's two variants run one after the other in every
// repetition, so each repetition gives a pair: the ratios below are
// leases ÷ no-leases within a pair, whose median and range over the
// repetitions go into the report beside the tables' own medians.

// ratioMetrics are the cluster metrics compared, with their names.
var ratioMetrics = []struct{ key, name string }{
	{"rec_p50_ms", "record lateness p50"},
	{"rec_p99_ms", "record lateness p99"},
	{"job_p50_ms", "job lateness p50"},
	{"job_p99_ms", "job lateness p99"},
	{"cpu_us_per_fire", "engine CPU per fire"},
	{"db_cpu_us_per_fire", "server CPU per fire"},
}

// clusterRatios returns the leases ÷ no-leases ratios of a cluster case's
// row as a summary (contender "leases÷no-leases"), or nil when the row is
// not one or lacks a variant.
func clusterRatios(row []*summary) *summary {
	var with, without *summary
	for _, s := range row {
		if s.Workload != "cluster" {
			return nil
		}
		switch s.Contender {
		case "leases":
			with = s
		case "no-leases":
			without = s
		}
	}
	if with == nil || without == nil {
		return nil
	}
	r := &summary{ID: with.ID, Workload: with.Workload, Case: with.Case, Params: with.Params,
		Contender: "leases÷no-leases", Reps: with.Reps}
	for i := range min(len(with.runs), len(without.runs)) {
		a, b := with.runs[i], without.runs[i]
		if a.Error != "" || b.Error != "" {
			continue
		}
		line := childLine{Workload: a.Workload, Contender: r.Contender, Metrics: map[string]float64{}}
		for _, m := range ratioMetrics {
			x, okx := a.Metrics[m.key]
			y, oky := b.Metrics[m.key]
			if okx && oky && y > 0 {
				line.Metrics[m.key] = x / y
			}
		}
		r.runs = append(r.runs, line)
	}
	r.aggregate()
	return r
}

// ratioTable renders r: one row per metric, the median ratio over the
// pairs and its range, and the ratio of the two variants' medians.
func ratioTable(r *summary, row []*summary) string {
	var b strings.Builder
	b.WriteString("\nLeases ÷ no leases, per repetition (the two ran back to back), and of the medians above:\n\n")
	b.WriteString("| metric | ratio per repetition: median (min–max) | ratio of the medians |\n|---|---:|---:|\n")
	median := func(name, key string) (float64, bool) {
		i := slices.IndexFunc(row, func(s *summary) bool { return s.Contender == name })
		if i < 0 {
			return 0, false
		}
		st, ok := row[i].Metrics[key]
		return st.Median, ok
	}
	for _, m := range ratioMetrics {
		st, ok := r.Metrics[m.key]
		if !ok {
			continue
		}
		pair := format(st.Median, 2)
		if lo, hi := format(st.Min, 2), format(st.Max, 2); lo != hi {
			pair = fmt.Sprintf("%s (%s–%s)", pair, lo, hi)
		}
		of := "–"
		x, okx := median("leases", m.key)
		y, oky := median("no-leases", m.key)
		if okx && oky && y > 0 {
			of = format(x/y, 2)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", m.name, pair, of)
	}
	return b.String()
}

// idleDifference renders what leases cost in a cluster-idle case: the
// leases variant's CPU per second less the no-leases one's, per
// repetition (median and range), and that spread over the fires of the
// case's tasks were they to fire every second.
func idleDifference(row []*summary) string {
	var with, without *summary
	for _, s := range row {
		if s.Workload != "cluster-idle" {
			return ""
		}
		switch s.Contender {
		case "leases":
			with = s
		case "no-leases":
			without = s
		}
	}
	if with == nil || without == nil {
		return ""
	}
	var b strings.Builder
	for _, m := range []struct{ key, name string }{
		{"cpu_ms_per_s", "engine CPU"},
		{"db_cpu_ms_per_s", "server CPU"},
	} {
		var d []float64
		for i := range min(len(with.runs), len(without.runs)) {
			x, okx := with.runs[i].Metrics[m.key]
			y, oky := without.runs[i].Metrics[m.key]
			if with.runs[i].Error == "" && without.runs[i].Error == "" && okx && oky {
				d = append(d, x-y)
			}
		}
		if len(d) == 0 {
			continue
		}
		slices.Sort(d)
		med := d[len(d)/2]
		if len(d)%2 == 0 {
			med = (d[len(d)/2-1] + med) / 2
		}
		n := float64(with.Params.N)
		fmt.Fprintf(&b, "- leases − no leases, %s: %s ms per second (%s to %s over the repetitions): %s µs per fire if the %s tasks fired every second\n",
			m.name, format(med, 2), format(d[0], 2), format(d[len(d)-1], 2), format(med*1000/n, 2), format(n, 0))
	}
	if b.Len() == 0 {
		return ""
	}
	return "\n" + b.String()
}
