package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/taskmill/taskmill/bench/internal/workload"
)

// markdown renders the results: the machine, the targets, then one table
// per case with median (min–max) in every cell.
func markdown(cases []benchCase, results [][]*summary, cfg parentConfig, took time.Duration) string {
	var b strings.Builder
	mode := "go run ./cmd/bench"
	if cfg.quick {
		mode += " -quick"
	}
	fmt.Fprintf(&b, "## Results\n\n")
	fmt.Fprintf(&b, "`%s`, %s, %d repetition(s) of every measurement, each in a fresh process; took %s.  \n",
		mode, time.Now().UTC().Format("2006-01-02 15:04 MST"), cfg.reps, took.Round(time.Second))
	fmt.Fprintf(&b, "Machine: %s.  \n", machine())
	if rev := revision(); rev != "" {
		fmt.Fprintf(&b, "Library: %s.  \n", rev)
	}
	fmt.Fprintf(&b, "Cells: median (min–max) over the repetitions.\n\n")
	if cfg.quick {
		fmt.Fprintf(&b, "A quick run: smaller sizes and shorter windows than the targets assume, so the verdicts below are indicative only.\n\n")
	}

	fmt.Fprintf(&b, "### Targets\n\n")
	b.WriteString(targetTable(cases, results))

	for i, c := range cases {
		w := workload.All[c.workload]
		fmt.Fprintf(&b, "\n### %s\n\n", w.Title(c.params))
		b.WriteString("| contender |")
		for _, col := range w.Columns {
			fmt.Fprintf(&b, " %s |", col.Header)
		}
		b.WriteString("\n|---|")
		b.WriteString(strings.Repeat("---:|", len(w.Columns)))
		b.WriteString("\n")
		var notes []string
		for _, s := range results[i] {
			fmt.Fprintf(&b, "| %s |", s.Contender)
			for _, col := range w.Columns {
				fmt.Fprintf(&b, " %s |", cell(s, col))
			}
			b.WriteString("\n")
			if s.Skipped != "" {
				notes = append(notes, fmt.Sprintf("%s: skipped, %s", s.Contender, s.Skipped))
			}
			for _, n := range s.Notes {
				notes = append(notes, fmt.Sprintf("%s: %s", s.Contender, n))
			}
			for _, e := range s.Errors {
				notes = append(notes, fmt.Sprintf("%s: error in %s", s.Contender, e))
			}
		}
		if len(notes) > 0 {
			b.WriteString("\n")
			for _, n := range notes {
				fmt.Fprintf(&b, "- %s\n", n)
			}
		}
		if r := clusterRatios(results[i]); r != nil && len(r.Metrics) > 0 {
			b.WriteString(ratioTable(r, results[i]))
		}
		b.WriteString(idleDifference(results[i]))
	}
	return b.String()
}

// cell is "median (min–max)", the median alone when all agree, or "–".
func cell(s *summary, col workload.Column) string {
	st, ok := s.Metrics[col.Key]
	if !ok {
		return "–"
	}
	m := format(st.Median, col.Digits)
	lo, hi := format(st.Min, col.Digits), format(st.Max, col.Digits)
	out := m
	if lo != hi {
		out = fmt.Sprintf("%s (%s–%s)", m, lo, hi)
	}
	if len(st.Values) < s.Reps {
		out += fmt.Sprintf(" [%d of %d reps]", len(st.Values), s.Reps)
	}
	return out
}

// format writes v with digits decimals and thousands separators.
func format(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	for i := len(intPart) - 3; i > 0; i -= 3 {
		intPart = intPart[:i] + "," + intPart[i:]
	}
	if neg {
		intPart = "-" + intPart
	}
	if frac != "" {
		return intPart + "." + frac
	}
	return intPart
}

// revision names the commit the library was built from, and whether the
// working tree had changes, from git; "" when git cannot say.
func revision() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := "commit " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += " with uncommitted changes"
	}
	return rev
}

// machine describes where the run happened.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					mem = fmt.Sprintf(", %.1f GiB RAM", kb/(1<<20))
				}
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d × %s%s, %s %s/%s%s", runtime.NumCPU(), model, mem,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, kernel)
}
