// This file owns a run's live report: the counters and recent errors a job
// reports through ProgressOf, their moving averages, and Engine.Report.

package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/taskmill/taskmill/store"
)

// Moving averages of a counter, as Druid's row statistics compute them
// (Dropwizard meters): ticked every reportTick, each tick moves a rate
// toward the events per second of the tick just ended by
// alpha = 1 - exp(-reportTick/window); the first tick sets it.
const reportTick = 5 * time.Second

var reportWindows = [3]time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}

// reportAlpha[i] is the weight of a tick for reportWindows[i].
var reportAlpha = func() (a [3]float64) {
	for i, w := range reportWindows {
		a[i] = 1 - math.Exp(-reportTick.Seconds()/w.Seconds())
	}
	return a
}()

// RecentErrorsDefault is how many of the newest errors a run's report
// keeps (Druid's maxSavedParseExceptions); WithRecentErrors changes it.
const RecentErrorsDefault = 10

// ReportIntervalDefault is how often a running execution's live report is
// saved to the store; WithReportInterval changes it.
const ReportIntervalDefault = 10 * time.Second

// DefaultPhase is the phase of counts made before the job sets one.
const DefaultPhase = ""

// Progress is a run's live report, written from inside its job: named
// counters, grouped by the phase the job is in, and recoverable errors
// about single input items. Get it with ProgressOf. Its methods are safe
// from any number of the job's goroutines; counting takes no lock shared
// with other runs and allocates nothing once a counter exists. A nil
// *Progress (outside a run) ignores every call.
//
// Counter names are the job's; Druid's are processed, processedWithError,
// thrownAway and unparseable. Counters only grow: a negative or zero
// count, and an empty counter name, are ignored.
type Progress struct {
	r        *run
	clock    clockwork.Clock
	keep     int // recent errors kept
	phase    atomic.Pointer[phaseCounters]
	mu       sync.Mutex // guards what follows, and each counter's rates
	phases   []*phaseCounters
	errs     []ReportedError // the newest keep, oldest first
	errCount int64
	lastTick time.Time // the end of the last tick
	ticker   clockwork.Timer
	saver    clockwork.Timer // saves the report to the record every reportEvery
	stopped  bool
}

// phaseCounters are the counters of one phase.
type phaseCounters struct {
	name     string
	mu       sync.RWMutex // guards counters (the map, not the counts)
	counters map[string]*Counter
	order    []string // names in the order they first counted
}

// Counter is one named count of a run in one phase. Add to it directly
// when a job counts in a loop: it is one atomic add.
type Counter struct {
	n atomic.Int64

	// Rates, guarded by Progress.mu.
	ticked int64 // n at the last tick
	rates  [3]float64
	primed bool
}

// Add adds n to the counter; n <= 0 and a nil Counter are ignored.
func (c *Counter) Add(n int64) {
	if c == nil || n <= 0 {
		return
	}
	c.n.Add(n)
}

// ProgressOf returns the live report of the run ctx belongs to, made on
// first use, or nil outside a run.
func ProgressOf(ctx context.Context) *Progress {
	r := runFrom(ctx)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.progress == nil {
		r.progress = newProgress(r, !r.finalized)
	}
	return r.progress
}

// newProgress makes a run's report, ticking if tick (not for a run
// already recorded ended: its job went on after Shutdown gave up on it).
func newProgress(r *run, tick bool) *Progress {
	e := r.e
	p := &Progress{r: r, clock: e.clock, keep: e.cfg.recentErrors, lastTick: e.clock.Now(), stopped: !tick}
	p.phases = []*phaseCounters{newPhase(DefaultPhase)}
	p.phase.Store(p.phases[0])
	if tick {
		p.ticker = e.clock.AfterFunc(reportTick, p.onTick)
		p.saver = e.clock.AfterFunc(e.cfg.reportEvery, p.onSave)
	}
	return p
}

// onSave writes the report to the run's record, and arms the next save.
func (p *Progress) onSave() {
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if stopped {
		return
	}
	if !p.r.saveReport(p.finalJSON()) {
		p.stop() // the run has ended
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.saver = p.clock.AfterFunc(p.r.e.cfg.reportEvery, p.onSave)
	}
}

