package memory

import (
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/backend"
)

// rec is one stored execution in a form without pointers. Records live in
// chunks that the garbage collector allocates as pointer-free memory and
// never scans: the records a store holds add nothing to a GC cycle's
// marking, where a map of *store.Execution (each with eight
// strings, three times with their location pointers and a slice) made
// every cycle visit every record.
//
// The strings that every record has and that repeat (task, root task,
// node) are numbers in the store's name table; the trigger, the state and
// the times' locations are small numbers in fixed or interned tables. The
// strings that are usually empty (exit message, error, external ID, skip
// reason, args) live in the shard's extras map, only for the records that
// have one.
type rec struct {
	id, parent, graph uuid.UUID
	sec               [3]int64 // Unix seconds of the times, by timeIdx
	exit              int64    // ExitCode
	nsec              [3]int32
	task, root, node  uint32 // in Store.names
	trigger, state    uint8  // in triggers, states
	loc               [3]uint8
	extra             bool  // the shard's extras holds this record's text
	flags             uint8 // flagExclusive, flagCancel
	fence             int64 // Fence
}

// The bits of rec.flags.
const (
	flagExclusive uint8 = 1 << iota // Exclusive
	flagCancel                      // CancelRequested
)

// The times of a record, as indexes of rec.sec, rec.nsec and rec.loc.
const (
	tSched = iota
	tStarted
	tEnded
)

// chunkBits sets the records per chunk.
const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
)

type chunk [chunkSize]rec

// extras is the text of a record that has some, and the locations of its
// times when the store's location table was full.
type extras struct {
	exitMessage, err, externalID, skipReason, report string
	args                                             []string
	locs                                             *[3]*time.Location
}

var triggers = [...]store.Trigger{
	store.TriggerSchedule, store.TriggerManual, store.TriggerDependency,
	store.TriggerCatchUp, store.TriggerOneShot, store.TriggerRecovery,
}

var states = [...]store.State{
	store.StatePending, store.StateRunning, store.StateSucceeded, store.StateFailed,
	store.StateSkipped, store.StateCancelled, store.StateAbandoned,
}

// triggerCode and stateCode return the index of a valid trigger or state;
// the callers have validated it.
func triggerCode(t store.Trigger) uint8 {
	for i, x := range &triggers {
		if x == t {
			return uint8(i)
		}
	}
	panic(unknown("trigger", string(t)))
}

func stateCode(s store.State) uint8 {
	for i, x := range &states {
		if x == s {
			return uint8(i)
		}
	}
	panic(unknown("state", string(s)))
}

// unknown is the panic of triggerCode and stateCode.
func unknown(what, v string) string { return "memory: unknown " + what + " " + v }

// maxLocs bounds the location table: a host that loads a new
// *time.Location for every run does not grow it without end. A time whose
// location does not fit keeps it in the record's extras.
const maxLocs = 255

// noLoc marks a time whose location is in the record's extras.
const noLoc = maxLocs

// tables are the store's interned names and locations. They only grow, and
// only under the store's write lock, so that readers holding the read lock
// may read them.
type tables struct {
	names  []string
	nameID map[string]uint32
	locs   []*time.Location // locs[0] is UTC
}

func newTables() tables {
	return tables{names: []string{""}, nameID: map[string]uint32{"": 0}, locs: []*time.Location{time.UTC}}
}

// name returns the number of s, adding it if add is set; ok is false if s
// is new and add is not set.
func (t *tables) name(s string, add bool) (uint32, bool) {
	if id, ok := t.nameID[s]; ok {
		return id, true
	}
	if !add {
		return 0, false
	}
	id := uint32(len(t.names))
	t.names = append(t.names, s)
	t.nameID[s] = id
	return id, true
}

// loc returns the number of l, adding it if add is set and the table has
// room. ok is false if l is new and cannot be added now; with add set that
// means the table is full, and the caller keeps l in the record's extras.
func (t *tables) loc(l *time.Location, add bool) (uint8, bool) {
	for i, x := range t.locs {
		if x == l {
			return uint8(i), true
		}
	}
	if !add || len(t.locs) >= maxLocs {
		return noLoc, false
	}
	return t.addLoc(l), true
}

// addLoc adds l to the location table.
func (t *tables) addLoc(l *time.Location) uint8 {
	t.locs = append(t.locs, l)
	return uint8(len(t.locs) - 1)
}

// names are the numbers of a record's task, root task and node.
type names struct{ task, root, node uint32 }

// memo remembers a name's number: the runs of one engine share a node, and
// an update usually keeps the record's.
type memo struct {
	s  string
	id uint32
}

// lookup returns the number of s, adding it if add is set; ok is false if s
// is new and add is not set. m, if not nil, is checked first and set.
func (t *tables) lookup(s string, m *memo, add bool) (uint32, bool) {
	if s == "" {
		return 0, true
	}
	if m != nil && m.id != 0 && m.s == s {
		return m.id, true
	}
	id, ok := t.name(s, add)
	if ok && m != nil {
		*m = memo{s, id}
	}
	return id, ok
}

// resolve returns the numbers of e's root task and node, and of its task
// unless task is not nil (the caller's number for it), adding them if add
// is set. ok is false if without add a name or a location of e's times
// (the scheduled time's only if sched is set) is missing from the tables
// and could be added: the caller takes the write lock and resolves again.
func (t *tables) resolve(e *store.Execution, task *uint32, sched bool, node *memo, add bool) (n names, ok bool) {
	ok = true
	var o bool
	if task != nil {
		n.task = *task
	} else {
		n.task, o = t.lookup(e.Task, nil, add)
		ok = ok && o
	}
	n.root, o = t.lookup(e.RootTask, nil, add)
	ok = ok && o
	n.node, o = t.lookup(e.Node, node, add)
	ok = ok && o
	if !add && len(t.locs) < maxLocs {
		ok = ok && t.hasLoc(e.StartedAt) && t.hasLoc(e.EndedAt) && (!sched || t.hasLoc(e.ScheduledAt))
	}
	return n, ok
}

