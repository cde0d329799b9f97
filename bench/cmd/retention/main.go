// Command retention measures the memory the in-memory store (the engine's
// default) holds after a simulated day of tasks firing on a schedule: with
// its default cap on records per task, and without a cap. See
// ../../README.md, "retention".
//
//	go run ./cmd/retention                      # 1,000 tasks every second: a day capped, an hour uncapped
//	go run ./cmd/retention -tasks 100 -day 6h   # smaller
//
// Each case runs in a fresh child process (the same binary with -child),
// which writes the records the way the engine writes a fire's (the fire's
// records created running in batches of 128, claiming their slot, then
// each run's end), without the engine: a simulated day through the engine
// would take an hour of CPU, and what stays in memory is the store's. At
// checkpoints of simulated time it collects garbage twice and reports the
// heap in use (MemStats.HeapInuse), the live heap (HeapAlloc) and the
// records held.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

func main() {
	var (
		tasks   = flag.Int("tasks", 1000, "tasks, each firing every -every")
		every   = flag.Duration("every", time.Second, "how often each task fires (simulated)")
		day     = flag.Duration("day", 24*time.Hour, "simulated time with the default cap")
		uncap   = flag.Duration("uncapped", time.Hour, "simulated time without a cap (memory grows with it: 1,000 tasks every second take ~0.6 GiB an hour)")
		child   = flag.Bool("child", false, "run one case and print its checkpoints as JSON lines (used by the parent)")
		keep    = flag.Int("keep", memory.MaxPerTaskDefault, "child: memory.WithMaxPerTask")
		simTime = flag.Duration("for", 0, "child: simulated time")
	)
	flag.Parse()
	if *tasks < 1 || *every <= 0 || *day <= 0 || *uncap < 0 {
		fmt.Fprintln(os.Stderr, "retention: -tasks, -every and -day must be positive, -uncapped not negative")
		os.Exit(2)
	}
	if *child {
		if err := runChild(*tasks, *every, *simTime, *keep); err != nil {
			fmt.Fprintln(os.Stderr, "retention child:", err)
			os.Exit(1)
		}
		return
	}
	if err := runParent(*tasks, *every, *day, *uncap); err != nil {
		fmt.Fprintln(os.Stderr, "retention:", err)
		os.Exit(1)
	}
}

// checkpoint is the state of a child's store at one simulated time.
type checkpoint struct {
	At        time.Duration `json:"at_ns"`
	Runs      int64         `json:"runs"`
	Records   int           `json:"records"`
	HeapInuse uint64        `json:"heap_inuse"`
	HeapAlloc uint64        `json:"heap_alloc"`
	NsPerRun  float64       `json:"ns_per_run"` // wall time of the runs since the last checkpoint
}

func runParent(tasks int, every, day, uncap time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("%d tasks firing every %v; go %s, %d CPUs\n\n", tasks, every, runtime.Version(), runtime.NumCPU())
	fmt.Println("| store | simulated | runs | records held | heap in use (MiB) | live heap (MiB) | bytes per record held | ns per run |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	cases := []struct {
		name string
		keep int
		d    time.Duration
	}{
		{fmt.Sprintf("default (%d per task)", memory.MaxPerTaskDefault), memory.MaxPerTaskDefault, day},
		{"WithMaxPerTask(0)", 0, uncap},
	}
	for _, c := range cases {
		if c.d == 0 {
			continue
		}
		cmd := exec.Command(exe, "-child", "-tasks", fmt.Sprint(tasks), "-every", every.String(),
			"-for", c.d.String(), "-keep", fmt.Sprint(c.keep))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var p checkpoint
			if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
				return fmt.Errorf("child: %q: %w", sc.Text(), err)
			}
			fmt.Printf("| %s | %s | %s | %s | %.1f | %.1f | %.0f | %.0f |\n", c.name, short(p.At),
				thousands(p.Runs), thousands(int64(p.Records)), mib(p.HeapInuse), mib(p.HeapAlloc),
				float64(p.HeapInuse)/float64(max(p.Records, 1)), p.NsPerRun)
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("child %s: %w", c.name, err)
		}
	}
	return nil
}

// runChild simulates d of tasks firing every every on a memory store
// keeping keep records per task, printing a checkpoint at each of
// checkpoints (and at d).
func runChild(tasks int, every, d time.Duration, keep int) error {
	ctx := context.Background()
	s := memory.New(memory.WithMaxPerTask(keep))
	defer s.Close()
	names := make([]string, tasks)
	for i := range names {
		names[i] = fmt.Sprintf("task-%05d", i)
	}
	marks := []time.Duration{}
	for _, m := range []time.Duration{1000 * every, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour} {
		if m < d && (len(marks) == 0 || m > marks[len(marks)-1]) {
			marks = append(marks, m)
		}
	}
	marks = append(marks, d)

	const chunk = 128 // the engine's fireChunk
	es := make([]store.Execution, tasks)
	ptrs := make([]*store.Execution, tasks)
	for i := range es {
		ptrs[i] = &es[i]
	}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	var (
		id   uint64
		runs int64
		t0   = time.Now()
		r0   int64
	)
	for at := every; at <= d; at += every {
		slot := start.Add(at)
		for i := range es {
			id++
			es[i] = store.Execution{ID: newID(id), Task: names[i], Trigger: store.TriggerSchedule,
				ScheduledAt: slot, StartedAt: slot, State: store.StateRunning, Node: "node-1"}
		}
		for lo := 0; lo < tasks; lo += chunk {
			for i, err := range s.CreateExecutions(ctx, ptrs[lo:min(lo+chunk, tasks)]) {
				if err != nil {
					return fmt.Errorf("create %s at %v: %w", names[lo+i], slot, err)
				}
			}
		}
		for i := range es {
			es[i].State, es[i].EndedAt = store.StateSucceeded, slot.Add(time.Millisecond)
			if err := s.UpdateExecution(ctx, &es[i]); err != nil {
				return fmt.Errorf("end %s at %v: %w", names[i], slot, err)
			}
		}
		runs += int64(tasks)
		if len(marks) > 0 && at+every > marks[0] {
			marks = marks[1:]
			ns := float64(time.Since(t0).Nanoseconds()) / float64(runs-r0)
			records, err := held(ctx, s, names)
			if err != nil {
				return err
			}
			runtime.GC()
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			line, err := json.Marshal(checkpoint{At: at, Runs: runs, Records: records,
				HeapInuse: m.HeapInuse, HeapAlloc: m.HeapAlloc, NsPerRun: ns})
			if err != nil {
				return err
			}
			fmt.Println(string(line))
			t0, r0 = time.Now(), runs
		}
	}
	return nil
}

// held counts the records of tasks in s, a task at a time (a listing
// scans its task's records only).
func held(ctx context.Context, s *memory.Store, tasks []string) (int, error) {
	n := 0
	for _, task := range tasks {
		f := store.ExecutionFilter{Task: task, Limit: store.MaxListLimit}
		for {
			p, err := s.ListExecutions(ctx, f)
			if err != nil {
				return 0, err
			}
			n += len(p.Executions)
			if p.NextCursor == "" {
				break
			}
			f.Cursor = p.NextCursor
		}
	}
	return n, nil
}

// newID returns the n-th ID, increasing like the engine's UUIDv7s, its
// last bytes random (the store shards by the last byte).
func newID(n uint64) uuid.UUID {
	var id uuid.UUID
	binary.BigEndian.PutUint64(id[:8], n<<16)
	binary.BigEndian.PutUint64(id[8:], rand.Uint64())
	id[6] = 0x70              // version 7
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// short writes a simulated time in hours or minutes when it is whole.
func short(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
