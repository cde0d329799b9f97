package cron

import "testing"

// The default repeat policy, RepeatByFields, on both transitions of four
// zones: expressions that fire through the hour keep firing through a
// repeated hour; one at a fixed time runs once, at the first occurrence.

// America/New_York, 2026: 02:00 EST (-5) jumps to 03:00 EDT (-4) at
// 2026-03-08T07:00Z; 02:00 EDT falls back to 01:00 EST at 2026-11-01T06:00Z,
// so 01:00-01:59 is 05:00-05:59Z and again 06:00-06:59Z.
func TestRepeatByFieldsNewYork(t *testing.T) {
	t.Parallel()
	const ny = "America/New_York"
	runWalks(t, []walkCase{
		{"*/15 fall back", "*/15 * * * *", ny, nil, "2026-11-01T04:50:00Z", []string{
			"2026-11-01T05:00:00Z", "2026-11-01T05:15:00Z", "2026-11-01T05:30:00Z", "2026-11-01T05:45:00Z", // 01:xx EDT
			"2026-11-01T06:00:00Z", "2026-11-01T06:15:00Z", "2026-11-01T06:30:00Z", "2026-11-01T06:45:00Z", // 01:xx EST
			"2026-11-01T07:00:00Z", "2026-11-01T07:15:00Z"}},
		{"*/30 fall back", "*/30 * * * *", ny, nil, "2026-11-01T04:45:00Z", []string{
			"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"}},
		{"every minute fall back", "* * * * *", ny, nil, "2026-11-01T05:58:30Z", []string{
			"2026-11-01T05:59:00Z", "2026-11-01T06:00:00Z", "2026-11-01T06:01:00Z"}},
		{"*/30 fall back first", "*/30 * * * *", ny, first, "2026-11-01T04:45:00Z", []string{
			"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z"}},
		{"fixed 01:30 fall back", "30 1 * * *", ny, nil, "2026-10-31T00:00:00Z", []string{
			"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"fixed 01:30 fall back both", "30 1 * * *", ny, both, "2026-10-31T00:00:00Z", []string{
			"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z"}},
		{"fixed list fall back", "0 0,30 1 * * *", ny, nil, "2026-11-01T04:45:00Z", []string{
			"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:00:00Z"}},
		// 02:00 and 02:30 EST do not exist: one run at the transition.
		{"*/30 spring forward", "*/30 * * * *", ny, nil, "2026-03-08T05:45:00Z", []string{
			"2026-03-08T06:00:00Z", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}},
		{"*/15 spring forward", "*/15 * * * *", ny, nil, "2026-03-08T06:40:00Z", []string{
			"2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"}},
		{"fixed 02:30 spring forward", "30 2 * * *", ny, nil, "2026-03-07T00:00:00Z", []string{
			"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"fixed 01:30 spring forward", "30 1 * * *", ny, nil, "2026-03-07T00:00:00Z", []string{
			"2026-03-07T06:30:00Z", "2026-03-08T06:30:00Z", "2026-03-09T05:30:00Z"}},
	})
}

