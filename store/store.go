package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/internal/quote"
)

// State is where an execution is in its life.
type State string

// The states of an execution. Running and Pending are the only states that
// are not final.
const (
	// StatePending: the slot is claimed and the execution waits to start,
	// queued behind a running execution of the same task (overlap policy
	// "queue one").
	StatePending State = "pending"
	// StateRunning: the job (or its condition, or its listeners) runs.
	StateRunning State = "running"
	// StateSucceeded: the job returned nil and no listener failed.
	StateSucceeded State = "succeeded"
	// StateFailed: the job, its condition or a listener returned an error
	// or panicked, or the run timed out.
	StateFailed State = "failed"
	// StateSkipped: the fire was recorded but the job did not run; SkipReason
	// says why.
	StateSkipped State = "skipped"
	// StateCancelled: the run was cancelled by Cancel or by shutdown.
	StateCancelled State = "cancelled"
	// StateAbandoned: the node running it stopped without recording an end.
	StateAbandoned State = "abandoned"
)

// Final reports whether s is a final state: nothing changes the record after.
func (s State) Final() bool {
	switch s {
	case StateSucceeded, StateFailed, StateSkipped, StateCancelled, StateAbandoned:
		return true
	}
	return false
}

// Valid reports whether s is one of the states above.
func (s State) Valid() bool {
	return s == StatePending || s == StateRunning || s.Final()
}

// Trigger is what started an execution.
type Trigger string

// The triggers of an execution.
const (
	// TriggerSchedule: a cron or interval slot fired.
	TriggerSchedule Trigger = "schedule"
	// TriggerManual: Engine.RunNow.
	TriggerManual Trigger = "manual"
	// TriggerDependency: a predecessor in a task graph finished.
	TriggerDependency Trigger = "dependency"
	// TriggerCatchUp: a slot missed while no engine ran, run late.
	TriggerCatchUp Trigger = "catch-up"
	// TriggerOneShot: task.RunMain in a short-lived process.
	TriggerOneShot Trigger = "one-shot"
	// TriggerRecovery: the re-run of an execution abandoned by its dead
	// node (ParentID), for a task that asks for recovery; same
	// ScheduledAt as the abandoned one.
	TriggerRecovery Trigger = "recovery"
)

// Valid reports whether t is one of the triggers above.
func (t Trigger) Valid() bool {
	switch t {
	case TriggerSchedule, TriggerManual, TriggerDependency, TriggerCatchUp, TriggerOneShot, TriggerRecovery:
		return true
	}
	return false
}

// Claims reports whether executions with this trigger claim their slot: at
// most one execution of a task may exist for one nominal time among the
// triggers that claim (schedule and catch-up).
func (t Trigger) Claims() bool {
	return t == TriggerSchedule || t == TriggerCatchUp
}

// Reasons a fire is recorded as skipped. SkipReason holds one of these,
// sometimes followed by ": " and details.
const (
	ReasonOverlap   = "overlap"   // the task was still running (or had one queued)
	ReasonCondition = "condition" // the task's When condition returned false
	ReasonMissed    = "missed"    // the fire came too late; details say how many slots
	// ReasonStoreUnavailable: the store refused the fire's record when it
	// fired; the engine held the slot and recorded it once the store
	// answered again. Details say what the store said, or how many slots.
	ReasonStoreUnavailable = "store unavailable"
)

