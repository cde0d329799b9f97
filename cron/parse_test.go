package cron

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, zone string
		opts       []Option
		want       string // String()
	}{
		{expr: "* * * * * *", want: "* * * * * * UTC"},
		{expr: "* * * * *", want: "0 * * * * * UTC"},
		{expr: "*/15 * * * * *", want: "*/15 * * * * * UTC"},
		{expr: "0  0\t12 * * *", want: "0 0 12 * * * UTC"},
		{expr: "0 9 * * MON-FRI", zone: "America/New_York", want: "0 0 9 * * 1-5 America/New_York"},
		{expr: "0 0 0 1 jan,Jul *", want: "0 0 0 1 */6 * UTC"},
		{expr: "0 0 0 1 JAN-DEC/3 *", want: "0 0 0 1 */3 * UTC"},
		{expr: "0 0 12 * * 7", want: "0 0 12 * * 0 UTC"},
		{expr: "0 0 12 * * 5-7", want: "0 0 12 * * 0,5-6 UTC"},
		{expr: "0 0 12 * * 0-7", want: "0 0 12 * * * UTC"},
		{expr: "0 0 12 ? * sun", want: "0 0 12 * * 0 UTC"},
		{expr: "0 0 12 1 * ?", want: "0 0 12 1 * * UTC"},
		{expr: "0 5-55/10 * * * *", want: "0 5-55/10 * * * * UTC"},
		{expr: "0 5/10 * * * *", want: "0 5-55/10 * * * * UTC"},
		{expr: "0 0-59/1 * * * *", want: "0 * * * * * UTC"},
		{expr: "0 0 */24 * * *", want: "0 0 0 * * * UTC repeat=both"},
		{expr: "0 0 1,2,3,5,7,8 * * *", want: "0 0 1-3,5,7-8 * * * UTC repeat=first"},
		{expr: "0 0 0 */2 * MON", want: "0 0 0 */2 * 1 UTC"},                // AND: "*/2" starts with "*"
		{expr: "0 0 0 1-31/2 * MON", want: "0 0 0 1-31/2 * 1 UTC"},          // OR
		{expr: "0 0 0 1-31 * MON", want: "0 0 0 * * * UTC"},                 // OR with a full field: every day
		{expr: "0 0 0 15 * 0-6", want: "0 0 0 * * * UTC"},                   // same
		{expr: "0 0 0 5 * */2", want: "0 0 0 5 * */2 UTC"},                  // AND, star on day-of-week
		{expr: "0 0 0 */10,5 * MON", want: "0 0 0 */31,5,11,21,31 * 1 UTC"}, // AND, not a plain step
		{expr: "0 0 0 29 2 *", want: "0 0 0 29 2 * UTC"},
		{expr: "@daily", zone: "Europe/Berlin", want: "0 0 0 * * * Europe/Berlin"},
		{expr: "@midnight", want: "0 0 0 * * * UTC"},
		{expr: "@DAILY", want: "0 0 0 * * * UTC"},
		{expr: "@hourly", want: "0 0 * * * * UTC"},
		{expr: "@weekly", want: "0 0 0 * * 0 UTC"},
		{expr: "@monthly", want: "0 0 0 1 * * UTC"},
		{expr: "@yearly", want: "0 0 0 1 1 * UTC"},
		{expr: "@annually", want: "0 0 0 1 1 * UTC"},
		{expr: "@every 90s", want: "@every 1m30s"},
		{expr: "@every 1h30m", zone: "Asia/Tokyo", want: "@every 1h30m0s"},
		{expr: "@every 1.5s", want: "@every 1.5s"},
		{expr: "0 0 * * *", zone: "UTC", want: "0 0 0 * * * UTC"},
		{expr: "0 0 * * *", zone: "Local", want: "0 0 0 * * * Local"},
		{expr: "0 30 2 * * *", zone: "Europe/Berlin", opts: []Option{WithGap(GapSkip)}, want: "0 30 2 * * * Europe/Berlin gap=skip"},
		{expr: "0 30 1 * * *", zone: "Europe/Berlin", opts: []Option{WithRepeat(RepeatBoth), WithGap(GapRunAfter)}, want: "0 30 1 * * * Europe/Berlin repeat=both"},
		{expr: "0 30 1 * * *", opts: []Option{WithGap(GapSkip), WithRepeat(RepeatBoth)}, want: "0 30 1 * * * UTC gap=skip repeat=both"},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr, tt.zone, tt.opts...)
		if err != nil {
			t.Fatalf("Parse(%q, %q) error = %v, want nil", tt.expr, tt.zone, err)
		}
		if got := s.String(); got != tt.want {
			t.Fatalf("Parse(%q, %q).String() = %q, want %q", tt.expr, tt.zone, got, tt.want)
		}
		if e, ok := s.(*Expr); ok && e.Expr() != tt.expr {
			t.Fatalf("Parse(%q).Expr() = %q, want %q", tt.expr, e.Expr(), tt.expr)
		}
		// The canonical text parses back to the same schedule.
		back, err := ParseText(s.String())
		if err != nil {
			t.Fatalf("ParseText(%q) error = %v, want nil", s.String(), err)
		}
		if got := back.String(); got != tt.want {
			t.Fatalf("ParseText(%q).String() = %q, want %q", s.String(), got, tt.want)
		}
	}
}

