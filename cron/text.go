package cron

import (
	"fmt"
	"strings"
	"time"
)

// units are the interval units of the SQL schedule text, singular and
// plural.
var units = map[string]time.Duration{
	"SECOND": time.Second, "SECONDS": time.Second,
	"MINUTE": time.Minute, "MINUTES": time.Minute,
	"HOUR": time.Hour, "HOURS": time.Hour,
	"DAY": 24 * time.Hour, "DAYS": 24 * time.Hour,
}

// ParseText parses the schedule of a Snowflake or Databend CREATE TASK
// statement, and the canonical text String returns:
//
//	2 MINUTE                                    Every(2 * time.Minute)
//	30 SECONDS                                  (SECOND, MINUTE, HOUR, DAY,
//	1 HOUR                                       singular or plural, any case)
//	USING CRON '0 0 0 * * *' 'Asia/Tokyo'       Parse("0 0 0 * * *", "Asia/Tokyo")
//	USING CRON '*/5 * * * *'                    zone omitted: UTC
//	USING CRON 0 9 * * * America/Los_Angeles    Snowflake: unquoted, zone last
//	0 30 2 * * * Europe/Berlin gap=skip         canonical *Expr text
//	@every 1m30s                                canonical *Interval text
//
// The whole text may also be one quoted literal ('1 MINUTE'). After an
// unquoted expression, the last word is taken as the zone when it contains
// a letter and is not a day-of-week field; otherwise the zone is UTC. A
// trailing "gap=skip|run-after" or "repeat=first|both|by-fields" sets the DST policy,
// as WithGap and WithRepeat do. Intervals are anchored to the Unix epoch,
// so "1 DAY" fires at midnight UTC.
//
// Errors in the framing are *ParseError values with Field "text", wrapping
// ErrSyntax, ErrInterval or ErrTooLong; errors in the embedded expression
// or zone are the *ParseError Parse returns for them.
func ParseText(text string) (Schedule, error) {
	return parseText(text, true)
}

type token struct {
	s      string
	quoted bool
}

func parseText(text string, unwrap bool) (Schedule, error) {
	textErr := func(input string, err error) error {
		return &ParseError{Expr: text, Field: "text", Input: input, Err: err}
	}
	if len(text) > MaxLen {
		return nil, textErr("", ErrTooLong)
	}
	toks, err := tokenize(text)
	if err != nil {
		return nil, textErr("", err)
	}
	if len(toks) == 0 {
		return nil, textErr("", fmt.Errorf("%w: empty schedule", ErrSyntax))
	}
	if len(toks) == 1 && toks[0].quoted && unwrap {
		return parseText(toks[0].s, false)
	}
	if !toks[0].quoted && strings.EqualFold(toks[0].s, "USING") {
		if len(toks) < 2 || toks[1].quoted || !strings.EqualFold(toks[1].s, "CRON") {
			return nil, textErr(toks[0].s, fmt.Errorf("%w: want USING CRON", ErrSyntax))
		}
		toks = toks[2:]
		if len(toks) == 0 {
			return nil, textErr("", fmt.Errorf("%w: missing cron expression", ErrSyntax))
		}
	} else if len(toks) == 2 && !toks[0].quoted && !toks[1].quoted && isDigits(toks[0].s) {
		unit, ok := units[strings.ToUpper(toks[1].s)]
		if !ok {
			return nil, textErr(toks[1].s, fmt.Errorf("%w: unknown unit", ErrSyntax))
		}
		n, err := parseNumber(toks[0].s)
		if err != nil || n < 1 || int64(n) > int64(1<<62)/int64(unit) {
			return nil, textErr(toks[0].s, fmt.Errorf("%w: count out of range", ErrInterval))
		}
		iv := Every(time.Duration(n) * unit)
		if err := iv.Validate(); err != nil {
			return nil, textErr(toks[0].s, err.(*ParseError).Err)
		}
		return iv, nil
	}
	return parseSpec(text, toks)
}

// parseSpec parses an expression, an optional zone and optional policies.
func parseSpec(text string, toks []token) (Schedule, error) {
	var opts []Option
	for len(toks) > 0 {
		last := toks[len(toks)-1]
		key, val, ok := strings.Cut(last.s, "=")
		if last.quoted || !ok {
			break
		}
		var opt Option
		switch strings.ToLower(key) + "=" + strings.ToLower(val) {
		case "gap=run-after":
			opt = WithGap(GapRunAfter)
		case "gap=skip":
			opt = WithGap(GapSkip)
		case "repeat=first":
			opt = WithRepeat(RepeatFirst)
		case "repeat=both":
			opt = WithRepeat(RepeatBoth)
		case "repeat=by-fields":
			opt = WithRepeat(RepeatByFields)
		default:
			return nil, &ParseError{Expr: text, Field: "text", Input: last.s, Err: fmt.Errorf("%w: unknown policy", ErrSyntax)}
		}
		opts = append(opts, opt)
		toks = toks[:len(toks)-1]
	}
	var expr []token
	var zone []token
	switch {
	case len(toks) == 0:
		return nil, &ParseError{Expr: text, Field: "text", Err: fmt.Errorf("%w: missing cron expression", ErrSyntax)}
	case toks[0].quoted:
		expr, zone = toks[:1], toks[1:]
	case strings.EqualFold(toks[0].s, "@every") && len(toks) >= 2:
		expr, zone = toks[:2], toks[2:]
	case strings.HasPrefix(toks[0].s, "@"):
		expr, zone = toks[:1], toks[1:]
	default:
		n := len(toks)
		if last := toks[n-1]; n >= 2 && (last.quoted || looksLikeZone(last.s)) {
			expr, zone = toks[:n-1], toks[n-1:]
		} else {
			expr = toks
		}
	}
	if len(zone) > 1 {
		return nil, &ParseError{Expr: text, Field: "text", Input: zone[1].s, Err: fmt.Errorf("%w: unexpected text after zone", ErrSyntax)}
	}
	words := make([]string, len(expr))
	for i, t := range expr {
		if t.quoted && len(expr) > 1 {
			return nil, &ParseError{Expr: text, Field: "text", Input: t.s, Err: fmt.Errorf("%w: unexpected quoted text", ErrSyntax)}
		}
		words[i] = t.s
	}
	z := ""
	if len(zone) == 1 {
		z = zone[0].s
	}
	return Parse(strings.Join(words, " "), z, opts...)
}

// looksLikeZone reports whether the last word of an unquoted expression is
// a zone name rather than the day-of-week field: zone names have letters,
// and none is a day-of-week field (MON-FRI).
func looksLikeZone(s string) bool {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) {
		return false
	}
	_, _, err := specs[fDow].parse(s, &dayRules{})
	return err != nil
}

// tokenize splits text on spaces, keeping '...' and "..." literals (with no
// escapes) as single tokens.
func tokenize(text string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(text) {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			j := strings.IndexByte(text[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("%w: unterminated quote", ErrSyntax)
			}
			toks = append(toks, token{s: strings.TrimSpace(text[i+1 : i+1+j]), quoted: true})
			i += j + 2
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(" \t\n\r'\"", rune(text[j])) {
				j++
			}
			toks = append(toks, token{s: text[i:j]})
			i = j
		}
	}
	return toks, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
