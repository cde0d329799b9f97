package cron

import (
	"sort"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time.Parse(%q): %v", s, err)
	}
	return tm
}

// checkWalk calls Next from `from` once per wanted instant and compares, then
// checks Prev against the same list.
func checkWalk(t *testing.T, s Schedule, from string, want []string) {
	t.Helper()
	cur := mustTime(t, from)
	wants := make([]time.Time, len(want))
	for i, w := range want {
		wants[i] = mustTime(t, w)
		got := s.Next(cur)
		if !got.Equal(wants[i]) {
			t.Fatalf("%v: Next(%v) = %v, want %v", s, cur, got, wants[i])
		}
		if got.Location() != time.UTC {
			t.Fatalf("%v: Next(%v) location = %v, want UTC", s, cur, got.Location())
		}
		cur = got
	}
	p, ok := s.(interface{ Prev(time.Time) time.Time })
	if !ok {
		return
	}
	for i, w := range wants {
		if got := p.Prev(w); !got.Equal(w) {
			t.Fatalf("%v: Prev(%v) = %v, want %v", s, w, got, w)
		}
		if i == 0 {
			continue
		}
		at := w.Add(-time.Nanosecond)
		if got := p.Prev(at); !got.Equal(wants[i-1]) {
			t.Fatalf("%v: Prev(%v) = %v, want %v", s, at, got, wants[i-1])
		}
	}
}

type walkCase struct {
	name string
	expr string
	zone string
	opts []Option
	from string
	want []string
}

func runWalks(t *testing.T, tests []walkCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := Parse(tt.expr, tt.zone, tt.opts...)
			if err != nil {
				t.Fatalf("Parse(%q, %q) error = %v", tt.expr, tt.zone, err)
			}
			checkWalk(t, s, tt.from, tt.want)
		})
	}
}

var (
	skip  = []Option{WithGap(GapSkip)}
	both  = []Option{WithRepeat(RepeatBoth)}
	first = []Option{WithRepeat(RepeatFirst)}
)

// America/Los_Angeles, 2026-03-08: 02:00 PST (-8) jumps to 03:00 PDT (-7)
// at 10:00Z.
func TestNextLosAngelesSpringForward(t *testing.T) {
	t.Parallel()
	const la = "America/Los_Angeles"
	runWalks(t, []walkCase{
		{"daily 02:00", "0 0 2 * * *", la, nil, "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T10:00:00Z", "2026-03-08T10:00:00Z", "2026-03-09T09:00:00Z"}},
		{"daily 02:00 skip", "0 0 2 * * *", la, skip, "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T10:00:00Z", "2026-03-09T09:00:00Z", "2026-03-10T09:00:00Z"}},
		{"daily 02:30", "0 30 2 * * *", la, nil, "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T10:30:00Z", "2026-03-08T10:00:00Z", "2026-03-09T09:30:00Z"}},
		{"daily 02:30 skip", "0 30 2 * * *", la, skip, "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T10:30:00Z", "2026-03-09T09:30:00Z", "2026-03-10T09:30:00Z"}},
		{"daily 01:30", "0 30 1 * * *", la, nil, "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T09:30:00Z", "2026-03-08T09:30:00Z", "2026-03-09T08:30:00Z"}},
		{"daily 01:30 skip", "0 30 1 * * *", la, skip, "2026-03-07T00:00:00Z",
			[]string{"2026-03-07T09:30:00Z", "2026-03-08T09:30:00Z", "2026-03-09T08:30:00Z"}},
		// 02:00 is in the gap and 03:00 PDT is the transition: one run.
		{"hourly", "0 0 * * * *", la, nil, "2026-03-08T07:30:00Z",
			[]string{"2026-03-08T08:00:00Z", "2026-03-08T09:00:00Z", "2026-03-08T10:00:00Z", "2026-03-08T11:00:00Z"}},
		{"hourly skip", "0 0 * * * *", la, skip, "2026-03-08T07:30:00Z",
			[]string{"2026-03-08T08:00:00Z", "2026-03-08T09:00:00Z", "2026-03-08T10:00:00Z", "2026-03-08T11:00:00Z"}},
		// 02:00, 02:30 and 03:00 all land on 10:00Z, returned once.
		{"every 30m", "0 */30 * * * *", la, nil, "2026-03-08T08:45:00Z",
			[]string{"2026-03-08T09:00:00Z", "2026-03-08T09:30:00Z", "2026-03-08T10:00:00Z", "2026-03-08T10:30:00Z", "2026-03-08T11:00:00Z"}},
		{"every 30m skip", "0 */30 * * * *", la, skip, "2026-03-08T08:45:00Z",
			[]string{"2026-03-08T09:00:00Z", "2026-03-08T09:30:00Z", "2026-03-08T10:00:00Z", "2026-03-08T10:30:00Z", "2026-03-08T11:00:00Z"}},
		{"hourly at :45", "0 45 * * * *", la, nil, "2026-03-08T08:50:00Z",
			[]string{"2026-03-08T09:45:00Z", "2026-03-08T10:00:00Z", "2026-03-08T10:45:00Z"}},
		{"hourly at :45 skip", "0 45 * * * *", la, skip, "2026-03-08T08:50:00Z",
			[]string{"2026-03-08T09:45:00Z", "2026-03-08T10:45:00Z", "2026-03-08T11:45:00Z"}},
	})
}