// Execution is the record of one run of a task, created before the job runs
// and updated when it ends. Zero values mean "not set": a zero ScheduledAt is
// a run with no nominal slot (manual, one-shot), a zero EndedAt a run that has
// not ended, uuid.Nil a missing parent or graph run.
type Execution struct {
	ID          uuid.UUID // unique, set by the engine
	Task        string    // task name
	Trigger     Trigger
	ScheduledAt time.Time // nominal slot; zero for manual and one-shot runs
	StartedAt   time.Time // when the record was created (the fire or the call)
	EndedAt     time.Time // zero while pending or running
	State       State
	ExitCode    int    // 0 on success; see task's doc for the mapping
	ExitMessage string // set by the job or by listeners
	Error       string // the error's text; with the stack for a panic
	Args        []string
	ExternalID  string    // id of this run in an outside system
	ParentID    uuid.UUID // execution that caused this one
	GraphRunID  uuid.UUID // graph run this execution belongs to
	RootTask    string    // root task of that graph run
	Node        string    // engine instance that ran it
	SkipReason  string    // why it was skipped; empty unless State is skipped
	// Report is the run's final live report as JSON (package task's
	// Report: counters by phase, recent errors), written with its end;
	// empty if the job reported nothing.
	Report string

	// Exclusive marks the execution of a task that must not run twice at
	// once: among the exclusive executions of one task, at most one is
	// running and at most one is pending (recovery executions aside: any
	// number of those may be pending), in the whole store, that is for
	// every engine sharing it. A create or update that would make a
	// second is refused with ErrBusy. Set at creation; UpdateExecution
	// keeps the stored value.
	Exclusive bool
	// CancelRequested says that Cancel was asked for this run, possibly
	// on an engine other than the one running it (RequestCancel); the
	// engine running it cancels it. UpdateExecution keeps the stored
	// value.
	CancelRequested bool
	// Fence is the execution's fencing token, assigned by the store when
	// it creates the record: greater than the Fence of every execution
	// whose creation completed before this one's began (so the re-run of
	// an abandoned execution has a greater one than the execution it
	// re-runs). Ignored by CreateExecution and UpdateExecution; read it
	// back with GetExecution or ListExecutions. Zero before creation.
	Fence int64
}

// Duration is EndedAt minus StartedAt, or zero while the run has not ended.
func (e *Execution) Duration() time.Duration {
	if e.EndedAt.IsZero() {
		return 0
	}
	return e.EndedAt.Sub(e.StartedAt)
}

// Clone returns a deep copy of e.
func (e *Execution) Clone() *Execution {
	c := *e
	if e.Args != nil {
		c.Args = append([]string(nil), e.Args...)
	}
	return &c
}

// Validate checks what every backend requires of a record before creating
// it: an ID, a task name, a known trigger and state, a scheduled time for a
// trigger that claims a slot, a start time, and fields every backend can
// hold (see the package doc: text that is valid UTF-8 without NUL bytes,
// times in the years 1 to 9999). Errors wrap ErrInvalid and name the field.
func (e *Execution) Validate() error {
	switch {
	case e.ID == uuid.Nil:
		return fmt.Errorf("%w: execution ID is zero", ErrInvalid)
	case e.Task == "":
		return fmt.Errorf("%w: execution %s: task name is empty", ErrInvalid, e.ID)
	case !e.Trigger.Valid():
		return fmt.Errorf("%w: execution %s: trigger %q", ErrInvalid, e.ID, e.Trigger)
	case e.Trigger.Claims() && e.ScheduledAt.IsZero():
		return fmt.Errorf("%w: execution %s: trigger %s needs a scheduled time", ErrInvalid, e.ID, e.Trigger)
	}
	if !TextOK(e.Task) {
		return textError(e.ID, "Task", e.Task)
	}
	if !TimeOK(e.ScheduledAt) {
		return timeError(e.ID, "ScheduledAt", e.ScheduledAt)
	}
	return e.ValidateUpdate()
}

// ValidateUpdate checks, as Validate does, the fields UpdateExecution
// writes: all but the ID, which finds the record, and Task, Trigger and
// ScheduledAt, which it keeps. Errors wrap ErrInvalid and name the field.
func (e *Execution) ValidateUpdate() error {
	switch {
	case !e.State.Valid():
		return fmt.Errorf("%w: execution %s: state %q", ErrInvalid, e.ID, e.State)
	case e.StartedAt.IsZero():
		return fmt.Errorf("%w: execution %s: start time is zero", ErrInvalid, e.ID)
	case !TimeOK(e.StartedAt):
		return timeError(e.ID, "StartedAt", e.StartedAt)
	case !TimeOK(e.EndedAt):
		return timeError(e.ID, "EndedAt", e.EndedAt)
	case !TextOK(e.ExitMessage):
		return textError(e.ID, "ExitMessage", e.ExitMessage)
	case !TextOK(e.Error):
		return textError(e.ID, "Error", e.Error)
	case !TextOK(e.ExternalID):
		return textError(e.ID, "ExternalID", e.ExternalID)
	case !TextOK(e.RootTask):
		return textError(e.ID, "RootTask", e.RootTask)
	case !TextOK(e.Node):
		return textError(e.ID, "Node", e.Node)
	case !TextOK(e.SkipReason):
		return textError(e.ID, "SkipReason", e.SkipReason)
	case !TextOK(e.Report):
		return textError(e.ID, "Report", e.Report)
	}
	for i, a := range e.Args {
		if !TextOK(a) {
			return textError(e.ID, "Args["+strconv.Itoa(i)+"]", a)
		}
	}
	return nil
}

