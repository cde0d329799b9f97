// Package quote shows user input in error messages at a bounded size: a
// hostile or mistaken input of a megabyte must not make a megabyte error
// (or log line). It is shared by the taskmill packages, which import no
// other taskmill package but this one.
package quote

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Max is how many bytes of its input Short keeps.
const Max = 128

// Short returns s quoted as strconv.Quote does. A string longer than Max
// bytes is cut to its first Max bytes (at a rune boundary) and followed by
// its length:
//
//	"xxxx...xxxx"... (1048576 bytes)
func Short(s string) string {
	if len(s) <= Max {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:cut(s, Max)]), len(s))
}

// Text returns the message s, or, when it is longer than n bytes, its
// first and last n/2 bytes (at rune boundaries) around a note of how much
// was left out. It is for the text of another library's error, which may
// repeat an input at any length: the head says what failed and the tail
// usually why.
func Text(s string, n int) string {
	if len(s) <= n {
		return s
	}
	head := cut(s, n/2)
	tail := len(s) - n/2
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return fmt.Sprintf("%s ...(%d bytes left out)... %s", s[:head], tail-head, s[tail:])
}

// cut returns the largest i <= n at which s can be cut without splitting
// a UTF-8 sequence.
func cut(s string, n int) int {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