// America/Los_Angeles, 2026-11-01: 02:00 PDT (-7) falls back to 01:00 PST
// (-8) at 09:00Z; 01:00-01:59 happens twice.
func TestNextLosAngelesFallBack(t *testing.T) {
	t.Parallel()
	const la = "America/Los_Angeles"
	runWalks(t, []walkCase{
		{"daily 02:00", "0 0 2 * * *", la, nil, "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T09:00:00Z", "2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z"}},
		{"daily 02:00 both", "0 0 2 * * *", la, both, "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T09:00:00Z", "2026-11-01T10:00:00Z", "2026-11-02T10:00:00Z"}},
		{"daily 02:30", "0 30 2 * * *", la, nil, "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T09:30:00Z", "2026-11-01T10:30:00Z", "2026-11-02T10:30:00Z"}},
		{"daily 02:30 both", "0 30 2 * * *", la, both, "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T09:30:00Z", "2026-11-01T10:30:00Z", "2026-11-02T10:30:00Z"}},
		{"daily 01:30", "0 30 1 * * *", la, nil, "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T08:30:00Z", "2026-11-01T08:30:00Z", "2026-11-02T09:30:00Z"}},
		{"daily 01:30 both", "0 30 1 * * *", la, both, "2026-10-31T00:00:00Z",
			[]string{"2026-10-31T08:30:00Z", "2026-11-01T08:30:00Z", "2026-11-01T09:30:00Z", "2026-11-02T09:30:00Z"}},
		{"hourly first", "0 0 * * * *", la, first, "2026-11-01T06:30:00Z",
			[]string{"2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z", "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z"}},
		{"hourly both", "0 0 * * * *", la, both, "2026-11-01T06:30:00Z",
			[]string{"2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z", "2026-11-01T09:00:00Z", "2026-11-01T10:00:00Z", "2026-11-01T11:00:00Z"}},
		{"every 30m first", "0 */30 * * * *", la, first, "2026-11-01T07:15:00Z",
			[]string{"2026-11-01T07:30:00Z", "2026-11-01T08:00:00Z", "2026-11-01T08:30:00Z", "2026-11-01T10:00:00Z", "2026-11-01T10:30:00Z"}},
		{"every 30m both", "0 */30 * * * *", la, both, "2026-11-01T07:15:00Z",
			[]string{"2026-11-01T07:30:00Z", "2026-11-01T08:00:00Z", "2026-11-01T08:30:00Z", "2026-11-01T09:00:00Z", "2026-11-01T09:30:00Z", "2026-11-01T10:00:00Z", "2026-11-01T10:30:00Z"}},
		// Starting inside the repeated hour, on its second pass.
		{"every 30m from second pass first", "0 */30 * * * *", la, first, "2026-11-01T09:10:00Z",
			[]string{"2026-11-01T10:00:00Z", "2026-11-01T10:30:00Z"}},
		{"every 30m both from second pass", "0 */30 * * * *", la, both, "2026-11-01T09:10:00Z",
			[]string{"2026-11-01T09:30:00Z", "2026-11-01T10:00:00Z"}},
		{"every 30m both from first pass", "0 */30 * * * *", la, both, "2026-11-01T08:45:00Z",
			[]string{"2026-11-01T09:00:00Z", "2026-11-01T09:30:00Z", "2026-11-01T10:00:00Z"}},
	})
}