// TaskState is what the engine persists about a task between runs and
// restarts.
type TaskState struct {
	Task                string
	Suspended           bool
	SuspendedReason     string    // why; empty when not suspended
	SuspendedAt         time.Time // zero when not suspended
	ConsecutiveFailures int       // failed runs since the last success or resume
	LastScheduledAt     time.Time // newest nominal slot fired
	UpdatedAt           time.Time
}

// Validate checks what every backend requires of a task state before
// writing it: a task name, and text and times every backend can hold (see
// Execution.Validate). Errors wrap ErrInvalid and name the field.
func (s *TaskState) Validate() error {
	what := func() string { return "task state " + quote.Short(s.Task) }
	switch {
	case s.Task == "":
		return fmt.Errorf("%w: task state: task name is empty", ErrInvalid)
	case !TextOK(s.Task):
		return fmt.Errorf("%w: task state: Task %s", ErrInvalid, textProblem(s.Task))
	case !TextOK(s.SuspendedReason):
		return fmt.Errorf("%w: %s: SuspendedReason %s", ErrInvalid, what(), textProblem(s.SuspendedReason))
	case !TimeOK(s.SuspendedAt):
		return fmt.Errorf("%w: %s: SuspendedAt %s", ErrInvalid, what(), timeProblem(s.SuspendedAt))
	case !TimeOK(s.LastScheduledAt):
		return fmt.Errorf("%w: %s: LastScheduledAt %s", ErrInvalid, what(), timeProblem(s.LastScheduledAt))
	case !TimeOK(s.UpdatedAt):
		return fmt.Errorf("%w: %s: UpdatedAt %s", ErrInvalid, what(), timeProblem(s.UpdatedAt))
	}
	return nil
}

// TextOK reports whether every backend stores s as it is: valid UTF-8
// without NUL bytes (PostgreSQL's text holds no NUL and only valid
// encoding).
func TextOK(s string) bool {
	// Every record is checked on its way into a store, and its text is
	// mostly short ASCII: one pass over that beats the two library calls,
	// which win on long text.
	if len(s) <= 64 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == 0 || c >= utf8.RuneSelf {
				return utf8.ValidString(s[i:]) && strings.IndexByte(s[i:], 0) < 0
			}
		}
		return true
	}
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// CleanText returns s made storable (TextOK): each byte that is not part
// of valid UTF-8 replaced by U+FFFD, the replacement character, and every
// NUL byte removed. A storable s is returned as it is. The engine cleans
// the text a run produces (its error, exit message) with it, so that what a
// job puts in a string never keeps its end from being recorded.
func CleanText(s string) string {
	if TextOK(s) {
		return s
	}
	return clean(s)
}

// clean is CleanText for text that needs it.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 0 {
			return -1 // dropped
		}
		return r // an invalid byte comes as utf8.RuneError, written as U+FFFD
	}, s)
}

// The Unix seconds of the first instant every backend stores, the zero
// time (0001-01-01 00:00 UTC), and of the first it need not store, the
// year 10000 UTC, which RFC 3339 (and so JSON) cannot write.
const (
	minUnix = -62135596800
	maxUnix = 253402300800
)

// TimeOK reports whether every backend stores t as it is: the zero time
// (not set), or an instant after it (0001-01-01 00:00 UTC) and before the
// year 10000 UTC. (SQLite's microseconds since 1970 in an int64 end in the
// year 294247 and would wrap past it; PostgreSQL's timestamptz ends in
// 294276; JSON's RFC 3339 ends in 9999.)
func TimeOK(t time.Time) bool {
	sec := t.Unix()
	return minUnix <= sec && sec < maxUnix
}

// textError is the error of a text field of an execution that is not
// storable.
func textError(id uuid.UUID, field, v string) error {
	return fmt.Errorf("%w: execution %s: %s %s", ErrInvalid, id, field, textProblem(v))
}

// timeError is the error of a time field of an execution that is not
// storable.
func timeError(id uuid.UUID, field string, t time.Time) error {
	return fmt.Errorf("%w: execution %s: %s %s", ErrInvalid, id, field, timeProblem(t))
}

