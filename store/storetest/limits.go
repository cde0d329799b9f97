package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/taskmill/taskmill/store"
)

// Text that is not storable (store.TextOK): a NUL byte, and bytes that are
// not valid UTF-8.
var badTexts = []struct{ name, v string }{
	{"NUL", "bad\x00byte"},
	{"OnlyNUL", "\x00"},
	{"InvalidByte", "bad\xffbyte"},
	{"TruncatedRune", "日本\xe8\xaa"},
	{"Surrogate", "\xed\xa0\x80"},         // UTF-16 surrogates are not UTF-8
	{"Overlong", "\xc0\xaf"},              // "/" in two bytes
	{"Latin1", "caf\xe9"},                 // é as ISO 8859-1
	{"NULAndInvalid", "\x00\xfe\xff\x00"}, // both
}

// Text that is storable and must read back exactly, however odd.
var oddTexts = []struct{ name, v string }{
	{"ReplacementChar", "\uFFFD already replaced"},
	{"ControlChars", "\x01\x02\x1b[31m\x7f\t\r\n"},
	{"MaxRune", "\U0010FFFF"},
	{"LineSeparators", "\u2028\u2029\u0085"},
	{"ZeroWidth", "\u200b\ufeff"},
}

// jst is a zone east of UTC: year 1 there starts in year 0 UTC.
var jst = time.FixedZone("JST", 9*60*60)

// Times outside the years 1 to 9999 UTC (store.TimeOK), which some backend
// cannot hold or write (SQLite's microseconds since 1970 wrap the first
// one to 1969).
var badTimes = []struct {
	name string
	t    time.Time
}{
	{"Year292277026596", time.Date(292277026596, 12, 4, 15, 30, 7, 0, time.UTC)},
	{"Year300000", time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"Year10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"Year0", time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC)},
	{"Year1InJST", time.Date(1, 1, 1, 0, 0, 0, 0, jst)}, // 0000-12-31T15:00Z
	{"JustBeforeZero", time.Time{}.Add(-time.Microsecond)},
	{"NegativeYear", time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"MinGoTime", time.Date(-292277022399, 1, 1, 0, 0, 0, 0, time.UTC)},
}

// Times at the edges of the range, stored and read back to the microsecond.
var edgeTimes = []struct {
	name string
	t    time.Time
}{
	{"FirstMicrosecond", time.Time{}.Add(time.Microsecond)},
	{"Year1", time.Date(1, 6, 1, 12, 0, 0, 0, time.UTC)},
	{"BeforeEpoch", time.Date(1969, 12, 31, 23, 59, 59, 999_999_000, time.UTC)},
	{"Year9999", time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)},
	{"Year10000InJST", time.Date(10000, 1, 1, 8, 59, 59, 0, jst)}, // 9999-12-31T23:59:59Z
}

// textFields set each text field of an execution.
var textFields = []struct {
	name   string
	update bool // written by UpdateExecution
	set    func(e *store.Execution, v string)
}{
	{"Task", false, func(e *store.Execution, v string) { e.Task = v }},
	{"ExitMessage", true, func(e *store.Execution, v string) { e.ExitMessage = v }},
	{"Error", true, func(e *store.Execution, v string) { e.Error = v }},
	{"Args[1]", true, func(e *store.Execution, v string) { e.Args = []string{"ok", v, "ok"} }},
	{"ExternalID", true, func(e *store.Execution, v string) { e.ExternalID = v }},
	{"RootTask", true, func(e *store.Execution, v string) { e.RootTask = v }},
	{"Node", true, func(e *store.Execution, v string) { e.Node = v }},
	{"SkipReason", true, func(e *store.Execution, v string) { e.SkipReason = v }},
	{"Report", true, func(e *store.Execution, v string) { e.Report = v }},
}

// timeFields set each time field of an execution.
var timeFields = []struct {
	name   string
	update bool
	set    func(e *store.Execution, t time.Time)
}{
	{"ScheduledAt", false, func(e *store.Execution, t time.Time) { e.ScheduledAt = t }},
	{"StartedAt", true, func(e *store.Execution, t time.Time) { e.StartedAt = t }},
	{"EndedAt", true, func(e *store.Execution, t time.Time) {
		e.EndedAt, e.State = t, store.StateSucceeded
	}},
}

