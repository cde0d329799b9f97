package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

// Store is the in-memory store. Create one with New; the zero value is not
// usable.
//
// Locking, in this order: mu, idx, a shard's lock.
//
//   - mu's write lock excludes everything else: listings, deletions,
//     LastSlots and Close take it, and so do a create or an update that
//     adds to the tables (a name or a location they do not have yet). mu
//     also guards the states and closed.
//   - Creates, updates and gets hold mu's read lock: the tables only grow
//     under the write lock, so they may read them.
//   - idx guards the task index and the allocation of records (next, free,
//     growing chunks); creates hold it.
//   - A shard's lock guards its maps and the contents of its records:
//     creates, updates and gets of one record hold it. A create that
//     evicts an older record of its task (the cap on records per task)
//     takes the older record's shard lock after releasing its own: no
//     goroutine holds two shard locks.
//
// So a run's end (an update) waits neither for other runs' ends nor for a
// fire creating a chunk of records, except on the same shard's lock for
// one record's time.
type Store struct {
	// maxPerTask caps the records of each task (see WithMaxPerTask); 0:
	// no cap. Set by New only.
	maxPerTask int

	mu     sync.RWMutex
	closed bool
	states map[string]store.TaskState
	tables tables

	idx sync.Mutex
	// tasks indexes the records by task, for listings, deletions and slot
	// claims.
	tasks map[string]*taskRecs
	// chunks hold the records, numbered from 0 across the chunks: a
	// snapshot replaced, never changed, when a chunk is added, so that
	// readers holding mu's read lock do not need idx. free lists the
	// numbers of deleted and evicted records, for reuse.
	chunks atomic.Pointer[[]*chunk]
	next   uint32 // records ever taken from chunks
	free   []uint32
	// fence is the Fence of the newest record created.
	fence int64
	// shards find the records by ID.
	shards [nShards]shard

	// busy holds each task's pending and running exclusive records
	// (Execution.Exclusive); a leaf lock, taken under a shard's.
	busyMu sync.Mutex
	busy   map[string]*busySlots
}

// nShards is how many ways the records are split by ID.
const nShards = 32

// shard indexes IDs (see idIndex) and holds the extras of its records.
// No map holds pointers to records. open holds the records that are not
// final (pending or running) as well: the ones runs' ends update.
type shard struct {
	mu     sync.Mutex
	ids    idIndex
	open   map[uuid.UUID]uint32
	extras map[uint32]*extras
	_      [32]byte // keep shards' locks on separate cache lines
}

// shardOf returns the shard of an ID: its last byte, random in UUIDv4 and
// UUIDv7 (any ID works; a skewed one only shares a lock more).
func (s *Store) shardOf(id uuid.UUID) *shard { return &s.shards[id[15]%nShards] }

// rec returns record n; s.mu must be held.
func (s *Store) rec(n uint32) *rec { return &(*s.chunks.Load())[n>>chunkBits][n&(chunkSize-1)] }

var _ store.Store = (*Store)(nil)

// taskRecs is one task's records and slot claims. Both are slices, not
// maps: the common insert is an append (records in creation order, slots
// ascending), and a task's slot is found by binary search. The cap on
// records per task evicts from their front (see seq).
type taskRecs struct {
	name   uint32      // the task's number in the tables
	recs   seq[uint32] // record numbers, in creation order
	claims seq[claim]  // ordered by slot
}

// claim is a claimed slot: a nominal time, as an instant, and the number
// of the record holding it.
type claim struct {
	slot instant
	by   uint32
}

// find returns the index of slot in t.claims, or where it would go, and
// whether it is there.
func (t *taskRecs) find(slot instant) (int, bool) {
	claims := t.claims.all()
	if n := len(claims); n == 0 || compareInstants(claims[n-1].slot, slot) < 0 {
		return n, false // the common case: a newer slot than any
	}
	return slices.BinarySearchFunc(claims, slot, func(c claim, s instant) int { return compareInstants(c.slot, s) })
}