// textProblem says why s is not storable, quoting a bounded prefix.
func textProblem(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Sprintf("%s has a NUL byte at offset %d", quote.Short(s), i)
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return fmt.Sprintf("%s is not valid UTF-8 at offset %d", quote.Short(s), i)
		}
		i += n
	}
	return "is storable"
}

// timeProblem says why t is not storable.
func timeProblem(t time.Time) string {
	// Format writes any year, where RFC 3339 writes only 0 to 9999.
	return fmt.Sprintf("%s is outside the years 1 to 9999 UTC", t.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"))
}

// ExecutionFilter selects executions for ListExecutions. Zero fields do not
// filter. Results come newest first: by StartedAt descending, then ID
// descending, a total order that cursors follow.
type ExecutionFilter struct {
	Task       string
	States     []State   // any of these
	Triggers   []Trigger // any of these
	GraphRunID uuid.UUID // executions of one graph run
	From       time.Time // StartedAt >= From
	To         time.Time // StartedAt < To
	// Limit caps the page size; 0 means ListLimitDefault, and values above
	// MaxListLimit are lowered to it.
	Limit int
	// Cursor continues a listing from the NextCursor of the previous page.
	Cursor string
}

// Page is one page of ListExecutions.
type Page struct {
	Executions []*Execution
	// NextCursor is set when more executions may follow; pass it as
	// ExecutionFilter.Cursor to get them.
	NextCursor string
}

// Limits of ListExecutions.
const (
	// ListLimitDefault is the page size of an ExecutionFilter whose Limit
	// is 0 (or negative).
	ListLimitDefault = 100
	// MaxListLimit is the largest page; a greater Limit is lowered to it.
	MaxListLimit = 10_000
)

// DeleteParams selects executions for DeleteExecutions.
type DeleteParams struct {
	// Before deletes final executions that started before it. Required.
	Before time.Time
	// Task, when set, limits the deletion to one task.
	Task string
	// Limit caps how many are deleted in one call (a batch), oldest first;
	// 0 means no cap; negative is ErrInvalid.
	Limit int
}

// Validate checks p as every backend does before deleting: Before is set
// and Limit is not negative. The error wraps ErrInvalid and names the
// field.
func (p DeleteParams) Validate() error {
	switch {
	case p.Before.IsZero():
		return fmt.Errorf("%w: delete executions: Before is zero", ErrInvalid)
	case p.Limit < 0:
		return fmt.Errorf("%w: delete executions: Limit %d is negative", ErrInvalid, p.Limit)
	}
	return nil
}

// Store persists executions and task state. Implementations are safe for
// concurrent use. Every backend passes storetest.Run.
type Store interface {
	// CreateExecution inserts a new record. It returns ErrConflict if the ID
	// exists, or if e.Trigger claims a slot (Trigger.Claims) and an
	// execution of the same task with the same ScheduledAt and a claiming
	// trigger exists: the claim that makes a slot run exactly once. It
	// returns ErrBusy if e is Exclusive and running (or pending) and an
	// exclusive execution of the task is running (or pending): the check
	// that keeps a task from running twice at once across engines. With
	// both, ErrConflict. CancelRequested is stored false; Fence is
	// assigned (see Execution).
	CreateExecution(ctx context.Context, e *Execution) error
	// UpdateExecution replaces the record with e's ID. It returns
	// ErrNotFound if none exists. Task, Trigger, ScheduledAt, Exclusive,
	// CancelRequested and Fence never change. A record in a final state
	// never changes either: updating one returns ErrConflict, changing
	// nothing (this fences the late end of a run that another engine
	// marked abandoned). An update that would make a second exclusive
	// execution of the task running, or pending, returns ErrBusy,
	// changing nothing.
	UpdateExecution(ctx context.Context, e *Execution) error
	// GetExecution returns the record with the ID, or ErrNotFound.
	GetExecution(ctx context.Context, id uuid.UUID) (*Execution, error)
	// ListExecutions returns one page of records matching f, newest first.
	ListExecutions(ctx context.Context, f ExecutionFilter) (*Page, error)
	// DeleteExecutions deletes final executions matching p and returns how
	// many it deleted. Pending and running executions are never deleted.
	// The newest slot among the claiming executions it deletes of each
	// task becomes that task's TaskState.LastScheduledAt if it is later
	// (the state is created if none is stored), in the same step: an
	// engine's catch-up after downtime, which starts from the newest slot
	// on record, never depends on the history retention deletes.
	DeleteExecutions(ctx context.Context, p DeleteParams) (int, error)
	// GetTaskState returns the persisted state of a task, or ErrNotFound.
	GetTaskState(ctx context.Context, task string) (*TaskState, error)
	// PutTaskState inserts or replaces the state of s.Task.
	PutTaskState(ctx context.Context, s *TaskState) error
	// Close releases the store's resources. Later calls of other methods
	// return ErrClosed; a second Close returns nil.
	Close() error
}

// BatchCreator is implemented by stores that create many executions in one
// call (one lock, one round trip): the engine creates the records of one
// fire of a schedule shared by many tasks through it. An optional ability,
// found by type assertion; CreateMany falls back to CreateExecution.
type BatchCreator interface {
	// CreateExecutions creates each execution as CreateExecution would,
	// claims included (two executions in es claiming one slot: the second
	// gets ErrConflict), and returns one error per execution, in order, nil
	// for those created.
	CreateExecutions(ctx context.Context, es []*Execution) []error
}

// CreateMany creates es in s, in one call if s is a BatchCreator, and
// returns one error per execution, in order.
func CreateMany(ctx context.Context, s Store, es []*Execution) []error {
	if len(es) == 0 {
		return nil
	}
	if b, ok := s.(BatchCreator); ok {
		return b.CreateExecutions(ctx, es)
	}
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = s.CreateExecution(ctx, e)
	}
	return errs
}

