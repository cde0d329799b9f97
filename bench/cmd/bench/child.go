package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/taskmill/taskmill/bench/internal/workload"
)

type childArgs struct {
	workload, contender  string
	n, conc, repeats     int
	warmup, measure      time.Duration
	budget               time.Duration
	pg                   string
	procs                int
	leaseTTL, leaseRenew time.Duration
	// Profiles of the measurement, for finding where the time goes
	// (empty: none).
	cpuprofile, memprofile string
	trace                  string // an execution trace of the whole child
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
			Procs: a.procs, LeaseTTL: a.leaseTTL, LeaseRenew: a.leaseRenew,
		}
		stop, perr := startProfiles(a.cpuprofile, a.memprofile, a.trace)
		if perr != nil {
			fmt.Fprintln(os.Stderr, "bench child:", perr)
			return 1
		}
		res, err := w.Run(context.Background(), a.contender, p)
		if perr := stop(); perr != nil {
			fmt.Fprintln(os.Stderr, "bench child:", perr)
		}
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

// runClusterNode runs one engine of a cluster workload in this process,
// driven by the cluster child over stdin and stdout.
func runClusterNode() int { return workload.ClusterNode(os.Stdin, os.Stdout) }

// startProfiles starts a CPU profile into cpu and an execution trace into
// tr (each if not empty); the returned stop ends them and writes a heap
// profile into mem (if not empty).
func startProfiles(cpu, mem, tr string) (stop func() error, err error) {
	var f, t *os.File
	if tr != "" {
		if t, err = os.Create(tr); err != nil {
			return nil, err
		}
		if err = trace.Start(t); err != nil {
			t.Close()
			return nil, err
		}
	}
	if cpu != "" {
		if f, err = os.Create(cpu); err != nil {
			return nil, err
		}
		// 1 kHz, not the default 100 Hz: a tick measurement is mostly
		// idle, and 100 samples a second of CPU say little.
		runtime.SetCPUProfileRate(1000)
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
	}
	return func() error {
		if t != nil {
			trace.Stop()
			if err := t.Close(); err != nil {
				return err
			}
		}
		if f != nil {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				return err
			}
		}
		if mem == "" {
			return nil
		}
		m, err := os.Create(mem)
		if err != nil {
			return err
		}
		runtime.GC()
		if err := pprof.Lookup("heap").WriteTo(m, 0); err != nil {
			m.Close()
			return err
		}
		return m.Close()
	}, nil
}