// saveReport writes report to the record of the running run, in line with
// the run's other writes (its end waits for it). Once the run is
// recorded ended it does nothing and returns false; a store that refuses
// is logged, and the next save tries again.
func (r *run) saveReport(report string) bool {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	r.mu.Lock()
	if r.finalized {
		r.mu.Unlock()
		return false
	}
	x := *r.exec
	r.mu.Unlock()
	x.Report = store.CleanText(report)
	if err := r.e.store.UpdateExecution(r.e.storeCtx, &x); err != nil && !errors.Is(err, store.ErrConflict) {
		r.e.log.Warn("could not save a running execution's report", zap.String("task", x.Task),
			zap.Stringer("execution", x.ID), zap.Error(err))
	}
	return true
}

// ended reports whether the run is recorded ended.
func (r *run) ended() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.finalized
}

func newPhase(name string) *phaseCounters {
	return &phaseCounters{name: name, counters: make(map[string]*Counter)}
}

// SetPhase makes phase the one later counts go to (Druid's
// determinePartitions, buildSegments). Counts made before stay in their
// phase.
func (p *Progress) SetPhase(phase string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ph := range p.phases {
		if ph.name == phase {
			p.phase.Store(ph)
			return
		}
	}
	ph := newPhase(phase)
	p.phases = append(p.phases, ph)
	p.phase.Store(ph)
}

// Add adds n to the counter name of the current phase.
func (p *Progress) Add(name string, n int64) {
	if p == nil || n <= 0 || name == "" {
		return
	}
	p.Counter(name).Add(n)
}

// Counter returns the counter name of the current phase, to add to in a
// loop; nil (which ignores Add) for an empty name or a nil Progress.
func (p *Progress) Counter(name string) *Counter {
	if p == nil || name == "" {
		return nil
	}
	ph := p.phase.Load()
	ph.mu.RLock()
	c := ph.counters[name]
	ph.mu.RUnlock()
	if c != nil {
		return c
	}
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if c = ph.counters[name]; c == nil {
		c = &Counter{}
		ph.counters[name] = c
		ph.order = append(ph.order, name)
	}
	return c
}

// Error records a recoverable error about one input item (item may be
// empty): the report keeps the newest few (WithRecentErrors) and counts
// them all. A nil err is ignored.
func (p *Progress) Error(item string, err error) {
	if p == nil || err == nil {
		return
	}
	re := ReportedError{At: p.clock.Now(), Item: item, Message: err.Error()}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errCount++
	if p.keep <= 0 {
		return
	}
	if len(p.errs) == p.keep {
		p.errs = slices.Delete(p.errs, 0, 1)
	}
	p.errs = append(p.errs, re)
}

// onTick ticks the rates when the ticker fires, and arms it again while
// the run goes. (A job that asked for its report while Shutdown was giving
// up on its run may have made it after the run's end stopped the one
// before: it stops itself here.)
func (p *Progress) onTick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.catchUpLocked(p.clock.Now())
	if p.r.ended() {
		p.stopLocked()
		return
	}
	p.ticker = p.clock.AfterFunc(p.lastTick.Add(reportTick).Sub(p.clock.Now()), p.onTick)
}

// catchUpLocked ticks once for every whole reportTick from lastTick to
// now: the counts since the last tick go to the first, none to the others
// (as a Dropwizard meter does when nothing was marked in between).
// p.mu must be held.
func (p *Progress) catchUpLocked(now time.Time) {
	for !now.Before(p.lastTick.Add(reportTick)) {
		p.lastTick = p.lastTick.Add(reportTick)
		for _, ph := range p.phases {
			ph.mu.RLock()
			for _, c := range ph.counters {
				n := c.n.Load()
				rate := float64(n-c.ticked) / reportTick.Seconds()
				c.ticked = n
				for i, a := range reportAlpha {
					if c.primed {
						c.rates[i] += a * (rate - c.rates[i])
					} else {
						c.rates[i] = rate
					}
				}
				c.primed = true
			}
			ph.mu.RUnlock()
		}
	}
}