// StateLister is implemented by stores that read every task state in one
// call (one lock, one round trip): the engine reads the states of all its
// tasks at Start through it, rather than one GetTaskState per task. An
// optional ability, found by type assertion; ListStates falls back to
// GetTaskState.
type StateLister interface {
	// ListTaskStates returns a copy of every stored task state, in no
	// particular order.
	ListTaskStates(ctx context.Context) ([]*TaskState, error)
}

// SlotLister is implemented by stores that find every task's newest claimed
// slot in one call: the engine plans catch-up at Start from it, rather than
// with one ListExecutions per task. An optional ability, found by type
// assertion.
type SlotLister interface {
	// LastSlots returns, for every task with an execution whose trigger
	// claims a slot (schedule, catch-up), the latest ScheduledAt among
	// them.
	LastSlots(ctx context.Context) (map[string]time.Time, error)
}

// ListStates returns the stored states of the named tasks, by task name; a
// task with no state has no entry. If s is a StateLister it reads every
// state in one call and keeps the named ones; otherwise it calls
// GetTaskState once per name, skipping ErrNotFound, and returns any other
// error wrapped with the task's name. No names means no call.
func ListStates(ctx context.Context, s Store, names []string) (map[string]*TaskState, error) {
	out := make(map[string]*TaskState)
	if len(names) == 0 {
		return out, nil
	}
	if l, ok := s.(StateLister); ok {
		all, err := l.ListTaskStates(ctx)
		if err != nil {
			return nil, err
		}
		byName := make(map[string]*TaskState, len(all))
		for _, ts := range all {
			byName[ts.Task] = ts
		}
		for _, name := range names {
			if ts, ok := byName[name]; ok {
				out[name] = ts
			}
		}
		return out, nil
	}
	for _, name := range names {
		ts, err := s.GetTaskState(ctx, name)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("task %s: %w", quote.Short(name), err)
		default:
			out[name] = ts
		}
	}
	return out, nil
}

// Newer reports whether a comes before b in the newest-first listing order
// of ListExecutions: StartedAt descending, then the ID's bytes descending.
func Newer(a, b *Execution) bool {
	if !a.StartedAt.Equal(b.StartedAt) {
		return a.StartedAt.After(b.StartedAt)
	}
	return bytes.Compare(a.ID[:], b.ID[:]) > 0
}

// ListAll pages through every execution matching f (from f.Cursor on, if
// set) and returns them newest first. f.Limit is the page size.
func ListAll(ctx context.Context, s Store, f ExecutionFilter) ([]*Execution, error) {
	var all []*Execution
	for {
		page, err := s.ListExecutions(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Executions...)
		if page.NextCursor == "" {
			return all, nil
		}
		f.Cursor = page.NextCursor
	}
}
