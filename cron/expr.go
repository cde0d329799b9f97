package cron

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// MaxLen is the longest expression, zone name or ParseText text accepted,
// in bytes.
const MaxLen = 1024

// searchYears bounds every search: Next and Prev look this many years of
// wall-clock time past t and give up (zero time) if nothing matches. The
// Gregorian calendar, weekdays included, repeats every 400 years, so an
// expression that matches nothing in 400 years matches nothing ever, and
// one that Parse accepts matches in every such span (gaps can be long: a
// Sunday 29 February, "0 0 0 29 2 */7", recurs after 28 or 40 years).
const searchYears = 400

// maxPeriods bounds the zone periods Next and Prev step through: a few per
// year (Go splits the periods of TZ footer rules at years) for searchYears.
const maxPeriods = 8 * searchYears

// maxCivil bounds the civil seconds Next and Prev work with (about a
// billion years either way), far from int64 overflow.
const maxCivil = 1 << 55

// neverFiresProbe is where Parse looks for a first activation to reject
// expressions that never fire.
var neverFiresProbe = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)

// descriptors maps the @-names to their expressions.
var descriptors = map[string]string{
	"@yearly":   "0 0 0 1 1 *",
	"@annually": "0 0 0 1 1 *",
	"@monthly":  "0 0 0 1 * *",
	"@weekly":   "0 0 0 * * 0",
	"@daily":    "0 0 0 * * *",
	"@midnight": "0 0 0 * * *",
	"@hourly":   "0 0 * * * *",
}

// Expr is a parsed cron expression bound to a time zone and a DST policy.
// It is immutable and safe for concurrent use. Build it with Parse.
type Expr struct {
	src    string
	loc    *time.Location
	gap    GapPolicy
	repeat RepeatPolicy

	sec, min, hour, dom, month, dow uint64
	rules                           *dayRules // L, W and # items of the day fields; nil if none
	dayOr                           bool      // both day fields restricted: either matches
	both                            bool      // a repeated wall time runs at both occurrences
	canon                           string
}

var (
	_ Schedule = (*Expr)(nil)
	_ Schedule = (*Interval)(nil)
)

// Parse parses a cron expression, a descriptor or an interval, in the time
// zone named zone (an IANA name such as "Europe/Berlin"; "" means UTC and
// "Local" means time.Local).
//
// A cron expression (6 fields, or 5 with seconds 0) or a calendar
// descriptor (@daily, ...) gives an *Expr; "@every <duration>" gives an
// *Interval, for which zone is checked but otherwise ignored. Options set
// the DST policy of an *Expr.
//
// The expression may start with CRON_TZ=<zone> or TZ=<zone>, as in
// robfig/cron and gocron ("CRON_TZ=Asia/Tokyo 0 9 * * *"): that zone is
// used when zone is "", and a zone that names another is an error
// (ErrZoneConflict).
//
// Errors are *ParseError values wrapping ErrSyntax, ErrOutOfRange,
// ErrFieldCount, ErrUnknownZone, ErrZoneConflict, ErrNeverFires,
// ErrInterval, ErrTooLong or ErrOption.
func Parse(expr, zone string, opts ...Option) (Schedule, error) {
	if len(expr) > MaxLen {
		return nil, &ParseError{Expr: expr, Field: "expression", Err: ErrTooLong}
	}
	o := options{gap: GapDefault, repeat: RepeatDefault}
	for i, opt := range opts {
		if opt == nil {
			return nil, &ParseError{Expr: expr, Field: "option", Err: fmt.Errorf("%w: option %d is nil", ErrOption, i)}
		}
		if err := opt(&o); err != nil {
			return nil, &ParseError{Expr: expr, Field: "option", Err: err}
		}
	}
	fields := strings.Fields(expr)
	if len(fields) > 0 {
		if name, ok := zonePrefix(fields[0]); ok {
			if zone != "" && !sameZone(zone, name) {
				return nil, &ParseError{Expr: expr, Field: "zone", Input: fields[0],
					Err: fmt.Errorf("%w: the expression says %s, the zone given is %q", ErrZoneConflict, fields[0], zone)}
			}
			zone, fields = name, fields[1:]
		}
	}
	loc, err := loadZone(zone)
	if err != nil {
		return nil, &ParseError{Expr: expr, Field: "zone", Input: zone, Err: err}
	}
	if len(fields) > 0 && strings.HasPrefix(fields[0], "@") {
		name := strings.ToLower(fields[0])
		if name == "@every" {
			return parseEvery(expr, fields)
		}
		text, ok := descriptors[name]
		if !ok {
			return nil, &ParseError{Expr: expr, Field: "expression", Input: fields[0], Err: errUnknownDescriptor}
		}
		if len(fields) != 1 {
			return nil, &ParseError{Expr: expr, Field: "expression", Err: errDescriptorArgs}
		}
		fields = strings.Fields(text)
	}
	switch len(fields) {
	case 5:
		fields = append([]string{"0"}, fields...)
	case 6:
	default:
		return nil, &ParseError{Expr: expr, Field: "expression", Err: ErrFieldCount}
	}
	e := &Expr{src: expr, loc: loc, gap: o.gap, repeat: o.repeat}
	var masks [6]uint64
	var stars [6]bool
	var rules dayRules
	for i, f := range fields {
		m, star, err := specs[i].parse(f, &rules)
		if err != nil {
			return nil, &ParseError{Expr: expr, Field: specs[i].name, Input: f, Err: err}
		}
		masks[i], stars[i] = m, star
	}
	// A rule in a field that holds every day anyway adds nothing.
	if masks[fDom] == specs[fDom].full() {
		rules.last, rules.lastWeekday, rules.nearest = 0, false, 0
	}
	if masks[fDow] == specs[fDow].full() {
		rules.lastDow, rules.nth = 0, 0
	}
	if rules.hasDom() || rules.hasDow() {
		e.rules = &rules
	}
	e.both = e.repeat == RepeatBoth || e.repeat == RepeatByFields && slices.ContainsFunc(fields[fSec:fHour+1], repeatsInHour)
	e.sec, e.min, e.hour, e.dom, e.month, e.dow = masks[fSec], masks[fMin], masks[fHour], masks[fDom], masks[fMonth], masks[fDow]
	e.dayOr = !stars[fDom] && !stars[fDow]
	e.normalizeDays()
	e.canon = e.format()
	if e.Next(neverFiresProbe).IsZero() {
		return nil, &ParseError{Expr: expr, Field: "expression", Err: ErrNeverFires}
	}
	return e, nil
}

