package cron

import (
	"errors"
	"strings"
	"testing"
)

func TestParseText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want string // String() of the result
	}{
		{"2 MINUTE", "@every 2m0s"},
		{"2 minutes", "@every 2m0s"},
		{"30 SECOND", "@every 30s"},
		{"30 Seconds", "@every 30s"},
		{"1 HOUR", "@every 1h0m0s"},
		{"3 hours", "@every 3h0m0s"},
		{"1 DAY", "@every 24h0m0s"},
		{"  1   day  ", "@every 24h0m0s"},
		{"'1 MINUTE'", "@every 1m0s"},
		{"USING CRON '0 0 0 * * *' 'Asia/Tokyo'", "0 0 0 * * * Asia/Tokyo"},
		{"using cron '*/5 * * * *'", "0 */5 * * * * UTC"},
		{"USING CRON \"0 0 9 * * MON\" \"Europe/Berlin\"", "0 0 9 * * 1 Europe/Berlin"},
		{"USING CRON 0 9 * * * America/Los_Angeles", "0 0 9 * * * America/Los_Angeles"},
		{"USING CRON 0 9 * * MON-FRI America/Los_Angeles", "0 0 9 * * 1-5 America/Los_Angeles"},
		{"USING CRON 0 9 * * MON-FRI", "0 0 9 * * 1-5 UTC"},
		{"USING CRON 0 0 9 * * MON", "0 0 9 * * 1 UTC"},
		{"USING CRON 0 9 * * * 'America/Los_Angeles'", "0 0 9 * * * America/Los_Angeles"},
		{"USING CRON 0 9 * * * UTC", "0 0 9 * * * UTC"},
		{"'USING CRON 0 9 * * * UTC'", "0 0 9 * * * UTC"},
		{"USING CRON @daily Europe/Berlin", "0 0 0 * * * Europe/Berlin"},
		{"USING CRON '0 30 2 * * *' 'Europe/Berlin' gap=skip", "0 30 2 * * * Europe/Berlin gap=skip"},
		// Canonical forms.
		{"0 30 2 * * * Europe/Berlin gap=skip repeat=both", "0 30 2 * * * Europe/Berlin gap=skip repeat=both"},
		{"0 30 1 * * * Europe/Berlin repeat=both", "0 30 1 * * * Europe/Berlin repeat=both"},
		{"0 30 1 * * * Europe/Berlin repeat=first gap=run-after", "0 30 1 * * * Europe/Berlin"},
		{"* * * * * * UTC", "* * * * * * UTC"},
		{"0 0 0 */2 * 1 UTC", "0 0 0 */2 * 1 UTC"},
		{"@every 1m30s", "@every 1m30s"},
		{"@hourly", "0 0 * * * * UTC"},
	}
	for _, tt := range tests {
		s, err := ParseText(tt.text)
		if err != nil {
			t.Fatalf("ParseText(%q) error = %v, want nil", tt.text, err)
		}
		if got := s.String(); got != tt.want {
			t.Fatalf("ParseText(%q).String() = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestParseTextInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text  string
		field string
		err   error
	}{
		{"", "text", ErrSyntax},
		{"   ", "text", ErrSyntax},
		{"''", "text", ErrSyntax},
		{"0 MINUTE", "text", ErrInterval},
		{"9999999 DAYS", "text", ErrInterval},
		{"2 WEEKS", "text", ErrSyntax},
		{"USING", "text", ErrSyntax},
		{"USING CRON", "text", ErrSyntax},
		{"USING CRONTAB '* * * * *'", "text", ErrSyntax},
		{"USING CRON '0 0 * * *", "text", ErrSyntax},
		{"USING CRON '0 0 * * *' 'UTC' 'UTC'", "text", ErrSyntax},
		{"USING CRON 0 'x' 0 * * * UTC", "text", ErrSyntax},
		{"USING CRON '0 0 * * *' UTC gap=never", "text", ErrSyntax},
		{"USING CRON '0 0 * * *' gap=skip", "", nil}, // valid: zone omitted
		{"USING CRON '0 0 * * *' 'Mars/Base'", "zone", ErrUnknownZone},
		{"USING CRON '0 0 25 * * *' 'UTC'", "hour", ErrOutOfRange},
		{"USING CRON 0 9 * * America/Los_Angeles", "expression", ErrFieldCount},
		{"USING CRON 0 9 * * * * * UTC", "expression", ErrFieldCount},
		{"@every 10ms", "interval", ErrInterval},
		{strings.Repeat("1", MaxLen+1), "text", ErrTooLong},
	}
	for _, tt := range tests {
		s, err := ParseText(tt.text)
		if tt.err == nil {
			if err != nil {
				t.Fatalf("ParseText(%q) error = %v, want nil", tt.text, err)
			}
			continue
		}
		if err == nil {
			t.Fatalf("ParseText(%q) = %v, want error", tt.text, s)
		}
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("ParseText(%q) error = %T %v, want *ParseError", tt.text, err, err)
		}
		if pe.Field != tt.field {
			t.Fatalf("ParseText(%q) error field = %q, want %q (error %v)", tt.text, pe.Field, tt.field, err)
		}
		if !errors.Is(err, tt.err) {
			t.Fatalf("ParseText(%q) error = %v, want errors.Is %v", tt.text, err, tt.err)
		}
	}
}