func (t *tables) hasLoc(tm time.Time) bool {
	_, ok := t.loc(tm.Location(), false)
	return ok
}

// setTime stores tm as time i of r, its location in x if the table is full
// (x is then made if nil). add lets the table grow.
func (t *tables) setTime(r *rec, i int, tm time.Time, x **extras, add bool) {
	r.sec[i], r.nsec[i] = tm.Unix(), int32(tm.Nanosecond())
	l := tm.Location()
	code, ok := t.loc(l, add)
	r.loc[i] = code
	if !ok {
		keepLoc(x, i, l)
	}
}

// time returns time i of r.
func (t *tables) time(r *rec, i int, x *extras) time.Time {
	tm := time.Unix(r.sec[i], int64(r.nsec[i]))
	if c := r.loc[i]; c != noLoc {
		return tm.In(t.locs[c])
	}
	return tm.In(x.locs[i])
}

// encode fills r and its extras from e, with the names n, except the task,
// trigger and scheduled time when update is set (the stored ones stay). It
// returns the record's extras, nil if it has none: old, the record's
// extras before an update, is overwritten and returned rather than a new
// one made. add lets the location table grow: without it the caller has
// checked with resolve.
func (t *tables) encode(r *rec, e *store.Execution, n names, update bool, old *extras, add bool) *extras {
	var schedLoc *time.Location
	if update && r.loc[tSched] == noLoc {
		schedLoc = old.locs[tSched]
	}
	var x *extras
	if e.ExitMessage != "" || e.Error != "" || e.ExternalID != "" || e.SkipReason != "" || e.Report != "" || e.Args != nil {
		x = textOf(e, old)
	}
	if !update {
		r.id = e.ID
		r.task = n.task
		r.trigger = triggerCode(e.Trigger)
		r.flags = 0
		if e.Exclusive {
			r.flags = flagExclusive
		}
		t.setTime(r, tSched, e.ScheduledAt, &x, add)
	} else if schedLoc != nil {
		keepLoc(&x, tSched, schedLoc)
	}
	r.parent, r.graph = e.ParentID, e.GraphRunID
	r.root, r.node = n.root, n.node
	r.state = stateCode(e.State)
	r.exit = int64(e.ExitCode)
	t.setTime(r, tStarted, e.StartedAt, &x, add)
	t.setTime(r, tEnded, e.EndedAt, &x, add)
	r.extra = x != nil
	return x
}

// textOf returns e's text as extras: old, overwritten, or a new one if old
// is nil.
func textOf(e *store.Execution, old *extras) *extras {
	x := old
	if x == nil {
		x = new(extras)
	}
	args := x.args[:0]
	*x = extras{exitMessage: e.ExitMessage, err: e.Error, externalID: e.ExternalID, skipReason: e.SkipReason, report: e.Report}
	if e.Args != nil {
		// The store owns its copy; an empty list stays empty, not nil.
		if x.args = append(args, e.Args...); x.args == nil {
			x.args = []string{}
		}
	}
	return x
}

// keepLoc keeps l as the location of time i in *x, made if nil.
func keepLoc(x **extras, i int, l *time.Location) {
	if *x == nil {
		*x = new(extras)
	}
	if (*x).locs == nil {
		(*x).locs = new([3]*time.Location)
	}
	(*x).locs[i] = l
}

// decode returns r as a new execution; x is its extras or nil.
func (t *tables) decode(r *rec, x *extras) *store.Execution {
	e := &store.Execution{
		ID:          r.id,
		Task:        t.names[r.task],
		Trigger:     triggers[r.trigger],
		ScheduledAt: t.time(r, tSched, x),
		StartedAt:   t.time(r, tStarted, x),
		EndedAt:     t.time(r, tEnded, x),
		State:       states[r.state],
		ExitCode:    int(r.exit),
		ParentID:    r.parent,
		GraphRunID:  r.graph,
		RootTask:    t.names[r.root],
		Node:        t.names[r.node],

		Exclusive:       r.flags&flagExclusive != 0,
		CancelRequested: r.flags&flagCancel != 0,
		Fence:           r.fence,
	}
	if x != nil {
		e.ExitMessage, e.Error, e.ExternalID, e.SkipReason, e.Report = x.exitMessage, x.err, x.externalID, x.skipReason, x.report
		if x.args != nil {
			e.Args = slices.Clone(x.args)
		}
	}
	return e
}

// instant is a time as Unix seconds and nanoseconds: ordered like the
// time.Time it came from, whatever its location.
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{t.Unix(), int32(t.Nanosecond())} }

func (r *rec) at(i int) instant { return instant{r.sec[i], r.nsec[i]} }

func compareInstants(a, b instant) int {
	if c := cmp.Compare(a.sec, b.sec); c != 0 {
		return c
	}
	return cmp.Compare(a.nsec, b.nsec)
}

// newer reports whether a comes before b in the newest-first listing order
// (store.Newer).
func newer(a, b *rec) bool {
	if c := compareInstants(a.at(tStarted), b.at(tStarted)); c != 0 {
		return c > 0
	}
	return backend.CompareIDs(a.id, b.id) > 0
}