// repeatsInHour reports whether a second, minute or hour field is "*", a
// step or a range: the fields for which RepeatByFields runs a repeated
// wall time at both occurrences.
func repeatsInHour(field string) bool { return strings.ContainsAny(field, "*/-") }

// MustParse is like Parse but panics on error. It is meant for
// package-level variables and examples with constant expressions; parse
// input from users or configuration with Parse.
func MustParse(expr, zone string, opts ...Option) Schedule {
	s, err := Parse(expr, zone, opts...)
	if err != nil {
		panic(err)
	}
	return s
}

// zonePrefix returns the zone of a CRON_TZ= or TZ= prefix (robfig/cron's
// and gocron's way to put the zone in the expression), if word is one.
func zonePrefix(word string) (zone string, ok bool) {
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if name, found := strings.CutPrefix(word, p); found {
			return name, true
		}
	}
	return "", false
}

// sameZone reports whether two zone names load the same zone ("" and
// "UTC" do); names that do not load are the same only if equal.
func sameZone(a, b string) bool {
	if a == b {
		return true
	}
	la, errA := loadZone(a)
	lb, errB := loadZone(b)
	return errA == nil && errB == nil && la.String() == lb.String()
}

func loadZone(zone string) (*time.Location, error) {
	switch {
	case zone == "" || zone == "UTC":
		return time.UTC, nil
	case zone == "Local":
		return time.Local, nil
	case len(zone) > MaxLen:
		return nil, ErrTooLong
	}
	if loc, ok := zones.Load(zone); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, ErrUnknownZone
	}
	zones.Store(zone, loc)
	return loc, nil
}

// zones caches the locations Parse has loaded (time.LoadLocation reads a
// file each time). Only names that loaded are kept, so it holds at most
// the few hundred zones there are.
var zones sync.Map // zone name -> *time.Location

// normalizeDays rewrites the day fields so that equal matching days give
// equal fields: with either rule, a full field makes every day match (OR)
// or leaves the other field alone (AND).
func (e *Expr) normalizeDays() {
	fullDom, fullDow := e.dom == specs[fDom].full(), e.dow == specs[fDow].full()
	if e.dayOr && (fullDom || fullDow) {
		e.dom, e.dow, e.dayOr, e.rules = specs[fDom].full(), specs[fDow].full(), false, nil
	}
}

