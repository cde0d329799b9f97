package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/notify"
)

// received is one request the test server got.
type received struct {
	method string
	header http.Header
	body   []byte
}

// receiver is an httptest server whose handler answers attempt n (from 1)
// with respond, and records every request.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []received
	got  chan struct{} // one value per request, after it was recorded
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan struct{}, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("server: reading body: %v", err)
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{r.Method, r.Header.Clone(), body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		rc.got <- struct{}{}
		respond(n, w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func status(codes ...int) func(n int, w http.ResponseWriter, r *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(codes[min(n, len(codes))-1])
	}
}

// fast are options that make retries wait at most a millisecond.
var fast = []notify.WebhookOption{notify.WithBackoff(time.Millisecond, time.Millisecond)}

func newWebhook(t *testing.T, url string, opts ...notify.WebhookOption) *notify.Webhook {
	t.Helper()
	w, err := notify.NewWebhook(url, opts...)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	return w
}

func deliveryError(t *testing.T, err error) *notify.DeliveryError {
	t.Helper()
	var de *notify.DeliveryError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v (%T), want a *DeliveryError", err, err)
	}
	return de
}

// recClock is a fake clock that records the duration of every timer, so
// tests can assert the waits the webhook asked for.
type recClock struct {
	*clockwork.FakeClock
	mu    sync.Mutex
	waits []time.Duration
}

func newRecClock() *recClock {
	return &recClock{FakeClock: clockwork.NewFakeClockAt(time.Date(2024, 3, 19, 2, 37, 21, 0, time.UTC))}
}

func (c *recClock) NewTimer(d time.Duration) clockwork.Timer {
	c.mu.Lock()
	c.waits = append(c.waits, d) // before the timer exists, so BlockUntil implies it is recorded
	c.mu.Unlock()
	return c.FakeClock.NewTimer(d)
}

func (c *recClock) recorded() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// notifyDriven runs w.Notify(ctx, m) and, each time it waits on the fake
// clock, advances the clock by the wait it asked for. It returns Notify's
// error.
func notifyDriven(t *testing.T, ctx context.Context, clk *recClock, w notify.Notifier, m *notify.Message) error {
	t.Helper()
	done := make(chan error, 1)
	waitCtx, stop := context.WithCancel(ctx)
	go func() {
		done <- w.Notify(ctx, m)
		stop()
	}()
	for clk.BlockUntilContext(waitCtx, 1) == nil {
		w := clk.recorded()
		clk.Advance(w[len(w)-1])
	}
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Notify did not return")
		return nil
	}
}

// issuePayload mirrors the issue's example field by field, independently
// of notify.Message, so that a renamed or retyped field fails the test.
type issuePayload struct {
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

func decodeStrict(t *testing.T, b []byte) issuePayload {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var p issuePayload
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return p
}

func TestWebhookBodyIsTheContract(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, status(http.StatusNoContent))
	w := newWebhook(t, rc.srv.URL)
	if err := w.Notify(context.Background(), issueMessage()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests = %d, want 1", len(reqs))
	}
	got := decodeStrict(t, reqs[0].body)
	want := decodeStrict(t, []byte(issueJSON))
	if got.Version != want.Version || got.MessageID != want.MessageID || got.MessageType != want.MessageType ||
		got.Timestamp != want.Timestamp || got.TenantID != want.TenantID || got.TaskName != want.TaskName ||
		got.TaskID != want.TaskID || got.RootTaskName != want.RootTaskName || got.RootTaskID != want.RootTaskID {
		t.Errorf("envelope = %+v\nwant %+v", got, want)
	}
	if len(got.Messages) != 1 || len(want.Messages) != 1 {
		t.Fatalf("messages = %d, want 1", len(got.Messages))
	}
	if g, w := got.Messages[0], want.Messages[0]; g != w {
		t.Errorf("messages[0] = %+v\nwant %+v", g, w)
	}
	if string(reqs[0].body) != compact(t, issueJSON) {
		t.Errorf("body =\n%s\nwant\n%s", reqs[0].body, compact(t, issueJSON))
	}
}

func TestWebhookHeaders(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, status(http.StatusOK))
	w := newWebhook(t, rc.srv.URL,
		notify.WithMethod("put"),
		notify.WithHeader("Authorization", "Bearer xyz"),
		notify.WithHeader("x-team", "a"),
		notify.WithHeader("X-Team", "ops"))
	m := issueMessage()
	if err := w.Notify(context.Background(), m); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	r := rc.requests()[0]
	if r.method != http.MethodPut {
		t.Errorf("method = %s, want PUT", r.method)
	}
	for k, want := range map[string]string{
		"Content-Type":        "application/json",
		"User-Agent":          "taskmill-webhook/1",
		"Taskmill-Message-Id": m.MessageID,
		"Authorization":       "Bearer xyz",
		"X-Team":              "ops",
		"Taskmill-Signature":  "",
	} {
		if got := r.header.Values(k); strings.Join(got, ",") != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}

	rc2 := newReceiver(t, status(http.StatusOK))
	w2 := newWebhook(t, rc2.srv.URL, notify.WithHeader("User-Agent", "acme/2"))
	if err := w2.Notify(context.Background(), m); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if got := rc2.requests()[0].header.Get("User-Agent"); got != "acme/2" {
		t.Errorf("User-Agent = %q, want acme/2", got)
	}
}

