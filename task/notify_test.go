package task

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/store"
)

// payload is the webhook JSON contract, decoded field by field.
type payload struct {
	Version      string `json:"version"`
	MessageID    string `json:"messageId"`
	MessageType  string `json:"messageType"`
	Timestamp    string `json:"timestamp"`
	TenantID     string `json:"tenantId"`
	TaskName     string `json:"taskName"`
	TaskID       string `json:"taskId"`
	RootTaskName string `json:"rootTaskName"`
	RootTaskID   string `json:"rootTaskId"`
	Messages     []struct {
		RunID          string `json:"runId"`
		ScheduledTime  string `json:"scheduledTime"`
		QueryStartTime string `json:"queryStartTime"`
		CompletedTime  string `json:"completedTime"`
		QueryID        string `json:"queryId"`
		ErrorKind      string `json:"errorKind"`
		ErrorCode      string `json:"errorCode"`
		ErrorMessage   string `json:"errorMessage"`
	} `json:"messages"`
}

type received struct {
	body      []byte
	signature string
}

// receiver is an httptest server that hands each request to the test.
func receiver(t *testing.T) (*httptest.Server, chan received) {
	t.Helper()
	got := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{body: body, signature: r.Header.Get(notify.SignatureHeader)}
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func nanos(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func TestFailedRunWebhookPayload(t *testing.T) {
	t.Parallel()
	srv, got := receiver(t)
	secret := []byte("s3cret")
	hook, err := notify.NewWebhook(srv.URL, notify.WithSecret(secret), notify.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, WithIntegration("ops_webhook", hook), WithTenantID("tn78p61xz"))
	b.register(t, Spec{Name: "sync", Schedule: cron.Every(time.Minute), ErrorIntegration: "ops_webhook",
		Job: JobFunc(func(context.Context) error { return Exit(3, errors.New("query sync failed: timeout\nat line 2")) })})
	b.start(t)
	b.advanceTo(t, 1, testStart.Add(time.Minute))
	x := b.waitRecords(t, "sync", 1)[0]

	var r received
	select {
	case r = <-got:
	case <-time.After(waitLimit):
		t.Fatal("no webhook request")
	}
	if err := notify.Verify(secret, r.signature, r.body, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	var p payload
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	if _, err := uuid.Parse(p.MessageID); err != nil {
		t.Errorf("messageId %q is not a UUID", p.MessageID)
	}
	if ts, err := time.Parse(time.RFC3339Nano, p.Timestamp); err != nil || !ts.Equal(b.clock.Now()) {
		t.Errorf("timestamp %q, want %v", p.Timestamp, b.clock.Now())
	}
	want := payload{Version: "1.0", MessageID: p.MessageID, MessageType: "TASK_FAILED", Timestamp: p.Timestamp,
		TenantID: "tn78p61xz", TaskName: "sync", TaskID: TaskID("sync"), RootTaskName: "sync", RootTaskID: TaskID("sync")}
	head := p
	head.Messages = nil
	if !reflect.DeepEqual(head, want) {
		t.Errorf("envelope = %+v\nwant       %+v", head, want)
	}
	if len(p.Messages) != 1 {
		t.Fatalf("%d messages, want 1", len(p.Messages))
	}
	m := p.Messages[0]
	wantDetail := []string{x.ID.String(), nanos(x.ScheduledAt), nanos(x.StartedAt), nanos(x.EndedAt), x.ID.String(),
		"UnexpectedError", "3", "query sync failed: timeout"}
	gotDetail := []string{m.RunID, m.ScheduledTime, m.QueryStartTime, m.CompletedTime, m.QueryID, m.ErrorKind, m.ErrorCode, m.ErrorMessage}
	for i := range wantDetail {
		if gotDetail[i] != wantDetail[i] {
			t.Errorf("detail field %d = %q, want %q", i, gotDetail[i], wantDetail[i])
		}
	}
	if TaskID("sync") != TaskID("sync") || TaskID("sync") == TaskID("other") {
		t.Error("TaskID is not a stable function of the name")
	}
}

// collector is a Notifier that keeps what it gets.
type collector struct {
	mu   sync.Mutex
	msgs []*notify.Message
	got  chan struct{}
}

func newCollector() *collector { return &collector{got: make(chan struct{}, 100)} }

func (c *collector) Notify(_ context.Context, m *notify.Message) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	c.got <- struct{}{}
	return nil
}

func (c *collector) wait(t *testing.T, n int) []*notify.Message {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-c.got:
		case <-time.After(waitLimit):
			t.Fatalf("got %d messages, want %d", i, n)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*notify.Message(nil), c.msgs...)
}

func TestSuspensionSendsTaskSuspended(t *testing.T) {
	t.Parallel()
	c := newCollector()
	b := setup(t, WithIntegration("ops", c))
	b.register(t, Spec{Name: "flaky", Schedule: cron.Every(time.Second), SuspendAfterFailures: 2, ErrorIntegration: "ops",
		Job: JobFunc(func(context.Context) error { return errors.New("down") })})
	b.start(t)
	for i := 1; i <= 2; i++ {
		b.advanceTo(t, 1, testStart.Add(time.Duration(i)*time.Second))
		b.waitRecords(t, "flaky", i)
		waitFor(t, "the run's end", func() bool { return b.eng.Tasks()[0].Running == 0 })
	}
	msgs := c.wait(t, 3) // delivered by several workers: in any order
	second := b.waitRecords(t, "flaky", 2)[1]
	failed, suspended := 0, 0
	for _, m := range msgs {
		switch m.MessageType {
		case notify.TaskFailed:
			failed++
		case notify.TaskSuspended:
			suspended++
			if d := m.Messages[0]; d.QueryID != second.ID.String() || d.ErrorMessage != "down" {
				t.Fatalf("suspension detail %+v, want the failure that caused it (%s)", d, second.ID)
			}
		}
	}
	if failed != 2 || suspended != 1 {
		t.Fatalf("%d TASK_FAILED and %d TASK_SUSPENDED, want 2 and 1", failed, suspended)
	}
}

func TestNotificationKinds(t *testing.T) {
	t.Parallel()
	c := newCollector()
	b := setup(t, WithIntegration("ops", c))
	b.register(t,
		Spec{Name: "panics", ErrorIntegration: "ops", Job: JobFunc(func(context.Context) error { panic("oops") })},
		Spec{Name: "slow", ErrorIntegration: "ops", Timeout: time.Second, Job: newGate()},
		Spec{Name: "fine", ErrorIntegration: "ops", NotifyOnSuccess: true, Job: JobFunc(ok)},
		Spec{Name: "quiet", ErrorIntegration: "ops", Job: JobFunc(ok)},
	)
	b.start(t)
	b.wait(t, b.runNow(t, "panics"))
	b.wait(t, b.runNow(t, "quiet"))
	b.wait(t, b.runNow(t, "fine"))
	id := b.runNow(t, "slow")
	b.timers(t, 1)
	b.clock.Advance(time.Second)
	b.wait(t, id)
	msgs := c.wait(t, 3)
	kinds := map[string]string{}
	for _, m := range msgs {
		kinds[m.TaskName] = string(m.MessageType) + "/" + string(m.Messages[0].ErrorKind) + "/" + m.Messages[0].ErrorCode
	}
	want := map[string]string{"panics": "TASK_FAILED/Panic/1", "slow": "TASK_FAILED/Timeout/1", "fine": "TASK_SUCCEEDED//0"}
	for k, v := range want {
		if kinds[k] != v {
			t.Errorf("%s: %q, want %q", k, kinds[k], v)
		}
	}
	if _, ok := kinds["quiet"]; ok {
		t.Error("a success was notified without NotifyOnSuccess")
	}
}

func TestGraphMemberNotificationNamesRootAndRun(t *testing.T) {
	t.Parallel()
	c := newCollector()
	b := setup(t, WithIntegration("ops", c))
	b.register(t,
		Spec{Name: "root", Job: JobFunc(ok)},
		Spec{Name: "child", After: []string{"root"}, ErrorIntegration: "ops", Job: JobFunc(func(context.Context) error { return errors.New("x") })},
	)
	b.start(t)
	run := b.runGraph(t, "root")
	m := c.wait(t, 1)[0]
	if m.RootTaskName != "root" || m.RootTaskID != TaskID("root") || m.Messages[0].RunID != run["child"].GraphRunID.String() {
		t.Fatalf("message root %q/%q run %q, want root and graph run %s", m.RootTaskName, m.RootTaskID, m.Messages[0].RunID, run["child"].GraphRunID)
	}
}

// A receiver that hangs delays neither the next scheduled run nor Shutdown
// beyond its context.
func TestHangingReceiverDelaysNothing(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	hook, err := notify.NewWebhook(srv.URL, notify.WithTimeout(time.Hour), notify.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, WithIntegration("hook", hook))
	b.register(t, Spec{Name: "failing", Schedule: cron.Every(time.Second), ErrorIntegration: "hook",
		Job: JobFunc(func(context.Context) error { return errors.New("x") })})
	b.start(t)
	for i := 1; i <= 3; i++ {
		b.advanceTo(t, 1, testStart.Add(time.Duration(i)*time.Second))
		b.waitRecords(t, "failing", i)
		waitFor(t, "the run's end", func() bool { return b.eng.Tasks()[0].Running == 0 })
	}
	if xs := b.history(t, "failing"); len(xs) != 3 || xs[2].State != store.StateFailed {
		t.Fatalf("runs %v, want three failed runs while the receiver hangs", states(xs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.eng.Shutdown(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want DeadlineExceeded (the queue could not drain)", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Shutdown waited for a hanging receiver past its context")
	}
	st := b.eng.IntegrationStats()["hook"]
	if st.Queued < 3 || st.Delivered != 0 {
		t.Fatalf("stats %+v, want 3 queued and none delivered", st)
	}
}

func TestDisabledIntegrationSendsNothing(t *testing.T) {
	t.Parallel()
	c := newCollector()
	b := setup(t, WithIntegration("ops", c))
	b.register(t, Spec{Name: "t", ErrorIntegration: "ops", Job: JobFunc(func(context.Context) error { return errors.New("x") })})
	b.start(t)
	if err := b.eng.SetIntegrationEnabled("ops", false); err != nil {
		t.Fatal(err)
	}
	b.wait(t, b.runNow(t, "t"))
	waitFor(t, "the disabled count", func() bool { return b.eng.IntegrationStats()["ops"].Disabled == 1 })
	if err := b.eng.SetIntegrationEnabled("ops", true); err != nil {
		t.Fatal(err)
	}
	b.wait(t, b.runNow(t, "t"))
	if msgs := c.wait(t, 1); len(msgs) != 1 {
		t.Fatalf("%d messages, want only the one sent while enabled", len(msgs))
	}
}

func TestUnknownIntegrationRejectedAtStart(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.register(t, Spec{Name: "t", ErrorIntegration: "nope", Job: JobFunc(ok)})
	err := b.eng.Start(context.Background())
	if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), `"t"`) {
		t.Fatalf("Start = %v, want an error naming the task and the integration", err)
	}
	if _, err := New(WithIntegration("x", nil)); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("WithIntegration(nil) = %v", err)
	}
	if _, err := New(WithIntegration("bad name!", newCollector())); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("WithIntegration(bad name) = %v", err)
	}
}

func TestLogIntegration(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.InfoLevel)
	b := setup(t, WithIntegration("log", notify.NewLogNotifier(zap.New(core))))
	b.register(t, Spec{Name: "t", ErrorIntegration: "log", Job: JobFunc(func(context.Context) error { return errors.New("x") })})
	b.start(t)
	x := b.wait(t, b.runNow(t, "t"))
	waitFor(t, "the log entry", func() bool { return logs.Len() > 0 })
	entry := logs.All()[0]
	fields := entry.ContextMap()
	if entry.Level != zap.WarnLevel || fields["taskName"] != "t" || fields["messageType"] != "TASK_FAILED" ||
		!strings.Contains(fmt.Sprint(fields["messages"]), x.ID.String()) {
		t.Fatalf("log entry %v %v", entry.Level, fields)
	}
}
