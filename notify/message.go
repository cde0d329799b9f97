package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/internal/quote"
)

// Version is the payload version this package writes in Message.Version.
const Version = "1.0"

// MessageType says why a message was sent. It is the payload's
// "messageType".
type MessageType string

// The message types taskmill sends.
const (
	// TaskFailed is sent when a run fails (an error, a panic, a timeout).
	TaskFailed MessageType = "TASK_FAILED"
	// TaskSuspended is sent when a task is suspended after too many
	// consecutive failures; its Detail is the failure that caused it.
	TaskSuspended MessageType = "TASK_SUSPENDED"
	// TaskSucceeded is sent when a run succeeds, for tasks that opt in.
	TaskSucceeded MessageType = "TASK_SUCCEEDED"
)

// ErrorKind classifies a run's failure. It is the payload's "errorKind".
type ErrorKind string

// The error kinds. A Detail of a successful run has an empty ErrorKind.
const (
	// KindTimeout is a run stopped by its timeout.
	KindTimeout ErrorKind = "Timeout"
	// KindPanic is a run whose job (or a listener) panicked.
	KindPanic ErrorKind = "Panic"
	// KindCancelled is a run cancelled by an operator or a shutdown.
	KindCancelled ErrorKind = "Cancelled"
	// KindAbandoned is a run whose engine stopped (it crashed, or lost its
	// node lease) without recording its end; another engine marked it
	// abandoned.
	KindAbandoned ErrorKind = "Abandoned"
	// KindUnexpectedError is any other failure: the job returned an error.
	KindUnexpectedError ErrorKind = "UnexpectedError"
)

// MaxErrorMessage is the longest Detail.ErrorMessage, in bytes, that the
// engine sends: it passes error texts through
// TruncateError(text, MaxErrorMessage).
const MaxErrorMessage = 4096

// Message is one notification: an envelope naming the task, and the runs
// it is about in Messages. Its JSON is the payload contract (see the
// package doc); every field is always present.
type Message struct {
	// Version is the payload version, Version ("1.0").
	Version string `json:"version"`
	// MessageID identifies the message; it is the same across the retries
	// of one delivery, so receivers deduplicate on it.
	MessageID string `json:"messageId"`
	// MessageType says why the message was sent.
	MessageType MessageType `json:"messageType"`
	// Timestamp is when the message was made.
	Timestamp Time `json:"timestamp"`
	// TenantID names the sending deployment; it may be empty.
	TenantID string `json:"tenantId"`
	// TaskName is the task's name.
	TaskName string `json:"taskName"`
	// TaskID is a stable id of the task.
	TaskID string `json:"taskId"`
	// RootTaskName is the name of the root of the task's graph, or the
	// task's own name.
	RootTaskName string `json:"rootTaskName"`
	// RootTaskID is the stable id of that root.
	RootTaskID string `json:"rootTaskId"`
	// Messages holds one Detail per run the message is about (usually
	// one). A nil slice is written as [].
	Messages []Detail `json:"messages"`
}

// Detail describes one run in a Message: the payload's "messages" entries.
type Detail struct {
	// RunID is the graph run's id, or the execution id for a run outside a
	// graph.
	RunID string `json:"runId"`
	// ScheduledTime is the run's nominal time; zero (written "") for a run
	// that has none.
	ScheduledTime Time `json:"scheduledTime"`
	// QueryStartTime is when the run started.
	QueryStartTime Time `json:"queryStartTime"`
	// CompletedTime is when the run ended.
	CompletedTime Time `json:"completedTime"`
	// QueryID is the execution's id.
	QueryID string `json:"queryId"`
	// ErrorKind classifies the failure; empty for a successful run.
	ErrorKind ErrorKind `json:"errorKind"`
	// ErrorCode is the run's exit code in decimal ("1", "130").
	ErrorCode string `json:"errorCode"`
	// ErrorMessage is the error's text, cut by TruncateError.
	ErrorMessage string `json:"errorMessage"`
}