// MaxPerTaskDefault is how many records of each task a store keeps
// without WithMaxPerTask.
const MaxPerTaskDefault = 1000

// Option configures a Store.
type Option func(*Store)

// WithMaxPerTask sets how many records of each task the store keeps: a
// create that takes a task past n evicts the task's oldest final records
// (see the package doc, Retention). Pending and running records are never
// evicted; they count toward n. n < 1 keeps every record until
// DeleteExecutions deletes it. Default: MaxPerTaskDefault (1,000).
func WithMaxPerTask(n int) Option {
	return func(s *Store) { s.maxPerTask = max(n, 0) }
}

// New returns an empty store configured by opts.
func New(opts ...Option) *Store {
	s := &Store{
		maxPerTask: MaxPerTaskDefault,
		tasks:      make(map[string]*taskRecs),
		states:     make(map[string]store.TaskState),
		busy:       make(map[string]*busySlots),
		tables:     newTables(),
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.chunks.Store(new([]*chunk))
	for i := range s.shards {
		s.shards[i].ids = newIDIndex()
		s.shards[i].open = make(map[uuid.UUID]uint32)
		s.shards[i].extras = make(map[uint32]*extras)
	}
	return s
}

// CreateExecution stores a copy of e. See store.Store.
func (s *Store) CreateExecution(ctx context.Context, e *store.Execution) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	es, errs := [1]*store.Execution{e}, [1]error{}
	s.create(es[:], errs[:])
	return errs[0]
}

var _ store.BatchCreator = (*Store)(nil)

// CreateExecutions stores copies of es, taking the locks once. See
// store.BatchCreator.
func (s *Store) CreateExecutions(ctx context.Context, es []*store.Execution) []error {
	errs := make([]error, len(es))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	for i, e := range es {
		errs[i] = e.Validate()
	}
	s.create(es, errs)
	return errs
}

// errNeedsWrite is returned by insert and updateLocked without the write
// lock for a record with a name or a location the tables do not have.
var errNeedsWrite = errors.New("memory: the tables need an addition")

// create stores the records of es whose errs entry is nil, setting it.
func (s *Store) create(es []*store.Execution, errs []error) {
	s.mu.RLock()
	i := s.createFrom(es, errs, 0, false)
	s.mu.RUnlock()
	if i < len(es) {
		// Names or locations the tables do not have: the rest is stored
		// under the write lock, which lets them grow (rare: tasks, nodes
		// and zones repeat).
		s.mu.Lock()
		s.createFrom(es, errs, i, true)
		s.mu.Unlock()
	}
}

// createFrom stores es[i:] (those whose errs entry is nil) holding s.mu, for
// writing if add is set. Without add it stops at a record that needs an
// addition to the tables and returns its index; otherwise len(es).
func (s *Store) createFrom(es []*store.Execution, errs []error, i int, add bool) int {
	if s.closed {
		for ; i < len(es); i++ {
			errs[i] = store.ErrClosed
		}
		return i
	}
	s.idx.Lock()
	defer s.idx.Unlock()
	var node memo // the records of a batch share their node
	for ; i < len(es); i++ {
		if errs[i] != nil {
			continue
		}
		t, err := s.insert(es[i], &node, add)
		if err == errNeedsWrite {
			return i
		}
		errs[i] = err
		if err == nil && s.maxPerTask > 0 {
			s.trim(t)
		}
	}
	return i
}

