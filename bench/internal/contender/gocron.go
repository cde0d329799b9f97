package contender

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// neverSpec is the schedule of tasks registered without one on libraries
// that need a schedule to register a job: once a year, on January 1st.
const neverSpec = "0 0 0 1 1 *"

// Gocron is github.com/go-co-op/gocron/v2 with default options: one
// CronJob (with seconds) per task.
type Gocron struct {
	s    gocron.Scheduler
	jobs []gocron.Job
}

var _ Runner = (*Gocron)(nil)

// NewGocron returns a gocron scheduler.
func NewGocron() (*Gocron, error) {
	s, err := gocron.NewScheduler()
	if err != nil {
		return nil, err
	}
	return &Gocron{s: s}, nil
}

// Add registers each task as a CronJob; tasks without a spec get neverSpec
// and run through RunNow. gocron does not say which slot a fire belongs to.
func (g *Gocron) Add(ctx context.Context, t Tasks) (int, error) {
	spec := t.Spec
	if spec == "" {
		spec = neverSpec
	}
	for k := 0; k < t.N; k++ {
		if k%checkEvery == 0 && ctx.Err() != nil {
			return k, ctx.Err()
		}
		i, job := len(g.jobs), t.Job
		j, err := g.s.NewJob(gocron.CronJob(spec, true), gocron.NewTask(func() { job(i, time.Time{}) }))
		if err != nil {
			return k, err
		}
		g.jobs = append(g.jobs, j)
	}
	return t.N, nil
}

// Start calls Scheduler.Start, which returns before the jobs are armed.
func (g *Gocron) Start() error {
	g.s.Start()
	return nil
}

// Stop shuts the scheduler down.
func (g *Gocron) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := g.s.ShutdownWithContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "gocron: shutdown:", err)
	}
}

// RunNow calls Job.RunNow.
func (g *Gocron) RunNow(i int) error { return g.jobs[i].RunNow() }

// Settle returns at once: gocron keeps no record to wait for.
func (g *Gocron) Settle(context.Context) error { return nil }
