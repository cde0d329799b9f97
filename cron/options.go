package cron

import "fmt"

// GapPolicy says what happens to a matching wall-clock time that does not
// exist in the schedule's zone because the clocks jumped forward over it
// (02:30 on the night summer time starts).
type GapPolicy int

const (
	// GapRunAfter runs such a time at the first instant after the gap,
	// the transition instant itself (03:00 summer time). Several matches
	// in one gap, and a match at the first wall time after it, all give
	// that instant, and it is returned once.
	GapRunAfter GapPolicy = iota
	// GapSkip does not run a time that does not exist.
	GapSkip
)

// GapDefault is the gap policy of a schedule parsed without WithGap.
const GapDefault = GapRunAfter

// String returns "run-after" or "skip", the words the canonical text uses
// after "gap=".
func (p GapPolicy) String() string {
	switch p {
	case GapRunAfter:
		return "run-after"
	case GapSkip:
		return "skip"
	}
	return fmt.Sprintf("GapPolicy(%d)", int(p))
}

// RepeatPolicy says what happens to a matching wall-clock time that occurs
// twice in the schedule's zone because the clocks went back over it (01:30
// on the night summer time ends in America/Los_Angeles).
type RepeatPolicy int

const (
	// RepeatFirst runs such a time at its first occurrence only.
	RepeatFirst RepeatPolicy = iota
	// RepeatBoth runs such a time at both occurrences.
	RepeatBoth
	// RepeatByFields is RepeatBoth for an expression whose second,
	// minute or hour field is "*", a step or a range — one that fires
	// through the hour, such as "*/15 * * * *" or "0 * * * *", and so
	// keeps firing through a repeated hour — and RepeatFirst for one
	// whose three are values or lists of values ("0 30 1 * * *" runs
	// once). It is Cronos's rule; robfig/cron and hashicorp's cronexpr
	// also fire such expressions through the repeated hour.
	RepeatByFields
)

// RepeatDefault is the repeat policy of a schedule parsed without
// WithRepeat.
const RepeatDefault = RepeatByFields

// String returns "first", "both" or "by-fields", the words the canonical text uses
// after "repeat=".
func (p RepeatPolicy) String() string {
	switch p {
	case RepeatFirst:
		return "first"
	case RepeatBoth:
		return "both"
	case RepeatByFields:
		return "by-fields"
	}
	return fmt.Sprintf("RepeatPolicy(%d)", int(p))
}

// Option adjusts how Parse builds a schedule. Options do not affect
// intervals (@every), which have no wall clock. A nil Option makes Parse
// fail with ErrOption.
type Option func(*options) error

type options struct {
	gap    GapPolicy
	repeat RepeatPolicy
}

// WithGap sets what happens to matching wall-clock times skipped by a
// forward clock change. An unknown policy makes Parse fail with ErrOption.
// Default: GapRunAfter (GapDefault).
func WithGap(p GapPolicy) Option {
	return func(o *options) error {
		if p != GapRunAfter && p != GapSkip {
			return fmt.Errorf("%w: gap policy %d", ErrOption, int(p))
		}
		o.gap = p
		return nil
	}
}

// WithRepeat sets what happens to matching wall-clock times repeated by a
// backward clock change. An unknown policy makes Parse fail with ErrOption.
// Default: RepeatByFields (RepeatDefault).
func WithRepeat(p RepeatPolicy) Option {
	return func(o *options) error {
		if p != RepeatFirst && p != RepeatBoth && p != RepeatByFields {
			return fmt.Errorf("%w: repeat policy %d", ErrOption, int(p))
		}
		o.repeat = p
		return nil
	}
}
