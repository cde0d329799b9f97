package cron

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// fieldSpec describes one field of an expression.
type fieldSpec struct {
	name   string
	lo, hi int      // range of "*"
	max    int      // largest value accepted (7 for day-of-week, else hi)
	names  []string // names[i] stands for value lo+i (month) or i (dow)
	dayish bool     // day-of-month or day-of-week: "?" allowed
}

var monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
var dowNames = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

const (
	fSec = iota
	fMin
	fHour
	fDom
	fMonth
	fDow
)

var specs = [6]fieldSpec{
	fSec:   {name: "second", lo: 0, hi: 59, max: 59},
	fMin:   {name: "minute", lo: 0, hi: 59, max: 59},
	fHour:  {name: "hour", lo: 0, hi: 23, max: 23},
	fDom:   {name: "day-of-month", lo: 1, hi: 31, max: 31, dayish: true},
	fMonth: {name: "month", lo: 1, hi: 12, max: 12, names: monthNames},
	fDow:   {name: "day-of-week", lo: 0, hi: 6, max: 7, names: dowNames, dayish: true},
}

func (s *fieldSpec) full() uint64 {
	return (uint64(1)<<uint(s.hi+1) - 1) &^ (uint64(1)<<uint(s.lo) - 1)
}

// parse parses one field into a bit set. star reports whether the field
// starts with "*" or "?", which is what the Vixie day rule looks at. Items
// of a day field that name a day by its place in the month (L, W, #) go to
// rules instead. The error is a detail error wrapping a sentinel; the
// caller wraps it in a *ParseError.
func (s *fieldSpec) parse(text string, rules *dayRules) (mask uint64, star bool, err error) {
	if text == "" {
		return 0, false, fmt.Errorf("%w: empty field", ErrSyntax)
	}
	if text == "?" {
		if !s.dayish {
			return 0, false, fmt.Errorf("%w: \"?\" is only allowed in day fields", ErrSyntax)
		}
		return s.full(), true, nil
	}
	star = text[0] == '*'
	for _, elem := range strings.Split(text, ",") {
		var rule bool
		switch s {
		case &specs[fDom]:
			rule, err = rules.parseDomRule(elem)
		case &specs[fDow]:
			rule, err = rules.parseDowRule(elem)
		}
		if err != nil {
			return 0, false, err
		}
		if rule {
			continue
		}
		m, err := s.parseElem(elem)
		if err != nil {
			return 0, false, err
		}
		mask |= m
	}
	return mask, star, nil
}

func (s *fieldSpec) parseElem(elem string) (uint64, error) {
	if elem == "" {
		return 0, fmt.Errorf("%w: empty list element", ErrSyntax)
	}
	rng, stepText, hasStep := strings.Cut(elem, "/")
	step := 1
	if hasStep {
		n, err := parseNumber(stepText)
		if err != nil {
			return 0, fmt.Errorf("%w: bad step %q", ErrSyntax, stepText)
		}
		if span := s.hi - s.lo + 1; n < 1 || n > span {
			return 0, fmt.Errorf("%w: step %s not in 1-%d", ErrOutOfRange, stepText, span)
		}
		step = n
	}
	var a, b int
	if rng == "*" {
		a, b = s.lo, s.hi
	} else {
		first, last, isRange := strings.Cut(rng, "-")
		var err error
		if a, err = s.value(first); err != nil {
			return 0, err
		}
		switch {
		case isRange:
			if b, err = s.value(last); err != nil {
				return 0, err
			}
			if a > b {
				return 0, fmt.Errorf("%w: reversed range %q", ErrSyntax, rng)
			}
		case hasStep: // "a/n" means a to the end, every n.
			b = s.hi
			if a > b {
				b = a // day-of-week 7/n: just Sunday.
			}
		default:
			b = a
		}
	}
	var mask uint64
	for v := a; v <= b; v += step {
		if v == 7 && s.max == 7 {
			v = 0 // Sunday, spelled 7.
			mask |= 1
			break
		}
		mask |= uint64(1) << uint(v)
	}
	return mask, nil
}

// value parses a number or, in month and day-of-week, a name.
func (s *fieldSpec) value(text string) (int, error) {
	if text == "" {
		return 0, fmt.Errorf("%w: missing value", ErrSyntax)
	}
	if c := text[0]; c >= '0' && c <= '9' {
		n, err := parseNumber(text)
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%w %d-%d", ErrOutOfRange, s.lo, s.max)
		}
		if err != nil {
			return 0, fmt.Errorf("%w: bad number %q", ErrSyntax, text)
		}
		if n < s.lo || n > s.max {
			return 0, fmt.Errorf("%w %d-%d", ErrOutOfRange, s.lo, s.max)
		}
		return n, nil
	}
	for i, name := range s.names {
		if strings.EqualFold(text, name) {
			if s.lo == 1 {
				return i + 1, nil
			}
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: bad value %q", ErrSyntax, text)
}

// parseNumber parses a short decimal number with no sign.
func parseNumber(text string) (int, error) {
	if text == "" || len(text) > 6 {
		return 0, strconv.ErrRange
	}
	n := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// format writes mask in canonical form: "*" when full, "*/n" when it is
// exactly every n-th value from the start (if starOK), "a-b/n" for another
// progression of three or more values, else a list of values and runs.
// The result never starts with "*" unless the mask is full or starOK.
func (s *fieldSpec) format(mask uint64, starOK bool) string {
	if mask == s.full() {
		return "*"
	}
	vals := s.values(mask)
	if n, ok := s.everyNth(vals); ok && starOK && len(vals) > 1 {
		return "*/" + strconv.Itoa(n)
	}
	if len(vals) >= 3 {
		step := vals[1] - vals[0]
		prog := step > 1
		for i := 2; prog && i < len(vals); i++ {
			prog = vals[i]-vals[i-1] == step
		}
		if prog {
			return fmt.Sprintf("%d-%d/%d", vals[0], vals[len(vals)-1], step)
		}
	}
	var b strings.Builder
	for i := 0; i < len(vals); {
		j := i
		for j+1 < len(vals) && vals[j+1] == vals[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(vals[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(vals[j]))
		}
		i = j + 1
	}
	return b.String()
}

// formatStar writes a mask that contains the field's first value so that
// the text starts with "*": "*/n" when it is a progression from the start,
// else "*/span," followed by the other values ("*/span" alone is just the
// first value).
func (s *fieldSpec) formatStar(mask uint64) string {
	if n, ok := s.everyNth(s.values(mask)); ok {
		return "*/" + strconv.Itoa(n)
	}
	rest := mask &^ (uint64(1) << uint(s.lo))
	return "*/" + strconv.Itoa(s.hi-s.lo+1) + "," + s.format(rest, false)
}

// everyNth reports whether vals is exactly what "*/n" gives, and n.
func (s *fieldSpec) everyNth(vals []int) (int, bool) {
	if len(vals) == 0 || vals[0] != s.lo {
		return 0, false
	}
	n := s.hi - s.lo + 1
	if len(vals) > 1 {
		n = vals[1] - vals[0]
	}
	if n < 2 {
		return 0, false
	}
	want := 0
	for v := s.lo; v <= s.hi; v += n {
		if want >= len(vals) || vals[want] != v {
			return 0, false
		}
		want++
	}
	return n, want == len(vals)
}

func (s *fieldSpec) values(mask uint64) []int {
	var vals []int
	for v := s.lo; v <= s.hi; v++ {
		if has(mask, v) {
			vals = append(vals, v)
		}
	}
	return vals
}