// stop ends the ticking and the saving, when the run ends.
func (p *Progress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
}

// stopLocked is stop with p.mu held.
func (p *Progress) stopLocked() {
	p.stopped = true
	if p.ticker != nil {
		p.ticker.Stop()
	}
	if p.saver != nil {
		p.saver.Stop()
	}
}

// Report is a run's live report; the final one is kept on the run's
// record as JSON (store.Execution.Report, read with ReportOf).
type Report struct {
	Phase string `json:"phase"` // the phase counts go to now, or went to last
	// Phases are in the order the job entered them; the unnamed
	// DefaultPhase only if it counted or is the phase now.
	Phases     []PhaseReport   `json:"phases,omitempty"`
	Errors     []ReportedError `json:"errors,omitempty"`
	ErrorCount int64           `json:"errorCount"` // every error reported, also those no longer kept
}

// PhaseReport is the counters of one phase.
type PhaseReport struct {
	Name     string          `json:"name"`
	Counters []CounterReport `json:"counters,omitempty"` // in the order they first counted
}

// CounterReport is one counter: its total and its 1-, 5- and 15-minute
// moving averages in events per second (zero until the first tick).
type CounterReport struct {
	Name    string  `json:"name"`
	Total   int64   `json:"total"`
	Rate1m  float64 `json:"rate1m"`
	Rate5m  float64 `json:"rate5m"`
	Rate15m float64 `json:"rate15m"`
}

// ReportedError is a recoverable error a job reported about one item.
type ReportedError struct {
	At      time.Time `json:"at"`
	Item    string    `json:"item,omitempty"` // the item's identifier, if the job gave one
	Message string    `json:"message"`
}

// ReportOf returns the final report kept on a record, and false if the
// record has none (its job did not ask for ProgressOf). An error means
// the record's Report is not a report.
func ReportOf(x *store.Execution) (Report, bool, error) {
	if x == nil || x.Report == "" {
		return Report{}, false, nil
	}
	var rep Report
	if err := json.Unmarshal([]byte(x.Report), &rep); err != nil {
		return Report{}, false, fmt.Errorf("task: execution %s: report: %w", x.ID, err)
	}
	return rep, true, nil
}

// finalJSON is the report as the run's record keeps it, or "" if it cannot
// be written (it always can: the types hold only strings, numbers and
// times).
func (p *Progress) finalJSON() string {
	b, err := json.Marshal(p.snapshot())
	if err != nil {
		return ""
	}
	return string(b)
}

// snapshot catches the rates up to now and copies the report.
func (p *Progress) snapshot() Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		p.catchUpLocked(p.clock.Now())
	}
	cur := p.phase.Load()
	rep := Report{Phase: cur.name, Errors: slices.Clone(p.errs), ErrorCount: p.errCount}
	for _, ph := range p.phases {
		pr := PhaseReport{Name: ph.name}
		ph.mu.RLock()
		if ph.name == DefaultPhase && ph != cur && len(ph.order) == 0 {
			// The unnamed phase of a job that named its own before
			// counting: nothing to say.
			ph.mu.RUnlock()
			continue
		}
		for _, name := range ph.order {
			c := ph.counters[name]
			pr.Counters = append(pr.Counters, CounterReport{Name: name, Total: c.n.Load(),
				Rate1m: c.rates[0], Rate5m: c.rates[1], Rate15m: c.rates[2]})
		}
		ph.mu.RUnlock()
		rep.Phases = append(rep.Phases, pr)
	}
	return rep
}

// Report returns the live report of a run in flight on this engine, and
// false if no such run is here or its job has not asked for ProgressOf.
func (e *Engine) Report(id uuid.UUID) (Report, bool) {
	r := e.runs.get(id)
	if r == nil {
		return Report{}, false
	}
	r.mu.Lock()
	p := r.progress
	r.mu.Unlock()
	if p == nil {
		return Report{}, false
	}
	return p.snapshot(), true
}