// Europe/Berlin, 2026-03-29: 02:00 CET (+1) jumps to 03:00 CEST (+2) at
// 01:00Z.
func TestNextBerlinSpringForward(t *testing.T) {
	t.Parallel()
	const berlin = "Europe/Berlin"
	runWalks(t, []walkCase{
		{"daily 02:00", "0 0 2 * * *", berlin, nil, "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T01:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"}},
		{"daily 02:00 skip", "0 0 2 * * *", berlin, skip, "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T01:00:00Z", "2026-03-30T00:00:00Z", "2026-03-31T00:00:00Z"}},
		{"daily 02:30", "0 30 2 * * *", berlin, nil, "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{"daily 02:30 skip", "0 30 2 * * *", berlin, skip, "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}},
		{"daily 01:30", "0 30 1 * * *", berlin, nil, "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T00:30:00Z", "2026-03-29T00:30:00Z", "2026-03-29T23:30:00Z"}},
		{"daily 01:30 skip", "0 30 1 * * *", berlin, skip, "2026-03-27T12:00:00Z",
			[]string{"2026-03-28T00:30:00Z", "2026-03-29T00:30:00Z", "2026-03-29T23:30:00Z"}},
		{"hourly", "0 0 * * * *", berlin, nil, "2026-03-28T22:30:00Z",
			[]string{"2026-03-28T23:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}},
		{"hourly skip", "0 0 * * * *", berlin, skip, "2026-03-28T22:30:00Z",
			[]string{"2026-03-28T23:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}},
		{"every 30m", "0 */30 * * * *", berlin, nil, "2026-03-28T23:45:00Z",
			[]string{"2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z"}},
		{"every 30m skip", "0 */30 * * * *", berlin, skip, "2026-03-28T23:45:00Z",
			[]string{"2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z"}},
	})
}

// Europe/Berlin, 2026-10-25: 03:00 CEST (+2) falls back to 02:00 CET (+1)
// at 01:00Z; 02:00-02:59 happens twice.
func TestNextBerlinFallBack(t *testing.T) {
	t.Parallel()
	const berlin = "Europe/Berlin"
	runWalks(t, []walkCase{
		{"daily 02:00", "0 0 2 * * *", berlin, nil, "2026-10-23T12:00:00Z",
			[]string{"2026-10-24T00:00:00Z", "2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z"}},
		{"daily 02:00 both", "0 0 2 * * *", berlin, both, "2026-10-23T12:00:00Z",
			[]string{"2026-10-24T00:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-26T01:00:00Z"}},
		{"daily 02:30", "0 30 2 * * *", berlin, nil, "2026-10-23T12:00:00Z",
			[]string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"daily 02:30 both", "0 30 2 * * *", berlin, both, "2026-10-23T12:00:00Z",
			[]string{"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"}},
		{"daily 01:30", "0 30 1 * * *", berlin, nil, "2026-10-23T12:00:00Z",
			[]string{"2026-10-23T23:30:00Z", "2026-10-24T23:30:00Z", "2026-10-26T00:30:00Z"}},
		{"daily 01:30 both", "0 30 1 * * *", berlin, both, "2026-10-23T12:00:00Z",
			[]string{"2026-10-23T23:30:00Z", "2026-10-24T23:30:00Z", "2026-10-26T00:30:00Z"}},
		{"hourly first", "0 0 * * * *", berlin, first, "2026-10-24T21:30:00Z",
			[]string{"2026-10-24T22:00:00Z", "2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}},
		{"hourly both", "0 0 * * * *", berlin, both, "2026-10-24T21:30:00Z",
			[]string{"2026-10-24T22:00:00Z", "2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}},
		{"every 30m first", "0 */30 * * * *", berlin, first, "2026-10-24T23:15:00Z",
			[]string{"2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"}},
		{"every 30m both", "0 */30 * * * *", berlin, both, "2026-10-24T23:15:00Z",
			[]string{"2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"}},
	})
}

// Zones whose transitions are unusual: a 30-minute shift, a change at
// midnight, a skipped day.
func TestNextOddTransitions(t *testing.T) {
	t.Parallel()
	runWalks(t, []walkCase{
		// Lord Howe Island, 2026-10-04: 02:00 (+10:30) jumps to 02:30
		// (+11) at 15:30Z the day before.
		{"lord howe gap", "0 */20 2 * * *", "Australia/Lord_Howe", nil, "2026-10-03T15:00:00Z",
			[]string{"2026-10-03T15:30:00Z", "2026-10-03T15:40:00Z", "2026-10-04T15:00:00Z"}},
		// 2026-04-05: 02:00 (+11) falls back to 01:30 (+10:30) at 15:00Z.
		{"lord howe repeat first", "0 */20 1 * * *", "Australia/Lord_Howe", first, "2026-04-04T13:59:00Z",
			[]string{"2026-04-04T14:00:00Z", "2026-04-04T14:20:00Z", "2026-04-04T14:40:00Z", "2026-04-05T14:30:00Z"}},
		// São Paulo, 2018-11-04: midnight (-3) jumped to 01:00 (-2) at 03:00Z.
		{"sao paulo midnight", "@daily", "America/Sao_Paulo", nil, "2018-11-02T12:00:00Z",
			[]string{"2018-11-03T03:00:00Z", "2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z"}},
		{"sao paulo midnight skip", "@daily", "America/Sao_Paulo", skip, "2018-11-02T12:00:00Z",
			[]string{"2018-11-03T03:00:00Z", "2018-11-05T02:00:00Z"}},
		// Samoa skipped 2011-12-30: 23:59:59 on the 29th (-10) was followed
		// by 00:00 on the 31st (+14), at 10:00Z.
		{"apia skipped day", "0 0 12 * * *", "Pacific/Apia", nil, "2011-12-28T12:00:00Z",
			[]string{"2011-12-28T22:00:00Z", "2011-12-29T22:00:00Z", "2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z"}},
		{"apia skipped day skip", "0 0 12 * * *", "Pacific/Apia", skip, "2011-12-28T12:00:00Z",
			[]string{"2011-12-28T22:00:00Z", "2011-12-29T22:00:00Z", "2011-12-30T22:00:00Z"}},
	})
}

func TestNextSimple(t *testing.T) {
	t.Parallel()
	runWalks(t, []walkCase{
		{"tokyo midnight", "0 0 0 * * *", "Asia/Tokyo", nil, "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T15:00:00Z", "2026-01-02T15:00:00Z", "2026-01-03T15:00:00Z"}},
		{"tokyo 5 fields", "30 9 * * *", "Asia/Tokyo", nil, "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T00:30:00Z", "2026-01-02T00:30:00Z"}},
		{"every 15s", "*/15 * * * * *", "", nil, "2026-01-01T00:00:07.5Z",
			[]string{"2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z", "2026-01-01T00:00:45Z", "2026-01-01T00:01:00Z"}},
		{"every second", "* * * * * *", "", nil, "2026-01-01T23:59:58.999999999Z",
			[]string{"2026-01-01T23:59:59Z", "2026-01-02T00:00:00Z", "2026-01-02T00:00:01Z"}},
		{"seconds in a minute", "10-12 30 * * * *", "Asia/Tokyo", nil, "2026-01-01T00:30:11Z",
			[]string{"2026-01-01T00:30:12Z", "2026-01-01T01:30:10Z", "2026-01-01T01:30:11Z"}},
		{"strictly after", "0 0 0 * * *", "", nil, "2026-01-01T00:00:00Z",
			[]string{"2026-01-02T00:00:00Z"}},
		{"year end", "0 0 0 1 1 *", "Europe/Berlin", nil, "2026-06-01T00:00:00Z",
			[]string{"2026-12-31T23:00:00Z", "2027-12-31T23:00:00Z"}},
		{"leap day", "0 0 0 29 2 *", "", nil, "2097-01-01T00:00:00Z",
			[]string{"2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z"}},
		// The longest gaps: a date on a weekday, and 29 February on one.
		{"jan 1 or 22 on sunday", "0 0 0 */21 1 0", "", both, "2051-01-22T00:00:00Z",
			[]string{"2062-01-01T00:00:00Z", "2062-01-22T00:00:00Z", "2068-01-01T00:00:00Z"}},
		{"sunday 29 february", "0 0 0 29 2 */7", "Europe/Berlin", nil, "2060-01-01T00:00:00Z",
			[]string{"2060-02-28T23:00:00Z", "2088-02-28T23:00:00Z", "2128-02-28T23:00:00Z", "2156-02-28T23:00:00Z"}},
		{"month names", "0 0 0 1 jan,Jul *", "", nil, "2026-01-01T00:00:00Z",
			[]string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{"weekdays", "0 0 9 * * mon-fri", "", nil, "2026-02-06T10:00:00Z", // a Friday
			[]string{"2026-02-09T09:00:00Z", "2026-02-10T09:00:00Z"}},
		{"day-of-week 7", "0 0 0 * * 7", "", nil, "2026-01-31T12:00:00Z",
			[]string{"2026-02-01T00:00:00Z", "2026-02-08T00:00:00Z"}},
		// Vixie day rule. February 2026 starts on a Sunday.
		{"dom or dow", "0 0 0 15 * FRI", "", nil, "2026-02-01T00:00:00Z",
			[]string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-15T00:00:00Z", "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-06T00:00:00Z"}},
		{"dow only", "0 0 0 * * FRI", "", nil, "2026-02-01T00:00:00Z",
			[]string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"}},
		{"dow only with ?", "0 0 0 ? * FRI", "", nil, "2026-02-01T00:00:00Z",
			[]string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z"}},
		{"dom only", "0 0 0 15 * ?", "", nil, "2026-02-01T00:00:00Z",
			[]string{"2026-02-15T00:00:00Z", "2026-03-15T00:00:00Z"}},
		{"star step dom and dow", "0 0 0 */2 * FRI", "", nil, "2026-02-01T00:00:00Z",
			[]string{"2026-02-13T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-13T00:00:00Z", "2026-03-27T00:00:00Z", "2026-04-03T00:00:00Z"}},
	})
}

func TestNextEdges(t *testing.T) {
	t.Parallel()
	e := MustParse("@yearly", "America/New_York")
	tests := []struct {
		in, want time.Time
	}{
		{time.Time{}, time.Date(1, 1, 1, 4, 56, 2, 0, time.UTC)}, // LMT: -4:56:02
		{time.Date(9998, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 5, 0, 0, 0, time.UTC)},
		{time.Date(1<<31, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}},
		{time.Date(-1<<31, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}},
	}
	for _, tt := range tests {
		if got := e.Next(tt.in); !got.Equal(tt.want) {
			t.Fatalf("Next(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// Year 10000 is beyond RFC 3339 but not beyond Next.
	got := e.Next(time.Date(9999, 6, 1, 0, 0, 0, 0, time.UTC))
	if want := time.Date(10000, 1, 1, 5, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("Next(9999-06-01) = %v, want %v", got, want)
	}
	// A zero Expr and a nil *Expr never fire and never panic.
	var zero Expr
	if got := zero.Next(time.Now()); !got.IsZero() {
		t.Fatalf("Expr{}.Next = %v, want zero", got)
	}
	var nilExpr *Expr
	if got := nilExpr.Next(time.Now()); !got.IsZero() {
		t.Fatalf("(*Expr)(nil).Next = %v, want zero", got)
	}
	if got := nilExpr.Prev(time.Now()); !got.IsZero() {
		t.Fatalf("(*Expr)(nil).Prev = %v, want zero", got)
	}
}

// TestNextMatchesOracle compares Next and Prev, around many zone
// transitions, with a brute-force search over every second that applies the
// DST rules literally.
func TestNextMatchesOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	t.Parallel()
	exprs := []string{
		"0 0 2 * * *", "0 30 2 * * *", "0 30 1 * * *", "0 0 0 * * *",
		"0 0 * * * *", "0 */30 * * * *", "0 45 * * * *", "*/20 * 2 * * *",
		"0 15,45 0-3 * * *", "0 */20 1-3 * * *",
	}
	zones := []struct {
		name string
		year int
	}{
		{"America/Los_Angeles", 2026}, {"Europe/Berlin", 2026},
		{"Australia/Lord_Howe", 2026}, {"America/Sao_Paulo", 2018},
		{"Pacific/Apia", 2011}, {"America/St_Johns", 2026},
		{"Asia/Tokyo", 2026},
	}
	policies := [][]Option{nil, skip, both, first, {WithGap(GapSkip), WithRepeat(RepeatBoth)}}
	for _, z := range zones {
		loc, err := time.LoadLocation(z.name)
		if err != nil {
			t.Fatalf("LoadLocation(%q): %v", z.name, err)
		}
		for _, tr := range transitions(loc, z.year) {
			a, b := tr.Unix()-6*3600, tr.Unix()+6*3600
			offs := offsetTable(loc, a-1, b)
			for _, expr := range exprs {
				for _, opts := range policies {
					e := MustParse(expr, z.name, opts...).(*Expr)
					want := oracle(e, offs, a, b)
					got := walkNext(e, a, b)
					if !equalInts(got, want) {
						t.Fatalf("%v around %v: Next walk = %v, want %v", e, tr, fmtUnix(got), fmtUnix(want))
					}
					if got := walkPrev(e, a, b); !equalInts(got, want) {
						t.Fatalf("%v around %v: Prev walk = %v, want %v", e, tr, fmtUnix(got), fmtUnix(want))
					}
					// Next and Prev from anywhere, not just from activations.
					for x := a; x < b; x += 97 {
						tm := time.Unix(x, 500)
						k := sort.Search(len(want), func(i int) bool { return want[i] > x })
						if k < len(want) {
							if got := e.Next(tm); got.Unix() != want[k] {
								t.Fatalf("%v: Next(%v) = %v, want %v", e, tm, got, time.Unix(want[k], 0).UTC())
							}
						}
						if k > 0 {
							if got := e.Prev(tm); got.Unix() != want[k-1] {
								t.Fatalf("%v: Prev(%v) = %v, want %v", e, tm, got, time.Unix(want[k-1], 0).UTC())
							}
						}
					}
				}
			}
		}
	}
}

// transitions returns the zone's transitions in year (or noon of 1 June if
// it has none, so that a zone without DST is checked too).
func transitions(loc *time.Location, year int) []time.Time {
	var out []time.Time
	t := time.Date(year, 1, 1, 0, 0, 0, 0, loc)
	for {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.Year() > year {
			break
		}
		out = append(out, end)
		t = end
	}
	if len(out) == 0 {
		out = append(out, time.Date(year, 6, 1, 12, 0, 0, 0, loc))
	}
	return out
}

type offsets struct {
	a   int64
	off []int
	all []int // distinct offsets
}

func offsetTable(loc *time.Location, a, b int64) offsets {
	o := offsets{a: a, off: make([]int, b-a)}
	seen := map[int]bool{}
	for i := a; i < b; i++ {
		_, off := time.Unix(i, 0).In(loc).Zone()
		o.off[i-a] = off
		if !seen[off] {
			seen[off] = true
			o.all = append(o.all, off)
		}
	}
	return o
}

func (o offsets) at(i int64) (int, bool) {
	if i < o.a || i >= o.a+int64(len(o.off)) {
		return 0, false
	}
	return o.off[i-o.a], true
}

// oracle lists the activations of e in [a, b): instants whose wall time
// matches and that are the first instant with that wall time (or any, with
// RepeatBoth), plus, with GapRunAfter, transitions that skip over a
// matching wall time.
func oracle(e *Expr, offs offsets, a, b int64) []int64 {
	matches := func(w int64) bool {
		c := time.Unix(w, 0).UTC()
		if !has(e.sec, c.Second()) || !has(e.min, c.Minute()) || !has(e.hour, c.Hour()) || !has(e.month, int(c.Month())) {
			return false
		}
		dom, dow := has(e.dom, c.Day()), has(e.dow, int(c.Weekday()))
		if e.dayOr {
			return dom || dow
		}
		return dom && dow
	}
	var out []int64
	for i := a; i < b; i++ {
		o, _ := offs.at(i)
		w := i + int64(o)
		if matches(w) {
			repeated := false
			for _, p := range offs.all {
				j := w - int64(p)
				if pj, ok := offs.at(j); ok && j < i && pj == p {
					repeated = true
				}
			}
			if !repeated || e.both {
				out = append(out, i)
				continue
			}
		}
		if po, _ := offs.at(i - 1); po < o && e.gap == GapRunAfter {
			for c := i + int64(po); c < w; c++ {
				if matches(c) {
					out = append(out, i)
					break
				}
			}
		}
	}
	return out
}

func walkNext(s Schedule, a, b int64) []int64 {
	var out []int64
	for t := time.Unix(a-1, 999999999); ; {
		n := s.Next(t)
		if n.IsZero() || n.Unix() >= b || !n.After(t) {
			return out
		}
		t = n
		out = append(out, t.Unix())
	}
}

func walkPrev(e *Expr, a, b int64) []int64 {
	var out []int64
	for t := time.Unix(b-1, 999999999); ; {
		p := e.Prev(t)
		if p.IsZero() || p.Unix() < a || p.After(t) {
			break
		}
		t = p
		out = append(out, t.Unix())
		t = t.Add(-time.Nanosecond)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fmtUnix(xs []int64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = time.Unix(x, 0).UTC().Format(time.RFC3339)
	}
	return out
}

// TestNextPrevConsistent checks Next and Prev against each other at many
// times, in zones with and without DST.
func TestNextPrevConsistent(t *testing.T) {
	t.Parallel()
	exprs := []string{"0 30 2 * * *", "0 0 * * * *", "*/7 */13 * * * *", "0 0 0 29 2 *", "0 0 0 */2 * MON", "0 0 12 13 * FRI", "@monthly"}
	zones := []string{"", "America/Los_Angeles", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"}
	policies := [][]Option{nil, skip, both, first}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, expr := range exprs {
		for _, zone := range zones {
			for _, opts := range policies {
				e := MustParse(expr, zone, opts...).(*Expr)
				for k := int64(0); k < 200; k++ {
					// Step by a prime number of seconds to land anywhere.
					tm := start.Add(time.Duration(k*1_000_003) * time.Second).Add(time.Duration(k) * time.Millisecond)
					checkConsistent(t, e, tm)
				}
			}
		}
	}
}

func checkConsistent(t *testing.T, e *Expr, tm time.Time) {
	t.Helper()
	n, p := e.Next(tm), e.Prev(tm)
	if n.IsZero() || !n.After(tm) {
		t.Fatalf("%v: Next(%v) = %v, want after it", e, tm, n)
	}
	if p.IsZero() || p.After(tm) {
		t.Fatalf("%v: Prev(%v) = %v, want at or before it", e, tm, p)
	}
	if got := e.Next(p); !got.Equal(n) {
		t.Fatalf("%v: Next(Prev(%v)) = Next(%v) = %v, want %v", e, tm, p, got, n)
	}
	if got := e.Prev(n); !got.Equal(n) {
		t.Fatalf("%v: Prev(Next(%v)) = Prev(%v) = %v, want %v", e, tm, n, got, n)
	}
	if got := e.Next(n.Add(-time.Nanosecond)); !got.Equal(n) {
		t.Fatalf("%v: Next(%v) = %v, want %v", e, n.Add(-time.Nanosecond), got, n)
	}
	if got := e.Prev(n.Add(-time.Nanosecond)); !got.Equal(p) {
		t.Fatalf("%v: Prev(%v) = %v, want %v", e, n.Add(-time.Nanosecond), got, p)
	}
}

// TestNextLeapYearEnd covers the last day of leap years far enough ahead
// that the zone's TZ footer rule applies, where Go's ZoneBounds returns an
// end before the instant.
func TestNextLeapYearEnd(t *testing.T) {
	t.Parallel()
	runWalks(t, []walkCase{
		{"berlin 2056", "0 0 0 5 1 */2", "Europe/Berlin", nil, "2055-01-04T23:00:00Z",
			[]string{"2058-01-04T23:00:00Z"}},
		{"warsaw 2040", "0 0 12 * * *", "Europe/Warsaw", nil, "2040-12-30T00:00:00Z",
			[]string{"2040-12-30T11:00:00Z", "2040-12-31T11:00:00Z", "2041-01-01T11:00:00Z"}},
	})
	exprs := []string{"0 0 * * * *", "0 0 0 * * *", "0 30 23 * * *", "0 */20 0-1 * * *"}
	for _, z := range []struct {
		zone string
		year int
	}{{"Europe/Berlin", 2056}, {"Europe/Warsaw", 2040}, {"America/Los_Angeles", 2040}, {"Australia/Lord_Howe", 2048}} {
		loc, err := time.LoadLocation(z.zone)
		if err != nil {
			t.Fatalf("LoadLocation(%q): %v", z.zone, err)
		}
		a := time.Date(z.year, 12, 30, 12, 0, 0, 0, time.UTC).Unix()
		b := a + 2*86400
		offs := offsetTable(loc, a-1, b)
		for _, expr := range exprs {
			for _, opts := range [][]Option{nil, both, first} {
				e := MustParse(expr, z.zone, opts...).(*Expr)
				want := oracle(e, offs, a, b)
				if got := walkNext(e, a, b); !equalInts(got, want) {
					t.Fatalf("%v: Next walk = %v, want %v", e, fmtUnix(got), fmtUnix(want))
				}
				if got := walkPrev(e, a, b); !equalInts(got, want) {
					t.Fatalf("%v: Prev walk = %v, want %v", e, fmtUnix(got), fmtUnix(want))
				}
			}
		}
	}
}
