package notify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/notify"
)

// issueJSON is the example payload of the issue, the contract.
const issueJSON = `{"version":"1.0","messageId":"063e40ab-0b55-439e-9cd2-504c496e1566","messageType":"TASK_FAILED",
 "timestamp":"2024-03-19T02:37:21.160705788Z","tenantId":"tn78p61xz","taskName":"my_task","taskId":"15",
 "rootTaskName":"my_task","rootTaskId":"15",
 "messages":[{"runId":"unknown","scheduledTime":"2024-03-19T02:37:21.157169855Z",
   "queryStartTime":"2024-03-19T02:37:21.043090475Z","completedTime":"2024-03-19T02:37:21.157169205Z",
   "queryId":"88bb9d5d-5d5e-4e52-92cc-b1953406245a","errorKind":"UnexpectedError","errorCode":"500",
   "errorMessage":"query sync failed: ..."}]}`

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("compact: %v", err)
	}
	return b.String()
}

// issueMessage is the issue's example as a Message, built from values.
func issueMessage() *notify.Message {
	at := func(nsec int) notify.Time {
		return notify.Time{Time: time.Date(2024, 3, 19, 2, 37, 21, nsec, time.UTC)}
	}
	return &notify.Message{
		Version:      notify.Version,
		MessageID:    "063e40ab-0b55-439e-9cd2-504c496e1566",
		MessageType:  notify.TaskFailed,
		Timestamp:    at(160705788),
		TenantID:     "tn78p61xz",
		TaskName:     "my_task",
		TaskID:       "15",
		RootTaskName: "my_task",
		RootTaskID:   "15",
		Messages: []notify.Detail{{
			RunID:          "unknown",
			ScheduledTime:  at(157169855),
			QueryStartTime: at(43090475),
			CompletedTime:  at(157169205),
			QueryID:        "88bb9d5d-5d5e-4e52-92cc-b1953406245a",
			ErrorKind:      notify.KindUnexpectedError,
			ErrorCode:      "500",
			ErrorMessage:   "query sync failed: ...",
		}},
	}
}

func TestMessageJSONExact(t *testing.T) {
	t.Parallel()
	got, err := json.Marshal(issueMessage())
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if want := compact(t, issueJSON); string(got) != want {
		t.Fatalf("JSON =\n%s\nwant\n%s", got, want)
	}
	// A value (not a pointer) marshals the same.
	got2, err := json.Marshal(*issueMessage())
	if err != nil || !bytes.Equal(got, got2) {
		t.Fatalf("Marshal(value) = %s, %v; want %s", got2, err, got)
	}
}

