package task

import (
	"testing"
	"time"
)

// Workers idle through a whole trimEvery are ended, the longest idle first,
// down to keepIdle; the ones handed runs since the last trim stay.
func TestWorkersTrimIdle(t *testing.T) {
	w := &workers{}
	const n = 100
	chans := make([]chan *run, n)
	for i := range chans {
		chans[i] = make(chan *run, 1) // buffered: submit does not wait for a worker
		w.idle = append(w.idle, chans[i])
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w.mu.Lock()
	w.trimLocked(t0) // the first look starts the period
	w.mu.Unlock()
	if len(w.idle) != n {
		t.Fatalf("first trim ended workers: %d idle, want %d", len(w.idle), n)
	}
	// 30 runs go to the 30 workers that idled last.
	for range 30 {
		w.submit(&run{})
	}
	w.mu.Lock()
	w.trimLocked(t0.Add(trimEvery / 2))
	if len(w.idle) != n-30 {
		t.Errorf("trim before trimEvery ended workers: %d idle, want %d", len(w.idle), n-30)
	}
	w.trimLocked(t0.Add(trimEvery))
	w.mu.Unlock()
	if len(w.idle) != keepIdle {
		t.Fatalf("%d idle after the trim, want %d", len(w.idle), keepIdle)
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
