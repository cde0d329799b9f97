package task

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/sqlite"
)

// progressRun starts a run of a task whose job hands out its Progress and
// waits for release; it returns the run's id and its Progress.
func progressRun(t *testing.T, b *bundle) (uuid.UUID, *Progress, chan struct{}) {
	t.Helper()
	got := make(chan *Progress, 1)
	release := make(chan struct{})
	b.register(t, Spec{Name: "ingest", Job: JobFunc(func(ctx context.Context) error {
		got <- ProgressOf(ctx)
		<-release
		return nil
	})})
	b.start(t)
	id := b.runNow(t, "ingest")
	select {
	case p := <-got:
		if p == nil {
			t.Fatal("ProgressOf in a run = nil")
		}
		return id, p, release
	case <-time.After(waitLimit):
		t.Fatal("the job did not start")
	}
	return id, nil, nil
}

// A job that names its phase before counting has one phase in its report,
// not an empty unnamed one beside it.
func TestProgressUnnamedPhaseLeftOutWhenEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id, p, release := progressRun(t, b)
	p.SetPhase("ingest")
	p.Add("rows", 3)
	if rep, _ := b.eng.Report(id); len(rep.Phases) != 1 || rep.Phases[0].Name != "ingest" {
		t.Fatalf("phases %+v, want ingest alone", rep.Phases)
	}
	close(release)
	x := b.wait(t, id)
	rep, ok, err := ReportOf(x)
	if err != nil || !ok || len(rep.Phases) != 1 || rep.Phases[0].Counters[0].Total != 3 {
		t.Fatalf("final report %+v (%v, %v)", rep, ok, err)
	}
}

// A job counting at known rates gives the moving averages of Druid's
// (Dropwizard's) formula, computed here on its own: ticks every 5 s,
// alpha = 1 - exp(-5 s / window), the first tick sets the rate.
func TestProgressMovingAverages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id, p, release := progressRun(t, b)
	defer close(release)

	windows := []float64{60, 300, 900}
	var want [3]float64
	primed := false
	c := p.Counter("processed")
	for tick := 1; tick <= 40; tick++ {
		// 10 events/s for 12 ticks, 4/s for 12, then nothing.
		var n int64
		switch {
		case tick <= 12:
			n = 50
		case tick <= 24:
			n = 20
		}
		c.Add(n)
		b.clock.Advance(5 * time.Second)
		rate := float64(n) / 5
		for i, w := range windows {
			if primed {
				want[i] += (1 - math.Exp(-5/w)) * (rate - want[i])
			} else {
				want[i] = rate
			}
		}
		primed = true

		rep, ok := b.eng.Report(id)
		if !ok {
			t.Fatalf("tick %d: Report(%v) not found", tick, id)
		}
		cr := rep.Phases[0].Counters[0]
		got := [3]float64{cr.Rate1m, cr.Rate5m, cr.Rate15m}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-9 {
				t.Fatalf("tick %d: %v-minute rate = %.12f, want %.12f", tick, windows[i]/60, got[i], want[i])
			}
		}
		if wantTotal := int64(min(tick, 12)*50 + max(0, min(tick, 24)-12)*20); cr.Total != wantTotal {
			t.Fatalf("tick %d: total = %d, want %d", tick, cr.Total, wantTotal)
		}
	}
}

// Reading late catches up: the ticks missed while nobody read (and the
// ticker had not run) are applied on read, the counts since the last tick
// going to the first of them.
func TestProgressCatchesUpOnRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id, p, release := progressRun(t, b)
	defer close(release)
	p.Add("rows", 30)
	p.mu.Lock()
	p.catchUpLocked(p.lastTick.Add(15 * time.Second)) // three ticks at once
	p.mu.Unlock()
	rep, _ := b.eng.Report(id)
	cr := rep.Phases[0].Counters[0]
	a := 1 - math.Exp(-5.0/60)
	want := 6.0 // 30 events in the first tick: 6/s, then two ticks of 0
	want += a * (0 - want)
	want += a * (0 - want)
	if math.Abs(cr.Rate1m-want) > 1e-9 {
		t.Fatalf("1-minute rate after catching up three ticks = %.12f, want %.12f", cr.Rate1m, want)
	}
}

func TestProgressPhasesErrorsAndBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t, WithRecentErrors(3))
	id, p, release := progressRun(t, b)
	defer close(release)

	p.Add("processed", 5)
	p.Add("processed", -2) // ignored: counters only grow
	p.Add("processed", 0)
	p.Add("", 7) // ignored: no name
	p.Counter("").Add(3)
	p.SetPhase("buildSegments")
	p.Add("processed", 2)
	p.Add("thrownAway", 1)
	p.SetPhase(DefaultPhase)
	p.Add("unparseable", 4)
	for i := 1; i <= 5; i++ {
		p.Error(fmt.Sprintf("row-%d", i), fmt.Errorf("bad row %d", i))
	}
	p.Error("row-6", nil) // ignored

	rep, ok := b.eng.Report(id)
	if !ok {
		t.Fatal("Report not found")
	}
	if rep.Phase != DefaultPhase || len(rep.Phases) != 2 {
		t.Fatalf("phase %q, phases %+v", rep.Phase, rep.Phases)
	}
	totals := map[string]int64{}
	for _, ph := range rep.Phases {
		for _, c := range ph.Counters {
			totals[ph.Name+"/"+c.Name] = c.Total
		}
	}
	want := map[string]int64{"/processed": 5, "/unparseable": 4, "buildSegments/processed": 2, "buildSegments/thrownAway": 1}
	if fmt.Sprint(totals) != fmt.Sprint(want) {
		t.Fatalf("totals = %v, want %v", totals, want)
	}
	// Once the job names a phase, the unnamed one shows only if it
	// counted: here it did.
	p.SetPhase("publish")
	if rep, _ := b.eng.Report(id); len(rep.Phases) != 3 || rep.Phases[0].Name != DefaultPhase || rep.Phase != "publish" {
		t.Fatalf("after SetPhase: phase %q, phases %+v", rep.Phase, rep.Phases)
	}
	if rep.ErrorCount != 5 || len(rep.Errors) != 3 {
		t.Fatalf("errors: count %d, kept %d; want 5 and 3", rep.ErrorCount, len(rep.Errors))
	}
	for i, e := range rep.Errors {
		if wantItem := fmt.Sprintf("row-%d", i+3); e.Item != wantItem || e.Message != fmt.Sprintf("bad row %d", i+3) || e.At.IsZero() {
			t.Fatalf("kept error %d = %+v, want %s (the newest, oldest first)", i, e, wantItem)
		}
	}
	if _, ok := b.eng.Report(uuid.New()); ok {
		t.Fatal("Report of an unknown id found something")
	}
}

func TestProgressOutsideARunDoesNothing(t *testing.T) {
	t.Parallel()
	p := ProgressOf(context.Background())
	if p != nil {
		t.Fatalf("ProgressOf outside a run = %v, want nil", p)
	}
	p.Add("x", 1)
	p.SetPhase("y")
	p.Error("z", errors.New("e"))
	p.Counter("x").Add(1)
	if _, err := New(WithRecentErrors(-1)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("WithRecentErrors(-1) error = %v, want ErrInvalidOption", err)
	}
}

// Many goroutines of one job count at once; none of their counts is lost.
func TestProgressConcurrentCounting(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id, p, release := progressRun(t, b)
	defer close(release)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				p.Add(fmt.Sprintf("c%d", i%4), 1)
				if i%100 == 0 {
					p.Error("", errors.New("x"))
					_, _ = b.eng.Report(id)
				}
			}
		}()
	}
	wg.Wait()
	rep, _ := b.eng.Report(id)
	var total int64
	for _, c := range rep.Phases[0].Counters {
		total += c.Total
	}
	if total != 8000 || rep.ErrorCount != 80 {
		t.Fatalf("total %d, errors %d; want 8000 and 80", total, rep.ErrorCount)
	}
}

// Counting allocates nothing once a counter exists.
func TestProgressCountingDoesNotAllocate(t *testing.T) {
	b := setup(t)
	_, p, release := progressRun(t, b)
	defer close(release)
	p.Add("processed", 1)
	c := p.Counter("processed")
	if n := testing.AllocsPerRun(1000, func() { p.Add("processed", 1); c.Add(1) }); n != 0 {
		t.Fatalf("counting allocates %v times per call", n)
	}
}

