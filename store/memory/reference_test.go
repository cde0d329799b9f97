package memory

// The store as it was at commit a89e967 (a map of *store.Execution), its
// names prefixed with ref: the reference model for TestDifferential
// (differential_test.go). Not used outside tests. Since then it has learnt
// the cap on records per task (maxPerTask, WithMaxPerTask), written the
// plain way: a scan for the oldest final record and a copy of the slices.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

// refStore is the in-memory store. Create one with New; the zero value is not
// usable.
//
// Locking: mu guards the index, the states and closed. Records are owned by
// the store, and UpdateExecution overwrites them in place holding mu's read
// lock and the lock of the record's refShard, so updates of different records
// do not wait for each other; everything else that reads or writes a record
// holds mu's write lock, or its read lock and the refShard's lock (Get).
type refStore struct {
	maxPerTask int // 0: no cap

	mu     sync.RWMutex
	closed bool
	// tasks indexes the records by task, for listings, deletions and slot
	// claims.
	tasks  map[string]*refTaskRecs
	states map[string]store.TaskState
	fence  int64 // the newest record's Fence
	// shards holds the records by ID.
	shards [refNShards]refShard
}

// refNShards is how many ways the records are split by ID.
const refNShards = 32

type refShard struct {
	mu    sync.Mutex
	execs map[uuid.UUID]*store.Execution
	_     [48]byte // keep shards' locks on separate cache lines
}

// shardOf returns the refShard of an ID: its last byte, random in UUIDv4 and
// UUIDv7 (any ID works; a skewed one only shares a lock more).
func (s *refStore) shardOf(id uuid.UUID) *refShard { return &s.shards[id[15]%refNShards] }

var _ store.Store = (*refStore)(nil)

// refTaskRecs is one task's records and slot claims. Both are slices, not
// maps: the common insert is an append (records in creation order, slots
// ascending), and a task's slot is found by binary search.
type refTaskRecs struct {
	recs   []*store.Execution // in creation order
	claims []refClaim         // ordered by slot
}

// refClaim is a claimed slot: a nominal time, as an instant, and the
// execution holding it.
type refClaim struct {
	slot int64 // ScheduledAt.UnixNano()
	by   *store.Execution
}

func refSlotOf(e *store.Execution) int64 { return e.ScheduledAt.UnixNano() }

// find returns the index of slot in t.claims, or where it would go, and
// whether it is there.
func (t *refTaskRecs) find(slot int64) (int, bool) {
	if n := len(t.claims); n == 0 || t.claims[n-1].slot < slot {
		return n, false // the common case: a newer slot than any
	}
	return slices.BinarySearchFunc(t.claims, slot, func(c refClaim, s int64) int { return cmp.Compare(c.slot, s) })
}

// newRef returns an empty store that keeps at most maxPerTask records of
// each task (0: every record).
func newRef(maxPerTask int) *refStore {
	s := &refStore{
		maxPerTask: maxPerTask,
		tasks:      make(map[string]*refTaskRecs),
		states:     make(map[string]store.TaskState),
	}
	for i := range s.shards {
		s.shards[i].execs = make(map[uuid.UUID]*store.Execution)
	}
	return s
}

// refCopyInto copies e into c and drops the monotonic clock readings of its
// times, so that stored records compare by wall clock, as cursors do.
func refCopyInto(c, e *store.Execution) *store.Execution {
	*c = *e
	c.Args = slices.Clone(e.Args)
	c.ScheduledAt = c.ScheduledAt.Round(0)
	c.StartedAt = c.StartedAt.Round(0)
	c.EndedAt = c.EndedAt.Round(0)
	return c
}

// CreateExecution stores a copy of e. See store.Store.
func (s *refStore) CreateExecution(ctx context.Context, e *store.Execution) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	c := refCopyInto(new(store.Execution), e)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	return s.insertLocked(c)
}

var _ store.BatchCreator = (*refStore)(nil)

