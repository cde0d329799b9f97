package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

func TestListAllPagesThroughEverything(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 250; i++ {
		x := &store.Execution{ID: uuid.New(), Task: "t", Trigger: store.TriggerManual, State: store.StateSucceeded,
			StartedAt: base.Add(time.Duration(i) * time.Second), EndedAt: base.Add(time.Duration(i) * time.Second)}
		if err := s.CreateExecution(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	all, err := store.ListAll(ctx, s, store.ExecutionFilter{Task: "t", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 250 {
		t.Fatalf("ListAll returned %d executions, want 250", len(all))
	}
	for i := 1; i < len(all); i++ {
		if !store.Newer(all[i-1], all[i]) {
			t.Fatalf("executions %d and %d out of order", i-1, i)
		}
	}
	if _, err := store.ListAll(ctx, s, store.ExecutionFilter{Cursor: "!!"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("ListAll with a bad cursor = %v, want ErrInvalid", err)
	}
}

// brokenStates is a store that is not a StateLister and fails to read one
// task's state.
type brokenStates struct{ store.Store }

var errBroken = errors.New("disk on fire")

func (b brokenStates) GetTaskState(ctx context.Context, task string) (*store.TaskState, error) {
	if strings.HasPrefix(task, "broken") {
		return nil, errBroken
	}
	return b.Store.GetTaskState(ctx, task)
}

func TestListStatesFallbackError(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	if err := s.PutTaskState(ctx, &store.TaskState{Task: "ok", ConsecutiveFailures: 1}); err != nil {
		t.Fatal(err)
	}
	m, err := store.ListStates(ctx, brokenStates{s}, []string{"ok", "missing"})
	if err != nil || len(m) != 1 || m["ok"] == nil || m["ok"].ConsecutiveFailures != 1 {
		t.Fatalf("ListStates = %v, %v; want the state of ok only", m, err)
	}
	_, err = store.ListStates(ctx, brokenStates{s}, []string{"ok", "broken"})
	if !errors.Is(err, errBroken) || !strings.Contains(err.Error(), `"broken"`) {
		t.Fatalf("ListStates with a failing read = %v, want an error wrapping %v that names the task", err, errBroken)
	}
	long := "broken" + strings.Repeat("x", 1<<20)
	_, err = store.ListStates(ctx, brokenStates{s}, []string{long})
	if !errors.Is(err, errBroken) || len(err.Error()) > 1024 {
		t.Fatalf("ListStates with a failing read of a 1 MiB name = %.300v (%d bytes), want an error quoting a bounded prefix", err, len(err.Error()))
	}
}

func TestCleanText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"日本語 ✓ \uFFFD", "日本語 ✓ \uFFFD"},
		{"bad\x00byte", "badbyte"},
		{"\x00\x00", ""},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"日本\xe8\xaa", "日本\uFFFD\uFFFD"}, // a rune cut short: one per byte
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"\x00\xfe\xff\x00x", "\uFFFD\uFFFDx"},
		{"é\x00", "é"}, // NUL after a multi-byte rune
		{strings.Repeat("long ", 20) + "\x00", strings.Repeat("long ", 20)},
		{strings.Repeat("long ", 20) + "\xff", strings.Repeat("long ", 20) + "\uFFFD"},
		{strings.Repeat("lång ", 20), strings.Repeat("lång ", 20)},
	} {
		got := store.CleanText(tc.in)
		if got != tc.want {
			t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !store.TextOK(got) {
			t.Errorf("TextOK(CleanText(%q)) = false", tc.in)
		}
	}
	clean := strings.Repeat("storable ✓ ", 100)
	if n := testing.AllocsPerRun(100, func() { _ = store.CleanText(clean) }); n != 0 {
		t.Errorf("CleanText of storable text allocates %v times, want 0", n)
	}
}

// Validate refuses what CleanText cleans, naming the field, and accepts
// the cleaned text.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", "ok", "a\x00b", "\xff", "日本\xe8\xaa", "\uFFFD", strings.Repeat("x", 70) + "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if want := utf8.ValidString(s) && !strings.Contains(s, "\x00"); store.TextOK(s) != want {
			t.Fatalf("TextOK(%q) = %v, want %v", s, !want, want)
		}
		c := store.CleanText(s)
		if !store.TextOK(c) {
			t.Fatalf("CleanText(%q) = %q, not storable", s, c)
		}
		if (c == s) != store.TextOK(s) {
			t.Fatalf("CleanText(%q) = %q; TextOK(%q) = %v", s, c, s, store.TextOK(s))
		}
		if store.CleanText(c) != c {
			t.Fatalf("CleanText is not idempotent on %q", s)
		}
		e := &store.Execution{ID: uuid.New(), Task: "t", Trigger: store.TriggerManual, State: store.StateFailed,
			StartedAt: time.Now(), Error: s}
		err := e.Validate()
		if store.TextOK(s) != (err == nil) {
			t.Fatalf("Validate with Error %q = %v; TextOK = %v", s, err, store.TextOK(s))
		}
		if err != nil && (!errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "Error")) {
			t.Fatalf("Validate with Error %q = %v, want ErrInvalid naming Error", s, err)
		}
	})
}

func TestTimeOK(t *testing.T) {
	jst := time.FixedZone("JST", 9*60*60)
	for _, tc := range []struct {
		t    time.Time
		want bool
	}{
		{time.Time{}, true},
		{time.Date(1, 1, 1, 9, 0, 0, 0, jst), true}, // the zero instant
		{time.Time{}.Add(time.Nanosecond), true},
		{time.Time{}.Add(-time.Nanosecond), false},
		{time.Date(1, 1, 1, 0, 0, 0, 0, jst), false},
		{time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC), true},
		{time.Date(10000, 1, 1, 8, 59, 59, 0, jst), true},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{time.Date(292277026596, 12, 4, 15, 30, 7, 0, time.UTC), false},
		{time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		if got := store.TimeOK(tc.t); got != tc.want {
			t.Errorf("TimeOK(%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}
