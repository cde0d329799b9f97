package memory

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// Store is the in-memory store. Create one with New; the zero value is not
// usable.
type Store struct {
	mu     sync.RWMutex
	closed bool
	// execs holds the records, owned by the store: Update overwrites them
	// in place, so readers copy them before releasing the lock.
	execs map[uuid.UUID]*store.Execution
	// byTask indexes execs by task, for listings and deletions of one task.
	byTask map[string]map[uuid.UUID]*store.Execution
	// claims maps a claimed slot to the execution holding it.
	claims map[claimKey]uuid.UUID
	states map[string]store.TaskState
}

var _ store.Store = (*Store)(nil)

// claimKey is a slot: a task and a nominal time, as an instant.
type claimKey struct {
	task string
	slot int64 // ScheduledAt.UnixNano()
}

func claimOf(e *store.Execution) claimKey {
	return claimKey{task: e.Task, slot: e.ScheduledAt.UnixNano()}
}

// New returns an empty store.
func New() *Store {
	return &Store{
		execs:  make(map[uuid.UUID]*store.Execution),
		byTask: make(map[string]map[uuid.UUID]*store.Execution),
		claims: make(map[claimKey]uuid.UUID),
		states: make(map[string]store.TaskState),
	}
}

// clone copies e and drops the monotonic clock readings of its times, so
// that stored records compare by wall clock, as cursors do.
func clone(e *store.Execution) *store.Execution {
	c := e.Clone()
	c.ScheduledAt = c.ScheduledAt.Round(0)
	c.StartedAt = c.StartedAt.Round(0)
	c.EndedAt = c.EndedAt.Round(0)
	return c
}

// CreateExecution stores a copy of e. See store.Store.
func (s *Store) CreateExecution(ctx context.Context, e *store.Execution) error {
	return s.CreateExecutions(ctx, []*store.Execution{e})[0]
}

var _ store.BatchCreator = (*Store)(nil)

// CreateExecutions stores copies of es under one lock. See
// store.BatchCreator.
func (s *Store) CreateExecutions(ctx context.Context, es []*store.Execution) []error {
	errs := make([]error, len(es))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	cs := make([]*store.Execution, len(es))
	for i, e := range es {
		if errs[i] = e.Validate(); errs[i] == nil {
			cs[i] = clone(e)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range cs {
		switch {
		case s.closed:
			errs[i] = store.ErrClosed
		case c != nil:
			errs[i] = s.insertLocked(c)
		}
	}
	return errs
}

// insertLocked adds a record, claiming its slot; s.mu must be held.
func (s *Store) insertLocked(c *store.Execution) error {
	if _, ok := s.execs[c.ID]; ok {
		return fmt.Errorf("%w: execution %s exists", store.ErrConflict, c.ID)
	}
	if c.Trigger.Claims() {
		k := claimOf(c)
		if holder, ok := s.claims[k]; ok {
			return fmt.Errorf("%w: task %q: slot %s is claimed by execution %s",
				store.ErrConflict, c.Task, c.ScheduledAt, holder)
		}
		s.claims[k] = c.ID
	}
	s.execs[c.ID] = c
	tm := s.byTask[c.Task]
	if tm == nil {
		tm = make(map[uuid.UUID]*store.Execution)
		s.byTask[c.Task] = tm
	}
	tm[c.ID] = c
	return nil
}

// UpdateExecution overwrites the stored record with e, keeping the stored
// Task, Trigger and ScheduledAt. See store.Store.
func (s *Store) UpdateExecution(ctx context.Context, e *store.Execution) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	old, ok := s.execs[e.ID]
	if !ok {
		return fmt.Errorf("%w: execution %s", store.ErrNotFound, e.ID)
	}
	c := *e
	c.Task, c.Trigger, c.ScheduledAt = old.Task, old.Trigger, old.ScheduledAt
	if err := c.Validate(); err != nil {
		return err
	}
	c.StartedAt = c.StartedAt.Round(0)
	c.EndedAt = c.EndedAt.Round(0)
	// Copy Args into the stored record's memory, which the store owns.
	if e.Args != nil {
		c.Args = append(old.Args[:0], e.Args...)
	}
	*old = c
	return nil
}

// GetExecution returns a copy of the record with the ID. See store.Store.
func (s *Store) GetExecution(ctx context.Context, id uuid.UUID) (*store.Execution, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, store.ErrClosed
	}
	e, ok := s.execs[id]
	if !ok {
		s.mu.RUnlock()
		return nil, fmt.Errorf("%w: execution %s", store.ErrNotFound, id)
	}
	c := e.Clone()
	s.mu.RUnlock()
	return c, nil
}

