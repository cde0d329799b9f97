// Package contender puts every scheduler the benchmarks compare behind one
// small interface: register n tasks on a cron spec, start, stop, and
// (where the library can) run a task now.
package contender

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Job is what every registered task runs: i is the task's index (0 to n-1,
// counted over every Add of one scheduler) and nominal the slot the fire
// belongs to, or the zero time when the library does not say.
type Job func(i int, nominal time.Time)

// Tasks is one batch of tasks to register.
type Tasks struct {
	// N is how many tasks to register.
	N int
	// Spec is a six-field cron expression (seconds first) shared by the
	// tasks; empty registers tasks that run only when triggered (Runner).
	Spec string
	// Overlap lets runs of one task overlap (taskmill's OverlapAllow; the
	// peers allow it by default). The burst workload needs it.
	Overlap bool
	// Job runs on every fire.
	Job Job
}

// Scheduler is what every contender offers the workloads.
type Scheduler interface {
	// Add registers t.N tasks and returns how many it registered: fewer
	// than t.N only with an error, such as ctx ending.
	Add(ctx context.Context, t Tasks) (int, error)
	// Start begins firing.
	Start() error
	// Stop stops firing and releases what the contender holds (files,
	// tables).
	Stop()
}

// Runner is implemented by contenders that can run a registered task now.
type Runner interface {
	// RunNow triggers one run of task i.
	RunNow(i int) error
	// Settle returns once every run triggered so far has finished and,
	// where the contender records runs, is recorded.
	Settle(ctx context.Context) error
}

// Recorder is implemented by contenders that keep a record of every run.
type Recorder interface {
	// Succeeded counts the succeeded runs on record.
	Succeeded(ctx context.Context) (int, error)
}

// Options configure New.
type Options struct {
	// PostgresDSN is the database of taskmill-postgres.
	PostgresDSN string
	// KeepEveryRecord gives taskmill a memory store that keeps every
	// record (BackendMemoryAll) instead of the engine's default, which
	// keeps the newest 1,000 of each task: for a workload that waits for
	// and counts more runs of one task than that.
	KeepEveryRecord bool
}

// ErrUnknown is returned by New for a name it does not know.
var ErrUnknown = errors.New("contender: unknown contender")

var constructors = map[string]func(Options) (Scheduler, error){
	"taskmill": func(o Options) (Scheduler, error) {
		if o.KeepEveryRecord {
			return NewTaskmill(BackendMemoryAll, "")
		}
		return NewTaskmill(BackendMemory, "")
	},
	"taskmill-otel":     func(Options) (Scheduler, error) { return NewTaskmillOtel() },
	"taskmill-sqlite":   func(Options) (Scheduler, error) { return NewTaskmill(BackendSQLite, "") },
	"taskmill-postgres": func(o Options) (Scheduler, error) { return NewTaskmill(BackendPostgres, o.PostgresDSN) },
	"robfig":            func(Options) (Scheduler, error) { return NewRobfig(), nil },
	"gocron":            func(Options) (Scheduler, error) { return NewGocron() },
	"quartz":            func(Options) (Scheduler, error) { return NewQuartz() },
	"floor":             func(Options) (Scheduler, error) { return NewFloor(), nil },
}

// New returns the contender with the given name.
func New(name string, o Options) (Scheduler, error) {
	c, ok := constructors[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q (known: %v)", ErrUnknown, name, Names())
	}
	return c(o)
}

// Names lists the contenders New knows.
func Names() []string {
	names := make([]string, 0, len(constructors))
	for n := range constructors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkEvery is how many registrations pass between checks of the context.
const checkEvery = 1024
