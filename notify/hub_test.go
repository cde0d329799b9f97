package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taskmill/taskmill/notify"
)

// hubSetup is what most hub tests need: a hub logging to an observer,
// closed at the end of the test.
type hubSetup struct {
	hub  *notify.Hub
	logs *observer.ObservedLogs
}

func setupHub(t *testing.T, opts ...notify.HubOption) hubSetup {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	h, err := notify.NewHub(append([]notify.HubOption{notify.WithLogger(zap.New(core))}, opts...)...)
	if err != nil {
		t.Fatalf("NewHub: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return hubSetup{h, logs}
}

// blocker is a Notifier whose deliveries block until released or until
// their context ends.
type blocker struct {
	started chan *notify.Message
	release chan struct{}
	once    sync.Once
	calls   atomic.Int64
}

// newBlocker returns a blocker that is released at the latest when the
// test ends, before the hub's Close (cleanups run last-in first-out).
func newBlocker(t *testing.T) *blocker {
	b := &blocker{started: make(chan *notify.Message, 100), release: make(chan struct{})}
	t.Cleanup(b.unblock)
	return b
}

func (b *blocker) unblock() { b.once.Do(func() { close(b.release) }) }

func (b *blocker) Notify(ctx context.Context, m *notify.Message) error {
	b.calls.Add(1)
	b.started <- m
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("blocked delivery: %w", ctx.Err())
	}
}

// counter is a Notifier that counts and records deliveries.
type counter struct {
	mu  sync.Mutex
	got []*notify.Message
}

func (c *counter) Notify(_ context.Context, m *notify.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, m)
	return nil
}

func (c *counter) messages() []*notify.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*notify.Message(nil), c.got...)
}

func msg(i int) *notify.Message {
	m := notify.NewMessage(notify.TaskFailed, time.Date(2024, 3, 19, 2, 37, 21, 0, time.UTC))
	m.TaskName = "sync"
	m.Messages = []notify.Detail{{QueryID: fmt.Sprintf("exec-%d", i), ErrorCode: "1"}}
	return m
}