func TestMessageJSONRoundTrip(t *testing.T) {
	t.Parallel()
	var m notify.Message
	if err := json.Unmarshal([]byte(issueJSON), &m); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if want := issueMessage(); !reflect.DeepEqual(&m, want) {
		t.Fatalf("decoded = %+v\nwant %+v", m, want)
	}
	got, err := json.Marshal(&m)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if want := compact(t, issueJSON); string(got) != want {
		t.Fatalf("re-encoded =\n%s\nwant\n%s", got, want)
	}
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestMessageJSONShape checks every field name and type, for the issue's
// message and for an empty one (all fields present, times "", messages []).
func TestMessageJSONShape(t *testing.T) {
	t.Parallel()
	wantTop := []string{"messageId", "messageType", "messages", "rootTaskId", "rootTaskName", "taskId", "taskName", "tenantId", "timestamp", "version"}
	wantDetail := []string{"completedTime", "errorCode", "errorKind", "errorMessage", "queryId", "queryStartTime", "runId", "scheduledTime"}
	for _, tc := range []struct {
		name    string
		m       *notify.Message
		details int
	}{
		{"issue", issueMessage(), 1},
		{"empty", &notify.Message{}, 0},
		{"empty detail", &notify.Message{Messages: []notify.Detail{{}}}, 1},
	} {
		b, err := json.Marshal(tc.m)
		if err != nil {
			t.Fatalf("%s: Marshal: %v", tc.name, err)
		}
		var top map[string]any
		if err := json.Unmarshal(b, &top); err != nil {
			t.Fatalf("%s: Unmarshal: %v", tc.name, err)
		}
		if got := keys(top); !reflect.DeepEqual(got, wantTop) {
			t.Fatalf("%s: keys = %v, want %v", tc.name, got, wantTop)
		}
		for k, v := range top {
			if k == "messages" {
				continue
			}
			if _, ok := v.(string); !ok {
				t.Errorf("%s: %s = %#v (%T), want a string", tc.name, k, v, v)
			}
		}
		arr, ok := top["messages"].([]any)
		if !ok || len(arr) != tc.details {
			t.Fatalf("%s: messages = %#v, want an array of %d", tc.name, top["messages"], tc.details)
		}
		for _, e := range arr {
			d, ok := e.(map[string]any)
			if !ok {
				t.Fatalf("%s: messages entry = %#v, want an object", tc.name, e)
			}
			if got := keys(d); !reflect.DeepEqual(got, wantDetail) {
				t.Fatalf("%s: detail keys = %v, want %v", tc.name, got, wantDetail)
			}
			for k, v := range d {
				if _, ok := v.(string); !ok {
					t.Errorf("%s: messages[].%s = %#v (%T), want a string", tc.name, k, v, v)
				}
			}
		}
	}
}

func TestTimeJSON(t *testing.T) {
	t.Parallel()
	tokyo := time.FixedZone("JST", 9*3600)
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Time{}, `""`},
		{time.Date(2024, 3, 19, 2, 37, 21, 160705788, time.UTC), `"2024-03-19T02:37:21.160705788Z"`},
		{time.Date(2024, 3, 19, 2, 37, 21, 0, time.UTC), `"2024-03-19T02:37:21.000000000Z"`},
		{time.Date(2024, 3, 19, 2, 37, 21, 5, time.UTC), `"2024-03-19T02:37:21.000000005Z"`},
		{time.Date(2024, 3, 19, 11, 37, 21, 1000, tokyo), `"2024-03-19T02:37:21.000001000Z"`},
	} {
		got, err := json.Marshal(notify.Time{Time: tc.in})
		if err != nil || string(got) != tc.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.in, got, err, tc.want)
			continue
		}
		var back notify.Time
		if err := json.Unmarshal(got, &back); err != nil || !back.Equal(tc.in) {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", got, back, err, tc.in)
		}
		if back.Location() != time.UTC {
			t.Errorf("Unmarshal(%s) location = %v, want UTC", got, back.Location())
		}
		if s := (notify.Time{Time: tc.in}).String(); `"`+s+`"` != tc.want {
			t.Errorf("String() = %q, want %s", s, tc.want)
		}
	}
	if _, err := json.Marshal(notify.Time{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("Marshal(year 10000) succeeded, want an error")
	}
}

func TestTimeUnmarshal(t *testing.T) {
	t.Parallel()
	want := time.Date(2024, 3, 19, 2, 37, 21, 160000000, time.UTC)
	for _, in := range []string{
		`"2024-03-19T02:37:21.16Z"`,
		`"2024-03-19T04:37:21.160+02:00"`,
		`"2024-03-19T02:37:21.160000000Z"`,
	} {
		var got notify.Time
		if err := json.Unmarshal([]byte(in), &got); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v in UTC", in, got, err, want)
		}
	}
	// null is a no-op.
	got := notify.Time{Time: want}
	if err := json.Unmarshal([]byte(`null`), &got); err != nil || !got.Equal(want) {
		t.Errorf("Unmarshal(null) = %v, %v; want unchanged %v", got, err, want)
	}
	long := `"2024-03-19T02:37:21` + strings.Repeat("9", 1<<20) + `Z"`
	for _, in := range []string{`"yesterday"`, `"2024-03-19"`, `12`, `"2024-03-19T02:37:21"`, long} {
		var got notify.Time
		err := json.Unmarshal([]byte(in), &got)
		if err == nil {
			t.Errorf("Unmarshal(%.40s) = %v, want an error", in, got)
		} else if len(err.Error()) > 1024 {
			t.Errorf("Unmarshal(%.40s): error of %d bytes, want one quoting a bounded prefix: %.300s", in, len(err.Error()), err)
		}
	}
}

