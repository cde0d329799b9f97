package cron

import (
	"fmt"
	"time"
)

// MinInterval is the shortest interval Every and @every accept.
const MinInterval = time.Second

// maxIntervalUnix bounds the Unix seconds Interval works with (about 35
// million years either way) so that milliseconds fit in an int64.
const maxIntervalUnix = 1 << 50

// Interval fires every Duration, on slots anchored to the Unix epoch: the
// activations are exactly the instants 1970-01-01T00:00:00Z + k*Duration
// for integer k. Every process computes the same slots whenever it starts,
// which is what lets many engines sharing a store agree on them. An hourly
// interval fires on the hour (UTC), a daily one at midnight UTC.
//
// An Interval is immutable and safe for concurrent use. Build it with Every,
// or with Parse("@every 90s", "").
type Interval struct {
	d time.Duration
}

// Every returns an interval schedule of d. It does not fail: an invalid d
// (shorter than MinInterval, or not a whole number of milliseconds) gives
// an Interval whose Validate returns the error and whose Next returns the
// zero time. The engine calls Validate when a task is registered.
func Every(d time.Duration) *Interval { return &Interval{d: d} }

// Duration returns the interval's length.
func (i *Interval) Duration() time.Duration {
	if i == nil {
		return 0
	}
	return i.d
}

// Validate returns a *ParseError wrapping ErrInterval if the duration is
// shorter than MinInterval or not a whole number of milliseconds (the
// slots must survive a round trip through a store that keeps
// milliseconds), else nil.
func (i *Interval) Validate() error {
	d := i.Duration()
	switch {
	case d < MinInterval:
		return &ParseError{Expr: i.String(), Field: "interval", Input: d.String(),
			Err: fmt.Errorf("%w: shorter than %v", ErrInterval, MinInterval)}
	case d%time.Millisecond != 0:
		return &ParseError{Expr: i.String(), Field: "interval", Input: d.String(),
			Err: fmt.Errorf("%w: not a whole number of milliseconds", ErrInterval)}
	}
	return nil
}

// String returns "@every " and the duration as time.Duration writes it,
// for example "@every 1m30s". Parse and ParseText read it back.
func (i *Interval) String() string { return "@every " + i.Duration().String() }

// slot returns k and the slot length in milliseconds for the last slot
// at or before t, or ok false if the interval is invalid or t is out of
// range.
func (i *Interval) slot(t time.Time) (k, ms int64, ok bool) {
	if i.Validate() != nil {
		return 0, 0, false
	}
	sec := t.Unix()
	if sec > maxIntervalUnix || sec < -maxIntervalUnix {
		return 0, 0, false
	}
	tms := sec*1000 + int64(t.Nanosecond())/int64(time.Millisecond)
	ms = int64(i.d / time.Millisecond)
	return floorDiv(tms, ms), ms, true
}

// Next returns the first slot strictly after t, in UTC, or the zero time
// if the interval is invalid.
func (i *Interval) Next(t time.Time) time.Time {
	k, ms, ok := i.slot(t)
	if !ok {
		return time.Time{}
	}
	return time.UnixMilli((k + 1) * ms).UTC()
}

// Prev returns the last slot at or before t, in UTC, or the zero time if
// the interval is invalid.
func (i *Interval) Prev(t time.Time) time.Time {
	k, ms, ok := i.slot(t)
	if !ok {
		return time.Time{}
	}
	return time.UnixMilli(k * ms).UTC()
}

// parseEvery parses "@every <duration>" (fields is expr split on spaces).
func parseEvery(expr string, fields []string) (Schedule, error) {
	switch {
	case len(fields) == 1:
		return nil, &ParseError{Expr: expr, Field: "interval", Err: fmt.Errorf("%w: missing duration", ErrInterval)}
	case len(fields) > 2:
		return nil, &ParseError{Expr: expr, Field: "expression", Err: fmt.Errorf("%w: @every takes one duration", ErrSyntax)}
	}
	d, err := time.ParseDuration(fields[1])
	if err != nil {
		return nil, &ParseError{Expr: expr, Field: "interval", Input: fields[1], Err: fmt.Errorf("%w: not a duration", ErrInterval)}
	}
	iv := Every(d)
	if err := iv.Validate(); err != nil {
		pe := err.(*ParseError)
		pe.Expr, pe.Input = expr, fields[1]
		return nil, pe
	}
	return iv, nil
}
