package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/internal/quote"
)

// UserAgent is the User-Agent of a Webhook's requests unless WithHeader
// sets another.
const UserAgent = "taskmill-webhook/1"

// Webhook is a Notifier that sends each message as JSON in an HTTP request
// to one URL, retrying failures with exponential backoff and full jitter.
// It is safe for concurrent use. See the package doc for what is retried
// and for the signature.
type Webhook struct {
	url      string
	redacted string
	cfg      webhookConfig
	// jitter returns a random duration in [0, d]; tests replace it.
	jitter func(d time.Duration) time.Duration
}

var _ Notifier = (*Webhook)(nil)

// NewWebhook returns a webhook that sends to rawURL, an absolute http or
// https URL. An empty or unparsable URL, another scheme or a missing host
// gives an error wrapping ErrInvalidURL that names the URL; a bad option
// gives an error wrapping ErrInvalidOption.
func NewWebhook(rawURL string, opts ...WebhookOption) (*Webhook, error) {
	u, err := parseWebhookURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg := webhookConfig{
		method:         http.MethodPost,
		header:         http.Header{},
		timeout:        TimeoutDefault,
		retries:        RetriesDefault,
		backoffInitial: BackoffInitialDefault,
		backoffMax:     BackoffMaxDefault,
		maxRetryAfter:  MaxRetryAfterDefault,
		clock:          clockwork.NewRealClock(),
	}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: webhook option %d is nil", ErrInvalidOption, i)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.client == nil {
		cfg.client = &http.Client{CheckRedirect: noRedirect}
	}
	return &Webhook{
		url:      u.String(),
		redacted: redactURL(u),
		cfg:      cfg,
		jitter:   fullJitter,
	}, nil
}

func parseWebhookURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // ue repeats the URL
		}
		return nil, fmt.Errorf("%w %s: %v", ErrInvalidURL, quote.Short(raw), err)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return nil, fmt.Errorf("%w %s: scheme must be http or https", ErrInvalidURL, quote.Short(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w %s: no host", ErrInvalidURL, quote.Short(raw))
	}
	return u, nil
}

// redactURL returns u without its password and query string, which often
// hold tokens, for errors and logs.
func redactURL(u *url.URL) string {
	c := *u
	hadQuery := c.RawQuery != "" || c.ForceQuery
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = "", false, "", ""
	s := c.Redacted()
	if hadQuery {
		s += "?REDACTED"
	}
	return s
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Notify sends m, as JSON, and retries until it is delivered, the attempts
// allowed by WithRetries are used up, a status that is not retried comes
// back, or ctx ends. Every failure to deliver is a *DeliveryError. A nil m
// gives ErrNilMessage, and a message that cannot be encoded (a time outside
// years 0-9999) an error, both without a request.
func (w *Webhook) Notify(ctx context.Context, m *Message) error {
	if m == nil {
		return ErrNilMessage
	}
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("notify: encode message %s: %w", m.MessageID, err)
	}
	de := &DeliveryError{URL: w.redacted}
	for {
		if err := ctx.Err(); err != nil {
			de.Err = err
			return de
		}
		de.Attempts++
		r := w.attempt(ctx, body, m.MessageID)
		de.Status = r.status
		if r.err == nil {
			return nil
		}
		de.Err = r.err
		if !r.retry || de.Attempts > w.cfg.retries {
			return de
		}
		wait := w.backoff(de.Attempts)
		if r.retryAfter > 0 {
			wait = min(r.retryAfter, w.cfg.maxRetryAfter)
		}
		if err := w.sleep(ctx, wait); err != nil {
			de.Err = err
			return de
		}
	}
}

type attemptResult struct {
	status     int           // 0 without a response
	err        error         // nil when delivered
	retry      bool          // whether another attempt may succeed
	retryAfter time.Duration // the server's Retry-After, 0 if none
}

// maxSnippet is how much of an error response's body goes into the error.
const maxSnippet = 256

func (w *Webhook) attempt(ctx context.Context, body []byte, id string) attemptResult {
	actx, cancel := context.WithTimeout(ctx, w.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, w.cfg.method, w.url, bytes.NewReader(body))
	if err != nil {
		return attemptResult{err: err}
	}
	req.Header = w.cfg.header.Clone()
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	if id != "" {
		req.Header.Set(MessageIDHeader, id)
	}
	if w.cfg.secret != nil {
		// A fresh timestamp per attempt, so that a retry after a long
		// backoff still falls within the receiver's tolerance.
		req.Header.Set(SignatureHeader, Sign(w.cfg.secret, body, w.cfg.clock.Now()))
	}
	resp, err := w.cfg.client.Do(req)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			return attemptResult{err: ctx.Err()}
		case actx.Err() != nil:
			return attemptResult{err: fmt.Errorf("%w after %v", ErrTimeout, w.cfg.timeout), retry: true}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // ue holds the full URL, which may hold a token
		}
		return attemptResult{err: err, retry: true}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxSnippet*4))
	// Drain a little more so that the connection can be reused; the
	// attempt's timeout bounds a body that never ends.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // errors only cost the connection
	r := attemptResult{status: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return r
	}
	if s := TruncateError(string(snippet), maxSnippet); s != "" {
		r.err = fmt.Errorf("%w %s: %s", ErrHTTPStatus, resp.Status, s)
	} else {
		r.err = fmt.Errorf("%w %s", ErrHTTPStatus, resp.Status)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		r.retry = true
		r.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), w.cfg.clock.Now())
	case resp.StatusCode >= 500 && resp.StatusCode < 600:
		r.retry = true
	}
	return r
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// and returns the wait it asks for, or 0 when there is none or it is bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(24*time.Hour/time.Second) { // capped later anyway; avoid overflow
			secs = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// backoff returns the wait after the given number of failed attempts:
// full jitter over initial * 2^(attempts-1), capped at the maximum.
func (w *Webhook) backoff(attempts int) time.Duration {
	ceil := w.cfg.backoffInitial
	for i := 1; i < attempts && ceil < w.cfg.backoffMax; i++ {
		ceil *= 2
	}
	ceil = min(ceil, w.cfg.backoffMax)
	return w.jitter(ceil)
}

func fullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// sleep waits d on the webhook's clock, or returns ctx.Err() if ctx ends
// first.
func (w *Webhook) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := w.cfg.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}
