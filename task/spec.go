// This file owns Spec and its validation, Job, Condition, OverlapPolicy,
// and the cache of parsed schedules.

package task

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/internal/quote"
)

// Job is the work a task does. Run's context is cancelled when the run is
// cancelled, times out or the engine shuts down; a job should return soon
// after. Returning nil records success; an error records failure (and its
// exit code, see the package doc). A panic in Run is recovered and recorded
// as a failed run with the panic's stack; it never crashes the host.
type Job interface {
	Run(ctx context.Context) error
}

// JobFunc adapts a function to Job.
type JobFunc func(ctx context.Context) error

// Run calls f(ctx).
func (f JobFunc) Run(ctx context.Context) error { return f(ctx) }

// Condition decides whether a fire runs the job (Snowflake's WHEN). False
// records the fire as skipped with reason "condition"; an error (or a panic)
// records a failed run.
type Condition func(ctx context.Context) (bool, error)

// OverlapPolicy says what a fire does when the task is still running.
type OverlapPolicy int

// Overlap policies.
const (
	// OverlapSkip records the fire as skipped with reason "overlap". The
	// default: a task never runs twice at once.
	OverlapSkip OverlapPolicy = iota
	// OverlapAllow runs the fire alongside the running one.
	OverlapAllow
	// OverlapQueueOne keeps one fire pending (recorded as pending) and
	// starts it when the running one ends; a fire finding one already
	// pending is skipped with reason "overlap".
	OverlapQueueOne
)

// String returns "skip", "allow" or "queue-one".
func (p OverlapPolicy) String() string {
	switch p {
	case OverlapSkip:
		return "skip"
	case OverlapAllow:
		return "allow"
	case OverlapQueueOne:
		return "queue-one"
	}
	return fmt.Sprintf("OverlapPolicy(%d)", int(p))
}

// Spec defines a task. Name and Job are required; everything else has a
// useful zero value.
type Spec struct {
	// Name identifies the task in the engine and in the store. Required;
	// at most 200 bytes of valid UTF-8, no control characters.
	Name string
	// Description is free text shown by diagnostics.
	Description string
	// Schedule fires the task, as a value: cron.Every, a parsed
	// expression, or a Schedule of the host's own. Set Schedule or Cron,
	// not both; a task with neither runs only through RunNow.
	Schedule cron.Schedule
	// Cron is the schedule as text, the common case: a 5- or 6-field
	// expression or a descriptor ("@every 90s"), often read from
	// configuration. Register parses it with cron.Parse(Cron, TimeZone)
	// and rejects an invalid one with a *cron.ParseError naming the field,
	// so a host needs no parse step of its own.
	Cron string
	// TimeZone is the IANA zone of Cron; empty means UTC.
	TimeZone string
	// Job is the work. Required: nil and a nil JobFunc are rejected.
	Job Job
	// After makes the task a dependent in a task graph: it runs when these
	// tasks finish in the same graph run (Snowflake's AFTER), as
	// TriggerRule says. A dependent has no Schedule; the graph's root has.
	// Each name follows the rule of Name.
	After []string
	// TriggerRule says which outcomes of the predecessors run the task.
	// Default AllSucceeded. Ignored on tasks without After.
	TriggerRule TriggerRule
	// When, if set, is evaluated at each scheduled fire before the job;
	// false records a skipped run ("condition"). RunNow does not evaluate
	// it: an explicit request runs.
	When Condition
	// Timeout, if positive, cancels a run after that long; the run is
	// recorded failed with an error wrapping ErrTimeout. Zero means none;
	// negative is rejected.
	Timeout time.Duration
	// Overlap says what a fire does while the task runs. Default OverlapSkip.
	Overlap OverlapPolicy
	// SuspendAfterFailures, if positive, suspends the task after that many
	// consecutive failed runs (Snowflake's SUSPEND_TASK_AFTER_NUM_FAILURES).
	// A success or a Resume resets the count. Zero means never; negative
	// is rejected.
	SuspendAfterFailures int
	// Misfire says what Start does with slots that passed while no engine
	// ran, and what the engine does with fires the store refused once it
	// answers again. Default MisfireSkip.
	Misfire MisfirePolicy
	// CatchUpWindow is how far back MisfireRunAll runs missed slots.
	// Default CatchUpWindowDefault; negative is rejected.
	CatchUpWindow time.Duration
	// StartSuspended registers the task suspended unless the store already
	// holds a state for it (a persisted state always wins).
	StartSuspended bool
	// ErrorIntegration names the integration (WithIntegration) told when a
	// run fails (TASK_FAILED) and when the task is suspended after
	// SuspendAfterFailures (TASK_SUSPENDED). Start rejects an unknown name.
	ErrorIntegration string
	// NotifyOnSuccess also sends TASK_SUCCEEDED to ErrorIntegration after
	// each successful run.
	NotifyOnSuccess bool
	// Params are values the job reads with Param(ctx, key).
	Params map[string]string
	// Listeners run around each run of this task, after the engine's own
	// listeners (WithListener).
	Listeners []Listener
	// RecoverAbandoned re-runs an execution of this task that an engine
	// marks abandoned (its node died without recording an end), as
	// Quartz's requestsRecovery does: the engine that marks it creates a
	// pending execution with trigger recovery, the same ScheduledAt,
	// Args and ExternalID, and ParentID the abandoned one, in the same
	// store step, so the slot runs once more exactly once however many
	// engines sweep; it starts when the task is free. A graph member is
	// re-run alone: its dependents do not run after the re-run. The
	// engine that marks the record must have the task registered (else
	// the record is marked without a re-run, and logged). Off by
	// default: a job that is not idempotent must not run twice.
	RecoverAbandoned bool
}