// ListExecutions returns copies of one page of records. See store.Store.
func (s *Store) ListExecutions(ctx context.Context, f store.ExecutionFilter) (*store.Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		cur       store.Cursor
		hasCursor = f.Cursor != ""
	)
	if hasCursor {
		var err error
		if cur, err = store.DecodeCursor(f.Cursor); err != nil {
			return nil, err
		}
	}
	limit := store.PageLimit(f.Limit)
	match := func(e *store.Execution) bool {
		return (f.Task == "" || e.Task == f.Task) &&
			(f.GraphRunID == uuid.Nil || e.GraphRunID == f.GraphRunID) &&
			(f.From.IsZero() || !e.StartedAt.Before(f.From)) &&
			(f.To.IsZero() || e.StartedAt.Before(f.To)) &&
			(len(f.States) == 0 || slices.Contains(f.States, e.State)) &&
			(len(f.Triggers) == 0 || slices.Contains(f.Triggers, e.Trigger)) &&
			(!hasCursor || cur.After(e))
	}

	// One more than the page tells whether more rows follow.
	top := topK{k: limit + 1, first: store.Newer}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, store.ErrClosed
	}
	for _, e := range s.scan(f.Task) {
		if match(e) {
			top.push(e)
		}
	}
	rows := top.sorted()
	page := &store.Page{}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	page.Executions = make([]*store.Execution, len(rows))
	for i, e := range rows {
		page.Executions[i] = e.Clone()
	}
	s.mu.RUnlock()

	if len(top.h) > limit {
		page.NextCursor = store.EncodeCursor(page.Executions[limit-1])
	}
	return page, nil
}

// DeleteExecutions deletes final records, oldest first, and frees their slot
// claims. See store.Store.
func (s *Store) DeleteExecutions(ctx context.Context, p store.DeleteParams) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	switch {
	case p.Before.IsZero():
		return 0, fmt.Errorf("%w: delete executions: Before is zero", store.ErrInvalid)
	case p.Limit < 0:
		return 0, fmt.Errorf("%w: delete executions: Limit %d is negative", store.ErrInvalid, p.Limit)
	}
	match := func(e *store.Execution) bool {
		return e.State.Final() && e.StartedAt.Before(p.Before) && (p.Task == "" || e.Task == p.Task)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	var victims []*store.Execution
	if p.Limit == 0 {
		for _, e := range s.scan(p.Task) {
			if match(e) {
				victims = append(victims, e)
			}
		}
	} else {
		top := topK{k: p.Limit, first: older}
		for _, e := range s.scan(p.Task) {
			if match(e) {
				top.push(e)
			}
		}
		victims = top.h
	}
	for _, e := range victims {
		delete(s.execs, e.ID)
		tm := s.byTask[e.Task]
		delete(tm, e.ID)
		if len(tm) == 0 {
			delete(s.byTask, e.Task)
		}
		if e.Trigger.Claims() {
			if k := claimOf(e); s.claims[k] == e.ID {
				delete(s.claims, k)
			}
		}
	}
	return len(victims), nil
}

// scan returns the executions of task, or all of them when task is empty.
// s.mu must be held.
func (s *Store) scan(task string) map[uuid.UUID]*store.Execution {
	if task == "" {
		return s.execs
	}
	return s.byTask[task]
}

// older reports whether a comes before b in the oldest-first order.
func older(a, b *store.Execution) bool { return store.Newer(b, a) }

// GetTaskState returns a copy of the state of task. See store.Store.
func (s *Store) GetTaskState(ctx context.Context, task string) (*store.TaskState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	closed := s.closed
	ts, ok := s.states[task]
	s.mu.RUnlock()
	switch {
	case closed:
		return nil, store.ErrClosed
	case !ok:
		return nil, fmt.Errorf("%w: task state %q", store.ErrNotFound, task)
	}
	return &ts, nil
}

// PutTaskState stores a copy of ts. See store.Store.
func (s *Store) PutTaskState(ctx context.Context, ts *store.TaskState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ts.Task == "" {
		return fmt.Errorf("%w: task state: task name is empty", store.ErrInvalid)
	}
	c := *ts
	c.SuspendedAt = c.SuspendedAt.Round(0)
	c.LastScheduledAt = c.LastScheduledAt.Round(0)
	c.UpdatedAt = c.UpdatedAt.Round(0)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.states[c.Task] = c
	return nil
}

// Close drops every record. Later calls return store.ErrClosed; Close
// itself may be called again and returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.execs, s.byTask, s.claims, s.states = nil, nil, nil, nil
	return nil
}

// topK keeps the k executions that come first in the order first, in a
// binary heap whose root is the one that comes last: the one a better
// candidate replaces.
type topK struct {
	k     int
	first func(a, b *store.Execution) bool
	h     []*store.Execution
}

func (t *topK) push(e *store.Execution) {
	if len(t.h) < t.k {
		t.h = append(t.h, e)
		t.up(len(t.h) - 1)
		return
	}
	if t.first(e, t.h[0]) {
		t.h[0] = e
		t.down(0)
	}
}

// sorted returns the kept executions in the order first; the heap is spent.
func (t *topK) sorted() []*store.Execution {
	slices.SortFunc(t.h, func(a, b *store.Execution) int {
		switch {
		case t.first(a, b):
			return -1
		case t.first(b, a):
			return 1
		}
		return 0
	})
	return t.h
}

// last reports whether h[i] belongs nearer the root than h[j]: it comes
// later in the order.
func (t *topK) last(i, j int) bool { return t.first(t.h[j], t.h[i]) }

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.last(i, p) {
			return
		}
		t.h[i], t.h[p] = t.h[p], t.h[i]
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.last(r, l) {
			m = r
		}
		if !t.last(m, i) {
			return
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}
