package task

import "testing"

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