// wantInvalid checks that err wraps store.ErrInvalid and names the field.
func wantInvalid(t *testing.T, op string, err error, field string) {
	t.Helper()
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("%s: error = %v, want %v", op, err, store.ErrInvalid)
		return
	}
	if !strings.Contains(err.Error(), field) {
		t.Errorf("%s: error %q does not name the field %s", op, err, field)
	}
}

// testCreateTextAndTimes: every backend refuses, at CreateExecution and
// alike, text that is not valid UTF-8 or holds NUL and times outside the
// years 1 to 9999, and stores any other text and time exactly.
func testCreateTextAndTimes(t *testing.T, s store.Store) {
	for _, f := range textFields {
		for _, bad := range badTexts {
			t.Run(f.name+"/"+bad.name, func(t *testing.T) {
				e := newExecution("text", base)
				f.set(e, bad.v)
				wantInvalid(t, "CreateExecution", s.CreateExecution(t.Context(), e), f.name)
				wantGone(t, s, e.ID)
				errs := store.CreateMany(t.Context(), s, []*store.Execution{e})
				wantInvalid(t, "CreateMany", errs[0], f.name)
				wantGone(t, s, e.ID)
			})
		}
		for _, odd := range oddTexts {
			t.Run(f.name+"/"+odd.name, func(t *testing.T) {
				e := newExecution("text", base)
				f.set(e, odd.v)
				want := e.Clone()
				create(t, s, e)
				checkExecution(t, "GetExecution", get(t, s, e.ID), want)
			})
		}
	}
	for _, f := range timeFields {
		for _, bad := range badTimes {
			t.Run(f.name+"/"+bad.name, func(t *testing.T) {
				e := newExecution("times", base)
				f.set(e, bad.t)
				wantInvalid(t, "CreateExecution", s.CreateExecution(t.Context(), e), f.name)
				wantGone(t, s, e.ID)
			})
		}
		for _, edge := range edgeTimes {
			t.Run(f.name+"/"+edge.name, func(t *testing.T) {
				e := newExecution("times", base)
				f.set(e, edge.t)
				want := e.Clone()
				create(t, s, e)
				checkExecution(t, "GetExecution", get(t, s, e.ID), want)
			})
		}
	}
	// A claimed slot at an edge time is a claim like any other.
	t.Run("ClaimAtYear9999", func(t *testing.T) {
		slot := time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC)
		first := scheduled("edge-claim", slot, store.TriggerSchedule)
		first.StartedAt = slot
		create(t, s, first)
		second := scheduled("edge-claim", slot, store.TriggerCatchUp)
		second.StartedAt = slot
		wantErr(t, "second claim of the slot", s.CreateExecution(t.Context(), second), store.ErrConflict)
		checkExecution(t, "GetExecution", get(t, s, first.ID), first)
	})
}

// testUpdateTextAndTimes: UpdateExecution refuses what CreateExecution
// refuses in the fields it writes, and leaves the record as it was.
func testUpdateTextAndTimes(t *testing.T, s store.Store) {
	orig := newExecution("upd-text", base)
	orig.ExitMessage = "as created"
	create(t, s, orig)
	for _, f := range textFields {
		if !f.update {
			continue
		}
		for _, bad := range badTexts {
			t.Run(f.name+"/"+bad.name, func(t *testing.T) {
				u := orig.Clone()
				u.State, u.EndedAt = store.StateFailed, base.Add(time.Second)
				f.set(u, bad.v)
				wantInvalid(t, "UpdateExecution", s.UpdateExecution(t.Context(), u), f.name)
				checkExecution(t, "GetExecution after the refused update", get(t, s, orig.ID), orig)
			})
		}
	}
	for _, f := range timeFields {
		if !f.update {
			continue
		}
		for _, bad := range badTimes {
			t.Run(f.name+"/"+bad.name, func(t *testing.T) {
				u := orig.Clone()
				f.set(u, bad.t)
				wantInvalid(t, "UpdateExecution", s.UpdateExecution(t.Context(), u), f.name)
				checkExecution(t, "GetExecution after the refused update", get(t, s, orig.ID), orig)
			})
		}
	}
	// What Create stores, Update stores too. (These run last: they change
	// the record.)
	t.Run("Stored", func(t *testing.T) {
		for _, f := range textFields {
			if !f.update {
				continue
			}
			for _, odd := range oddTexts {
				// A fresh record each time: a final one does not change.
				x := newExecution("upd-text", base)
				create(t, s, x)
				u := x.Clone()
				f.set(u, odd.v)
				update(t, s, u)
				checkExecution(t, "GetExecution after updating "+f.name+" to "+odd.name, get(t, s, x.ID), u)
			}
		}
		for _, f := range timeFields {
			if !f.update {
				continue
			}
			for _, edge := range edgeTimes {
				x := newExecution("upd-text", base)
				create(t, s, x)
				u := x.Clone()
				f.set(u, edge.t)
				update(t, s, u)
				checkExecution(t, "GetExecution after updating "+f.name+" to "+edge.name, get(t, s, x.ID), u)
			}
		}
	})
	// An update of an unknown ID is ErrNotFound, whatever else is wrong.
	t.Run("UnknownID", func(t *testing.T) {
		u := newExecution("upd-text", base)
		u.Error = "bad\x00"
		wantErr(t, "UpdateExecution(unknown ID, NUL in Error)", s.UpdateExecution(t.Context(), u), store.ErrNotFound)
		u.Error, u.State = "", "done"
		wantErr(t, "UpdateExecution(unknown ID, unknown state)", s.UpdateExecution(t.Context(), u), store.ErrNotFound)
	})
}