// CreateExecutions stores copies of es under one lock. See
// store.BatchCreator.
func (s *refStore) CreateExecutions(ctx context.Context, es []*store.Execution) []error {
	errs := make([]error, len(es))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	// The copies share one allocation: a batch is one fire of tasks on one
	// schedule, whose records are usually deleted together too.
	mem := make([]store.Execution, len(es))
	cs := make([]*store.Execution, len(es))
	for i, e := range es {
		if errs[i] = e.Validate(); errs[i] == nil {
			cs[i] = refCopyInto(&mem[i], e)
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
func (s *refStore) insertLocked(c *store.Execution) error {
	sh := s.shardOf(c.ID)
	if _, ok := sh.execs[c.ID]; ok {
		return fmt.Errorf("%w: execution %s exists", store.ErrConflict, c.ID)
	}
	t := s.tasks[c.Task]
	if t == nil {
		t = &refTaskRecs{}
		s.tasks[c.Task] = t
	}
	i, claim := 0, c.Trigger.Claims()
	if claim {
		var found bool
		if i, found = t.find(refSlotOf(c)); found {
			return fmt.Errorf("%w: task %q: slot %s is claimed by execution %s",
				store.ErrConflict, c.Task, c.ScheduledAt, t.claims[i].by.ID)
		}
	}
	if err := t.busy(c, c.State); err != nil {
		return err
	}
	if claim {
		t.claims = slices.Insert(t.claims, i, refClaim{slot: refSlotOf(c), by: c})
	}
	s.fence++
	c.Fence, c.CancelRequested = s.fence, false
	sh.execs[c.ID] = c
	t.recs = append(t.recs, c)
	// The cap: the oldest final records go, never the one just created.
	for s.maxPerTask > 0 && len(t.recs) > s.maxPerTask {
		i := slices.IndexFunc(t.recs[:len(t.recs)-1], func(e *store.Execution) bool { return e.State.Final() })
		if i < 0 {
			break
		}
		old := t.recs[i]
		t.recs = slices.Delete(t.recs, i, i+1)
		t.claims = slices.DeleteFunc(t.claims, func(c refClaim) bool { return c.by == old })
		delete(s.shardOf(old.ID).execs, old.ID)
	}
	return nil
}

// busy returns store.ErrBusy if c, exclusive, would be in state st a
// second running (or non-recovery pending) exclusive execution of t's
// task.
func (t *refTaskRecs) busy(c *store.Execution, st store.State) error {
	counts := func(e *store.Execution, st store.State) bool {
		return st == store.StateRunning || (st == store.StatePending && e.Trigger != store.TriggerRecovery)
	}
	if !c.Exclusive || !counts(c, st) {
		return nil
	}
	for _, o := range t.recs {
		if o.ID != c.ID && o.Exclusive && o.State == st && counts(o, o.State) {
			return fmt.Errorf("%w: task %q has an exclusive execution %s (%s)", store.ErrBusy, c.Task, o.ID, st)
		}
	}
	return nil
}

// UpdateExecution overwrites the stored record with e, keeping the stored
// Task, Trigger, ScheduledAt, Exclusive, CancelRequested and Fence. See
// store.Store.
func (s *refStore) UpdateExecution(ctx context.Context, e *store.Execution) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	sh := s.shardOf(e.ID)
	old, ok := sh.execs[e.ID]
	if !ok {
		return refNotFound(e.ID)
	}
	// The stored task, trigger and scheduled time are valid and stay.
	if err := e.ValidateUpdate(); err != nil {
		return err
	}
	if old.State.Final() {
		return fmt.Errorf("%w: execution %s is %s", store.ErrConflict, e.ID, old.State)
	}
	if err := s.tasks[old.Task].busy(old, e.State); err != nil {
		return err
	}
	task, trigger, scheduled, args := old.Task, old.Trigger, old.ScheduledAt, old.Args
	excl, cancel, fence := old.Exclusive, old.CancelRequested, old.Fence
	*old = *e
	old.Task, old.Trigger, old.ScheduledAt = task, trigger, scheduled
	old.Exclusive, old.CancelRequested, old.Fence = excl, cancel, fence
	old.StartedAt = old.StartedAt.Round(0)
	old.EndedAt = old.EndedAt.Round(0)
	// Copy Args into the stored record's memory, which the store owns.
	if e.Args != nil {
		old.Args = append(args[:0], e.Args...)
	}
	return nil
}

// refNotFound is the error for an ID no record has.
func refNotFound(id uuid.UUID) error {
	return fmt.Errorf("%w: execution %s", store.ErrNotFound, id)
}

// GetExecution returns a copy of the record with the ID. See store.Store.
func (s *refStore) GetExecution(ctx context.Context, id uuid.UUID) (*store.Execution, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	sh := s.shardOf(id)
	sh.mu.Lock()
	e, ok := sh.execs[id]
	var c *store.Execution
	if ok {
		c = e.Clone()
	}
	sh.mu.Unlock()
	if !ok {
		return nil, refNotFound(id)
	}
	return c, nil
}

// ListExecutions returns copies of one page of records. See store.Store.
func (s *refStore) ListExecutions(ctx context.Context, f store.ExecutionFilter) (*store.Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var (
		cur       backend.Cursor
		hasCursor = f.Cursor != ""
	)
	if hasCursor {
		var err error
		if cur, err = backend.DecodeCursor(f.Cursor); err != nil {
			return nil, err
		}
	}
	limit := backend.PageLimit(f.Limit)
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
	top := refTopK{k: limit + 1, first: store.Newer}
	// The write lock: no update is overwriting a record while they are
	// read.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, store.ErrClosed
	}
	s.scan(f.Task, func(e *store.Execution) {
		if match(e) {
			top.push(e)
		}
	})
	rows := top.sorted()
	page := &store.Page{}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	page.Executions = make([]*store.Execution, len(rows))
	for i, e := range rows {
		page.Executions[i] = e.Clone()
	}
	s.mu.Unlock()

	if len(top.h) > limit {
		page.NextCursor = backend.EncodeCursor(page.Executions[limit-1])
	}
	return page, nil
}

// DeleteExecutions deletes final records, oldest first, and frees their slot
// claims. See store.Store.
func (s *refStore) DeleteExecutions(ctx context.Context, p store.DeleteParams) (int, error) {
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
		s.scan(p.Task, func(e *store.Execution) {
			if match(e) {
				victims = append(victims, e)
			}
		})
	} else {
		top := refTopK{k: p.Limit, first: refOlder}
		s.scan(p.Task, func(e *store.Execution) {
			if match(e) {
				top.push(e)
			}
		})
		victims = top.h
	}
	if len(victims) == 0 {
		return 0, nil
	}
	// Each task touched is compacted once.
	gone := make(map[*store.Execution]bool, len(victims))
	touched := make(map[string]bool)
	for _, e := range victims {
		if st := s.states[e.Task]; e.Trigger.Claims() && e.ScheduledAt.After(st.LastScheduledAt) {
			st.Task, st.LastScheduledAt = e.Task, e.ScheduledAt
			s.states[e.Task] = st
		}
		delete(s.shardOf(e.ID).execs, e.ID)
		gone[e] = true
		touched[e.Task] = true
	}
	for task := range touched {
		t := s.tasks[task]
		t.recs = slices.DeleteFunc(t.recs, func(x *store.Execution) bool { return gone[x] })
		t.claims = slices.DeleteFunc(t.claims, func(c refClaim) bool { return gone[c.by] })
		if len(t.recs) == 0 {
			delete(s.tasks, task)
		}
	}
	return len(victims), nil
}