func TestHubQueueOverflow(t *testing.T) {
	t.Parallel()
	s := setupHub(t, notify.WithQueueSize(1), notify.WithWorkers(1))
	b := newBlocker(t)
	if err := s.hub.Add("slow", b); err != nil {
		t.Fatal(err)
	}
	if err := s.hub.Send("slow", msg(1)); err != nil {
		t.Fatalf("Send 1: %v", err)
	}
	<-b.started // the worker holds message 1; the queue is empty
	if err := s.hub.Send("slow", msg(2)); err != nil {
		t.Fatalf("Send 2: %v", err)
	}
	m3 := msg(3)
	start := time.Now()
	err := s.hub.Send("slow", m3)
	if !errors.Is(err, notify.ErrQueueFull) {
		t.Fatalf("Send 3 = %v, want ErrQueueFull", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("Send blocked for %v", took)
	}
	if got, want := s.hub.Stats("slow"), (notify.Stats{Queued: 2, Dropped: 1}); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	drops := s.logs.FilterMessage("queue full, message dropped").All()
	if len(drops) != 1 || drops[0].Level != zapcore.WarnLevel {
		t.Fatalf("drop logs = %v, want one at Warn", drops)
	}
	fields := drops[0].ContextMap()
	for k, want := range map[string]any{"messageId": m3.MessageID, "queryId": "exec-3", "taskName": "sync", "integration": "slow"} {
		if fields[k] != want {
			t.Errorf("drop log %s = %v, want %v", k, fields[k], want)
		}
	}
	b.unblock()
	if err := s.hub.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, want := s.hub.Stats("slow"), (notify.Stats{Queued: 2, Delivered: 2, Dropped: 1}); got != want {
		t.Fatalf("Stats after Close = %+v, want %+v", got, want)
	}
}

func TestHubDisabled(t *testing.T) {
	t.Parallel()
	s := setupHub(t)
	c := &counter{}
	if err := s.hub.Add("ops", c); err != nil {
		t.Fatal(err)
	}
	if on, err := s.hub.Enabled("ops"); !on || err != nil {
		t.Fatalf("Enabled = %v, %v; want true", on, err)
	}
	if err := s.hub.SetEnabled("ops", false); err != nil {
		t.Fatal(err)
	}
	if on, err := s.hub.Enabled("ops"); on || err != nil {
		t.Fatalf("Enabled = %v, %v; want false", on, err)
	}
	m := msg(1)
	if err := s.hub.Send("ops", m); !errors.Is(err, notify.ErrDisabled) {
		t.Fatalf("Send = %v, want ErrDisabled", err)
	}
	logs := s.logs.FilterMessage("integration disabled, message not sent").All()
	if len(logs) != 1 || logs[0].Level != zapcore.InfoLevel || logs[0].ContextMap()["messageId"] != m.MessageID {
		t.Fatalf("logs = %v, want one at Info with the messageId", logs)
	}
	if err := s.hub.SetEnabled("ops", true); err != nil {
		t.Fatal(err)
	}
	if err := s.hub.Send("ops", msg(2)); err != nil {
		t.Fatalf("Send after enabling: %v", err)
	}
	if err := s.hub.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := c.messages()
	if len(got) != 1 || got[0].Messages[0].QueryID != "exec-2" {
		t.Fatalf("delivered = %v, want only exec-2", got)
	}
	if st, want := s.hub.Stats("ops"), (notify.Stats{Queued: 1, Delivered: 1, Disabled: 1}); st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
}

func TestHubCloseDrains(t *testing.T) {
	t.Parallel()
	s := setupHub(t, notify.WithWorkers(1), notify.WithQueueSize(100))
	release := make(chan struct{})
	c := &counter{}
	gate := notify.NotifierFunc(func(ctx context.Context, m *notify.Message) error {
		<-release // hold the worker so that the queue fills
		return c.Notify(ctx, m)
	})
	if err := s.hub.Add("ops", gate); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if err := s.hub.Send("ops", msg(i)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- s.hub.Close(context.Background()) }()
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := len(c.messages()); got != 50 {
		t.Fatalf("delivered = %d, want 50", got)
	}
	if st, want := s.hub.Stats("ops"), (notify.Stats{Queued: 50, Delivered: 50}); st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
	debug := s.logs.FilterMessage("message delivered").All()
	if len(debug) != 50 || debug[0].Level != zapcore.DebugLevel {
		t.Fatalf("delivered logs = %d, want 50 at Debug", len(debug))
	}
}

func TestHubCloseContextEnds(t *testing.T) {
	t.Parallel()
	s := setupHub(t, notify.WithWorkers(1))
	b := newBlocker(t)
	if err := s.hub.Add("hang", b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := s.hub.Send("hang", msg(i)); err != nil {
			t.Fatal(err)
		}
	}
	<-b.started // one delivery in flight, two queued
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.hub.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v past its context", took)
	}
	// The hanging delivery was cancelled: the workers stop.
	if err := s.hub.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if st, want := s.hub.Stats("hang"), (notify.Stats{Queued: 3, Failed: 1, Dropped: 2}); st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("Notify calls = %d, want 1", n)
	}
	failed := s.logs.FilterMessage("delivery failed").All()
	if len(failed) != 1 || failed[0].Level != zapcore.WarnLevel || failed[0].ContextMap()["attempts"] != int64(1) {
		t.Fatalf("failure logs = %v, want one at Warn with attempts 1", failed)
	}
	if n := s.logs.FilterMessage("hub closed, message dropped").Len(); n != 2 {
		t.Fatalf("dropped-at-close logs = %d, want 2", n)
	}
}

