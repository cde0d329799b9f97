package cron

import "math/bits"

// Civil (wall-clock) time arithmetic. A civil time is counted in seconds
// since 1970-01-01 00:00:00 on the proleptic Gregorian calendar, with no
// zone: the count a UTC clock would show for the same fields. The search for
// matching fields happens entirely in civil time; only afterwards are the
// matches resolved to instants in the schedule's zone.

const secondsPerDay = 86400

// civil is a civil time broken into fields.
type civil struct {
	y          int64
	mo, d      int
	h, mi, sec int
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// daysFromCivil returns the days from 1970-01-01 to y-m-d (Howard
// Hinnant's algorithm, exact on the proleptic Gregorian calendar).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func civilOf(s int64) civil {
	days := floorDiv(s, secondsPerDay)
	sod := int(s - days*secondsPerDay)
	y, m, d := civilFromDays(days)
	return civil{y: y, mo: m, d: d, h: sod / 3600, mi: sod / 60 % 60, sec: sod % 60}
}

func (c civil) seconds() int64 {
	return daysFromCivil(c.y, c.mo, c.d)*secondsPerDay + int64(c.h*3600+c.mi*60+c.sec)
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y int64, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// weekday returns 0 for Sunday through 6 for Saturday.
func weekday(y int64, m, d int) int {
	w := (daysFromCivil(y, m, d) + 4) % 7 // 1970-01-01 was a Thursday.
	if w < 0 {
		w += 7
	}
	return int(w)
}

// nextBit returns the smallest set bit of mask at or above from, or -1.
func nextBit(mask uint64, from int) int {
	if from < 0 {
		from = 0
	}
	if from > 63 {
		return -1
	}
	x := mask >> uint(from)
	if x == 0 {
		return -1
	}
	return from + bits.TrailingZeros64(x)
}

// prevBit returns the largest set bit of mask at or below from, or -1.
func prevBit(mask uint64, from int) int {
	if from < 0 {
		return -1
	}
	if from < 63 {
		mask &= (uint64(1) << uint(from+1)) - 1
	}
	if mask == 0 {
		return -1
	}
	return 63 - bits.LeadingZeros64(mask)
}

func has(mask uint64, i int) bool { return mask&(uint64(1)<<uint(i)) != 0 }

// dayMatches applies the Vixie cron rule: when both day fields are
// restricted a day matches if either does, otherwise both must (an
// unrestricted field holds every day, so "both" is just the other one).
func (e *Expr) dayMatches(y int64, m, d int) bool {
	if e.rules != nil {
		return e.dayMatchesRules(y, m, d)
	}
	domOK := has(e.dom, d)
	if e.dayOr {
		return domOK || has(e.dow, weekday(y, m, d))
	}
	return domOK && has(e.dow, weekday(y, m, d))
}

// dayMatchesRules is dayMatches for an expression with L, W or # items.
func (e *Expr) dayMatchesRules(y int64, m, d int) bool {
	dim, w := daysIn(y, m), weekday(y, m, d)
	domOK := has(e.dom, d) || e.rules.domMatches(y, m, d, dim)
	dowOK := has(e.dow, w) || e.rules.dowMatches(d, w, dim)
	if e.dayOr {
		return domOK || dowOK
	}
	return domOK && dowOK
}

// domJumps reports whether a day not in e.dom can be skipped over: no
// day-of-month rule can match it.
func (e *Expr) domJumps() bool { return e.rules == nil || !e.rules.hasDom() }

func (e *Expr) empty() bool {
	if e.sec == 0 || e.min == 0 || e.hour == 0 || e.month == 0 {
		return true
	}
	if e.rules == nil {
		return e.dom == 0 || e.dow == 0
	}
	return e.dom == 0 && !e.rules.hasDom() || e.dow == 0 && !e.rules.hasDow()
}

// nextMatch returns the first civil time at or after from whose fields
// match e, giving up after the end of year maxYear.
func (e *Expr) nextMatch(from int64, maxYear int64) (int64, bool) {
	if e.empty() {
		return 0, false
	}
	c := civilOf(from)
	for c.y <= maxYear {
		if !has(e.month, c.mo) {
			if m := nextBit(e.month, c.mo+1); m > 0 {
				c.mo = m
			} else {
				c.y++
				c.mo = nextBit(e.month, 1)
			}
			c.d, c.h, c.mi, c.sec = 1, 0, 0, 0
			continue
		}
		if c.d > daysIn(c.y, c.mo) {
			c.mo++
			if c.mo > 12 {
				c.y, c.mo = c.y+1, 1
			}
			c.d, c.h, c.mi, c.sec = 1, 0, 0, 0
			continue
		}
		if !e.dayMatches(c.y, c.mo, c.d) {
			if !e.dayOr && !has(e.dom, c.d) && e.domJumps() {
				// Jump straight to the next allowed day of the month.
				if d := nextBit(e.dom, c.d+1); d > 0 {
					c.d = d
				} else {
					c.d = 32 // past the month; the check above rolls over.
				}
			} else {
				c.d++
			}
			c.h, c.mi, c.sec = 0, 0, 0
			continue
		}
		if !has(e.hour, c.h) {
			h := nextBit(e.hour, c.h+1)
			if h < 0 {
				c.d, c.h, c.mi, c.sec = c.d+1, 0, 0, 0
				continue
			}
			c.h, c.mi, c.sec = h, 0, 0
		}
		if !has(e.min, c.mi) {
			mi := nextBit(e.min, c.mi+1)
			if mi < 0 {
				c.h, c.mi, c.sec = c.h+1, 0, 0
				if c.h > 23 {
					c.d, c.h = c.d+1, 0
				}
				continue
			}
			c.mi, c.sec = mi, 0
		}
		if !has(e.sec, c.sec) {
			s := nextBit(e.sec, c.sec+1)
			if s < 0 {
				c.mi, c.sec = c.mi+1, 0
				if c.mi > 59 {
					c.h, c.mi = c.h+1, 0
					if c.h > 23 {
						c.d, c.h = c.d+1, 0
					}
				}
				continue
			}
			c.sec = s
		}
		return c.seconds(), true
	}
	return 0, false
}

// prevMatch returns the last civil time at or before from whose fields
// match e, giving up before the start of year minYear.
func (e *Expr) prevMatch(from int64, minYear int64) (int64, bool) {
	if e.empty() {
		return 0, false
	}
	c := civilOf(from)
	endOfDay := func() { c.h, c.mi, c.sec = 23, 59, 59 }
	for c.y >= minYear {
		if !has(e.month, c.mo) {
			if m := prevBit(e.month, c.mo-1); m > 0 {
				c.mo = m
			} else {
				c.y--
				c.mo = prevBit(e.month, 12)
			}
			c.d = daysIn(c.y, c.mo)
			endOfDay()
			continue
		}
		if c.d < 1 {
			c.mo--
			if c.mo < 1 {
				c.y, c.mo = c.y-1, 12
			}
			c.d = daysIn(c.y, c.mo)
			endOfDay()
			continue
		}
		if dim := daysIn(c.y, c.mo); c.d > dim {
			c.d = dim
			endOfDay()
		}
		if !e.dayMatches(c.y, c.mo, c.d) {
			if !e.dayOr && !has(e.dom, c.d) && e.domJumps() {
				c.d = prevBit(e.dom, c.d-1) // -1 or 0 rolls back a month above.
			} else {
				c.d--
			}
			endOfDay()
			continue
		}
		if !has(e.hour, c.h) {
			h := prevBit(e.hour, c.h-1)
			if h < 0 {
				c.d--
				endOfDay()
				continue
			}
			c.h, c.mi, c.sec = h, 59, 59
		}
		if !has(e.min, c.mi) {
			mi := prevBit(e.min, c.mi-1)
			if mi < 0 {
				c.h, c.mi, c.sec = c.h-1, 59, 59
				if c.h < 0 {
					c.d--
					endOfDay()
				}
				continue
			}
			c.mi, c.sec = mi, 59
		}
		if !has(e.sec, c.sec) {
			s := prevBit(e.sec, c.sec-1)
			if s < 0 {
				c.mi, c.sec = c.mi-1, 59
				if c.mi < 0 {
					c.h, c.mi = c.h-1, 59
					if c.h < 0 {
						c.d--
						endOfDay()
					}
				}
				continue
			}
			c.sec = s
		}
		return c.seconds(), true
	}
	return 0, false
}
