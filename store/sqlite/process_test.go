package sqlite_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/sqlite"
)

// Environment of TestProcessChild: the database file and the child's name.
const (
	childDBEnv   = "TASKMILL_SQLITE_TEST_CHILD_DB"
	childNameEnv = "TASKMILL_SQLITE_TEST_CHILD_NAME"
)

const (
	childSlots = 20 // slots every child tries to claim
	childOwn   = 25 // executions each child records of its own task
)

var slotBase = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// TestProcesses starts processes that open one new file at once (creating
// and migrating it), race for the same slots and record their own runs:
// each slot is claimed once and nothing is lost.
func TestProcesses(t *testing.T) {
	const children = 4
	path := filepath.Join(t.TempDir(), "shared.db")
	type result struct {
		out []byte
		err error
	}
	results := make(chan result, children)
	for i := range children {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestProcessChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), childDBEnv+"="+path, childNameEnv+"="+strconv.Itoa(i))
		go func() {
			out, err := cmd.CombinedOutput()
			results <- result{out, err}
		}()
	}
	wins := 0
	winsRE := regexp.MustCompile(`(?m)^\s*process_test\.go:\d+: wins=(\d+)$`)
	for range children {
		r := <-results
		if r.err != nil {
			t.Errorf("child: %v\n%s", r.err, r.out)
			continue
		}
		m := winsRE.FindSubmatch(r.out)
		if m == nil {
			t.Errorf("child reported no wins:\n%s", r.out)
			continue
		}
		n, _ := strconv.Atoi(string(m[1]))
		wins += n
	}
	if t.Failed() {
		t.FailNow()
	}
	if wins != childSlots {
		t.Errorf("%d slots claimed by %d processes, want %d", wins, children, childSlots)
	}
	s := open(t, path)
	all, err := store.ListAll(t.Context(), s, store.ExecutionFilter{})
	if err != nil {
		t.Fatalf("ListAll: %v", err)
	}
	fences := make(map[int64]bool, len(all))
	for _, e := range all {
		if e.Fence <= 0 || fences[e.Fence] {
			t.Errorf("execution %s: Fence %d, want one > 0 that no other execution has", e.ID, e.Fence)
		}
		fences[e.Fence] = true
	}
	for _, tc := range []struct {
		task string
		want int
	}{{"shared", childSlots}, {"own-0", childOwn}, {"own-3", childOwn}} {
		all, err := store.ListAll(t.Context(), s, store.ExecutionFilter{Task: tc.task})
		if err != nil {
			t.Fatalf("ListAll: %v", err)
		}
		if len(all) != tc.want {
			t.Errorf("task %s: %d executions, want %d", tc.task, len(all), tc.want)
		}
		for _, e := range all {
			if e.State != store.StateSucceeded {
				t.Errorf("task %s: execution %s is %s, want succeeded", tc.task, e.ID, e.State)
			}
		}
	}
	wantVersions(t, rawDB(t, path), sqlite.TablePrefixDefault)
}

// TestProcessChild is one process of TestProcesses; it does nothing when
// run on its own.
func TestProcessChild(t *testing.T) {
	path, name := os.Getenv(childDBEnv), os.Getenv(childNameEnv)
	if path == "" {
		t.Skip("runs as a child process of TestProcesses")
	}
	s := open(t, path)
	ctx := t.Context()
	wins := 0
	for i := range childSlots {
		e := slot("shared", slotBase.Add(time.Duration(i)*time.Minute))
		switch err := s.CreateExecution(ctx, e); {
		case err == nil:
			wins++
			e.State, e.EndedAt = store.StateSucceeded, e.StartedAt.Add(time.Millisecond)
			if err := s.UpdateExecution(ctx, e); err != nil {
				t.Fatalf("UpdateExecution: %v", err)
			}
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("claiming slot %d: %v", i, err)
		}
		for range childOwn / childSlots {
			own(t, s, name)
		}
	}
	for range childOwn % childSlots {
		own(t, s, name)
	}
	t.Logf("wins=%d", wins)
}

// own records a succeeded execution of the child's own task.
func own(t *testing.T, s *sqlite.Store, name string) {
	t.Helper()
	e := newExecution("own-" + name)
	if err := s.CreateExecution(t.Context(), e); err != nil {
		t.Fatalf("CreateExecution: %v", err)
	}
	e.State, e.EndedAt = store.StateSucceeded, e.StartedAt.Add(time.Millisecond)
	if err := s.UpdateExecution(t.Context(), e); err != nil {
		t.Fatalf("UpdateExecution: %v", err)
	}
}
