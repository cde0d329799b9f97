package quote

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShort(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `""`},
		{"a\nb", `"a\nb"`},
		{"\xff", `"\xff"`},
		{strings.Repeat("x", Max), strconv.Quote(strings.Repeat("x", Max))},
		{strings.Repeat("x", 1<<20), strconv.Quote(strings.Repeat("x", Max)) + "... (1048576 bytes)"},
		// A rune across the cut is left out whole.
		{strings.Repeat("x", Max-1) + "é" + "yyy", strconv.Quote(strings.Repeat("x", Max-1)) + "... (132 bytes)"},
	} {
		if got := Short(c.in); got != c.want {
			t.Errorf("Short(%.20q...) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestText(t *testing.T) {
	if got := Text("short message", 100); got != "short message" {
		t.Errorf("Text(short) = %q", got)
	}
	long := "lookup " + strings.Repeat("é", 1<<19) + ": no such host"
	got := Text(long, 100)
	if len(got) > 160 {
		t.Errorf("Text(1 MiB) is %d bytes: %q", len(got), got)
	}
	if !strings.HasPrefix(got, "lookup ") || !strings.HasSuffix(got, ": no such host") {
		t.Errorf("Text(1 MiB) = %q, want its head and its tail", got)
	}
	if !utf8.ValidString(got) {
		t.Errorf("Text(1 MiB) = %q splits a rune", got)
	}
	if !strings.Contains(got, "bytes left out") {
		t.Errorf("Text(1 MiB) = %q does not say that bytes were left out", got)
	}
}