// def is a registered task's definition as the engine keeps it, shared by
// the task's entry and its runs and never changed but for Schedule (which
// arm sets to the group's). What every task has is inline; the rest of the
// Spec is kept only when the task sets any of it. That buys the idle
// workload's heap target (many plain scheduled tasks; bench/README.md).
// Cron and TimeZone live on as Schedule.
type def struct {
	Name     string
	Job      Job
	Schedule cron.Schedule
	x        *Spec // the whole spec, or nil when the rest is zero
}

// noOptions is the rest of every def whose rest is zero. Read only.
var noOptions Spec

// o returns the rest of the definition: the whole spec, or a zero one.
func (d *def) o() *Spec {
	if d.x != nil {
		return d.x
	}
	return &noOptions
}

// newDef keeps a prepared spec as a def.
func newDef(s *Spec) *def {
	d := &def{Name: s.Name, Job: s.Job, Schedule: s.Schedule}
	if !s.restIsZero() {
		d.x = s
	}
	return d
}

// restIsZero reports whether every field but Name, Job and the schedule
// (Schedule, Cron, TimeZone) is zero.
func (s *Spec) restIsZero() bool {
	return s.Description == "" && len(s.After) == 0 && s.TriggerRule == 0 && s.When == nil &&
		s.Timeout == 0 && s.Overlap == 0 && s.SuspendAfterFailures == 0 && s.Misfire == 0 &&
		s.CatchUpWindow == 0 && !s.StartSuspended && s.ErrorIntegration == "" && !s.NotifyOnSuccess &&
		len(s.Params) == 0 && len(s.Listeners) == 0 && !s.RecoverAbandoned
}

// scheduleCache keeps the schedules parsed from Cron and TimeZone, once
// they passed validation, by their text: hosts register many tasks on few
// expressions, and sharing the parse buys the idle workload's registration
// target (bench/README.md). Schedules are immutable values, so tasks share
// them.
type scheduleCache struct {
	mu sync.Mutex
	m  map[[2]string]cron.Schedule
}

func (c *scheduleCache) get(expr, tz string) cron.Schedule {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[[2]string{expr, tz}]
}

func (c *scheduleCache) put(expr, tz string, s cron.Schedule) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[2]string]cron.Schedule)
	}
	if len(c.m) >= maxCachedSchedules {
		clear(c.m) // a host generating expressions: start over
	}
	c.m[[2]string{expr, tz}] = s
}

// maxCachedSchedules bounds a scheduleCache.
const maxCachedSchedules = 4096

// MaxNameLen is the longest task name Register accepts, in bytes.
const MaxNameLen = 200

