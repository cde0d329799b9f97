package notify

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestBackoffCeiling(t *testing.T) {
	t.Parallel()
	w, err := NewWebhook("https://hooks.example.com/x", WithBackoff(100*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	w.jitter = func(d time.Duration) time.Duration { return d } // the top of the range
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, wd := range want {
		if got := w.backoff(i + 1); got != wd*time.Millisecond {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, wd*time.Millisecond)
		}
	}
	if got := w.backoff(1000); got != time.Second {
		t.Errorf("backoff(1000) = %v, want 1s", got)
	}
	w.jitter = func(time.Duration) time.Duration { return 0 }
	if got := w.backoff(3); got != 0 {
		t.Errorf("backoff with zero jitter = %v, want 0", got)
	}
}

func TestFullJitter(t *testing.T) {
	t.Parallel()
	for i := 0; i < 1000; i++ {
		if d := fullJitter(10 * time.Millisecond); d < 0 || d > 10*time.Millisecond {
			t.Fatalf("fullJitter(10ms) = %v", d)
		}
	}
	if d := fullJitter(0); d != 0 {
		t.Fatalf("fullJitter(0) = %v", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 19, 2, 37, 21, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"99999999999999", 24 * time.Hour},
		{"soon", 0},
		{"1.5", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"Tue, 19 Mar 2024 02:37:51 GMT", 30 * time.Second},
		{"Tue, 19 Mar 2024 02:37:00 GMT", 0}, // in the past
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://hooks.example.com/a/b":              "https://hooks.example.com/a/b",
		"https://user:pass@hooks.example.com/a":      "https://user:xxxxx@hooks.example.com/a",
		"https://hooks.example.com/a?token=s3cr3t#f": "https://hooks.example.com/a?REDACTED",
		"http://localhost:8080/?":                    "http://localhost:8080/?REDACTED",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := redactURL(u); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