// insert adds a copy of a valid record, claiming its slot, and returns its
// task's records; s.mu must be held, for writing if add is set, and s.idx.
func (s *Store) insert(e *store.Execution, node *memo, add bool) (*taskRecs, error) {
	sh := s.shardOf(e.ID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.ids.get(e.ID); ok {
		return nil, fmt.Errorf("%w: execution %s exists", store.ErrConflict, e.ID)
	}
	t := s.tasks[e.Task]
	var task *uint32
	if t != nil {
		task = &t.name
	}
	ns, ok := s.tables.resolve(e, task, true, node, add)
	if !ok {
		return nil, errNeedsWrite
	}
	if t == nil {
		t = &taskRecs{name: ns.task}
		s.tasks[e.Task] = t
	}
	var (
		i    int
		slot instant
	)
	claims := e.Trigger.Claims()
	if claims {
		var found bool
		slot = instantOf(e.ScheduledAt)
		if i, found = t.find(slot); found {
			// A record's ID does not change while it is stored.
			return nil, fmt.Errorf("%w: task %q: slot %s is claimed by execution %s",
				store.ErrConflict, e.Task, e.ScheduledAt, s.rec(t.claims.all()[i].by).id)
		}
	}
	if e.Exclusive && !e.State.Final() {
		if err := s.enter(e.Task, e.ID, e.Trigger, "", e.State); err != nil {
			return nil, err
		}
	}
	n := s.alloc()
	r := s.rec(n)
	if x := s.tables.encode(r, e, ns, false, nil, add); x != nil {
		sh.extras[n] = x
	}
	s.fence++
	r.fence = s.fence
	if claims {
		t.claims.insert(i, claim{slot: slot, by: n})
	}
	sh.ids.put(e.ID, n)
	if !e.State.Final() {
		sh.open[e.ID] = n
	}
	t.recs.push(n)
	return t, nil
}

// trim evicts t's oldest final records while it holds more than
// s.maxPerTask, never its newest (the one just created); s.mu must be
// held and s.idx, and no shard's lock. The usual call evicts the first
// record; pending and running records before it are stepped over, each
// costing a look.
func (s *Store) trim(t *taskRecs) {
	for t.recs.len() > s.maxPerTask {
		recs := t.recs.all()
		i := 0
		for i < len(recs)-1 && !s.evict(t, i) {
			i++
		}
		if i == len(recs)-1 {
			return // every older record is pending or running
		}
	}
}

// evict deletes record i of t and frees its slot claim if it is final,
// and reports whether it was; s.mu must be held and s.idx.
func (s *Store) evict(t *taskRecs, i int) bool {
	n := t.recs.all()[i]
	r := s.rec(n)
	// A record's ID is written only by creates and deletes, which s.idx
	// or the write lock excludes: it is read before its shard is known.
	sh := s.shardOf(r.id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !states[r.state].Final() {
		return false
	}
	if triggers[r.trigger].Claims() {
		if j, ok := t.find(r.at(tSched)); ok && t.claims.all()[j].by == n {
			t.claims.drop(j)
		}
	}
	sh.ids.del(r.id)
	delete(sh.open, r.id) // not there: only final records are evicted
	delete(sh.extras, n)
	*r = rec{}
	t.recs.drop(i)
	s.free = append(s.free, n)
	return true
}

// alloc returns the number of a free record, reusing a deleted one first;
// s.idx must be held.
func (s *Store) alloc() uint32 {
	if k := len(s.free); k > 0 {
		n := s.free[k-1]
		s.free = s.free[:k-1]
		return n
	}
	n := s.next
	if cs := *s.chunks.Load(); int(n>>chunkBits) == len(cs) {
		grown := append(cs[:len(cs):len(cs)], new(chunk))
		s.chunks.Store(&grown)
	}
	s.next++
	return n
}

// UpdateExecution overwrites the stored record with e, keeping the stored
// Task, Trigger and ScheduledAt. See store.Store.
func (s *Store) UpdateExecution(ctx context.Context, e *store.Execution) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	err := s.updateLocked(e, false)
	s.mu.RUnlock()
	if err != errNeedsWrite {
		return err
	}
	// A name or a location the tables do not have: the update adds it,
	// under the write lock (rare: nodes and root tasks repeat).
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	return s.updateLocked(e, true)
}

// updateLocked overwrites the stored record in place under its shard's
// lock; s.mu must be held, for writing if add is set.
func (s *Store) updateLocked(e *store.Execution, add bool) error {
	sh := s.shardOf(e.ID)
	sh.mu.Lock()
	// A run's end finds its record among the open ones: a small map, where
	// the map of every ID is large and mostly out of the CPU's caches.
	n, open := sh.open[e.ID]
	if !open {
		var ok bool
		if n, ok = sh.ids.get(e.ID); !ok {
			sh.mu.Unlock()
			return notFound(e.ID)
		}
	}
	err := s.overwrite(sh, n, e, add)
	if err == nil && open && e.State.Final() {
		delete(sh.open, e.ID)
	}
	sh.mu.Unlock()
	return err
}

// overwrite is updateLocked's write of record n; the shard's lock is held.
func (s *Store) overwrite(sh *shard, n uint32, e *store.Execution, add bool) error {
	// The stored task, trigger and scheduled time are valid and stay.
	if err := e.ValidateUpdate(); err != nil {
		return err
	}
	r := s.rec(n)
	if states[r.state].Final() {
		return finalRecord(e.ID, states[r.state])
	}
	node := memo{s.tables.names[r.node], r.node}
	ns, ok := s.tables.resolve(e, &r.task, false, &node, add)
	if !ok {
		return errNeedsWrite
	}
	if r.flags&flagExclusive != 0 && states[r.state] != e.State {
		if err := s.enter(s.tables.names[r.task], e.ID, triggers[r.trigger], states[r.state], e.State); err != nil {
			return err
		}
	}
	var old *extras
	if r.extra {
		old = sh.extras[n]
	}
	switch x := s.tables.encode(r, e, ns, true, old, add); {
	case x != nil && x != old:
		sh.extras[n] = x
	case x == nil && old != nil:
		delete(sh.extras, n)
	}
	return nil
}

// notFound is the error for an ID no record has.
func notFound(id uuid.UUID) error {
	return fmt.Errorf("%w: execution %s", store.ErrNotFound, id)
}

// finalRecord is the error for an update of a final record.
func finalRecord(id uuid.UUID, st store.State) error {
	return fmt.Errorf("%w: execution %s is %s: a final record does not change", store.ErrConflict, id, st)
}

// busySlots are a task's pending and running exclusive records; uuid.Nil
// when none.
type busySlots struct{ running, pending uuid.UUID }

// enter moves the exclusive record id of task from state from ("" when it
// is new) to state to, and returns store.ErrBusy, changing nothing, if
// another exclusive record of the task holds to's place. A pending
// recovery record holds no place.
func (s *Store) enter(task string, id uuid.UUID, trig store.Trigger, from, to store.State) error {
	s.busyMu.Lock()
	defer s.busyMu.Unlock()
	b := s.busy[task]
	if b == nil {
		b = new(busySlots)
		s.busy[task] = b
	}
	place := func(st store.State) *uuid.UUID {
		switch {
		case st == store.StateRunning:
			return &b.running
		case st == store.StatePending && trig != store.TriggerRecovery:
			return &b.pending
		}
		return nil
	}
	if p := place(to); p != nil && *p != uuid.Nil && *p != id {
		return fmt.Errorf("%w: task %q has an exclusive execution %s (%s)", store.ErrBusy, task, *p, to)
	}
	if p := place(from); p != nil && *p == id {
		*p = uuid.Nil
	}
	if p := place(to); p != nil {
		*p = id
	}
	if b.running == uuid.Nil && b.pending == uuid.Nil {
		delete(s.busy, task)
	}
	return nil
}

// extrasOf returns the extras of record n, or nil; s.mu must be held, and
// the shard's lock too unless for writing.
func (s *Store) extrasOf(n uint32, r *rec) *extras {
	if !r.extra {
		return nil
	}
	return s.shardOf(r.id).extras[n]
}

// GetExecution returns a copy of the record with the ID. See store.Store.
func (s *Store) GetExecution(ctx context.Context, id uuid.UUID) (*store.Execution, error) {
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
	defer sh.mu.Unlock()
	n, ok := sh.ids.get(id)
	if !ok {
		return nil, notFound(id)
	}
	r := s.rec(n)
	return s.tables.decode(r, s.extrasOf(n, r)), nil
}

// ListExecutions returns copies of one page of records. See store.Store.
func (s *Store) ListExecutions(ctx context.Context, f store.ExecutionFilter) (*store.Page, error) {
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
	from, to, after := instantOf(f.From), instantOf(f.To), instantOf(cur.StartedAt)
	match := func(r *rec) bool {
		started := r.at(tStarted)
		return (f.GraphRunID == uuid.Nil || r.graph == f.GraphRunID) &&
			(f.From.IsZero() || compareInstants(started, from) >= 0) &&
			(f.To.IsZero() || compareInstants(started, to) < 0) &&
			(len(f.States) == 0 || slices.Contains(f.States, states[r.state])) &&
			(len(f.Triggers) == 0 || slices.Contains(f.Triggers, triggers[r.trigger])) &&
			(!hasCursor || before(r, after, cur.ID))
	}

	// The write lock: no update is overwriting a record while they are
	// read.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	// One more than the page tells whether more rows follow.
	top := topK{s: s, k: limit + 1, first: newer}
	s.scan(f.Task, func(n uint32, r *rec) {
		if match(r) {
			top.push(n)
		}
	})
	rows := top.sorted()
	page := &store.Page{}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	page.Executions = make([]*store.Execution, len(rows))
	for i, n := range rows {
		r := s.rec(n)
		page.Executions[i] = s.tables.decode(r, s.extrasOf(n, r))
	}
	if len(top.h) > limit {
		page.NextCursor = backend.EncodeCursor(page.Executions[limit-1])
	}
	return page, nil
}

// before reports whether r comes after a cursor at (at, id) in the
// newest-first order (backend.Cursor.After).
func before(r *rec, at instant, id uuid.UUID) bool {
	if c := compareInstants(r.at(tStarted), at); c != 0 {
		return c < 0
	}
	return backend.CompareIDs(r.id, id) < 0
}

// DeleteExecutions deletes final records, oldest first, and frees their slot
// claims. See store.Store.
func (s *Store) DeleteExecutions(ctx context.Context, p store.DeleteParams) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := p.Validate(); err != nil {
		return 0, err
	}
	cutoff := instantOf(p.Before)
	match := func(r *rec) bool {
		return states[r.state].Final() && compareInstants(r.at(tStarted), cutoff) < 0
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	var victims []uint32
	if p.Limit == 0 {
		s.scan(p.Task, func(n uint32, r *rec) {
			if match(r) {
				victims = append(victims, n)
			}
		})
	} else {
		top := topK{s: s, k: p.Limit, first: older}
		s.scan(p.Task, func(n uint32, r *rec) {
			if match(r) {
				top.push(n)
			}
		})
		victims = top.h
	}
	if len(victims) == 0 {
		return 0, nil
	}
	// Each task touched is compacted once.
	gone := make(map[uint32]bool, len(victims))
	touched := make(map[string]bool)
	for _, n := range victims {
		r := s.rec(n)
		if triggers[r.trigger].Claims() {
			s.keepSlot(s.tables.names[r.task], s.tables.time(r, tSched, s.extrasOf(n, r)))
		}
		sh := s.shardOf(r.id)
		sh.ids.del(r.id)
		delete(sh.open, r.id) // not there: only final records are deleted
		delete(sh.extras, n)
		gone[n] = true
		touched[s.tables.names[r.task]] = true
		*r = rec{}
	}
	for task := range touched {
		t := s.tasks[task]
		t.recs.deleteFunc(func(n uint32) bool { return gone[n] })
		t.claims.deleteFunc(func(c claim) bool { return gone[c.by] })
		if t.recs.len() == 0 {
			delete(s.tasks, task)
		}
	}
	s.free = append(s.free, victims...)
	return len(victims), nil
}

// scan calls fn with the records of task, or all of them when task is
// empty. s.mu must be held for writing.
func (s *Store) scan(task string, fn func(uint32, *rec)) {
	if task == "" {
		for _, t := range s.tasks {
			for _, n := range t.recs.all() {
				fn(n, s.rec(n))
			}
		}
		return
	}
	if t := s.tasks[task]; t != nil {
		for _, n := range t.recs.all() {
			fn(n, s.rec(n))
		}
	}
}

// older reports whether a comes before b in the oldest-first order.
func older(a, b *rec) bool { return newer(b, a) }

var _ store.SlotLister = (*Store)(nil)

// LastSlots returns every task's latest claimed slot: the last of its
// claims, which are ordered by slot. See store.SlotLister.
func (s *Store) LastSlots(ctx context.Context) (map[string]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The write lock: an update may be changing a record's extras.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	out := make(map[string]time.Time)
	for task, t := range s.tasks {
		if claims := t.claims.all(); len(claims) > 0 {
			n := claims[len(claims)-1].by
			r := s.rec(n)
			out[task] = s.tables.time(r, tSched, s.extrasOf(n, r))
		}
	}
	return out, nil
}

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

var _ store.StateLister = (*Store)(nil)

// ListTaskStates returns copies of every task state, taken under the read
// lock. See store.StateLister.
func (s *Store) ListTaskStates(ctx context.Context) ([]*store.TaskState, error) {
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
func (s *Store) PutTaskState(ctx context.Context, ts *store.TaskState) error {
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

// keepSlot makes slot the task's LastScheduledAt if it is later, for a
// claiming record DeleteExecutions deletes; s.mu must be held for writing.
func (s *Store) keepSlot(task string, slot time.Time) {
	st, ok := s.states[task]
	if !ok {
		st.Task = task
	}
	if slot.After(st.LastScheduledAt) {
		st.LastScheduledAt = slot.Round(0)
		s.states[task] = st
	}
}

var _ store.StateChanger = (*Store)(nil)

// ChangeTaskState applies c under the write lock. See store.StateChanger.
func (s *Store) ChangeTaskState(ctx context.Context, c store.StateChange) (*store.TaskState, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if err := c.Validate(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, store.ErrClosed
	}
	st, ok := s.states[c.Task]
	if !ok {
		st.Task = c.Task
	}
	suspendedNow := c.Apply(&st)
	st.SuspendedAt = st.SuspendedAt.Round(0)
	st.LastScheduledAt = st.LastScheduledAt.Round(0)
	st.UpdatedAt = st.UpdatedAt.Round(0)
	s.states[c.Task] = st
	out := st
	return &out, suspendedNow, nil
}

// Close drops every record. Later calls return store.ErrClosed; Close
// itself may be called again and returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.tasks, s.states, s.free, s.tables = nil, nil, nil, tables{}
	s.chunks.Store(new([]*chunk))
	for i := range s.shards {
		s.shards[i].ids, s.shards[i].open, s.shards[i].extras = idIndex{}, nil, nil
	}
	return nil
}

// topK keeps the k records that come first in the order first, in a binary
// heap whose root is the one that comes last: the one a better candidate
// replaces.
type topK struct {
	s     *Store
	k     int
	first func(a, b *rec) bool
	h     []uint32 // record numbers
}

func (t *topK) push(n uint32) {
	if len(t.h) < t.k {
		t.h = append(t.h, n)
		t.up(len(t.h) - 1)
		return
	}
	if t.first(t.s.rec(n), t.s.rec(t.h[0])) {
		t.h[0] = n
		t.down(0)
	}
}

// sorted returns the kept records in the order first; the heap is spent.
func (t *topK) sorted() []uint32 {
	slices.SortFunc(t.h, func(a, b uint32) int {
		ra, rb := t.s.rec(a), t.s.rec(b)
		switch {
		case t.first(ra, rb):
			return -1
		case t.first(rb, ra):
			return 1
		}
		return 0
	})
	return t.h
}

// last reports whether h[i] belongs nearer the root than h[j]: it comes
// later in the order.
func (t *topK) last(i, j int) bool { return t.first(t.s.rec(t.h[j]), t.s.rec(t.h[i])) }

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
