package cron_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/taskmill/taskmill/cron"
)

func ExampleParse() {
	s, err := cron.Parse("0 30 2 * * *", "Europe/Berlin")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s)
	// Summer time starts on 29 March 2026: 02:30 does not exist and runs
	// at the transition, 03:00 CEST.
	t := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t, "=", t.In(s.(*cron.Expr).Location()).Format("15:04 MST"))
	}
	// Output:
	// 0 30 2 * * * Europe/Berlin
	// 2026-03-28 01:30:00 +0000 UTC = 02:30 CET
	// 2026-03-29 01:00:00 +0000 UTC = 03:00 CEST
	// 2026-03-30 00:30:00 +0000 UTC = 02:30 CEST
}

func ExampleParse_error() {
	_, err := cron.Parse("0 0 25 * * *", "")
	var pe *cron.ParseError
	if errors.As(err, &pe) {
		fmt.Println(pe.Field, pe.Input, errors.Is(err, cron.ErrOutOfRange))
	}
	fmt.Println(err)
	// Output:
	// hour 25 true
	// cron: hour "25" in "0 0 25 * * *": value out of range 0-23
}

func ExampleWithGap() {
	s := cron.MustParse("0 30 2 * * *", "America/Los_Angeles", cron.WithGap(cron.GapSkip))
	fmt.Println(s)
	t := time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)
	for range 2 {
		t = s.Next(t)
		fmt.Println(t)
	}
	// Output:
	// 0 30 2 * * * America/Los_Angeles gap=skip
	// 2026-03-07 10:30:00 +0000 UTC
	// 2026-03-09 09:30:00 +0000 UTC
}

func ExampleWithRepeat() {
	s := cron.MustParse("0 30 1 * * *", "America/Los_Angeles", cron.WithRepeat(cron.RepeatBoth))
	t := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for range 2 {
		t = s.Next(t)
		fmt.Println(t)
	}
	// Output:
	// 2026-11-01 08:30:00 +0000 UTC
	// 2026-11-01 09:30:00 +0000 UTC
}

func ExampleEvery() {
	s := cron.Every(90 * time.Second)
	if err := s.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s)
	// Slots count from the Unix epoch, not from t.
	fmt.Println(s.Next(time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)))
	fmt.Println(cron.Every(500 * time.Millisecond).Validate())
	// Output:
	// @every 1m30s
	// 2026-01-01 00:01:30 +0000 UTC
	// cron: interval "500ms" in "@every 500ms": invalid interval: shorter than 1s
}

func ExampleParseText() {
	for _, text := range []string{
		"2 MINUTE",
		"USING CRON '0 0 0 * * *' 'Asia/Tokyo'",
		"USING CRON 0 9 * * * America/Los_Angeles",
	} {
		s, err := cron.ParseText(text)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s)
	}
	// Output:
	// @every 2m0s
	// 0 0 0 * * * Asia/Tokyo
	// 0 0 9 * * * America/Los_Angeles
}

func ExampleExpr_Prev() {
	e := cron.MustParse("0 0 9 * * MON-FRI", "Europe/Berlin").(*cron.Expr)
	// Saturday noon: the last run was Friday 09:00 CET.
	fmt.Println(e.Prev(time.Date(2026, 2, 7, 12, 0, 0, 0, time.UTC)))
	// Output:
	// 2026-02-06 08:00:00 +0000 UTC
}

// Descriptors, intervals and five-field expressions, with the canonical
// text String gives (the engine arms one timer per distinct text). An
// interval ignores the zone: its slots count from the Unix epoch.
func ExampleParse_descriptors() {
	for _, expr := range []string{"@daily", "@hourly", "@every 90s", "*/15 9-17 * * MON-FRI"} {
		s, err := cron.Parse(expr, "Asia/Tokyo")
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-22s %-32s next %v\n", expr, s, s.Next(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)))
	}
	// Output:
	// @daily                 0 0 0 * * * Asia/Tokyo           next 2026-06-01 15:00:00 +0000 UTC
	// @hourly                0 0 * * * * Asia/Tokyo           next 2026-06-01 01:00:00 +0000 UTC
	// @every 90s             @every 1m30s                     next 2026-06-01 00:01:30 +0000 UTC
	// */15 9-17 * * MON-FRI  0 */15 9-17 * * 1-5 Asia/Tokyo   next 2026-06-01 00:15:00 +0000 UTC
}

// Where the clocks go back, a wall time happens twice; by default
// (RepeatFirst) it runs once, at its first occurrence.
func ExampleExpr_Next() {
	s := cron.MustParse("0 30 1 * * *", "America/Los_Angeles")
	la := s.(*cron.Expr).Location()
	t := time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t, "=", t.In(la).Format("Jan 2 15:04 MST"))
	}
	// Output:
	// 2026-11-01 08:30:00 +0000 UTC = Nov 1 01:30 PDT
	// 2026-11-02 09:30:00 +0000 UTC = Nov 2 01:30 PST
	// 2026-11-03 09:30:00 +0000 UTC = Nov 3 01:30 PST
}
