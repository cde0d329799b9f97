package cron

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// dayRules are the items of the day fields that name a day by its place in
// its month, as Quartz and Snowflake's USING CRON write them:
//
//	day-of-month  L     the last day of the month
//	              L-3   three days before the last (L-0 is L)
//	              LW    the last weekday (Monday to Friday) of the month
//	              15W   the weekday nearest the 15th, in the same month
//	day-of-week   5L    the last Friday of the month
//	              5#3   the third Friday of the month (1 to 5)
//
// They may be mixed with plain items in a list ("1,15,L").
type dayRules struct {
	last        uint32 // bit n: L-n, n in 0-30
	lastWeekday bool   // LW
	nearest     uint32 // bit d: dW, d in 1-31
	lastDow     uint8  // bit w: wL, w in 0-6
	nth         uint64 // bit w*8+n: w#n, w in 0-6, n in 1-5
}

func (r *dayRules) hasDom() bool { return r.last != 0 || r.lastWeekday || r.nearest != 0 }
func (r *dayRules) hasDow() bool { return r.lastDow != 0 || r.nth != 0 }

// parseDomRule parses an item of day-of-month that names a day by its
// place in the month; ok is false for a plain item.
func (r *dayRules) parseDomRule(elem string) (ok bool, err error) {
	u := strings.ToUpper(elem)
	switch {
	case u == "L":
		r.last |= 1
	case u == "LW":
		r.lastWeekday = true
	case strings.HasPrefix(u, "L-"):
		n, err := parseNumber(u[2:])
		if err != nil {
			return true, fmt.Errorf("%w: bad offset %q in %q", ErrSyntax, elem[2:], elem)
		}
		if n > 30 {
			return true, fmt.Errorf("%w: offset %d in %q not in 0-30", ErrOutOfRange, n, elem)
		}
		r.last |= 1 << uint(n)
	case len(u) > 1 && u[len(u)-1] == 'W' && isDigits(u[:len(u)-1]):
		d, err := parseNumber(u[:len(u)-1])
		if err != nil || d < 1 || d > 31 {
			return true, fmt.Errorf("%w: day %q in %q not in 1-31", ErrOutOfRange, elem[:len(elem)-1], elem)
		}
		r.nearest |= 1 << uint(d)
	default:
		return false, nil
	}
	return true, nil
}

// parseDowRule parses an item of day-of-week that names a day by its place
// in the month; ok is false for a plain item.
func (r *dayRules) parseDowRule(elem string) (ok bool, err error) {
	if strings.EqualFold(elem, "L") {
		return true, fmt.Errorf("%w: \"L\" alone in day-of-week is ambiguous (Quartz reads it as Saturday): write the day before it, as 6L or SATL for the last Saturday", ErrSyntax)
	}
	if day, n, found := strings.Cut(elem, "#"); found {
		w, err := specs[fDow].value(day)
		if err != nil {
			return true, fmt.Errorf("%w, in %q", err, elem)
		}
		k, err := parseNumber(n)
		if err != nil {
			return true, fmt.Errorf("%w: bad occurrence %q in %q", ErrSyntax, n, elem)
		}
		if k < 1 || k > 5 {
			return true, fmt.Errorf("%w: occurrence %d in %q not in 1-5", ErrOutOfRange, k, elem)
		}
		r.nth |= 1 << uint(w%7*8+k)
		return true, nil
	}
	if len(elem) > 1 && (elem[len(elem)-1] == 'L' || elem[len(elem)-1] == 'l') {
		day := elem[:len(elem)-1]
		w, err := specs[fDow].value(day)
		if err != nil {
			return true, fmt.Errorf("%w, in %q", err, elem)
		}
		r.lastDow |= 1 << uint(w%7)
		return true, nil
	}
	return false, nil
}

// domMatches reports whether day d of month m of year y matches a
// day-of-month rule; dim is the number of days in that month.
func (r *dayRules) domMatches(y int64, m, d, dim int) bool {
	if n := dim - d; n <= 30 && r.last&(1<<uint(n)) != 0 {
		return true
	}
	if r.lastWeekday && nearestWeekday(y, m, dim, dim) == d {
		return true
	}
	// The weekday nearest day t is t itself or lies within two days of it.
	for t := max(1, d-2); t <= min(dim, d+2); t++ {
		if r.nearest&(1<<uint(t)) != 0 && nearestWeekday(y, m, t, dim) == d {
			return true
		}
	}
	return false
}

// dowMatches reports whether day d, a weekday w, of a month of dim days
// matches a day-of-week rule.
func (r *dayRules) dowMatches(d, w, dim int) bool {
	if r.lastDow&(1<<uint(w)) != 0 && d+7 > dim {
		return true
	}
	return r.nth&(1<<uint(w*8+(d-1)/7+1)) != 0
}

// nearestWeekday returns the Monday-to-Friday day of month m nearest day
// t, within the month: a Saturday gives the Friday before (or the Monday
// after, on the 1st), a Sunday the Monday after (or the Friday before, on
// the last day).
func nearestWeekday(y int64, m, t, dim int) int {
	switch weekday(y, m, t) {
	case 6:
		if t == 1 {
			return 3
		}
		return t - 1
	case 0:
		if t == dim {
			return t - 2
		}
		return t + 1
	}
	return t
}

// formatDom writes the day-of-month rules, in a fixed order, for the
// canonical text.
func (r *dayRules) formatDom() []string {
	var out []string
	for n := 0; n <= 30; n++ {
		if r.last&(1<<uint(n)) == 0 {
			continue
		}
		if n == 0 {
			out = append(out, "L")
		} else {
			out = append(out, "L-"+strconv.Itoa(n))
		}
	}
	if r.lastWeekday {
		out = append(out, "LW")
	}
	for x := r.nearest; x != 0; x &= x - 1 {
		out = append(out, strconv.Itoa(bits.TrailingZeros32(x))+"W")
	}
	return out
}

// formatDow writes the day-of-week rules, in a fixed order.
func (r *dayRules) formatDow() []string {
	var out []string
	for x := r.lastDow; x != 0; x &= x - 1 {
		out = append(out, strconv.Itoa(bits.TrailingZeros8(x))+"L")
	}
	for x := r.nth; x != 0; x &= x - 1 {
		b := bits.TrailingZeros64(x)
		out = append(out, strconv.Itoa(b/8)+"#"+strconv.Itoa(b%8))
	}
	return out
}

// joinItems writes a field of plain text (possibly empty) and rules.
func joinItems(plain string, rules []string) string {
	if plain != "" {
		rules = append([]string{plain}, rules...)
	}
	return strings.Join(rules, ",")
}