func TestHubClosed(t *testing.T) {
	t.Parallel()
	s := setupHub(t)
	if err := s.hub.Add("ops", &counter{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A Close whose context has already ended still closes the hub; it
	// returns nil or ctx.Err(), whichever it sees first.
	if err := s.hub.Close(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Close(cancelled) = %v, want nil or context.Canceled", err)
	}
	if err := s.hub.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := s.hub.Send("ops", msg(1)); !errors.Is(err, notify.ErrClosed) {
		t.Fatalf("Send after Close = %v, want ErrClosed", err)
	}
	if err := s.hub.Add("other", &counter{}); !errors.Is(err, notify.ErrClosed) {
		t.Fatalf("Add after Close = %v, want ErrClosed", err)
	}
	if !s.hub.Has("ops") {
		t.Fatal("Has(ops) = false after Close")
	}
}

func TestHubAddValidates(t *testing.T) {
	t.Parallel()
	s := setupHub(t)
	for _, name := range []string{"", "has space", "slash/x", "ünïcode", strings.Repeat("a", 129)} {
		if err := s.hub.Add(name, &counter{}); !errors.Is(err, notify.ErrInvalidName) {
			t.Errorf("Add(%q) = %v, want ErrInvalidName", name, err)
		}
	}
	if err := s.hub.Add("ops_webhook-1.v2", &counter{}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := s.hub.Add("ops_webhook-1.v2", &counter{}); !errors.Is(err, notify.ErrDuplicate) {
		t.Fatalf("Add twice = %v, want ErrDuplicate", err)
	}
	if err := s.hub.Add("nil", nil); !errors.Is(err, notify.ErrNilNotifier) {
		t.Fatalf("Add(nil) = %v, want ErrNilNotifier", err)
	}
	if err := s.hub.Add("nilfunc", notify.NotifierFunc(nil)); !errors.Is(err, notify.ErrNilNotifier) {
		t.Fatalf("Add(NotifierFunc(nil)) = %v, want ErrNilNotifier", err)
	}
	if !s.hub.Has("ops_webhook-1.v2") || s.hub.Has("nope") {
		t.Fatal("Has is wrong")
	}
	if err := s.hub.Send("nope", msg(1)); !errors.Is(err, notify.ErrUnknownIntegration) {
		t.Fatalf("Send(unknown) = %v, want ErrUnknownIntegration", err)
	}
	if err := s.hub.SetEnabled("nope", true); !errors.Is(err, notify.ErrUnknownIntegration) {
		t.Fatalf("SetEnabled(unknown) = %v, want ErrUnknownIntegration", err)
	}
	if _, err := s.hub.Enabled("nope"); !errors.Is(err, notify.ErrUnknownIntegration) {
		t.Fatalf("Enabled(unknown) = %v, want ErrUnknownIntegration", err)
	}
	if err := s.hub.Send("ops_webhook-1.v2", nil); !errors.Is(err, notify.ErrNilMessage) {
		t.Fatalf("Send(nil) = %v, want ErrNilMessage", err)
	}
	if st := s.hub.Stats("nope"); st != (notify.Stats{}) {
		t.Fatalf("Stats(unknown) = %+v, want zero", st)
	}
}

func TestHubOptionsValidate(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]notify.HubOption{
		"nil":          nil,
		"logger nil":   notify.WithLogger(nil),
		"queue 0":      notify.WithQueueSize(0),
		"queue huge":   notify.WithQueueSize(notify.MaxQueueSize + 1),
		"workers 0":    notify.WithWorkers(0),
		"workers huge": notify.WithWorkers(notify.MaxWorkers + 1),
	} {
		if _, err := notify.NewHub(o); !errors.Is(err, notify.ErrInvalidOption) {
			t.Errorf("%s: NewHub = %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestHubSlowIntegrationDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	s := setupHub(t, notify.WithWorkers(2), notify.WithQueueSize(4))
	b := newBlocker(t)
	c := &counter{}
	if err := s.hub.Add("dead", b); err != nil {
		t.Fatal(err)
	}
	if err := s.hub.Add("ok", c); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // hold dead's two workers
		if err := s.hub.Send("dead", msg(i)); err != nil {
			t.Fatal(err)
		}
		<-b.started
	}
	for i := 2; i < 10; i++ { // fill its queue, and drop
		_ = s.hub.Send("dead", msg(i))
	}
	if err := s.hub.Send("ok", msg(100)); err != nil {
		t.Fatalf("Send(ok) = %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.hub.Stats("ok").Delivered != 1 {
		if time.Now().After(deadline) {
			t.Fatal("ok's message not delivered while dead hangs")
		}
		time.Sleep(time.Millisecond)
	}
	if st := s.hub.Stats("dead"); st.Dropped != 4 || st.Queued != 6 {
		t.Fatalf("dead Stats = %+v, want 6 queued (2 in flight + 4), 4 dropped", st)
	}
	b.unblock()
	all := s.hub.AllStats()
	if len(all) != 2 || all["ok"].Delivered != 1 {
		t.Fatalf("AllStats = %+v", all)
	}
}

func TestHubPanickingNotifier(t *testing.T) {
	t.Parallel()
	s := setupHub(t)
	boom := notify.NotifierFunc(func(context.Context, *notify.Message) error { panic("boom") })
	if err := s.hub.Add("boom", boom); err != nil {
		t.Fatal(err)
	}
	if err := s.hub.Send("boom", msg(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.hub.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.hub.Stats("boom"); st.Failed != 1 {
		t.Fatalf("Stats = %+v, want 1 failed", st)
	}
	logs := s.logs.FilterMessage("delivery failed").All()
	if len(logs) != 1 || !strings.Contains(logs[0].ContextMap()["error"].(string), "boom") || logs[0].ContextMap()["stack"] == nil {
		t.Fatalf("logs = %v, want a failure with the panic and its stack", logs)
	}
}

func TestHubSendCopiesMessage(t *testing.T) {
	t.Parallel()
	s := setupHub(t, notify.WithWorkers(1))
	b := newBlocker(t)
	if err := s.hub.Add("ops", b); err != nil {
		t.Fatal(err)
	}
	m := msg(1)
	if err := s.hub.Send("ops", m); err != nil {
		t.Fatal(err)
	}
	m.TaskName = "changed"
	m.Messages[0].QueryID = "changed"
	got := <-b.started
	b.unblock()
	if got.TaskName != "sync" || got.Messages[0].QueryID != "exec-1" {
		t.Fatalf("delivered %+v, want the message as it was at Send", got)
	}
}

func TestHubWithWebhook(t *testing.T) {
	t.Parallel()
	s := setupHub(t)
	ok := newReceiver(t, status(http.StatusOK))
	bad := newReceiver(t, status(http.StatusBadRequest))
	for name, url := range map[string]string{"ok": ok.srv.URL, "bad": bad.srv.URL} {
		if err := s.hub.Add(name, newWebhook(t, url, fast...)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"ok", "bad"} {
		if err := s.hub.Send(name, issueMessage()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.hub.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := s.hub.AllStats()
	if all["ok"] != (notify.Stats{Queued: 1, Delivered: 1}) || all["bad"] != (notify.Stats{Queued: 1, Failed: 1}) {
		t.Fatalf("AllStats = %+v", all)
	}
	failed := s.logs.FilterMessage("delivery failed").All()
	if len(failed) != 1 || failed[0].ContextMap()["integration"] != "bad" || failed[0].ContextMap()["queryId"] != issueMessage().Messages[0].QueryID {
		t.Fatalf("failure logs = %v", failed)
	}
	if got := len(ok.requests()) + len(bad.requests()); got != 2 {
		t.Fatalf("requests = %d, want 2", got)
	}
}

func TestHubConcurrentSend(t *testing.T) {
	t.Parallel()
	s := setupHub(t, notify.WithQueueSize(16), notify.WithWorkers(2))
	names := []string{"a", "b", "c"}
	for _, n := range names {
		if err := s.hub.Add(n, &counter{}); err != nil {
			t.Fatal(err)
		}
	}
	var sent [3]atomic.Uint64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				k := (g + i) % 3
				err := s.hub.Send(names[k], msg(i))
				if err != nil && !errors.Is(err, notify.ErrQueueFull) && !errors.Is(err, notify.ErrDisabled) {
					t.Errorf("Send: %v", err)
				}
				sent[k].Add(1)
				switch i % 50 {
				case 10:
					_ = s.hub.SetEnabled(names[k], false)
				case 11:
					_ = s.hub.SetEnabled(names[k], true)
				case 20:
					_ = s.hub.AllStats()
				}
			}
		}()
	}
	wg.Wait()
	if err := s.hub.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for k, n := range names {
		st := s.hub.Stats(n)
		if st.Queued != st.Delivered || st.Failed != 0 {
			t.Errorf("%s: Stats = %+v, want all queued delivered", n, st)
		}
		if total := st.Queued + st.Dropped + st.Disabled; total != sent[k].Load() {
			t.Errorf("%s: queued+dropped+disabled = %d, want %d sent", n, total, sent[k].Load())
		}
	}
}

func TestHubConcurrentClose(t *testing.T) {
	t.Parallel()
	h, err := notify.NewHub()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Add("a", &counter{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if err := h.Send("a", msg(j)); err != nil && !errors.Is(err, notify.ErrClosed) {
					t.Errorf("Send: %v", err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			if err := h.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
		}()
	}
	wg.Wait()
	st := h.Stats("a")
	if st.Queued != st.Delivered {
		t.Fatalf("Stats = %+v, want every queued message delivered", st)
	}
}
