package contender

import (
	"context"
	"sync"
	"time"

	"github.com/taskmill/taskmill/cron"
)

// Floor is the reference no scheduler can beat by much: one timer, armed
// for the next activation of the tasks' schedule, and on each fire one
// goroutine per due task. It keeps no records, no per-task state and no
// queue. The activations come from taskmill's cron package, computed once
// per fire for each distinct spec.
type Floor struct {
	groups []*floorGroup
	jobs   []Job // by task index, for RunNow

	stop chan struct{}
	done sync.WaitGroup
}

// floorGroup is the tasks sharing one spec.
type floorGroup struct {
	sched cron.Schedule
	first int // index of the group's first task
	n     int
	job   Job
	next  time.Time
}

var _ Runner = (*Floor)(nil)

// NewFloor returns the hand-written floor.
func NewFloor() *Floor { return &Floor{stop: make(chan struct{})} }

// Add remembers the tasks; those with a spec join the timer's rounds.
func (f *Floor) Add(_ context.Context, t Tasks) (int, error) {
	if t.Spec != "" {
		s, err := cron.Parse(t.Spec, "")
		if err != nil {
			return 0, err
		}
		f.groups = append(f.groups, &floorGroup{sched: s, first: len(f.jobs), n: t.N, job: t.Job})
	}
	for k := 0; k < t.N; k++ {
		f.jobs = append(f.jobs, t.Job)
	}
	return t.N, nil
}

// Start arms the timer.
func (f *Floor) Start() error {
	if len(f.groups) == 0 {
		return nil
	}
	now := time.Now()
	for _, g := range f.groups {
		g.next = g.sched.Next(now)
	}
	f.done.Add(1)
	go f.loop()
	return nil
}

func (f *Floor) loop() {
	defer f.done.Done()
	timer := time.NewTimer(time.Until(f.earliest()))
	defer timer.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-timer.C:
		}
		now := time.Now()
		for _, g := range f.groups {
			if g.next.After(now) {
				continue
			}
			nominal := g.next
			for i := g.first; i < g.first+g.n; i++ {
				go g.job(i, nominal)
			}
			g.next = g.sched.Next(now)
		}
		timer.Reset(time.Until(f.earliest()))
	}
}

func (f *Floor) earliest() time.Time {
	min := f.groups[0].next
	for _, g := range f.groups[1:] {
		if g.next.Before(min) {
			min = g.next
		}
	}
	return min
}

// Stop ends the timer loop.
func (f *Floor) Stop() {
	close(f.stop)
	f.done.Wait()
}

// RunNow starts task i in a goroutine.
func (f *Floor) RunNow(i int) error {
	go f.jobs[i](i, time.Time{})
	return nil
}

// Settle returns at once: the floor keeps nothing to wait for.
func (f *Floor) Settle(context.Context) error { return nil }