// scan calls fn with the executions of task, or all of them when task is
// empty. s.mu must be held.
func (s *refStore) scan(task string, fn func(*store.Execution)) {
	if task == "" {
		for _, t := range s.tasks {
			for _, e := range t.recs {
				fn(e)
			}
		}
		return
	}
	if t := s.tasks[task]; t != nil {
		for _, e := range t.recs {
			fn(e)
		}
	}
}

// refOlder reports whether a comes before b in the oldest-first order.
func refOlder(a, b *store.Execution) bool { return store.Newer(b, a) }

var _ store.SlotLister = (*refStore)(nil)

// LastSlots returns every task's latest claimed slot: the last of its
// claims, which are ordered by slot. See store.SlotLister.
func (s *refStore) LastSlots(ctx context.Context) (map[string]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The write lock: an update may be overwriting a record in place.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	out := make(map[string]time.Time)
	for task, t := range s.tasks {
		if n := len(t.claims); n > 0 {
			out[task] = t.claims[n-1].by.ScheduledAt
		}
	}
	return out, nil
}

// GetTaskState returns a copy of the state of task. See store.Store.
func (s *refStore) GetTaskState(ctx context.Context, task string) (*store.TaskState, error) {
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

var _ store.StateLister = (*refStore)(nil)

// ListTaskStates returns copies of every task state, taken under the read
// lock. See store.StateLister.
func (s *refStore) ListTaskStates(ctx context.Context) ([]*store.TaskState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, store.ErrClosed
	}
	// The copies share one allocation.
	vals := make([]store.TaskState, 0, len(s.states))
	for _, ts := range s.states {
		vals = append(vals, ts)
	}
	s.mu.RUnlock()
	out := make([]*store.TaskState, len(vals))
	for i := range vals {
		out[i] = &vals[i]
	}
	return out, nil
}

// PutTaskState stores a copy of ts. See store.Store.
func (s *refStore) PutTaskState(ctx context.Context, ts *store.TaskState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ts.Validate(); err != nil {
		return err
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
func (s *refStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.tasks, s.states = nil, nil
	for i := range s.shards {
		s.shards[i].execs = nil
	}
	return nil
}

// refTopK keeps the k executions that come first in the order first, in a
// binary heap whose root is the one that comes last: the one a better
// candidate replaces.
type refTopK struct {
	k     int
	first func(a, b *store.Execution) bool
	h     []*store.Execution
}

func (t *refTopK) push(e *store.Execution) {
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
func (t *refTopK) sorted() []*store.Execution {
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
func (t *refTopK) last(i, j int) bool { return t.first(t.h[j], t.h[i]) }

func (t *refTopK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.last(i, p) {
			return
		}
		t.h[i], t.h[p] = t.h[p], t.h[i]
		i = p
	}
}

func (t *refTopK) down(i int) {
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
