package contender

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/reugn/go-quartz/quartz"
)

// Quartz is github.com/reugn/go-quartz with default options
// (quartz.NewStdScheduler()): one job per task on its own CronTrigger.
type Quartz struct {
	s    quartz.Scheduler
	jobs []*quartzJob
	runs atomic.Int64 // run-now jobs scheduled, for unique keys
}

var _ Runner = (*Quartz)(nil)

// quartzJob is the smallest quartz.Job: it calls the benchmark's Job.
type quartzJob struct {
	i   int
	job Job
}

func (q *quartzJob) Execute(context.Context) error {
	q.job(q.i, time.Time{})
	return nil
}

func (q *quartzJob) Description() string { return "bench" }

// NewQuartz returns a go-quartz scheduler.
func NewQuartz() (*Quartz, error) {
	s, err := quartz.NewStdScheduler()
	if err != nil {
		return nil, err
	}
	return &Quartz{s: s}, nil
}

// Add schedules each task with ScheduleJob on a CronTrigger (UTC). Tasks
// without a spec are only remembered, for RunNow.
func (q *Quartz) Add(ctx context.Context, t Tasks) (int, error) {
	for k := 0; k < t.N; k++ {
		if k%checkEvery == 0 && ctx.Err() != nil {
			return k, ctx.Err()
		}
		j := &quartzJob{i: len(q.jobs), job: t.Job}
		if t.Spec != "" {
			trigger, err := quartz.NewCronTrigger(t.Spec)
			if err != nil {
				return k, err
			}
			key := quartz.NewJobKey(fmt.Sprintf("t%06d", j.i))
			if err := q.s.ScheduleJob(quartz.NewJobDetail(j, key), trigger); err != nil {
				return k, err
			}
		}
		q.jobs = append(q.jobs, j)
	}
	return t.N, nil
}

// Start calls Scheduler.Start.
func (q *Quartz) Start() error {
	q.s.Start(context.Background())
	return nil
}

// Stop stops the scheduler and waits for running jobs, at most stopTimeout.
func (q *Quartz) Stop() {
	q.s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	q.s.Wait(ctx)
}

// RunNow is go-quartz's nearest to a run-now: it schedules task i's job
// under a new key with a RunOnceTrigger of no delay.
func (q *Quartz) RunNow(i int) error {
	key := quartz.NewJobKey(fmt.Sprintf("run-%d", q.runs.Add(1)))
	return q.s.ScheduleJob(quartz.NewJobDetail(q.jobs[i], key), quartz.NewRunOnceTrigger(0))
}

// Settle returns at once: go-quartz keeps no record to wait for.
func (q *Quartz) Settle(context.Context) error { return nil }
