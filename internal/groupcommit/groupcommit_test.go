package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/taskmill/taskmill/internal/groupcommit"
	"github.com/taskmill/taskmill/internal/groupcommit/groupcommittest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fake is an Executor that records what it runs. A write's op is its
// number; a group fails (reruns) when it holds failOp, and panics when it
// holds panicOp.
type fake struct {
	mu      sync.Mutex
	ran     map[int]int // op: times it took effect
	groups  []int       // sizes of the groups run
	now     int         // groups running now
	most    int         // groups running at once, at most
	failOp  int
	panicOp int
}

func newFake() *fake { return &fake{ran: map[int]int{}, failOp: -1, panicOp: -1} }

func (f *fake) Alone(w *groupcommit.Write[int]) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ran[w.Op]++
	w.N, w.Err = 1, nil
}

func (f *fake) Group(ws []*groupcommit.Write[int]) bool {
	f.mu.Lock()
	f.groups = append(f.groups, len(ws))
	f.now++
	f.most = max(f.most, f.now)
	f.mu.Unlock()
	time.Sleep(100 * time.Microsecond) // let writes queue behind it
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now--
	for _, w := range ws {
		switch w.Op {
		case f.panicOp:
			panic("fake: boom")
		case f.failOp:
			return true
		}
	}
	for _, w := range ws {
		f.ran[w.Op]++
		w.N, w.Err = 1, nil
	}
	return false
}

var errAbandoned = errors.New("test: abandoned")

func newWriter(f *fake, maxBatch, maxGroups int) *groupcommit.Writer[int] {
	return groupcommit.New(groupcommit.Config[int]{Executor: f, MaxBatch: maxBatch, MaxGroups: maxGroups, Abandoned: errAbandoned})
}

// TestCancelledInQueue: a write (Exec), or a batch (ExecMany), whose
// context ends while it waits behind a running group returns at once, with
// the context's error, and never runs; the lead then passes over it to the
// write queued behind.
func TestCancelledInQueue(t *testing.T) {
	for _, groups := range []int{1, 2} {
		for _, n := range []int{1, 300} {
			t.Run(fmt.Sprintf("maxGroups=%d/writes=%d", groups, n), func(t *testing.T) {
				f := newFake()
				w := newWriter(f, 128, groups)
				release := w.Hold()
				ctx, cancel := context.WithCancel(t.Context())
				ops := make([]int, n)
				for i := range ops {
					ops[i] = i
				}
				cancelled := make(chan []groupcommit.Result, 1)
				go func() {
					if n == 1 {
						rows, err := w.Exec(ctx, ops[0])
						cancelled <- []groupcommit.Result{{N: rows, Err: err}}
						return
					}
					cancelled <- w.ExecMany(ctx, ops)
				}()
				groupcommittest.WaitQueued(t, w, n)
				later := make(chan error, 1)
				go func() {
					_, err := w.Exec(t.Context(), n)
					later <- err
				}()
				groupcommittest.WaitQueued(t, w, n+1)
				cancel()
				select {
				case res := <-cancelled:
					for i, r := range res {
						if !errors.Is(r.Err, context.Canceled) || r.N != 0 {
							t.Errorf("write %d: %d rows, %v; want 0 rows, context.Canceled", i, r.N, r.Err)
						}
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the cancelled write still waits")
				}
				release()
				if err := <-later; err != nil {
					t.Fatalf("write queued behind a cancelled one: %v", err)
				}
				for op := range n {
					if f.ran[op] != 0 {
						t.Fatalf("cancelled write %d ran", op)
					}
				}
				if f.ran[n] != 1 {
					t.Errorf("the write queued behind ran %d times, want 1", f.ran[n])
				}
				groupcommittest.CheckIdle(t, w)
			})
		}
	}
}

// TestBatchGroups: a batch of one caller goes in groups of up to MaxBatch,
// in order.
func TestBatchGroups(t *testing.T) {
	f := newFake()
	w := newWriter(f, 128, 2)
	ops := make([]int, 300)
	for i := range ops {
		ops[i] = i
	}
	for i, r := range w.ExecMany(t.Context(), ops) {
		if r.Err != nil || r.N != 1 {
			t.Fatalf("write %d: %d rows, %v", i, r.N, r.Err)
		}
	}
	if want := []int{128, 128, 44}; fmt.Sprint(f.groups) != fmt.Sprint(want) {
		t.Errorf("groups of %v writes, want %v", f.groups, want)
	}
	groupcommittest.CheckIdle(t, w)
}

// TestConcurrent: single writes and batches from many goroutines at once,
// some cancelled midway: the lead is handed to later writes of batches
// whose callers still wait on earlier ones. Every call returns; a write
// answered nil ran once, one answered with its context's error did not
// run; no group is larger than MaxBatch, no more than MaxGroups run at
// once; and the writer ends idle.
func TestConcurrent(t *testing.T) {
	for _, groups := range []int{1, 2} {
		t.Run(fmt.Sprintf("maxGroups=%d", groups), func(t *testing.T) {
			f := newFake()
			w := newWriter(f, 16, groups)
			const (
				batchers = 4
				singles  = 4
				size     = 100
				rounds   = 5
			)
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				ok   = map[int]bool{}
				fail []string
			)
			record := func(op int, r groupcommit.Result) {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case r.Err == nil:
					ok[op] = true
				case errors.Is(r.Err, context.Canceled):
				default:
					fail = append(fail, fmt.Sprintf("write %d: %v", op, r.Err))
				}
			}
			for b := range batchers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(b), 1))
					for k := range rounds {
						ops := make([]int, size)
						for i := range ops {
							ops[i] = ((b*rounds+k)*size + i) * 2
						}
						ctx, cancel := context.WithCancel(t.Context())
						if b%2 == 1 {
							time.AfterFunc(time.Duration(rng.IntN(2000))*time.Microsecond, cancel)
						}
						for i, r := range w.ExecMany(ctx, ops) {
							record(ops[i], r)
						}
						cancel()
					}
				}()
			}
			for g := range singles {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 200 {
						op := (g*200+i)*2 + 1
						n, err := w.Exec(t.Context(), op)
						record(op, groupcommit.Result{N: n, Err: err})
					}
				}()
			}
			wg.Wait()
			for _, s := range fail {
				t.Error(s)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			for op, n := range f.ran {
				if n != 1 || !ok[op] {
					t.Errorf("write %d ran %d times, answered nil: %v; want once, answered nil", op, n, ok[op])
				}
			}
			if len(f.ran) != len(ok) {
				t.Errorf("%d writes ran, %d answered nil", len(f.ran), len(ok))
			}
			for _, n := range f.groups {
				if n > 16 {
					t.Errorf("a group of %d writes, want at most 16", n)
				}
			}
			if f.most > groups {
				t.Errorf("%d groups ran at once, want at most %d", f.most, groups)
			}
			groupcommittest.CheckIdle(t, w)
		})
	}
}

