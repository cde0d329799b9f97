package task

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
)

// The janitor ends the workers idle since it last ran, the longest idle
// first, down to keepIdle; the ones handed runs meanwhile stay.
func TestWorkersTrimIdle(t *testing.T) {
	w := &workers{}
	const n = 100
	chans := make([]chan *run, n)
	for i := range chans {
		chans[i] = make(chan *run, 1) // buffered: submit does not wait for a worker
		w.idle = append(w.idle, chans[i])
	}
	w.low = n // as when the janitor was armed
	// 30 runs go to the 30 workers that idled last.
	for range 30 {
		w.submit(&run{})
	}
	w.mu.Lock()
	w.trimLocked()
	w.mu.Unlock()
	if len(w.idle) != keepIdle || w.low != keepIdle {
		t.Fatalf("%d idle (low %d) after the trim, want %d", len(w.idle), w.low, keepIdle)
	}
	for i, ch := range chans {
		ended := false
		select {
		case r, ok := <-ch:
			ended = !ok && r == nil
		default:
		}
		switch {
		case i < keepIdle && ended:
			t.Errorf("worker %d ended; the first %d stay", i, keepIdle)
		case i >= keepIdle && i < n-30 && !ended:
			t.Errorf("worker %d, idle all along, not ended", i)
		case i >= n-30 && ended:
			t.Errorf("worker %d, handed a run, ended", i)
		}
	}
}

// The janitor is armed once more than keepIdle workers wait; when it runs
// it ends those idle all along and disarms at keepIdle; close ends the rest
// and stops it.
func TestWorkersJanitor(t *testing.T) {
	w := &workers{}
	var chans []chan *run
	for i := range keepIdle + 2 {
		ch := make(chan *run)
		chans = append(chans, ch)
		if !w.park(ch) {
			t.Fatalf("park %d refused", i)
		}
		if armed, want := w.janitor != nil, i+1 > keepIdle; armed != want {
			t.Fatalf("after %d parked: janitor armed %v, want %v", i+1, armed, want)
		}
	}
	// The janitor runs: the worker idle since it was armed ends; the one
	// that parked after stays, and the janitor with it.
	w.trim()
	if len(w.idle) != keepIdle+1 || w.janitor == nil {
		t.Fatalf("after the janitor's first run: %d idle, armed %v; want %d, armed", len(w.idle), w.janitor != nil, keepIdle+1)
	}
	if _, ok := <-chans[keepIdle]; ok {
		t.Errorf("the worker idle since the janitor was armed was not ended")
	}
	// It runs again: the other has now been idle a whole period.
	janitor := w.janitor
	w.trim()
	if len(w.idle) != keepIdle || w.janitor != nil {
		t.Fatalf("after the janitor's second run: %d idle, armed %v; want %d, disarmed", len(w.idle), w.janitor != nil, keepIdle)
	}
	if _, ok := <-chans[keepIdle+1]; ok {
		t.Errorf("the worker idle through a whole period was not ended")
	}
	if janitor.Stop() {
		t.Errorf("the janitor's timer was still armed after it disarmed")
	}
	w.close()
	for _, ch := range chans[:keepIdle] {
		if _, ok := <-ch; ok {
			t.Errorf("close left a worker waiting")
		}
	}
	if w.park(make(chan *run)) {
		t.Errorf("park after close accepted a worker")
	}
}

// A fire's runs are drained from a queue by a few workers; when their jobs
// block, the watchdog gives every queued run a worker of its own: all the
// runs of a fire whose jobs all block start (here 300, more than two
// chunks), and are recorded when released.
func TestFireOfBlockingJobsStartsEveryRun(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 300
	var started atomic.Int64
	release := make(chan struct{})
	job := JobFunc(func(ctx context.Context) error {
		started.Add(1)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	for i := range n {
		b.register(t, Spec{Name: fmt.Sprintf("block-%03d", i), Schedule: cron.Every(time.Minute), Job: job})
	}
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Minute))
	waitFor(t, fmt.Sprintf("%d jobs to start together", n), func() bool { return started.Load() == n })
	close(release)
	waitFor(t, "every run recorded", func() bool {
		xs, err := store.ListAll(context.Background(), b.store, store.ExecutionFilter{States: []store.State{store.StateSucceeded}, Limit: store.MaxListLimit})
		if err != nil {
			t.Fatal(err)
		}
		return len(xs) == n
	})
}

// Runs queued behind jobs that block do not wait for them: while the first
// runs of a fire block, the others all run and end.
func TestFireRunsDoNotWaitBehindBlockingJobs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const n = 200
	release := make(chan struct{})
	defer close(release)
	var blocked, ended atomic.Int64
	for i := range n {
		job := JobFunc(func(context.Context) error { ended.Add(1); return nil })
		if i < 4 { // the first in the queue, taken by the first workers
			job = func(ctx context.Context) error {
				blocked.Add(1)
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}
		}
		b.register(t, Spec{Name: fmt.Sprintf("t-%03d", i), Schedule: cron.Every(time.Minute), Job: job})
	}
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Minute))
	waitFor(t, "the other runs to end while four jobs block", func() bool {
		return blocked.Load() == 4 && ended.Load() == n-4
	})
}

// The watchdog hands every queued run to a worker of its own when none
// left the queue since it last looked, and only then.
func TestWorkersWatchdog(t *testing.T) {
	w := &workers{}
	chans := make([]chan *run, 3)
	for i := range chans {
		chans[i] = make(chan *run, 1) // buffered: a hand-off does not wait
		w.idle = append(w.idle, chans[i])
	}
	rs := []*run{{}, {}, {}}
	w.mu.Lock()
	w.queue = append(w.queue, rs...)
	w.watchLocked()
	w.watch.Stop() // the test calls look itself
	w.taken++      // as if a drainer took a run (one that is not queued here)
	w.mu.Unlock()

	w.look() // progress since it was armed: nothing handed out
	if got := len(w.queue) - w.head; got != 3 || !w.watching || len(w.idle) != 3 {
		t.Fatalf("after a look with progress: %d queued, watching %v, %d idle; want 3, true, 3", got, w.watching, len(w.idle))
	}
	w.watch.Stop()
	w.look() // no progress: each queued run goes to an idle worker
	if got := len(w.queue) - w.head; got != 0 || w.watching || len(w.idle) != 0 {
		t.Fatalf("after a stalled look: %d queued, watching %v, %d idle; want 0, false, 0", got, w.watching, len(w.idle))
	}
	got := map[*run]bool{}
	for _, ch := range chans {
		select {
		case r := <-ch:
			got[r] = true
		default:
			t.Fatal("an idle worker was handed no run")
		}
	}
	for i, r := range rs {
		if !got[r] {
			t.Errorf("queued run %d was not handed out", i)
		}
	}
}