// The final report is kept on the run's record: Wait returns it, and it
// survives reopening a SQLite file. A run whose job reported nothing has
// none.
func TestProgressFinalReportOnTheRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "report.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(WithStore(st), WithoutInitHooks(), WithRecentErrors(2))
	if err != nil {
		t.Fatal(err)
	}
	job := JobFunc(func(ctx context.Context) error {
		p := ProgressOf(ctx)
		p.SetPhase("load")
		p.Add("processed", 1200)
		p.Add("unparseable", 3)
		for i := range 3 {
			p.Error(fmt.Sprintf("row-%d", i), errors.New("bad date"))
		}
		return nil
	})
	for _, s := range []Spec{{Name: "load", Job: job}, {Name: "quiet", Job: JobFunc(ok)}} {
		if err := eng.Register(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := eng.RunNow(ctx, "load")
	if err != nil {
		t.Fatal(err)
	}
	quiet, err := eng.RunNow(ctx, "quiet")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	x, err := eng.Wait(wctx, id)
	if err != nil {
		t.Fatal(err)
	}
	q, err := eng.Wait(wctx, quiet)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, x *store.Execution) {
		t.Helper()
		rep, ok, err := ReportOf(x)
		if err != nil || !ok {
			t.Fatalf("%s: ReportOf = %v, %v; want a report", what, ok, err)
		}
		if rep.Phase != "load" || len(rep.Phases) != 1 || rep.ErrorCount != 3 || len(rep.Errors) != 2 {
			t.Fatalf("%s: report %+v", what, rep)
		}
		got := map[string]int64{}
		for _, c := range rep.Phases[0].Counters {
			got[c.Name] = c.Total
		}
		if got["processed"] != 1200 || got["unparseable"] != 3 {
			t.Fatalf("%s: load counters %v", what, got)
		}
		if rep.Errors[1].Item != "row-2" || rep.Errors[1].Message != "bad date" {
			t.Fatalf("%s: newest error %+v", what, rep.Errors[1])
		}
	}
	check("Wait", x)
	if _, ok, err := ReportOf(q); ok || err != nil {
		t.Fatalf("a run that reported nothing: ReportOf = %v, %v; want none", ok, err)
	}
	if err := eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	back, err := st2.GetExecution(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	check("after reopening", back)
	if _, _, err := ReportOf(&store.Execution{Report: "{not json"}); err == nil {
		t.Fatal("ReportOf of a record whose report is not JSON: no error")
	}
}

// A running execution's report is saved to its record every
// WithReportInterval, where anything reading the store sees it while the
// run goes; the run still reads running there.
func TestProgressSavedWhileRunning(t *testing.T) {
	t.Parallel()
	b := setup(t, WithReportInterval(10*time.Second))
	id, p, release := progressRun(t, b)
	defer close(release)
	p.Add("processed", 40)
	read := func() (*store.Execution, Report, bool) {
		x, err := b.store.GetExecution(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		rep, ok, err := ReportOf(x)
		if err != nil {
			t.Fatal(err)
		}
		return x, rep, ok
	}
	if _, _, ok := read(); ok {
		t.Fatal("a report was saved before the first interval")
	}
	b.clock.Advance(10 * time.Second)
	if !eventually(func() bool { _, _, ok := read(); return ok }) {
		t.Fatal("no report saved after the interval")
	}
	x, rep, _ := read()
	if x.State != store.StateRunning {
		t.Fatalf("state %s while the job runs, want running", x.State)
	}
	// Two ticks: 40 events in the first (8/s), none in the second.
	want := 8 * math.Exp(-5.0/60)
	if c := rep.Phases[0].Counters; len(c) != 1 || c[0].Total != 40 || math.Abs(c[0].Rate1m-want) > 1e-9 {
		t.Fatalf("saved counters %+v, want processed=40 at %.9f/s", c, want)
	}
	if _, err := New(WithReportInterval(0)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("WithReportInterval(0) error = %v, want ErrInvalidOption", err)
	}
}

// A running execution's saved report is read from a second handle on the
// same SQLite file, as another engine would read it (real clock, a short
// interval).
func TestProgressSavedReportSeenByAnotherHandle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "live.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := New(WithStore(st), WithoutInitHooks(), WithReportInterval(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	err = eng.Register(Spec{Name: "import", Job: JobFunc(func(ctx context.Context) error {
		p := ProgressOf(ctx)
		p.SetPhase("parse")
		p.Add("processed", 700)
		p.Error("line 9", errors.New("unparseable"))
		<-release
		return nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Shutdown(ctx)
	id, err := eng.RunNow(ctx, "import")
	if err != nil {
		t.Fatal(err)
	}
	other, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var x *store.Execution
	var rep Report
	saved := eventually(func() bool {
		var err error
		if x, err = other.GetExecution(ctx, id); err != nil {
			return false
		}
		var ok bool
		rep, ok, err = ReportOf(x)
		return err == nil && ok && len(rep.Phases) == 1 && len(rep.Phases[0].Counters) == 1
	})
	if !saved {
		t.Fatalf("no saved report seen from another handle (last: %+v)", x)
	}
	if x.State != store.StateRunning || rep.Phase != "parse" || rep.Phases[0].Counters[0].Total != 700 || rep.ErrorCount != 1 {
		t.Fatalf("saved report %+v in state %s", rep, x.State)
	}
	close(release)
	wctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	if _, err := eng.Wait(wctx, id); err != nil {
		t.Fatal(err)
	}
}

// A report made for a run already recorded ended does not tick, and one
// whose run ends without stopping it stops itself at its next tick: no
// timer is left behind.
func TestProgressOfAnEndedRunStops(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	e, err := New(WithClock(clock), WithoutInitHooks())
	if err != nil {
		t.Fatal(err)
	}
	r := &run{e: e}
	if p := newProgress(r, false); !p.stopped || p.ticker != nil || p.saver != nil {
		t.Fatalf("a report made for an ended run ticks: %+v", p)
	}
	p := newProgress(r, true)
	r.mu.Lock()
	r.finalized = true
	r.mu.Unlock()
	clock.Advance(reportTick)
	stopped := eventually(func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.stopped
	})
	if !stopped {
		t.Fatal("the report of an ended run still ticks")
	}
	if err := clock.BlockUntilContext(t.Context(), 0); err != nil {
		t.Fatalf("timers left behind: %v", err)
	}
}