// TestRunRerun: a group whose transaction is rolled back runs again one by
// one; a write whose context has ended does not run, and a group left with
// one live write runs it alone.
func TestRunRerun(t *testing.T) {
	f := newFake()
	f.failOp = 2
	w := newWriter(f, 128, 1)
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	ws := []*groupcommit.Write[int]{{Ctx: t.Context(), Op: 1}, {Ctx: t.Context(), Op: 2}, {Ctx: ended, Op: 3}}
	w.Run(ws)
	if ws[0].Err != nil || ws[1].Err != nil || ws[0].N != 1 || ws[1].N != 1 {
		t.Errorf("rerun writes: %d rows, %v; %d rows, %v; want 1 row each, no error", ws[0].N, ws[0].Err, ws[1].N, ws[1].Err)
	}
	if !errors.Is(ws[2].Err, context.Canceled) || f.ran[3] != 0 {
		t.Errorf("write with an ended context: %v, ran %d times; want context.Canceled, never", ws[2].Err, f.ran[3])
	}
	if len(f.groups) != 1 || f.ran[1] != 1 || f.ran[2] != 1 {
		t.Errorf("groups %v, ran %v; want one group of 2, then each alone", f.groups, f.ran)
	}

	f = newFake()
	w = newWriter(f, 128, 1)
	ws = []*groupcommit.Write[int]{{Ctx: ended, Op: 1}, {Ctx: t.Context(), Op: 2}}
	w.Run(ws)
	if len(f.groups) != 0 || f.ran[2] != 1 || ws[1].Err != nil {
		t.Errorf("group with one live write: groups %v, ran %v, %v; want it alone, no error", f.groups, f.ran, ws[1].Err)
	}
}

// TestPanic: a leader that panics in its group gives the group's other
// writes Config.Abandoned, and the lead passes on to the writes queued
// behind.
func TestPanic(t *testing.T) {
	f := newFake()
	f.panicOp = 1
	w := newWriter(f, 2, 1)
	release := w.Hold()
	var wg sync.WaitGroup
	var res [3]error
	var panicked [3]bool
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panicked[i] = recover() != nil }()
			_, res[i] = w.Exec(t.Context(), i+1)
		}()
		groupcommittest.WaitQueued(t, w, i+1)
	}
	release() // the first queued leads the group of 1 and 2
	wg.Wait()
	if !panicked[0] || panicked[1] || panicked[2] {
		t.Fatalf("panicked: %v; want the leader only", panicked)
	}
	if !errors.Is(res[1], errAbandoned) {
		t.Errorf("the other write of the panicking group: %v, want Config.Abandoned", res[1])
	}
	if res[2] != nil || f.ran[3] != 1 {
		t.Errorf("the write queued behind: %v, ran %d times; want nil, once", res[2], f.ran[3])
	}
	groupcommittest.CheckIdle(t, w)
}

// TestContext: the context of a group ends once the contexts of all its
// writes have ended, not before.
func TestContext(t *testing.T) {
	a, cancelA := context.WithCancel(t.Context())
	b, cancelB := context.WithCancel(t.Context())
	defer cancelA()
	defer cancelB()
	ctx, stop := groupcommit.Context([]*groupcommit.Write[int]{{Ctx: a}, {Ctx: b}})
	defer stop()
	cancelA()
	select {
	case <-ctx.Done():
		t.Fatal("the group's context ended when one of its two writes' did")
	case <-time.After(10 * time.Millisecond):
	}
	cancelB()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the group's context did not end when all its writes' did")
	}
}
