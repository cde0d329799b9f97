package cron

import "time"

// Schedule answers when a task fires next. Implementations are safe for
// concurrent use and deterministic: every engine sharing a store computes the
// same slots, which is what lets them claim each slot exactly once.
//
// A Schedule that can be invalid after it was built (an Interval made by
// Every from a bad duration) may also have a method Validate() error: the
// engine calls it at Register and rejects the task with its error.
type Schedule interface {
	// Next returns the first activation strictly after t, or the zero time
	// if there is none.
	Next(t time.Time) time.Time
	// String returns the schedule's canonical text, including its zone and
	// DST policy. Two schedules with the same String fire at the same
	// instants; the engine arms one timer for each distinct String.
	String() string
}
