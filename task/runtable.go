// This file owns the table of runs in flight on an engine, by execution id.

package task

import (
	"sync"

	"github.com/google/uuid"
)

// runTable is the runs in flight on an engine, by execution ID, under a
// lock of its own: a run's end removes itself without taking the engine's
// lock, which fires hold while they admit a chunk of runs.
type runTable struct {
	mu sync.Mutex
	m  map[uuid.UUID]*run
}

func (t *runTable) add(r *run) {
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[uuid.UUID]*run)
	}
	t.m[r.exec.ID] = r
	t.mu.Unlock()
}

// addAll adds the runs that are not nil.
func (t *runTable) addAll(rs []*run) {
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[uuid.UUID]*run)
	}
	for _, r := range rs {
		if r != nil {
			t.m[r.exec.ID] = r
		}
	}
	t.mu.Unlock()
}

func (t *runTable) remove(id uuid.UUID) {
	t.mu.Lock()
	delete(t.m, id)
	t.mu.Unlock()
}

// get returns the run with the ID, or nil.
func (t *runTable) get(id uuid.UUID) *run {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

// all returns the runs in flight.
func (t *runTable) all() []*run {
	t.mu.Lock()
	defer t.mu.Unlock()
	rs := make([]*run, 0, len(t.m))
	for _, r := range t.m {
		rs = append(rs, r)
	}
	return rs
}

// empty reports whether no run is in flight.
func (t *runTable) empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m) == 0
}
