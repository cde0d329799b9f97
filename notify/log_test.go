package notify_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taskmill/taskmill/notify"
)

func TestLogNotifier(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	n := notify.NewLogNotifier(zap.New(core))

	m := issueMessage()
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	entries := logs.TakeAll()
	if len(entries) != 1 {
		t.Fatalf("entries = %d, want 1", len(entries))
	}
	e := entries[0]
	if e.Level != zapcore.WarnLevel || e.Message != "task failed" {
		t.Fatalf("entry = %s %q, want warn \"task failed\"", e.Level, e.Message)
	}
	f := e.ContextMap()
	for k, want := range map[string]any{
		"version":      "1.0",
		"messageId":    m.MessageID,
		"messageType":  "TASK_FAILED",
		"timestamp":    m.Timestamp.Time,
		"tenantId":     "tn78p61xz",
		"taskName":     "my_task",
		"taskId":       "15",
		"rootTaskName": "my_task",
		"rootTaskId":   "15",
	} {
		if !equalField(f[k], want) {
			t.Errorf("field %s = %#v, want %#v", k, f[k], want)
		}
	}
	arr, ok := f["messages"].([]any)
	if !ok || len(arr) != 1 {
		t.Fatalf("messages = %#v, want an array of one", f["messages"])
	}
	d := arr[0].(map[string]any)
	md := m.Messages[0]
	for k, want := range map[string]any{
		"runId":          md.RunID,
		"scheduledTime":  md.ScheduledTime.Time,
		"queryStartTime": md.QueryStartTime.Time,
		"completedTime":  md.CompletedTime.Time,
		"queryId":        md.QueryID,
		"errorKind":      "UnexpectedError",
		"errorCode":      "500",
		"errorMessage":   md.ErrorMessage,
	} {
		if got, ok := d[k]; !ok || !equalField(got, want) {
			t.Errorf("messages[0].%s = %#v, want %#v", k, got, want)
		}
	}

	for _, tc := range []struct {
		typ   notify.MessageType
		level zapcore.Level
		text  string
	}{
		{notify.TaskSuspended, zapcore.WarnLevel, "task suspended"},
		{notify.TaskSucceeded, zapcore.InfoLevel, "task succeeded"},
		{"SOMETHING_ELSE", zapcore.InfoLevel, "task notification"},
	} {
		m := notify.NewMessage(tc.typ, time.Time{})
		m.Messages = []notify.Detail{{QueryID: "q"}} // zero times are left out
		if err := n.Notify(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		e := logs.TakeAll()[0]
		if e.Level != tc.level || e.Message != tc.text {
			t.Errorf("%s: entry = %s %q, want %s %q", tc.typ, e.Level, e.Message, tc.level, tc.text)
		}
		f := e.ContextMap()
		if _, ok := f["timestamp"]; ok {
			t.Errorf("%s: zero timestamp logged", tc.typ)
		}
		if _, ok := f["messages"].([]any)[0].(map[string]any)["scheduledTime"]; ok {
			t.Errorf("%s: zero scheduledTime logged", tc.typ)
		}
	}

	if err := n.Notify(context.Background(), nil); !errors.Is(err, notify.ErrNilMessage) {
		t.Fatalf("Notify(nil) = %v, want ErrNilMessage", err)
	}
	if err := notify.NewLogNotifier(nil).Notify(context.Background(), m); err != nil {
		t.Fatalf("NewLogNotifier(nil).Notify = %v", err)
	}
}

// equalField compares a logged value with the wanted one; times compare
// with Equal (the observer may hand back a different location).
func equalField(got, want any) bool {
	if wt, ok := want.(time.Time); ok {
		gt, ok := got.(time.Time)
		return ok && gt.Equal(wt)
	}
	return got == want
}
