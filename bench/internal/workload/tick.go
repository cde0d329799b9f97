package workload

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/taskmill/taskmill/bench/internal/contender"
)

// tick: N tasks, each firing every second; the job only records when it
// started. Lateness is the start minus the nominal second. After a warm-up
// the fires of Measure whole seconds are counted.
//
// The process's garbage collections are watched too (see gcWatch): a fire
// during which a collection ran is counted as GC-overlapped, and the p99
// of the other fires is reported beside the p99 of all, so that a table
// shows how much of a tail is the collector's.
var tick = Workload{
	Name: "tick",
	Columns: []Column{
		{"p50_ms", "lateness p50 (ms)", 2},
		{"p99_ms", "p99 (ms)", 2},
		{"max_ms", "max (ms)", 1},
		{"cpu_ms_per_1k", "CPU per 1,000 fires (ms)", 2},
		{"gc_fires", "fires a GC overlapped", 0},
		{"p99_nogc_ms", "p99 of the other fires (ms)", 2},
		{"seen", "fires seen", 0},
		{"expected", "expected", 0},
	},
	Title: func(p Params) string {
		return fmt.Sprintf("tick — %s tasks firing every second", thousands(p.N))
	},
	Run: runTick,
}

const everySecond = "* * * * * *"

// tickTail is how long after the last measured second late fires may still
// arrive before the scheduler is stopped.
const tickTail = 1500 * time.Millisecond

func runTick(ctx context.Context, c string, p Params) (Result, error) {
	s, err := newScheduler(c, p)
	if err != nil {
		return Result{}, err
	}
	seconds := int((p.Warmup + p.Measure + tickTail).Seconds()) + 3
	log := &fireLog{fires: make([]fire, p.N*seconds)}

	gcs := watchGC()
	defer gcs.stop()
	t0 := time.Now()
	if _, err := s.Add(ctx, contender.Tasks{N: p.N, Spec: everySecond, Job: log.record}); err != nil {
		return Result{}, err
	}
	reg := time.Since(t0)
	t1 := time.Now()
	if err := s.Start(); err != nil {
		return Result{}, err
	}
	start := time.Since(t1)

	// The measured slots are [from, to); CPU time is read half a second
	// before each end, between two rounds of fires.
	from := time.Now().Truncate(time.Second).Add(time.Second + p.Warmup)
	to := from.Add(p.Measure)
	cpuFrom, cpuTo := from.Add(-500*time.Millisecond), to.Add(-500*time.Millisecond)
	if err := sleepUntil(ctx, cpuFrom); err != nil {
		s.Stop()
		return Result{}, err
	}
	cpu0 := cpuTime()
	if err := sleepUntil(ctx, cpuTo); err != nil {
		s.Stop()
		return Result{}, err
	}
	cpu := cpuTime() - cpu0
	err = sleepUntil(ctx, to.Add(tickTail))
	s.Stop()
	if err != nil {
		return Result{}, err
	}

	fires := log.slotted()
	var late []time.Duration
	seen := map[[2]int64]bool{}
	inCPU := 0
	for _, f := range fires {
		if f.at >= cpuFrom.UnixNano() && f.at < cpuTo.UnixNano() {
			inCPU++
		}
		if f.slot < from.UnixNano() || f.slot >= to.UnixNano() {
			continue
		}
		k := [2]int64{int64(f.job), f.slot}
		if seen[k] {
			continue // a second fire of one task for one slot: not a new one
		}
		seen[k] = true
		late = append(late, time.Duration(f.at-f.slot))
	}
	gcFires, calm := gcFires(fires, from, to, gcs.ends())
	expected := p.N * int(p.Measure/time.Second)
	res := Result{Metrics: map[string]float64{
		"seen":     float64(len(seen)),
		"expected": float64(expected),
		"seen_pct": 100 * float64(len(seen)) / float64(expected),
		"reg_ms":   ms(reg),
		"start_ms": ms(start),
		"cpu_ms":   ms(cpu),
		"gc_fires": float64(gcFires),
	}}
	if len(late) > 0 {
		p50, p99, top := percentiles(late)
		res.Metrics["p50_ms"], res.Metrics["p99_ms"], res.Metrics["max_ms"] = ms(p50), ms(p99), ms(top)
	}
	if len(calm) > 0 {
		_, p99, _ := percentiles(calm)
		res.Metrics["p99_nogc_ms"] = ms(p99)
	}
	if inCPU > 0 {
		res.Metrics["cpu_ms_per_1k"] = ms(cpu) / (float64(inCPU) / 1000)
	}
	switch {
	case len(seen) == 0:
		res.Note = "missed every fire"
	case len(seen) < expected:
		res.Note = fmt.Sprintf("missed %d of %d fires", expected-len(seen), expected)
	}
	if n := log.next.Load(); n > int64(len(log.fires)) {
		res.Note = join(res.Note, fmt.Sprintf("fire log overflowed: %d fires not kept", n-int64(len(log.fires))))
	}
	return res, nil
}

