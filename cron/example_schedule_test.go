package cron_test

import (
	"fmt"
	"time"

	"github.com/taskmill/taskmill/cron"
)

// lastFriday fires at 18:00 UTC on the last Friday of each month, which a
// cron expression cannot say. Any type with Next and String is a
// Schedule. Next must return an instant strictly after t: the engine
// rejects a schedule that does not move forward.
type lastFriday struct{}

func (lastFriday) Next(t time.Time) time.Time {
	t = t.UTC()
	for d := time.Date(t.Year(), t.Month(), t.Day(), 18, 0, 0, 0, time.UTC); ; d = d.AddDate(0, 0, 1) {
		if d.After(t) && d.Weekday() == time.Friday && d.AddDate(0, 0, 7).Month() != d.Month() {
			return d
		}
	}
}

// String is the schedule's canonical text: two schedules with the same
// String must fire at the same instants.
func (lastFriday) String() string { return "last friday 18:00 UTC" }

func ExampleSchedule() {
	var s cron.Schedule = lastFriday{} // task.Spec{Schedule: s, ...}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format("Mon 2 Jan 15:04"))
	}
	// Output:
	// Fri 30 Jan 18:00
	// Fri 27 Feb 18:00
	// Fri 27 Mar 18:00
}