func TestParseResultType(t *testing.T) {
	t.Parallel()
	s := MustParse("@every 1m", "")
	iv, ok := s.(*Interval)
	if !ok {
		t.Fatalf("MustParse(@every 1m) is %T, want *Interval", s)
	}
	if got, want := iv.Duration(), time.Minute; got != want {
		t.Fatalf("Duration() = %v, want %v", got, want)
	}
	e, ok := MustParse("0 0 * * *", "Asia/Tokyo").(*Expr)
	if !ok {
		t.Fatalf("MustParse(0 0 * * *) is %T, want *Expr", s)
	}
	if got, want := e.Location().String(), "Asia/Tokyo"; got != want {
		t.Fatalf("Location() = %v, want %v", got, want)
	}
	if got := MustParse("0 0 * * *", "").(*Expr).Location(); got != time.UTC {
		t.Fatalf("Location() for zone \"\" = %v, want UTC", got)
	}
	if got := MustParse("0 0 * * *", "Local").(*Expr).Location(); got != time.Local {
		t.Fatalf("Location() for zone Local = %v, want Local", got)
	}
}

func TestMustParsePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("recover() = %v, want an error wrapping ErrOutOfRange", r)
		}
	}()
	MustParse("0 0 25 * * *", "")
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, zone string
		opts       []Option
		field      string
		input      string // "" means don't check
		err        error
	}{
		{expr: "", field: "expression", err: ErrFieldCount},
		{expr: "   ", field: "expression", err: ErrFieldCount},
		{expr: "* * * *", field: "expression", err: ErrFieldCount},
		{expr: "* * * * * * *", field: "expression", err: ErrFieldCount},
		{expr: "60 * * * * *", field: "second", input: "60", err: ErrOutOfRange},
		{expr: "0 60 * * * *", field: "minute", input: "60", err: ErrOutOfRange},
		{expr: "0 0 25 * * *", field: "hour", input: "25", err: ErrOutOfRange},
		{expr: "0 0 1,2,99 * * *", field: "hour", input: "1,2,99", err: ErrOutOfRange},
		{expr: "0 0 0 0 * *", field: "day-of-month", input: "0", err: ErrOutOfRange},
		{expr: "0 0 0 32 * *", field: "day-of-month", input: "32", err: ErrOutOfRange},
		{expr: "0 0 0 * 0 *", field: "month", input: "0", err: ErrOutOfRange},
		{expr: "0 0 0 * 13 *", field: "month", input: "13", err: ErrOutOfRange},
		{expr: "0 0 0 * * 8", field: "day-of-week", input: "8", err: ErrOutOfRange},
		{expr: "0 99999999999 * * * *", field: "minute", err: ErrOutOfRange},
		{expr: "*/0 * * * * *", field: "second", input: "*/0", err: ErrOutOfRange},
		{expr: "0 */61 * * * *", field: "minute", input: "*/61", err: ErrOutOfRange},
		{expr: "0 0 0 * * */8", field: "day-of-week", err: ErrOutOfRange},
		{expr: "0 0 5-3 * * *", field: "hour", input: "5-3", err: ErrSyntax},
		{expr: "0 0 0 * * 7-1", field: "day-of-week", err: ErrSyntax},
		{expr: "0 0 0 * DEC-JAN *", field: "month", err: ErrSyntax},
		{expr: "0 1,,2 * * * *", field: "minute", input: "1,,2", err: ErrSyntax},
		{expr: "0 1, * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 ,1 * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 a * * * *", field: "minute", input: "a", err: ErrSyntax},
		{expr: "0 -1 * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 1-2-3 * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 1/2/3 * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 1/ * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 */x * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 +5 * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 MON * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 ? * * * *", field: "minute", err: ErrSyntax},
		{expr: "0 0 0 ?,1 * *", field: "day-of-month", err: ErrSyntax},
		{expr: "0 0 0 * JANUARY *", field: "month", err: ErrSyntax},
		{expr: "0 0 0 * * MON-", field: "day-of-week", err: ErrSyntax},
		{expr: "0 0 0 L-31 * *", field: "day-of-month", err: ErrOutOfRange},
		{expr: "0 0 0 L-x * *", field: "day-of-month", err: ErrSyntax},
		{expr: "0 0 0 32W * *", field: "day-of-month", err: ErrOutOfRange},
		{expr: "0 0 0 0W * *", field: "day-of-month", err: ErrOutOfRange},
		{expr: "0 0 0 L/2 * *", field: "day-of-month", err: ErrSyntax},
		{expr: "0 0 0 W * *", field: "day-of-month", err: ErrSyntax},
		{expr: "0 0 0 * * L", field: "day-of-week", err: ErrSyntax},
		{expr: "0 0 0 * * 5#6", field: "day-of-week", err: ErrOutOfRange},
		{expr: "0 0 0 * * 5#0", field: "day-of-week", err: ErrOutOfRange},
		{expr: "0 0 0 * * 8#1", field: "day-of-week", err: ErrOutOfRange},
		{expr: "0 0 0 * * FRX#1", field: "day-of-week", err: ErrSyntax},
		{expr: "0 0 0 * * 5#", field: "day-of-week", err: ErrSyntax},
		{expr: "0 0 0 * * 9L", field: "day-of-week", err: ErrOutOfRange},
		{expr: "0 0 0 * * 5W", field: "day-of-week", err: ErrSyntax},
		{expr: "0 0 L * * *", field: "hour", err: ErrSyntax},
		{expr: "0 0 0 * 2L *", field: "month", err: ErrSyntax},
		{expr: "0 0 0 30W 2 *", field: "expression", err: ErrNeverFires},
		{expr: "0 0 0 L-30 2 *", field: "expression", err: ErrNeverFires},
		{expr: "0 0 0 30 2 *", field: "expression", err: ErrNeverFires},
		{expr: "0 0 0 31 4,6,9,11 *", field: "expression", err: ErrNeverFires},
		{expr: "@reboot", field: "expression", input: "@reboot", err: ErrSyntax},
		{expr: "@daily 5", field: "expression", err: ErrSyntax},
		{expr: "@every", field: "interval", err: ErrInterval},
		{expr: "@every 500ms", field: "interval", input: "500ms", err: ErrInterval},
		{expr: "@every 1.0005s", field: "interval", input: "1.0005s", err: ErrInterval},
		{expr: "@every x", field: "interval", input: "x", err: ErrInterval},
		{expr: "@every -1m", field: "interval", input: "-1m", err: ErrInterval},
		{expr: "@every 1m 2m", field: "expression", err: ErrSyntax},
		{expr: "0 0 * * *", zone: "Mars/Olympus_Mons", field: "zone", input: "Mars/Olympus_Mons", err: ErrUnknownZone},
		{expr: "@every 1m", zone: "Nowhere", field: "zone", input: "Nowhere", err: ErrUnknownZone},
		{expr: "0 0 * * *", zone: "../../etc/passwd", field: "zone", input: "../../etc/passwd", err: ErrUnknownZone},
		{expr: "0 0 * * *", zone: strings.Repeat("A", MaxLen+1), field: "zone", err: ErrTooLong},
		{expr: strings.Repeat("* ", MaxLen), field: "expression", err: ErrTooLong},
		{expr: "0 0 * * *", opts: []Option{WithGap(GapPolicy(9))}, field: "option", err: ErrOption},
		{expr: "0 0 * * *", opts: []Option{WithRepeat(-1)}, field: "option", err: ErrOption},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr, tt.zone, tt.opts...)
		if err == nil {
			t.Fatalf("Parse(%q, %q) = %v, want error", tt.expr, tt.zone, s)
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Parse(%q) error = %T %v, want *ParseError", tt.expr, err, err)
		}
		if pe.Field != tt.field {
			t.Fatalf("Parse(%q) error field = %q, want %q (error %v)", tt.expr, pe.Field, tt.field, err)
		}
		if pe.Expr != tt.expr {
			t.Fatalf("Parse(%q) error expr = %q, want %q", tt.expr, pe.Expr, tt.expr)
		}
		if tt.input != "" && pe.Input != tt.input {
			t.Fatalf("Parse(%q) error input = %q, want %q", tt.expr, pe.Input, tt.input)
		}
		if !errors.Is(err, tt.err) {
			t.Fatalf("Parse(%q) error = %v, want errors.Is %v", tt.expr, err, tt.err)
		}
	}
}

func TestParseErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr, zone, want string
	}{
		{"0 0 25 * * *", "", `cron: hour "25" in "0 0 25 * * *": value out of range 0-23`},
		{"0 0 * * *", "Mars/Base", `cron: zone "Mars/Base" in "0 0 * * *": unknown time zone`},
		{"0 0 0 30 2 *", "", `cron: expression "0 0 0 30 2 *": schedule never fires`},
		{"0 0 5-3 * * *", "", `cron: hour "5-3" in "0 0 5-3 * * *": syntax error: reversed range "5-3"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr, tt.zone)
		if err == nil {
			t.Fatalf("Parse(%q, %q) error = nil, want %q", tt.expr, tt.zone, tt.want)
		}
		if got := err.Error(); got != tt.want {
			t.Fatalf("Parse(%q, %q) error = %q, want %q", tt.expr, tt.zone, got, tt.want)
		}
	}
	long := &ParseError{Expr: strings.Repeat("x", 500), Field: "expression", Err: ErrTooLong}
	if got := len(long.Error()); got > 200 {
		t.Fatalf("len(Error()) of a long input = %d, want <= 200", got)
	}
}

func TestOptionsNil(t *testing.T) {
	t.Parallel()
	_, err := Parse("0 0 * * *", "", WithGap(GapSkip), nil)
	var pe *ParseError
	if !errors.Is(err, ErrOption) || !errors.As(err, &pe) || pe.Field != "option" {
		t.Fatalf("Parse with a nil option error = %v, want a *ParseError for field option wrapping ErrOption", err)
	}
	if !strings.Contains(err.Error(), "option 1 is nil") {
		t.Errorf("Parse with a nil option error = %q, want it to name option 1", err)
	}
}

func TestPolicyStrings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, want string
	}{
		{GapRunAfter.String(), "run-after"},
		{GapSkip.String(), "skip"},
		{GapPolicy(5).String(), "GapPolicy(5)"},
		{RepeatFirst.String(), "first"},
		{RepeatBoth.String(), "both"},
		{RepeatByFields.String(), "by-fields"},
		{RepeatPolicy(5).String(), "RepeatPolicy(5)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Fatalf("String() = %q, want %q", tt.got, tt.want)
		}
	}
	if GapDefault != GapRunAfter || RepeatDefault != RepeatByFields {
		t.Fatalf("defaults = %v, %v, want run-after, by-fields", GapDefault, RepeatDefault)
	}
}

func TestParseZonePrefix(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		expr, zone string
		wantZone   string
		wantNext   time.Time
	}{
		{"CRON_TZ=Asia/Tokyo 0 9 * * *", "", "Asia/Tokyo", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Add(24 * time.Hour)},
		{"TZ=Europe/Berlin 0 9 * * *", "", "Europe/Berlin", time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC)},
		{"CRON_TZ=Asia/Tokyo 0 9 * * *", "Asia/Tokyo", "Asia/Tokyo", time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)},
		{"CRON_TZ=UTC 30 2 * * *", "", "UTC", time.Date(2026, 6, 1, 2, 30, 0, 0, time.UTC)},
		{"CRON_TZ=UTC 30 2 * * *", "UTC", "UTC", time.Date(2026, 6, 1, 2, 30, 0, 0, time.UTC)},
		{"CRON_TZ=America/New_York @daily", "", "America/New_York", time.Date(2026, 6, 1, 4, 0, 0, 0, time.UTC)},
		{"CRON_TZ=America/New_York 0 0 12 * * *", "", "America/New_York", time.Date(2026, 6, 1, 16, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		s, err := Parse(tt.expr, tt.zone)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", tt.expr, tt.zone, err)
		}
		e := s.(*Expr)
		if got := e.Location().String(); got != tt.wantZone {
			t.Errorf("Parse(%q, %q).Location() = %s, want %s", tt.expr, tt.zone, got, tt.wantZone)
		}
		if got := e.Next(from); !got.Equal(tt.wantNext) {
			t.Errorf("Parse(%q, %q).Next(%v) = %v, want %v", tt.expr, tt.zone, from, got, tt.wantNext)
		}
		if e.Expr() != tt.expr {
			t.Errorf("Expr() = %q, want the text as given %q", e.Expr(), tt.expr)
		}
		back, err := ParseText(e.String())
		if err != nil || back.String() != e.String() {
			t.Errorf("ParseText(%q) = %v, %v; want the same schedule", e.String(), back, err)
		}
	}
	// Through ParseText too.
	if s, err := ParseText("CRON_TZ=Asia/Tokyo 0 9 * * *"); err != nil || s.(*Expr).Location().String() != "Asia/Tokyo" {
		t.Fatalf("ParseText with a CRON_TZ prefix = %v, %v", s, err)
	}

	bad := []struct {
		expr, zone string
		want       error
		mention    []string
	}{
		{"CRON_TZ=Asia/Tokyo 0 9 * * *", "Europe/Berlin", ErrZoneConflict, []string{"CRON_TZ=Asia/Tokyo", "Europe/Berlin"}},
		{"TZ=UTC 0 9 * * *", "Asia/Tokyo", ErrZoneConflict, []string{"TZ=UTC", "Asia/Tokyo"}},
		{"CRON_TZ=Mars/Olympus 0 9 * * *", "", ErrUnknownZone, []string{"Mars/Olympus"}},
		{"CRON_TZ=Asia/Tokyo", "", ErrFieldCount, nil},
		{"0 9 * * * CRON_TZ=Asia/Tokyo", "", ErrSyntax, []string{"day-of-week"}}, // only as a prefix
	}
	for _, tt := range bad {
		_, err := Parse(tt.expr, tt.zone)
		if !errors.Is(err, tt.want) {
			t.Fatalf("Parse(%q, %q) error = %v, want %v", tt.expr, tt.zone, err, tt.want)
		}
		for _, m := range tt.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("Parse(%q, %q) error %q does not name %q", tt.expr, tt.zone, err, m)
			}
		}
	}
}
