package task

import "sync"

// maxIdleWorkers bounds the goroutines kept waiting for runs.
const maxIdleWorkers = 256

// workers runs executions on reused goroutines: a run handed to an idle
// worker skips creating a goroutine and growing its stack, which for short
// jobs cost more than the job. With no idle worker a new one starts: runs
// never wait for each other.
type workers struct {
	mu     sync.Mutex
	idle   []chan *run // idle workers, each waiting on its own channel
	closed bool
}

// submit starts r on an idle worker or a new goroutine.
func (w *workers) submit(r *run) {
	w.mu.Lock()
	if n := len(w.idle); n > 0 && !w.closed {
		ch := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		ch <- r
		return
	}
	w.mu.Unlock()
	go w.work(r)
}

// work runs r, then waits for more while there is room among the idle.
func (w *workers) work(r *run) {
	ch := make(chan *run)
	for r != nil {
		r.execute()
		w.mu.Lock()
		if w.closed || len(w.idle) >= maxIdleWorkers {
			w.mu.Unlock()
			return
		}
		w.idle = append(w.idle, ch)
		w.mu.Unlock()
		r = <-ch // nil when closed
	}
}

// close ends the idle workers; busy ones end after their run.
func (w *workers) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, ch := range w.idle {
		close(ch)
	}
	w.idle = nil
}