// fire is one fire as the job saw it. Jobs write it concurrently, so every
// field is atomic; at is written last and marks the entry complete.
type fire struct {
	job     atomic.Int32
	nominal atomic.Int64 // UnixNano of the slot the library named, 0 if none
	at      atomic.Int64 // UnixNano of the job's start
}

// fireLog keeps fires in a preallocated array: recording one costs a
// clock read, an atomic add and three atomic stores.
type fireLog struct {
	next  atomic.Int64
	fires []fire
}

// record is the job body.
func (l *fireLog) record(i int, nominal time.Time) {
	now := time.Now()
	k := l.next.Add(1) - 1
	if k >= int64(len(l.fires)) {
		return
	}
	f := &l.fires[k]
	f.job.Store(int32(i))
	if !nominal.IsZero() {
		f.nominal.Store(nominal.UnixNano())
	}
	f.at.Store(now.UnixNano())
}

// slottedFire is a fire with the slot it belongs to.
type slottedFire struct {
	job  int32
	slot int64 // UnixNano of a whole second
	at   int64
}

// slotted returns the logged fires with their slots. Where the library
// named the slot (taskmill, floor) that is it. Otherwise a task's fires are
// assigned whole seconds from its last fire backwards: each fire gets the
// second it started in, or the second before the next fire's slot if that
// is earlier. So every fire of a task gets its own slot, and a fire that
// came late into the following second is counted for its own second, not
// the next (which, if it also fired, keeps its own fire). Where a library
// dropped a slot and came late to the one before it, the lateness is
// under-counted (the fire is taken for the dropped slot); the drop still
// shows as a missed fire.
func (l *fireLog) slotted() []slottedFire {
	n := min(int(l.next.Load()), len(l.fires))
	out := make([]slottedFire, 0, n)
	for i := range n {
		f := &l.fires[i]
		at := f.at.Load()
		if at == 0 {
			continue // reserved but never written: the job was still running
		}
		out = append(out, slottedFire{job: f.job.Load(), slot: f.nominal.Load(), at: at})
	}
	slices.SortFunc(out, func(a, b slottedFire) int {
		if a.job != b.job {
			return int(a.job - b.job)
		}
		return cmpInt64(a.at, b.at)
	})
	sec := int64(time.Second)
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].slot != 0 {
			continue
		}
		slot := out[i].at - out[i].at%sec
		if i+1 < len(out) && out[i+1].job == out[i].job && slot >= out[i+1].slot {
			slot = out[i+1].slot - sec
		}
		out[i].slot = slot
	}
	return out
}

// gcSlack is how long after a fire's last start a garbage collection may
// end and still count as overlapping the fire: a collection's mark phase
// on this benchmark's heaps takes 5 to 20 ms.
const gcSlack = 50 * time.Millisecond

// gcFires counts the measured fires (slots in [from, to)) that a garbage
// collection overlapped: one ended between the slot and gcSlack after the
// fire's last start. It returns the lateness of the other fires' starts.
func gcFires(fires []slottedFire, from, to time.Time, gcEnds []int64) (n int, calm []time.Duration) {
	last := map[int64]int64{} // slot -> last start
	for _, f := range fires {
		if f.slot >= from.UnixNano() && f.slot < to.UnixNano() {
			last[f.slot] = max(last[f.slot], f.at)
		}
	}
	overlapped := map[int64]bool{}
	for slot, at := range last {
		i, _ := slices.BinarySearch(gcEnds, slot)
		if i < len(gcEnds) && gcEnds[i] <= at+int64(gcSlack) {
			overlapped[slot] = true
			n++
		}
	}
	for _, f := range fires {
		if _, measured := last[f.slot]; measured && !overlapped[f.slot] {
			calm = append(calm, time.Duration(f.at-f.slot))
		}
	}
	return n, calm
}

// gcWatch notes when each garbage collection of the process ends: an
// object with a finalizer, made again by its finalizer, is found
// unreachable once per cycle, and its finalizer runs just after the cycle
// (on the runtime's finalizer goroutine).
type gcWatch struct {
	mu      sync.Mutex
	at      []int64 // UnixNano, ascending
	stopped atomic.Bool
}

func watchGC() *gcWatch {
	w := &gcWatch{}
	w.arm()
	return w
}

// gcSentinel is big enough to stay out of the tiny allocator, whose
// objects' finalizers may never run.
type gcSentinel struct{ _ [64]byte }

func (w *gcWatch) arm() {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		if w.stopped.Load() {
			return
		}
		now := time.Now().UnixNano()
		w.mu.Lock()
		w.at = append(w.at, now)
		w.mu.Unlock()
		w.arm()
	})
}

func (w *gcWatch) stop() { w.stopped.Store(true) }

// ends returns the collections' end times so far.
func (w *gcWatch) ends() []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.at)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// join joins notes with "; ".
func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
