package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/taskmill/taskmill/bench/internal/workload"
)

type parentConfig struct {
	reps    int
	pg      string
	out, md string
	quick   bool
}

// summary is the result of one contender in one case over every
// repetition: a line of the JSON output and a row of a table.
type summary struct {
	ID        string          `json:"id"`
	Workload  string          `json:"workload"`
	Case      string          `json:"case"`
	Params    workload.Params `json:"params"`
	Contender string          `json:"contender"`
	Reps      int             `json:"reps"`
	OK        int             `json:"ok"` // repetitions without an error
	Metrics   map[string]stat `json:"metrics,omitempty"`
	Notes     []string        `json:"notes,omitempty"`
	Errors    []string        `json:"errors,omitempty"`
	Skipped   string          `json:"skipped,omitempty"`

	runs []childLine
}

// stat is one metric over the repetitions that reported it.
type stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"`
}

// runParent runs every case: for each, rep 1 of every contender in turn,
// then rep 2, and so on; each measurement in a fresh child process.
func runParent(cases []benchCase, cfg parentConfig) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	total := 0
	for _, c := range cases {
		total += len(c.contenders) * cfg.reps
	}
	began := time.Now()
	done := 0
	var results [][]*summary // by case, then contender
	for _, c := range cases {
		w := workload.All[c.workload]
		row := make([]*summary, len(c.contenders))
		for i, name := range c.contenders {
			row[i] = &summary{ID: c.id, Workload: c.workload, Case: w.Title(c.params), Params: c.params, Contender: name, Reps: cfg.reps}
			if (name == "taskmill-postgres" || w.Postgres) && cfg.pg == "" {
				row[i].Skipped = "no PostgreSQL DSN (-pg or $TASKMILL_TEST_POSTGRES_URL)"
			}
		}
		fmt.Fprintf(os.Stderr, "== %s\n", w.Title(c.params))
		for rep := 1; rep <= cfg.reps; rep++ {
			for _, s := range row {
				if s.Skipped != "" {
					continue
				}
				done++
				t0 := time.Now()
				line := runOne(exe, c, s.Contender, cfg.pg)
				s.runs = append(s.runs, line)
				fmt.Fprintf(os.Stderr, "[%d/%d %s] rep %d %-17s %5.1fs  %s\n",
					done, total, time.Since(began).Round(time.Second), rep, s.Contender,
					time.Since(t0).Seconds(), brief(w, line))
			}
		}
		for _, s := range row {
			s.aggregate()
		}
		results = append(results, row)
	}
	fmt.Fprintf(os.Stderr, "== done in %s\n", time.Since(began).Round(time.Second))

	if cfg.out != "" {
		if err := writeJSONL(cfg.out, results); err != nil {
			return err
		}
	}
	report := markdown(cases, results, cfg, time.Since(began))
	if cfg.md != "" {
		if err := os.WriteFile(cfg.md, []byte(report), 0o644); err != nil {
			return err
		}
	}
	fmt.Print(report)
	return nil
}

// runOne runs one measurement in a child process and returns its line.
func runOne(exe string, c benchCase, name, pg string) childLine {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	p := c.params
	cmd := exec.CommandContext(ctx, exe, "-child",
		"-workload", c.workload, "-contender", name,
		"-n", strconv.Itoa(p.N), "-conc", strconv.Itoa(p.Conc),
		"-warmup", p.Warmup.String(), "-measure", p.Measure.String(),
		"-repeats", strconv.Itoa(p.Repeats), "-budget", p.Budget.String(),
		"-procs", strconv.Itoa(p.Procs), "-lease-ttl", p.LeaseTTL.String(), "-lease-renew", p.LeaseRenew.String())
	// The DSN goes by the environment, not the command line that ps shows.
	cmd.Env = append(os.Environ(), "TASKMILL_TEST_POSTGRES_URL="+pg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()

	line := childLine{Workload: c.workload, Contender: name}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	if strings.HasPrefix(last, "{") {
		if jerr := json.Unmarshal([]byte(last), &line); jerr != nil {
			line.Error = "child printed a bad line: " + jerr.Error()
		}
	} else if err == nil {
		line.Error = "child printed no result"
	}
	if err != nil && line.Error == "" {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			line.Error = fmt.Sprintf("child killed after %s", c.timeout)
		default:
			line.Error = fmt.Sprintf("child failed: %v", err)
		}
		if tail := lastLines(stderr.String(), 5); tail != "" {
			line.Error += ": " + tail
		}
	}
	return line
}

// brief is the progress line of one measurement.
func brief(w workload.Workload, l childLine) string {
	if l.Error != "" {
		return "ERROR " + l.Error
	}
	var parts []string
	for _, col := range w.Columns {
		if v, ok := l.Metrics[col.Key]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", col.Key, format(v, col.Digits)))
		}
	}
	if l.Note != "" {
		parts = append(parts, "("+l.Note+")")
	}
	return strings.Join(parts, " ")
}

// aggregate computes the stats and collects notes and errors.
func (s *summary) aggregate() {
	values := map[string][]float64{}
	notes := map[string][]int{}
	var order []string
	for i, l := range s.runs {
		if l.Error != "" {
			s.Errors = append(s.Errors, fmt.Sprintf("rep %d: %s", i+1, l.Error))
			continue
		}
		s.OK++
		for k, v := range l.Metrics {
			values[k] = append(values[k], v)
		}
		if l.Note != "" {
			if _, ok := notes[l.Note]; !ok {
				order = append(order, l.Note)
			}
			notes[l.Note] = append(notes[l.Note], i+1)
		}
	}
	for _, n := range order {
		if len(notes[n]) == len(s.runs) {
			s.Notes = append(s.Notes, n)
			continue
		}
		reps := make([]string, len(notes[n]))
		for i, r := range notes[n] {
			reps[i] = strconv.Itoa(r)
		}
		s.Notes = append(s.Notes, fmt.Sprintf("%s (rep %s)", n, strings.Join(reps, ", ")))
	}
	if len(values) > 0 {
		s.Metrics = map[string]stat{}
	}
	for k, v := range values {
		sorted := slices.Sorted(slices.Values(v))
		m := sorted[len(sorted)/2]
		if len(sorted)%2 == 0 {
			m = (sorted[len(sorted)/2-1] + m) / 2
		}
		s.Metrics[k] = stat{Median: m, Min: sorted[0], Max: sorted[len(sorted)-1], Values: v}
	}
}

func writeJSONL(path string, results [][]*summary) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, row := range results {
		for _, s := range row {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
		if r := clusterRatios(row); r != nil {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