func TestWebhookSignatureVerifiesOnServer(t *testing.T) {
	t.Parallel()
	secret := []byte("s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr")
	clk := newRecClock()
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "45")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	w := newWebhook(t, rc.srv.URL, notify.WithSecret(secret), notify.WithClock(clk))
	start := clk.Now()
	if err := notifyDriven(t, context.Background(), clk, w, issueMessage()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want 2", len(reqs))
	}
	for i, r := range reqs {
		at := start.Add(time.Duration(i) * 45 * time.Second) // a fresh timestamp per attempt
		h := r.header.Get(notify.SignatureHeader)
		if err := notify.Verify(secret, h, r.body, at, time.Second); err != nil {
			t.Errorf("attempt %d: Verify(%q) = %v", i+1, h, err)
		}
		if want := notify.Sign(secret, r.body, at); h != want {
			t.Errorf("attempt %d: signature = %q, want %q", i+1, h, want)
		}
		if err := notify.Verify([]byte("wrong"), h, r.body, at, time.Second); !errors.Is(err, notify.ErrBadSignature) {
			t.Errorf("attempt %d: Verify(wrong secret) = %v, want ErrBadSignature", i+1, err)
		}
	}
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, status(http.StatusInternalServerError, http.StatusOK))
	w := newWebhook(t, rc.srv.URL, fast...)
	m := issueMessage()
	if err := w.Notify(context.Background(), m); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("attempts = %d, want 2", len(reqs))
	}
	for i, r := range reqs {
		if got := r.header.Get(notify.MessageIDHeader); got != m.MessageID {
			t.Errorf("attempt %d: message id = %q, want %q", i+1, got, m.MessageID)
		}
		if string(r.body) != string(reqs[0].body) {
			t.Errorf("attempt %d: body differs from the first", i+1)
		}
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	t.Parallel()
	httpDate := time.Date(2024, 3, 19, 2, 37, 51, 0, time.UTC).Format(http.TimeFormat) // clock start + 30s
	for _, tc := range []struct {
		name       string
		code       int
		retryAfter string
		opts       []notify.WebhookOption
		want       time.Duration
	}{
		{"429 seconds", http.StatusTooManyRequests, "1", nil, time.Second},
		{"503 seconds", http.StatusServiceUnavailable, "7", nil, 7 * time.Second},
		{"429 http date", http.StatusTooManyRequests, httpDate, nil, 30 * time.Second},
		{"capped by default", http.StatusTooManyRequests, "3600", nil, notify.MaxRetryAfterDefault},
		{"capped by option", http.StatusTooManyRequests, "3600", []notify.WebhookOption{notify.WithMaxRetryAfter(2 * time.Second)}, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newRecClock()
			rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", tc.retryAfter)
					w.WriteHeader(tc.code)
				}
			})
			w := newWebhook(t, rc.srv.URL, append(tc.opts, notify.WithClock(clk))...)
			if err := notifyDriven(t, context.Background(), clk, w, issueMessage()); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if got := len(rc.requests()); got != 2 {
				t.Fatalf("attempts = %d, want 2", got)
			}
			if got := clk.recorded(); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("waits = %v, want [%v]", got, tc.want)
			}
		})
	}
}

func TestWebhookBackoffWaits(t *testing.T) {
	t.Parallel()
	clk := newRecClock()
	rc := newReceiver(t, status(http.StatusBadGateway))
	w := newWebhook(t, rc.srv.URL, notify.WithClock(clk), notify.WithRetries(5),
		notify.WithBackoff(100*time.Millisecond, 300*time.Millisecond))
	err := notifyDriven(t, context.Background(), clk, w, issueMessage())
	if de := deliveryError(t, err); de.Attempts != 6 || de.Status != http.StatusBadGateway {
		t.Fatalf("DeliveryError = %+v, want 6 attempts, status 502", de)
	}
	// Full jitter: each wait lies in [0, min(100ms * 2^k, 300ms)]. A wait
	// of 0 makes no timer, so fewer may be recorded.
	ceil := []time.Duration{100, 200, 300, 300, 300}
	waits := clk.recorded()
	if len(waits) > len(ceil) {
		t.Fatalf("waits = %v, want at most %d", waits, len(ceil))
	}
	for _, d := range waits {
		if d <= 0 || d > 300*time.Millisecond {
			t.Errorf("wait %v outside (0, 300ms]", d)
		}
	}
}

