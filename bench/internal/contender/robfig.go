package contender

import (
	"context"
	"errors"
	"time"

	"github.com/robfig/cron/v3"
)

// Robfig is github.com/robfig/cron/v3 with seconds enabled
// (cron.New(cron.WithSeconds())), otherwise default options. It has no
// run-now, so it is not a Runner.
type Robfig struct {
	c *cron.Cron
	n int
}

// NewRobfig returns a robfig/cron scheduler.
func NewRobfig() *Robfig { return &Robfig{c: cron.New(cron.WithSeconds())} }

// errNoSchedule is returned by peers asked for tasks without a schedule
// they cannot run otherwise.
var errNoSchedule = errors.New("contender: this library has no tasks without a schedule")

// Add registers each task with AddFunc; robfig does not say which slot a
// fire belongs to.
func (r *Robfig) Add(ctx context.Context, t Tasks) (int, error) {
	if t.Spec == "" {
		return 0, errNoSchedule
	}
	for k := 0; k < t.N; k++ {
		if k%checkEvery == 0 && ctx.Err() != nil {
			return k, ctx.Err()
		}
		i, job := r.n, t.Job
		if _, err := r.c.AddFunc(t.Spec, func() { job(i, time.Time{}) }); err != nil {
			return k, err
		}
		r.n++
	}
	return t.N, nil
}

// Start calls Cron.Start.
func (r *Robfig) Start() error {
	r.c.Start()
	return nil
}

// Stop calls Cron.Stop and waits for running jobs, at most stopTimeout.
func (r *Robfig) Stop() {
	select {
	case <-r.c.Stop().Done():
	case <-time.After(stopTimeout):
	}
}
