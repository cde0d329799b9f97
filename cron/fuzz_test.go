package cron

import (
	"testing"
	"time"
)

var fuzzZones = []string{"", "UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "Australia/Lord_Howe", "Pacific/Apia", "America/Sao_Paulo"}

// FuzzParse checks that Parse never panics and that what it accepts
// behaves: Next is strictly after its input (or zero) and in UTC, Prev is
// at or before it, Next and Prev agree, and the canonical String parses
// back (with ParseText) to a schedule with the same String and the same
// activations.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"* * * * * *", "0 0 2 * * *", "0 30 2 * * *", "0 */30 * * * *", "*/15 * * * * *",
		"0 9 * * MON-FRI", "0 0 0 13 * FRI", "0 0 0 */2 * MON", "0 0 0 29 2 *", "0 0 0 30 2 *",
		"0 5/10 1-5,7 ? JAN-MAR/2 *", "0 0 12 * * 7", "@daily", "@every 90s", "@every 1h30m",
		"@every 10ms", "@weekly", "@reboot", "0 0 25 * * *", "*/0 * * * * *", "0 1,,2 * * * *",
		"0 5-3 * * * *", "0 0 0 * * */8", "", "0 0 0 */10,5 * MON", "0 0 0 5 * */2",
		"1-59/59 */7 2-3 1-31/3 */5 1,3", "0 0 0 L * *",
		"0 0 0 L-3 * *", "0 0 0 15W,LW * *", "0 0 0 ? * 5#3,FRIL", "0 0 0 */2 * 5L", "0 0 0 L * 5L",
		"0 0 0 1,L-30,31W 2 *", "0 0 0 * * L", "0 0 0 * * 5#6", "CRON_TZ=Asia/Tokyo 0 9 * * *",
		"TZ=Europe/Berlin */15 * * * *", "CRON_TZ=Nowhere 0 0 * * *", "0 0,30 1 * * *",
	}
	for i, s := range seeds {
		f.Add(s, uint8(i), int64(i)*987_654_321_123)
	}
	f.Fuzz(func(t *testing.T, expr string, zoneOpts uint8, at int64) {
		var opts []Option
		if zoneOpts&0x80 != 0 {
			opts = append(opts, WithGap(GapSkip))
		}
		switch {
		case zoneOpts&0x40 != 0:
			opts = append(opts, WithRepeat(RepeatBoth))
		case zoneOpts&0x20 != 0:
			opts = append(opts, WithRepeat(RepeatFirst))
		}
		zone := fuzzZones[int(zoneOpts&0x1f)%len(fuzzZones)]
		s, err := Parse(expr, zone, opts...)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("Parse(%q, %q) error = %T, want *ParseError", expr, zone, err)
			}
			_ = err.Error()
			return
		}
		// Times between 1900 and 2100, any nanosecond.
		const span = 200 * 365 * 24 * 3600
		sec := at % span
		if sec < 0 {
			sec += span
		}
		tm := time.Unix(sec-70*365*24*3600, (at>>32)&0x3fffffff%1_000_000_000)
		times := []time.Time{tm, time.Date(2026, 3, 8, 9, 59, 59, 0, time.UTC), time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)}

		back, err := ParseText(s.String())
		if err != nil {
			t.Fatalf("ParseText(%q) (String of Parse(%q, %q)) error = %v", s.String(), expr, zone, err)
		}
		if back.String() != s.String() {
			t.Fatalf("ParseText(%q).String() = %q, want the same", s.String(), back.String())
		}
		for _, x := range times {
			n := s.Next(x)
			if !n.IsZero() && (!n.After(x) || n.Location() != time.UTC) {
				t.Fatalf("%v: Next(%v) = %v, want a UTC time after it", s, x, n)
			}
			if got := back.Next(x); !got.Equal(n) {
				t.Fatalf("%v reparsed: Next(%v) = %v, want %v", back, x, got, n)
			}
			e, ok := s.(*Expr)
			if !ok {
				continue
			}
			p := e.Prev(x)
			if !p.IsZero() && p.After(x) {
				t.Fatalf("%v: Prev(%v) = %v, want at or before it", e, x, p)
			}
			if n.IsZero() || p.IsZero() {
				continue
			}
			if got := e.Next(p); !got.Equal(n) {
				t.Fatalf("%v: Next(Prev(%v)) = Next(%v) = %v, want %v", e, x, p, got, n)
			}
			if got := e.Prev(n); !got.Equal(n) {
				t.Fatalf("%v: Prev(Next(%v)) = Prev(%v) = %v, want %v", e, x, n, got, n)
			}
			if got := e.Prev(n.Add(-time.Nanosecond)); !got.Equal(p) {
				t.Fatalf("%v: Prev(%v) = %v, want %v", e, n.Add(-time.Nanosecond), got, p)
			}
		}
	})
}

// FuzzParseText checks that ParseText never panics and that what it
// accepts has a String that parses back to the same String.
func FuzzParseText(f *testing.F) {
	for _, s := range []string{
		"2 MINUTE", "30 seconds", "1 DAY", "'1 HOUR'", "USING CRON '0 0 0 * * *' 'Asia/Tokyo'",
		"USING CRON 0 9 * * * America/Los_Angeles", "USING CRON 0 9 * * MON-FRI",
		"0 30 2 * * * Europe/Berlin gap=skip repeat=both", "@every 1m30s", "USING CRON '0 0 * * *",
		"USING CRON @daily UTC", "0 MINUTE", "'", "USING CRON \"*/5 * * * *\" \"UTC\"",
		"USING CRON 0 0 L * * UTC", "USING CRON 0 9 ? * 5L America/Los_Angeles", "0 0 0 ? * 5#3 UTC repeat=first",
		"CRON_TZ=Asia/Tokyo 0 9 * * *", "0 0 1-3 * * * UTC repeat=first",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseText(text)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("ParseText(%q) error = %T, want *ParseError", text, err)
			}
			return
		}
		back, err := ParseText(s.String())
		if err != nil {
			t.Fatalf("ParseText(%q) (String of ParseText(%q)) error = %v", s.String(), text, err)
		}
		if back.String() != s.String() {
			t.Fatalf("ParseText(%q).String() = %q, want the same", s.String(), back.String())
		}
		x := time.Date(2026, 3, 8, 9, 59, 59, 0, time.UTC)
		if got, want := back.Next(x), s.Next(x); !got.Equal(want) {
			t.Fatalf("%v reparsed: Next(%v) = %v, want %v", back, x, got, want)
		}
	})
}
