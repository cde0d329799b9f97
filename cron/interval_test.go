package cron

import (
	"errors"
	"testing"
	"time"
)

func TestIntervalNext(t *testing.T) {
	t.Parallel()
	epoch := time.Unix(0, 0).UTC()
	tests := []struct {
		d        time.Duration
		in, want time.Time
	}{
		{time.Hour, time.Date(2026, 5, 1, 10, 30, 0, 500, time.UTC), time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC)},
		{time.Hour, time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC), time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}, // strictly after
		{time.Hour, time.Date(2026, 5, 1, 10, 59, 59, 999999999, time.UTC), time.Date(2026, 5, 1, 11, 0, 0, 0, time.UTC)},
		{90 * time.Second, epoch, epoch.Add(90 * time.Second)},
		{90 * time.Second, epoch.Add(100 * time.Second), epoch.Add(180 * time.Second)},
		{7 * time.Minute, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 7, 0, 0, time.UTC)},
		{24 * time.Hour, time.Date(2026, 5, 1, 10, 0, 0, 0, time.FixedZone("X", 9*3600)), time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)},
		{1500 * time.Millisecond, epoch.Add(2 * time.Second), epoch.Add(3 * time.Second)},
		{1500 * time.Millisecond, epoch.Add(3 * time.Second), epoch.Add(4500 * time.Millisecond)},
		{time.Hour, time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC), epoch},
		{time.Hour, time.Date(1969, 12, 31, 22, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)},
		{time.Hour, time.Date(1<<31, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}},
		// Invalid intervals never fire.
		{0, epoch, time.Time{}},
		{-time.Hour, epoch, time.Time{}},
		{500 * time.Millisecond, epoch, time.Time{}},
		{time.Second + 1, epoch, time.Time{}},
	}
	for _, tt := range tests {
		got := Every(tt.d).Next(tt.in)
		if !got.Equal(tt.want) {
			t.Fatalf("Every(%v).Next(%v) = %v, want %v", tt.d, tt.in, got, tt.want)
		}
		if !got.IsZero() && got.Location() != time.UTC {
			t.Fatalf("Every(%v).Next(%v) location = %v, want UTC", tt.d, tt.in, got.Location())
		}
	}
}

func TestIntervalPrev(t *testing.T) {
	t.Parallel()
	iv := Every(90 * time.Second)
	checkWalk(t, iv, "2026-01-01T00:00:00Z", []string{
		"2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z", "2026-01-01T00:04:30Z",
	})
	if got := Every(0).Prev(time.Now()); !got.IsZero() {
		t.Fatalf("Every(0).Prev = %v, want zero", got)
	}
}

// Slots do not depend on where the walk starts: processes that start at
// different times agree.
func TestIntervalAnchoredToEpoch(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{time.Second, 7 * time.Second, 90 * time.Second, 7 * time.Minute, 25 * time.Hour, 1001 * time.Millisecond} {
		iv := Every(d)
		for k := int64(0); k < 50; k++ {
			in := time.Unix(1_700_000_000+k*123_457, k*1_000_003)
			got := iv.Next(in)
			if ms := got.UnixMilli(); ms%d.Milliseconds() != 0 {
				t.Fatalf("Every(%v).Next(%v) = %v, want a multiple of %v since the epoch", d, in, got, d)
			}
			if !got.After(in) || got.Add(-d).After(in) {
				t.Fatalf("Every(%v).Next(%v) = %v, want the first slot after it", d, in, got)
			}
		}
	}
}

func TestIntervalValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d     time.Duration
		valid bool
	}{
		{time.Second, true},
		{1500 * time.Millisecond, true},
		{24 * time.Hour, true},
		{0, false},
		{-time.Minute, false},
		{999 * time.Millisecond, false},
		{time.Second + time.Microsecond, false},
	}
	for _, tt := range tests {
		err := Every(tt.d).Validate()
		if tt.valid {
			if err != nil {
				t.Fatalf("Every(%v).Validate() = %v, want nil", tt.d, err)
			}
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Field != "interval" || pe.Input != tt.d.String() {
			t.Fatalf("Every(%v).Validate() = %#v, want *ParseError with Field interval and Input %q", tt.d, err, tt.d.String())
		}
		if !errors.Is(err, ErrInterval) {
			t.Fatalf("Every(%v).Validate() = %v, want errors.Is ErrInterval", tt.d, err)
		}
	}
	var nilIv *Interval
	if err := nilIv.Validate(); !errors.Is(err, ErrInterval) {
		t.Fatalf("(*Interval)(nil).Validate() = %v, want ErrInterval", err)
	}
}

func TestIntervalString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{90 * time.Second, "@every 1m30s"},
		{time.Hour, "@every 1h0m0s"},
		{1500 * time.Millisecond, "@every 1.5s"},
	}
	for _, tt := range tests {
		iv := Every(tt.d)
		if got := iv.String(); got != tt.want {
			t.Fatalf("Every(%v).String() = %q, want %q", tt.d, got, tt.want)
		}
		back, err := Parse(iv.String(), "")
		if err != nil {
			t.Fatalf("Parse(%q) error = %v", iv.String(), err)
		}
		if got := back.(*Interval).Duration(); got != tt.d {
			t.Fatalf("Parse(%q).Duration() = %v, want %v", iv.String(), got, tt.d)
		}
	}
}