// validate checks a spec and returns an error naming the task and the
// field. It parses Cron into Schedule, through cache if not nil.
func (s *Spec) validate(cache *scheduleCache) error {
	if err := validateName("task name", s.Name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: task %q: %s", ErrInvalidSpec, s.Name, fmt.Sprintf(format, args...))
	}
	if s.Job == nil {
		return bad("job is nil")
	}
	if f, ok := s.Job.(JobFunc); ok && f == nil {
		return bad("job is a nil JobFunc")
	}
	for i, name := range s.After {
		if err := validateName(fmt.Sprintf("After[%d]", i), name); err != nil {
			return bad("%v", err)
		}
	}
	if s.Timeout < 0 {
		return bad("timeout %v is negative", s.Timeout)
	}
	if s.SuspendAfterFailures < 0 {
		return bad("SuspendAfterFailures %d is negative", s.SuspendAfterFailures)
	}
	if s.Misfire < MisfireSkip || s.Misfire > MisfireRunAll {
		return bad("unknown misfire policy %d", int(s.Misfire))
	}
	if s.CatchUpWindow < 0 {
		return bad("CatchUpWindow %v is negative", s.CatchUpWindow)
	}
	if s.Overlap < OverlapSkip || s.Overlap > OverlapQueueOne {
		return bad("unknown overlap policy %d", int(s.Overlap))
	}
	for i, l := range s.Listeners {
		if l == nil {
			return bad("listener %d is nil", i)
		}
	}
	if s.Cron != "" || s.TimeZone != "" {
		if s.Schedule != nil {
			return bad("both Schedule and Cron are set")
		}
		if s.Cron == "" {
			return bad("TimeZone %s is set without Cron", quote.Short(s.TimeZone))
		}
		if len(s.After) > 0 {
			return bad("has both a schedule and predecessors %q: a dependent runs when its predecessors finish; give the schedule to its graph's root", s.After)
		}
		if sched := cache.get(s.Cron, s.TimeZone); sched != nil {
			s.Schedule = sched // parsed and checked before
			return nil
		}
		sched, err := cron.Parse(s.Cron, s.TimeZone)
		if err != nil {
			return fmt.Errorf("%w: task %q: %w", ErrInvalidSpec, s.Name, err)
		}
		s.Schedule = sched
		if err := s.checkSchedule(); err != nil {
			return err
		}
		cache.put(s.Cron, s.TimeZone, sched)
		return nil
	}
	if s.Schedule != nil && len(s.After) > 0 {
		return bad("has both a schedule and predecessors %q: a dependent runs when its predecessors finish; give the schedule to its graph's root", s.After)
	}
	return s.checkSchedule()
}

// checkSchedule checks that Schedule, if set, can be used.
func (s *Spec) checkSchedule() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: task %q: %s", ErrInvalidSpec, s.Name, fmt.Sprintf(format, args...))
	}
	if s.Schedule != nil {
		// A nil *cron.Expr or a schedule that panics, or that does not
		// move forward, is bad input, not a crash or a hang later in the
		// timer goroutine. (Start asks it again, after the clock's now.)
		var key string
		if err := protect(func() error {
			key = s.Schedule.String()
			return nil
		}); err != nil {
			return bad("schedule cannot be used: %v", firstLine(err.Error()))
		}
		next, err := nextAfter(s.Schedule, key, time.Unix(0, 0))
		if err != nil {
			return fmt.Errorf("%w: task %q: schedule cannot be used: %w", ErrInvalidSpec, s.Name, err)
		}
		if v, ok := s.Schedule.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("%w: task %q: schedule: %w", ErrInvalidSpec, s.Name, err)
			}
		}
		if next.IsZero() {
			return bad("schedule %s never fires", quote.Short(s.Schedule.String()))
		}
	}
	return nil
}

// validateName checks a name the engine keeps and stores: a task name, a
// node id, an init hook's name. The error quotes at most a prefix of it.
func validateName(what, name string) error {
	if name == "" {
		return fmt.Errorf("%s must not be empty", what)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%s %s is more than %d bytes long", what, quote.Short(name), MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s %q contains a control character", what, name)
		}
	}
	return nil
}

// storableText checks that s can be stored as text by every store:
// PostgreSQL's text holds valid UTF-8 without NUL. The error quotes at most
// a prefix of s.
func storableText(s string) error {
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", quote.Short(s))
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%s contains a NUL byte", quote.Short(s))
	}
	return nil
}

// ExitCodeCancelled is the exit code recorded for a cancelled run: 130, as a
// shell reports a process stopped by SIGINT.
const ExitCodeCancelled = 130