// format builds the canonical text: six fields, the zone, and the DST
// policies that differ from the defaults. Parsing it (with ParseText)
// gives a schedule with the same activations.
func (e *Expr) format() string {
	var b strings.Builder
	through := false // what throughHour is for the fields as written
	for i, m := range []uint64{e.sec, e.min, e.hour, e.month} {
		if i == 3 {
			// Days go before the month.
			dom, dow := e.formatDays()
			b.WriteString(dom)
			b.WriteByte(' ')
			b.WriteString(specs[fMonth].format(m, true))
			b.WriteByte(' ')
			b.WriteString(dow)
			break
		}
		f := specs[i].format(m, true)
		through = through || repeatsInHour(f)
		b.WriteString(f)
		b.WriteByte(' ')
	}
	b.WriteByte(' ')
	b.WriteString(e.location().String())
	if e.gap != GapDefault {
		b.WriteString(" gap=")
		b.WriteString(e.gap.String())
	}
	// The repeat policy is written only where it changes what the
	// default (RepeatByFields) does with the fields as written (which
	// may differ from the fields parsed: "0,30" is written "*/30").
	if e.both != through {
		b.WriteString(" repeat=")
		if e.both {
			b.WriteString(RepeatBoth.String())
		} else {
			b.WriteString(RepeatFirst.String())
		}
	}
	return b.String()
}

// formatDays writes the day fields so that they parse back to the same
// sets and the same rule: a restricted field written with a leading "*"
// means the AND rule, which is how Vixie cron reads a field.
func (e *Expr) formatDays() (dom, dow string) {
	dom, dow = e.formatDayMasks()
	if e.rules != nil {
		dom, dow = joinItems(dom, e.rules.formatDom()), joinItems(dow, e.rules.formatDow())
	}
	return dom, dow
}

// formatDayMasks writes the plain items of the day fields.
func (e *Expr) formatDayMasks() (dom, dow string) {
	ds, ws := &specs[fDom], &specs[fDow]
	fullDom, fullDow := e.dom == ds.full(), e.dow == ws.full()
	switch {
	case e.dayOr:
		return ds.format(e.dom, false), ws.format(e.dow, false)
	case fullDom || fullDow:
		return ds.format(e.dom, true), ws.format(e.dow, true)
	case has(e.dom, ds.lo):
		return ds.formatStar(e.dom), ws.format(e.dow, true)
	case has(e.dow, ws.lo):
		return ds.format(e.dom, true), ws.formatStar(e.dow)
	}
	// AND of two restricted sets neither of which holds its first value
	// cannot come from Parse (a field starting with "*" holds it).
	return ds.formatStar(e.dom | 1<<uint(ds.lo)), ws.format(e.dow, true)
}

func (e *Expr) location() *time.Location {
	if e.loc == nil {
		return time.UTC
	}
	return e.loc
}

// Location returns the schedule's time zone.
func (e *Expr) Location() *time.Location { return e.location() }

// Expr returns the text the schedule was parsed from, as given to Parse.
func (e *Expr) Expr() string { return e.src }

// String returns the canonical text: the six fields, the zone name and
// " gap=skip", " repeat=first" or " repeat=both" where the policy changes
// what the defaults would do with the fields as written, for
// example "0 30 2 * * * Europe/Berlin gap=skip". Descriptors are written as
// their fields (@daily as "0 0 0 * * *"). ParseText parses it back to a
// schedule with the same activations.
func (e *Expr) String() string {
	if e.canon == "" {
		return e.format()
	}
	return e.canon
}

// Next returns the first activation strictly after t, in UTC, or the zero
// time if there is none (see Parse for schedules that never fire).
//
// Matching is on the wall clock of the schedule's zone. A matching wall
// time skipped by a forward clock change runs at the transition instant
// (GapRunAfter) or not at all (GapSkip); one that occurs twice runs at the
// first occurrence or at both, as the RepeatPolicy says. Whatever the
// policies, every activation is an instant on a whole second and is
// returned once.
func (e *Expr) Next(t time.Time) time.Time {
	if e == nil {
		return time.Time{}
	}
	loc := e.location()
	tt := t.In(loc)
	_, off := tt.Zone()
	start, end := zoneBounds(tt)
	u := tt.Unix()
	if u > maxCivil || u < -maxCivil {
		return time.Time{}
	}
	wall := u + int64(off)
	maxYear := civilOf(wall).y + searchYears
	// The civil times of the current zone period still ahead: strictly
	// after t's wall time, and, with RepeatFirst, not a second occurrence
	// of a time the previous period already had.
	lo := wall + 1
	if !e.both && !start.IsZero() {
		_, prevOff := start.Add(-time.Second).Zone()
		if prevOff > off {
			lo = max(lo, start.Unix()+int64(prevOff))
		}
	}
	var c, cLo int64 // c is the first match at or after cLo
	cLo = math.MaxInt64
	for range maxPeriods {
		if lo < cLo || lo > c {
			var ok bool
			if c, ok = e.nextMatch(lo, maxYear); !ok {
				return time.Time{}
			}
			cLo = lo
		}
		if end.IsZero() || c < end.Unix()+int64(off) {
			return time.Unix(c-int64(off), 0).UTC()
		}
		// No match in this period: move to the next one. c is the first
		// match at or after the end of this period's wall times.
		prevOff := off
		tt = end.In(loc)
		_, off = tt.Zone()
		_, end = zoneBounds(tt)
		trans := tt.Unix()
		switch {
		case off > prevOff: // Gap: walls [trans+prevOff, trans+off) don't exist.
			if e.gap == GapRunAfter && c < trans+int64(off) {
				return tt.UTC()
			}
			lo = trans + int64(off)
		case off < prevOff: // Repeat: walls [trans+off, trans+prevOff) come again.
			if e.both {
				lo = trans + int64(off)
			} else {
				lo = trans + int64(prevOff)
			}
		default:
			lo = trans + int64(off)
		}
	}
	return time.Time{}
}

