package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/taskmill/taskmill/bench/internal/workload"
)

type childArgs struct {
	workload, contender string
	n, conc, repeats    int
	warmup, measure     time.Duration
	budget              time.Duration
	pg                  string
}

// childLine is what a child prints: one JSON line.
type childLine struct {
	Workload  string             `json:"workload"`
	Contender string             `json:"contender"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Note      string             `json:"note,omitempty"`
	Error     string             `json:"error,omitempty"`
}

// runChild runs one measurement in this process and prints it.
func runChild(a childArgs) int {
	line := childLine{Workload: a.workload, Contender: a.contender}
	w, ok := workload.All[a.workload]
	if !ok {
		line.Error = fmt.Sprintf("unknown workload %q", a.workload)
	} else {
		p := workload.Params{
			N: a.n, Conc: a.conc, Warmup: a.warmup, Measure: a.measure,
			Repeats: a.repeats, Budget: a.budget, PostgresDSN: a.pg,
		}
		res, err := w.Run(context.Background(), a.contender, p)
		line.Metrics, line.Note = res.Metrics, res.Note
		if err != nil {
			line.Error = err.Error()
		}
	}
	b, err := json.Marshal(line)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	fmt.Println(string(b))
	return 0
}