// Europe/Berlin, 2026: 02:00 CET (+1) jumps to 03:00 CEST (+2) at
// 2026-03-29T01:00Z; 03:00 CEST falls back to 02:00 CET at
// 2026-10-25T01:00Z, so 02:00-02:59 is 00:00-00:59Z and again 01:00-01:59Z.
func TestRepeatByFieldsBerlin(t *testing.T) {
	t.Parallel()
	const berlin = "Europe/Berlin"
	runWalks(t, []walkCase{
		{"*/30 fall back", "*/30 * * * *", berlin, nil, "2026-10-24T23:45:00Z", []string{
			"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z"}},
		{"*/15 fall back", "*/15 * * * *", berlin, nil, "2026-10-25T00:40:00Z", []string{
			"2026-10-25T00:45:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:15:00Z", "2026-10-25T01:30:00Z", "2026-10-25T01:45:00Z", "2026-10-25T02:00:00Z"}},
		{"hourly fall back", "0 * * * *", berlin, nil, "2026-10-24T23:30:00Z", []string{
			"2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z"}},
		{"fixed 02:30 fall back", "30 2 * * *", berlin, nil, "2026-10-24T00:00:00Z", []string{
			"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"*/15 spring forward", "*/15 * * * *", berlin, nil, "2026-03-29T00:30:00Z", []string{
			"2026-03-29T00:45:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:15:00Z"}},
		{"*/30 spring forward", "*/30 * * * *", berlin, nil, "2026-03-29T00:15:00Z", []string{
			"2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"}},
		{"fixed 02:30 spring forward", "30 2 * * *", berlin, nil, "2026-03-28T00:00:00Z", []string{
			"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
	})
}

// Australia/Lord_Howe shifts by 30 minutes. 2026-04-05 02:00 (+11) falls
// back to 01:30 (+10:30) at 2026-04-04T15:00Z, so 01:30-01:59 is
// 14:30-14:59Z and again 15:00-15:29Z; 2026-10-04 02:00 (+10:30) jumps to
// 02:30 (+11) at 2026-10-03T15:30Z.
func TestRepeatByFieldsLordHowe(t *testing.T) {
	t.Parallel()
	const lh = "Australia/Lord_Howe"
	runWalks(t, []walkCase{
		{"*/15 fall back", "*/15 * * * *", lh, nil, "2026-04-04T14:10:00Z", []string{
			"2026-04-04T14:15:00Z", "2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z", // 01:15, 01:30, 01:45 (+11)
			"2026-04-04T15:00:00Z", "2026-04-04T15:15:00Z", // 01:30, 01:45 (+10:30)
			"2026-04-04T15:30:00Z"}}, // 02:00
		{"*/30 fall back", "*/30 * * * *", lh, nil, "2026-04-04T14:10:00Z", []string{
			"2026-04-04T14:30:00Z", "2026-04-04T15:00:00Z", "2026-04-04T15:30:00Z"}},
		{"fixed 01:45 fall back", "45 1 * * *", lh, nil, "2026-04-03T00:00:00Z", []string{
			"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}},
		{"*/15 spring forward", "*/15 * * * *", lh, nil, "2026-10-03T15:10:00Z", []string{
			"2026-10-03T15:15:00Z", "2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z"}},
		{"*/30 spring forward", "*/30 * * * *", lh, nil, "2026-10-03T14:45:00Z", []string{
			"2026-10-03T15:00:00Z", "2026-10-03T15:30:00Z", "2026-10-03T16:00:00Z"}},
		{"fixed 02:15 spring forward", "15 2 * * *", lh, nil, "2026-10-02T00:00:00Z", []string{
			"2026-10-02T15:45:00Z", "2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}},
	})
}

// Pacific/Apia, 2011: on 2 April 04:00 (-10) fell back to 03:00 (-11) at
// 2011-04-02T14:00Z, so 03:00-03:59 was 13:00-13:59Z and again
// 14:00-14:59Z; and it skipped 2011-12-30: Thursday 29 December 23:59:59
// (-10) was followed by Saturday 31 December 00:00 (+14), at
// 2011-12-30T10:00Z.
func TestRepeatByFieldsApia(t *testing.T) {
	t.Parallel()
	const apia = "Pacific/Apia"
	runWalks(t, []walkCase{
		{"*/30 fall back", "*/30 * * * *", apia, nil, "2011-04-02T12:45:00Z", []string{
			"2011-04-02T13:00:00Z", "2011-04-02T13:30:00Z", "2011-04-02T14:00:00Z", "2011-04-02T14:30:00Z", "2011-04-02T15:00:00Z"}},
		{"fixed 03:30 fall back", "30 3 * * *", apia, nil, "2011-03-31T00:00:00Z", []string{
			"2011-03-31T13:30:00Z", "2011-04-01T13:30:00Z", "2011-04-02T13:30:00Z", "2011-04-03T14:30:00Z"}},
		{"*/30", "*/30 * * * *", apia, nil, "2011-12-30T09:00:00Z", []string{
			"2011-12-30T09:30:00Z", "2011-12-30T10:00:00Z", "2011-12-30T10:30:00Z"}},
		{"*/15", "*/15 * * * *", apia, nil, "2011-12-30T09:40:00Z", []string{
			"2011-12-30T09:45:00Z", "2011-12-30T10:00:00Z", "2011-12-30T10:15:00Z"}},
		// Noon of the lost day runs at the transition, twelve hours before
		// the noon of the 31st.
		{"fixed noon", "0 12 * * *", apia, nil, "2011-12-29T00:00:00Z", []string{
			"2011-12-29T22:00:00Z", "2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z", "2011-12-31T22:00:00Z"}},
		{"fixed noon skip", "0 12 * * *", apia, skip, "2011-12-29T00:00:00Z", []string{
			"2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z", "2011-12-31T22:00:00Z"}},
	})
}

// Which expressions RepeatByFields runs at both occurrences, decided from
// the text of the second, minute and hour fields, and the canonical text
// that keeps the choice when the fields are written differently.
func TestRepeatByFieldsClassifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr  string
		both  bool
		canon string
	}{
		{"*/15 * * * *", true, "0 */15 * * * * America/New_York"},
		{"* * * * *", true, "0 * * * * * America/New_York"},
		{"0 * * * *", true, "0 0 * * * * America/New_York"},
		{"0 1-3 * * *", true, "0 0 1-3 * * * America/New_York"},
		{"*/10 30 1 * * *", true, "*/10 30 1 * * * America/New_York"},
		{"30 1 * * *", false, "0 30 1 * * * America/New_York"},
		{"0 0,30 1 * * *", false, "0 */30 1 * * * America/New_York repeat=first"},
		{"0 0 1,2,3 * * *", false, "0 0 1-3 * * * America/New_York repeat=first"},
		{"0 0 1-1 * * *", true, "0 0 1 * * * America/New_York repeat=both"},
		{"@hourly", true, "0 0 * * * * America/New_York"},
		{"@daily", false, "0 0 0 * * * America/New_York"},
		{"0 0 12 */2 * *", false, "0 0 12 */2 * * America/New_York"}, // day fields do not count
	}
	for _, tt := range tests {
		e := MustParse(tt.expr, "America/New_York").(*Expr)
		if e.both != tt.both {
			t.Errorf("%q: runs a repeated time at both occurrences = %v, want %v", tt.expr, e.both, tt.both)
		}
		if got := e.String(); got != tt.canon {
			t.Errorf("%q: String() = %q, want %q", tt.expr, got, tt.canon)
		}
		back, err := ParseText(e.String())
		if err != nil {
			t.Fatalf("ParseText(%q): %v", e.String(), err)
		}
		if back.(*Expr).both != e.both {
			t.Errorf("%q: its String %q parses back with both = %v", tt.expr, e.String(), back.(*Expr).both)
		}
	}
}