func TestNewMessage(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 19, 2, 37, 21, 1, time.UTC)
	a := notify.NewMessage(notify.TaskSuspended, now)
	b := notify.NewMessage(notify.TaskSuspended, now)
	if a.Version != "1.0" || a.MessageType != "TASK_SUSPENDED" || !a.Timestamp.Equal(now) {
		t.Fatalf("NewMessage = %+v", a)
	}
	if _, err := uuid.Parse(a.MessageID); err != nil {
		t.Fatalf("MessageID %q is not a UUID: %v", a.MessageID, err)
	}
	if a.MessageID == b.MessageID {
		t.Fatalf("two messages share MessageID %q", a.MessageID)
	}
	b2, err := json.Marshal(a)
	if err != nil || !strings.Contains(string(b2), `"messages":[]`) {
		t.Fatalf("Marshal(NewMessage) = %s, %v; want messages []", b2, err)
	}
}

func TestConstants(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		string(notify.TaskFailed):          "TASK_FAILED",
		string(notify.TaskSuspended):       "TASK_SUSPENDED",
		string(notify.TaskSucceeded):       "TASK_SUCCEEDED",
		string(notify.KindTimeout):         "Timeout",
		string(notify.KindPanic):           "Panic",
		string(notify.KindCancelled):       "Cancelled",
		string(notify.KindUnexpectedError): "UnexpectedError",
		notify.Version:                     "1.0",
	} {
		if got != want {
			t.Errorf("constant = %q, want %q", got, want)
		}
	}
}

func TestTruncateError(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short", "boom", 4096, "boom"},
		{"first line", "task: panic: boom\n\ngoroutine 1 [running]:\nmain.main()", 4096, "task: panic: boom"},
		{"crlf", "first\r\nsecond", 100, "first"},
		{"trim", "  \n  boom  \n", 100, "boom"},
		{"exact", "abcdef", 6, "abcdef"},
		{"cut", "abcdefgh", 6, "abc..."},
		{"tiny max", "abcdefgh", 2, "ab"},
		{"no limit", long, 0, long},
		{"long", long, notify.MaxErrorMessage, strings.Repeat("x", notify.MaxErrorMessage-3) + "..."},
		// "é" is 2 bytes: a cut inside it moves back.
		{"rune boundary", "ééééé", 8, "éé..."},
		{"invalid utf8", "a\xffb", 10, "a\uFFFDb"},
		{"empty", "", 10, ""},
	} {
		got := notify.TruncateError(tc.in, tc.max)
		if got != tc.want {
			t.Errorf("%s: TruncateError(%.20q, %d) = %.40q, want %.40q", tc.name, tc.in, tc.max, got, tc.want)
		}
		if tc.max > 0 && len(got) > tc.max {
			t.Errorf("%s: len = %d, more than %d", tc.name, len(got), tc.max)
		}
	}
}

func TestDeliveryErrorUnwrap(t *testing.T) {
	t.Parallel()
	err := error(&notify.DeliveryError{URL: "https://h/x", Status: 400, Attempts: 1, Err: notify.ErrHTTPStatus})
	if !errors.Is(err, notify.ErrHTTPStatus) {
		t.Fatalf("errors.Is(%v, ErrHTTPStatus) = false", err)
	}
	if want := "notify: webhook https://h/x: 1 attempt: notify: unexpected HTTP status"; err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
}
