package cron

import (
	"testing"
	"time"
)

func BenchmarkNext(b *testing.B) {
	cases := []struct {
		name, expr, zone string
	}{
		{"every-second-UTC", "* * * * * *", ""},
		{"every-5m-Berlin", "0 */5 * * * *", "Europe/Berlin"},
		{"daily-0200-LA", "0 0 2 * * *", "America/Los_Angeles"},
		{"leap-day-UTC", "0 0 0 29 2 *", ""},
		{"leap-sunday-Berlin", "0 0 0 29 2 */7", "Europe/Berlin"},
		{"interval-90s", "@every 90s", ""},
		{"last-weekday-NY", "0 30 9 LW * *", "America/New_York"},
		{"third-friday-UTC", "0 0 0 ? * 5#3", ""},
	}
	for _, c := range cases {
		s := MustParse(c.expr, c.zone)
		b.Run(c.name, func(b *testing.B) {
			t := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			for b.Loop() {
				t = s.Next(t)
				if t.Year() > 2100 {
					t = time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
				}
			}
		})
	}
}

func BenchmarkPrev(b *testing.B) {
	e := MustParse("0 0 2 * * *", "America/Los_Angeles").(*Expr)
	t := time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		e.Prev(t)
	}
}

func BenchmarkParse(b *testing.B) {
	b.Run("valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse("0 */5 9-17 * * MON-FRI", "Europe/Berlin"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("never-fires", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse("0 0 0 30 2 *", "Europe/Berlin"); err == nil {
				b.Fatal("Parse(30 February) error = nil, want ErrNeverFires")
			}
		}
	})
}