func TestWebhookNoRetryOn4xx(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusFound} {
		rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if code == http.StatusFound {
				http.Redirect(w, r, "/elsewhere", code)
				return
			}
			http.Error(w, "no such hook\nsecond line", code)
		})
		w := newWebhook(t, rc.srv.URL, fast...)
		err := w.Notify(context.Background(), issueMessage())
		de := deliveryError(t, err)
		if de.Attempts != 1 || de.Status != code || !errors.Is(err, notify.ErrHTTPStatus) {
			t.Errorf("%d: DeliveryError = %+v, want 1 attempt, status %d, ErrHTTPStatus", code, de, code)
		}
		if got := len(rc.requests()); got != 1 {
			t.Errorf("%d: requests = %d, want 1", code, got)
		}
		if code == http.StatusBadRequest && !strings.Contains(err.Error(), "400 Bad Request: no such hook") {
			t.Errorf("error %q does not quote the status and the body's first line", err)
		}
	}
}

func TestWebhookGivesUp(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, status(http.StatusServiceUnavailable))
	w := newWebhook(t, rc.srv.URL, append(fast, notify.WithRetries(2))...)
	err := w.Notify(context.Background(), issueMessage())
	de := deliveryError(t, err)
	if de.Attempts != 3 || de.Status != http.StatusServiceUnavailable || !errors.Is(err, notify.ErrHTTPStatus) {
		t.Fatalf("DeliveryError = %+v, want 3 attempts, status 503", de)
	}
	if got := len(rc.requests()); got != 3 {
		t.Fatalf("requests = %d, want 3", got)
	}

	rc0 := newReceiver(t, status(http.StatusInternalServerError))
	w0 := newWebhook(t, rc0.srv.URL, notify.WithRetries(0))
	if de := deliveryError(t, w0.Notify(context.Background(), issueMessage())); de.Attempts != 1 {
		t.Fatalf("WithRetries(0): attempts = %d, want 1", de.Attempts)
	}
}

// TestWebhookConnectionRefused is not parallel: the closed server's port
// must not be reused by another test's server while it runs.
func TestWebhookConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=SECRET-TOKEN"
	srv.Close()
	w := newWebhook(t, url, append(fast, notify.WithRetries(2))...)
	err := w.Notify(context.Background(), issueMessage())
	de := deliveryError(t, err)
	if de.Attempts != 3 || de.Status != 0 || errors.Is(err, notify.ErrHTTPStatus) {
		t.Fatalf("DeliveryError = %+v, want 3 attempts, no status", de)
	}
	if strings.Contains(err.Error(), "SECRET-TOKEN") || !strings.Contains(de.URL, "/hook?REDACTED") {
		t.Fatalf("error %q (URL %q) leaks the query string or does not name the URL", err, de.URL)
	}
}

func TestWebhookNetworkError(t *testing.T) {
	t.Parallel()
	// A server that closes every connection without answering.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	w := newWebhook(t, "http://"+ln.Addr().String()+"/hook", append(fast, notify.WithRetries(2))...)
	err = w.Notify(context.Background(), issueMessage())
	if de := deliveryError(t, err); de.Attempts != 3 || de.Status != 0 {
		t.Fatalf("DeliveryError = %+v, want 3 attempts, no status", de)
	}
	if n := accepted.Load(); n != 3 {
		t.Fatalf("connections = %d, want 3", n)
	}

	// A connection dropped without a response, then a success.
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
		}
	})
	w2 := newWebhook(t, rc.srv.URL, fast...)
	if err := w2.Notify(context.Background(), issueMessage()); err != nil {
		t.Fatalf("Notify after a dropped connection: %v", err)
	}
	if got := len(rc.requests()); got != 2 {
		t.Fatalf("requests = %d, want 2", got)
	}
}

// hang answers nothing until the request is cancelled or the test ends.
func hang(t *testing.T) func(int, http.ResponseWriter, *http.Request) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	return func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
}

func TestWebhookAttemptTimeout(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, hang(t))
	w := newWebhook(t, rc.srv.URL, append(fast, notify.WithTimeout(20*time.Millisecond), notify.WithRetries(1))...)
	start := time.Now()
	err := w.Notify(context.Background(), issueMessage())
	de := deliveryError(t, err)
	if de.Attempts != 2 || !errors.Is(err, notify.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("DeliveryError = %+v (%v), want 2 attempts wrapping ErrTimeout only", de, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Notify took %v", took)
	}
}

func TestWebhookContextEndsDuringRequest(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, hang(t))
	w := newWebhook(t, rc.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-rc.got
		cancel()
	}()
	err := w.Notify(ctx, issueMessage())
	de := deliveryError(t, err)
	if !errors.Is(err, context.Canceled) || de.Attempts != 1 {
		t.Fatalf("err = %v (%+v), want context.Canceled after 1 attempt", err, de)
	}
}