// NewMessage returns a message of type t with Version set, a fresh random
// UUID as MessageID and now as Timestamp. The caller fills in the rest.
func NewMessage(t MessageType, now time.Time) *Message {
	return &Message{
		Version:     Version,
		MessageID:   uuid.NewString(),
		MessageType: t,
		Timestamp:   Time{Time: now},
	}
}

// MarshalJSON writes the payload, with Messages as [] when it is nil.
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message // no methods: avoids recursion
	p := plain(m)
	if p.Messages == nil {
		p.Messages = []Detail{}
	}
	return json.Marshal(p)
}

// queryID returns the QueryID of the first Detail, or "", for logs.
func (m *Message) queryID() string {
	if len(m.Messages) == 0 {
		return ""
	}
	return m.Messages[0].QueryID
}

// TimeLayout is the layout of a Time in the payload: RFC 3339 in UTC with
// exactly nine fractional digits.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// Time is an instant in the payload. Its JSON (and text) form is the
// instant in UTC with exactly nine fractional digits, as TimeLayout
// ("2024-03-19T02:37:21.160705788Z"); the zero Time is written as the empty
// string "". Unmarshalling accepts "" (the zero Time) and any RFC 3339
// time, which it converts to UTC; JSON null is ignored, as encoding/json
// does for time.Time.
type Time struct {
	time.Time
}

// errYearRange is the cause of marshalling a time outside years 0-9999,
// which RFC 3339 cannot write.
var errYearRange = errors.New("notify: time year outside [0,9999]")

// MarshalText returns the payload form: TimeLayout in UTC, or "" for the
// zero time. It fails for a year outside 0-9999.
func (t Time) MarshalText() ([]byte, error) {
	if t.IsZero() {
		return []byte{}, nil
	}
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("%w: %d", errYearRange, y)
	}
	return u.AppendFormat(make([]byte, 0, len(TimeLayout)), TimeLayout), nil
}

// MarshalJSON returns MarshalText's form as a JSON string.
func (t Time) MarshalJSON() ([]byte, error) {
	b, err := t.MarshalText()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+2)
	out = append(out, '"')
	out = append(out, b...) // digits, letters and punctuation: no escaping
	return append(out, '"'), nil
}

// maxTimeText is more than the longest RFC 3339 time with nanoseconds and
// a zone offset (35 bytes).
const maxTimeText = 64

// UnmarshalText parses "" as the zero time and anything else as RFC 3339,
// converting to UTC.
func (t *Time) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = Time{}
		return nil
	}
	if len(b) > maxTimeText {
		// time.Parse's error would repeat the whole text.
		return fmt.Errorf("notify: time %s: longer than an RFC 3339 time", quote.Short(string(b)))
	}
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return fmt.Errorf("notify: time %s: %w", quote.Short(string(b)), err)
	}
	*t = Time{Time: v.UTC()}
	return nil
}

// UnmarshalJSON parses a JSON string with UnmarshalText; null is a no-op.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("notify: time must be a JSON string: %w", err)
	}
	return t.UnmarshalText([]byte(s))
}

// String returns the payload form, as MarshalText; a time outside years
// 0-9999 is written by time.Time.String instead.
func (t Time) String() string {
	b, err := t.MarshalText()
	if err != nil {
		return t.Time.String()
	}
	return string(b)
}

// TruncateError prepares an error text for Detail.ErrorMessage: it keeps
// the first line of s (after trimming leading and trailing white space),
// replaces invalid UTF-8 with U+FFFD, and cuts the result to at most max
// bytes at a rune boundary, ending it with "..." when it cut. A max of 0 or
// less means no length limit. The engine uses max = MaxErrorMessage.
//
// The first line of a panic's text is the panic value; the stack stays in
// the execution record.
func TruncateError(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimRightFunc(s[:i], unicode.IsSpace)
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if max <= 0 || len(s) <= max {
		return s
	}
	const ellipsis = "..."
	if max <= len(ellipsis) {
		return cutUTF8(s, max)
	}
	return cutUTF8(s, max-len(ellipsis)) + ellipsis
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// end inside a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
