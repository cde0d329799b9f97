package cron

import (
	"errors"
	"fmt"
	"strings"

	"github.com/taskmill/taskmill/internal/quote"
)

// Sentinel errors. Parse, ParseText, the options and Interval.Validate
// return them wrapped in a *ParseError; callers branch with errors.Is.
var (
	// ErrSyntax is returned for text that is not a cron field, descriptor,
	// duration or SQL schedule: junk characters, an empty list element, a
	// reversed range, a name in a field that takes no names.
	ErrSyntax = errors.New("cron: syntax error")

	// ErrOutOfRange is returned for a value or a step outside its field's
	// range (hour 25, step 0).
	ErrOutOfRange = errors.New("cron: value out of range")

	// ErrFieldCount is returned for an expression with other than 5 or 6
	// fields.
	ErrFieldCount = errors.New("cron: expression must have 5 or 6 fields")

	// ErrUnknownZone is returned for a time zone that time.LoadLocation
	// does not know.
	ErrUnknownZone = errors.New("cron: unknown time zone")

	// ErrNeverFires is returned for an expression that matches no time,
	// such as 30 February.
	ErrNeverFires = errors.New("cron: schedule never fires")

	// ErrInterval is returned for an interval shorter than MinInterval, not
	// a whole number of milliseconds, or not a duration at all.
	ErrInterval = errors.New("cron: invalid interval")

	// ErrTooLong is returned for an expression, zone or text longer than
	// MaxLen bytes.
	ErrTooLong = errors.New("cron: input too long")

	// ErrZoneConflict is returned for an expression whose CRON_TZ= or TZ=
	// prefix names another zone than the one given beside it.
	ErrZoneConflict = errors.New("cron: zone prefix and zone disagree")

	// ErrOption is returned for a nil option and for an option given an
	// unknown value, such as WithGap(GapPolicy(7)).
	ErrOption = errors.New("cron: invalid option")
)

// ParseError is the error Parse, ParseText and Interval.Validate return. It
// says which part of which input is wrong, and wraps one of the sentinels
// (ErrSyntax, ErrOutOfRange, ...), possibly with detail added, so that
// errors.Is(err, ErrOutOfRange) holds.
type ParseError struct {
	// Expr is the whole expression (or text, for ParseText errors outside
	// the cron expression).
	Expr string
	// Field names the part that is wrong: "second", "minute", "hour",
	// "day-of-month", "month", "day-of-week", "expression", "zone",
	// "interval", "option" or "text".
	Field string
	// Input is the text of that part: the field, the zone name, the
	// duration.
	Input string
	// Err is the cause; it wraps a sentinel of this package.
	Err error
}

// Error reads like
//
//	cron: hour "25" in "0 0 25 * * *": value out of range 0-23
//
// Long inputs are shortened.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("cron: ")
	b.WriteString(e.Field)
	b.WriteByte(' ')
	if e.Input != "" && e.Input != e.Expr {
		b.WriteString(quote.Short(e.Input))
		b.WriteString(" in ")
	}
	b.WriteString(quote.Short(e.Expr))
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "cron: "))
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

// Detail errors used in more than one place.
var (
	errUnknownDescriptor = fmt.Errorf("%w: unknown descriptor", ErrSyntax)
	errDescriptorArgs    = fmt.Errorf("%w: descriptor takes no fields", ErrSyntax)
)