// testTaskStateTextAndTimes: PutTaskState refuses what CreateExecution
// refuses, and stores the rest exactly.
func testTaskStateTextAndTimes(t *testing.T, s store.Store) {
	valid := func(task string) *store.TaskState {
		return &store.TaskState{Task: task, Suspended: true, SuspendedReason: "why", SuspendedAt: base,
			ConsecutiveFailures: 2, LastScheduledAt: base, UpdatedAt: base}
	}
	texts := []struct {
		name string
		set  func(ts *store.TaskState, v string)
	}{
		{"Task", func(ts *store.TaskState, v string) { ts.Task = v }},
		{"SuspendedReason", func(ts *store.TaskState, v string) { ts.SuspendedReason = v }},
	}
	times := []struct {
		name string
		set  func(ts *store.TaskState, t time.Time)
	}{
		{"SuspendedAt", func(ts *store.TaskState, t time.Time) { ts.SuspendedAt = t }},
		{"LastScheduledAt", func(ts *store.TaskState, t time.Time) { ts.LastScheduledAt = t }},
		{"UpdatedAt", func(ts *store.TaskState, t time.Time) { ts.UpdatedAt = t }},
	}
	stored := valid("state-text")
	putTaskState(t, s, stored)
	for _, f := range texts {
		for _, bad := range badTexts {
			ts := valid("state-text")
			f.set(ts, bad.v)
			wantInvalid(t, "PutTaskState("+f.name+" "+bad.name+")", s.PutTaskState(t.Context(), ts), f.name)
		}
		for _, odd := range oddTexts {
			ts := valid("state-odd")
			f.set(ts, odd.v)
			putTaskState(t, s, ts)
			checkTaskState(t, "GetTaskState after "+f.name+" "+odd.name, getTaskState(t, s, ts.Task), ts)
		}
	}
	for _, f := range times {
		for _, bad := range badTimes {
			ts := valid("state-text")
			f.set(ts, bad.t)
			wantInvalid(t, "PutTaskState("+f.name+" "+bad.name+")", s.PutTaskState(t.Context(), ts), f.name)
			checkTaskState(t, "GetTaskState after PutTaskState("+f.name+" "+bad.name+")", getTaskState(t, s, ts.Task), stored)
		}
		for _, edge := range edgeTimes {
			ts := valid("state-edge")
			f.set(ts, edge.t)
			putTaskState(t, s, ts)
			checkTaskState(t, "GetTaskState after "+f.name+" "+edge.name, getTaskState(t, s, ts.Task), ts)
		}
	}
	// A refused state stores nothing.
	for _, bad := range badTexts {
		ts := valid("state-new")
		ts.SuspendedReason = bad.v
		wantErr(t, "PutTaskState(new task, "+bad.name+")", s.PutTaskState(t.Context(), ts), store.ErrInvalid)
	}
	_, err := s.GetTaskState(t.Context(), "state-new")
	wantErr(t, "GetTaskState after refused puts", err, store.ErrNotFound)
}