func TestWebhookContextEndsDuringWait(t *testing.T) {
	t.Parallel()
	clk := newRecClock()
	rc := newReceiver(t, status(http.StatusInternalServerError))
	w := newWebhook(t, rc.srv.URL, notify.WithClock(clk))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Notify(ctx, issueMessage()) }()
	if err := clk.BlockUntilContext(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-done
	de := deliveryError(t, err)
	if !errors.Is(err, context.Canceled) || de.Attempts != 1 || de.Status != http.StatusInternalServerError {
		t.Fatalf("err = %v (%+v), want context.Canceled after 1 attempt with status 500", err, de)
	}

	// A context that has already ended makes no request.
	err = w.Notify(ctx, issueMessage())
	if de := deliveryError(t, err); !errors.Is(err, context.Canceled) || de.Attempts != 0 {
		t.Fatalf("err = %v (%+v), want context.Canceled after 0 attempts", err, de)
	}
	if got := len(rc.requests()); got != 1 {
		t.Fatalf("requests = %d, want 1", got)
	}
}

func TestWebhookNilMessage(t *testing.T) {
	t.Parallel()
	w := newWebhook(t, "https://hooks.example.com/x")
	if err := w.Notify(context.Background(), nil); !errors.Is(err, notify.ErrNilMessage) {
		t.Fatalf("Notify(nil) = %v, want ErrNilMessage", err)
	}
}

func TestNewWebhookInvalidURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://hooks.example.com/x", "hooks.example.com/x", "http://", "http://[::1", "mailto:ops@example.com", "/relative"} {
		_, err := notify.NewWebhook(u)
		if !errors.Is(err, notify.ErrInvalidURL) {
			t.Errorf("NewWebhook(%q) = %v, want ErrInvalidURL", u, err)
			continue
		}
		if u != "" && !strings.Contains(err.Error(), u) {
			t.Errorf("NewWebhook(%q) = %q, does not name the URL", u, err)
		}
	}
	for _, u := range []string{"http://localhost:8080/x", "HTTPS://hooks.example.com/a?b=c"} {
		if _, err := notify.NewWebhook(u); err != nil {
			t.Errorf("NewWebhook(%q) = %v, want nil", u, err)
		}
	}
}

func TestWebhookOptionsValidate(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]notify.WebhookOption{
		"nil":                   nil,
		"method GET":            notify.WithMethod("GET"),
		"method empty":          notify.WithMethod(""),
		"header empty key":      notify.WithHeader("", "v"),
		"header bad key":        notify.WithHeader("X Bad", "v"),
		"header newline value":  notify.WithHeader("X-Ok", "a\r\nInjected: 1"),
		"header content type":   notify.WithHeader("content-type", "text/plain"),
		"header signature":      notify.WithHeader("Taskmill-Signature", "t=1"),
		"header message id":     notify.WithHeader("Taskmill-Message-Id", "x"),
		"header host":           notify.WithHeader("Host", "x"),
		"timeout 0":             notify.WithTimeout(0),
		"timeout negative":      notify.WithTimeout(-time.Second),
		"retries negative":      notify.WithRetries(-1),
		"backoff 0":             notify.WithBackoff(0, time.Second),
		"backoff max < initial": notify.WithBackoff(time.Second, time.Millisecond),
		"backoff huge":          notify.WithBackoff(time.Second, 48*time.Hour),
		"max retry after 0":     notify.WithMaxRetryAfter(0),
		"secret empty":          notify.WithSecret(nil),
		"http client nil":       notify.WithHTTPClient(nil),
		"clock nil":             notify.WithClock(nil),
	} {
		if _, err := notify.NewWebhook("https://hooks.example.com/x", o); !errors.Is(err, notify.ErrInvalidOption) {
			t.Errorf("%s: NewWebhook = %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := notify.NewWebhook("https://hooks.example.com/x",
		notify.WithMethod("patch"), notify.WithHeader("X-Ok", "v\tw"), notify.WithTimeout(time.Second),
		notify.WithRetries(0), notify.WithBackoff(time.Second, time.Second), notify.WithMaxRetryAfter(time.Hour),
		notify.WithSecret([]byte("k")), notify.WithHTTPClient(http.DefaultClient), notify.WithClock(clockwork.NewFakeClock()),
	); err != nil {
		t.Errorf("NewWebhook(valid options) = %v", err)
	}
}

func TestWebhookCustomClient(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, status(http.StatusOK))
	w := newWebhook(t, rc.srv.URL, notify.WithHTTPClient(rc.srv.Client()))
	if err := w.Notify(context.Background(), issueMessage()); err != nil {
		t.Fatalf("Notify: %v", err)
	}
}