// Prev returns the last activation at or before t, in UTC, or the zero
// time if there is none. It follows the same rules as Next, so
// Prev(Next(t)) == Next(t) and no activation lies strictly between Prev(t)
// and t. It costs about as much as Next; an engine can use it at start-up
// to find a slot missed while it was down.
func (e *Expr) Prev(t time.Time) time.Time {
	if e == nil {
		return time.Time{}
	}
	loc := e.location()
	tt := t.In(loc)
	_, off := tt.Zone()
	start, _ := zoneBounds(tt)
	u := tt.Unix()
	if u > maxCivil || u < -maxCivil {
		return time.Time{}
	}
	hi := u + int64(off)
	minYear := civilOf(hi).y - searchYears
	var c, cHi int64 // c is the last match at or before cHi
	cHi = math.MinInt64
	for range maxPeriods {
		if hi > cHi || hi < c {
			var ok bool
			if c, ok = e.prevMatch(hi, minYear); !ok {
				return time.Time{}
			}
			cHi = hi
		}
		if start.IsZero() {
			return time.Unix(c-int64(off), 0).UTC()
		}
		// This period's wall times begin at trans+off; with RepeatFirst,
		// those the previous period already had (a repeat) don't count.
		before := start.Add(-time.Second).In(loc)
		_, prevOff := before.Zone()
		trans := start.Unix()
		lower := trans + int64(off)
		if !e.both && prevOff > off {
			lower = trans + int64(prevOff)
		}
		if c >= lower {
			return time.Unix(c-int64(off), 0).UTC()
		}
		if prevOff < off && e.gap == GapRunAfter && c >= trans+int64(prevOff) {
			return start.UTC() // c is in the gap at the start of this period.
		}
		// Move to the previous period.
		hi = trans + int64(prevOff) - 1
		off = prevOff
		start, _ = zoneBounds(before)
	}
	return time.Time{}
}

// zoneBounds is t.ZoneBounds, checked: the start is at or before t and
// the end after it, with t's offset at both the start and the instant
// before the end. Go's ZoneBounds can fail this: on the last day of a leap
// year in a zone served by the TZ footer rule of its TZif data (years after
// the last listed transition, which with "slim" tzdata is every year after
// 2007) it returns an end before t (Go 1.26: Europe/Berlin at 2056-12-31T12:00 gives an end of 2056-12-31T01:00). A bound that fails
// the check is replaced by the offset change nearest to t, found by
// bisection, or, if there is none within a day, by t moved a day: a
// boundary with the same offset on both sides, which Next and Prev treat
// as no transition.
func zoneBounds(t time.Time) (start, end time.Time) {
	start, end = t.ZoneBounds()
	loc := t.Location()
	_, off := t.Zone()
	u := t.Unix()
	same := func(x int64) bool {
		_, o := time.Unix(x, 0).In(loc).Zone()
		return o == off
	}
	if !start.IsZero() && (start.After(t) || !same(start.Unix())) {
		lo, hi := u-secondsPerDay, u
		if start.Unix() < u && !start.After(t) {
			lo = start.Unix()
		}
		if same(lo) {
			start = time.Unix(lo, 0).In(loc)
		} else {
			// Invariant: !same(lo), same(hi).
			for hi-lo > 1 {
				if mid := lo + (hi-lo)/2; same(mid) {
					hi = mid
				} else {
					lo = mid
				}
			}
			start = time.Unix(hi, 0).In(loc)
		}
	}
	if !end.IsZero() && (!end.After(t) || !same(end.Unix()-1)) {
		lo, hi := u, u+secondsPerDay
		if end.After(t) {
			hi = end.Unix() - 1
		}
		if same(hi) {
			end = time.Unix(hi, 0).In(loc)
			if !end.After(t) {
				end = time.Unix(u+1, 0).In(loc)
			}
		} else {
			// Invariant: same(lo), !same(hi).
			for hi-lo > 1 {
				if mid := lo + (hi-lo)/2; same(mid) {
					lo = mid
				} else {
					hi = mid
				}
			}
			end = time.Unix(hi, 0).In(loc)
		}
	}
	return start, end
}
