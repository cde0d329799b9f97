package notify

import (
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/internal/quote"
)

// Defaults of the webhook options.
const (
	// TimeoutDefault bounds one request, response body included.
	TimeoutDefault = 10 * time.Second
	// RetriesDefault is how many times a failed request is retried, so a
	// message gets at most RetriesDefault+1 attempts.
	RetriesDefault = 3
	// BackoffInitialDefault is the largest wait before the first retry.
	BackoffInitialDefault = 500 * time.Millisecond
	// BackoffMaxDefault caps the exponential growth of the wait.
	BackoffMaxDefault = 30 * time.Second
	// MaxRetryAfterDefault caps the wait a server asks for in Retry-After.
	MaxRetryAfterDefault = time.Minute
)

// maxWait bounds the durations the options take, so that doubling a
// backoff cannot overflow.
const maxWait = 24 * time.Hour

// WebhookOption configures NewWebhook. Each returns an error wrapping
// ErrInvalidOption for a bad value.
type WebhookOption func(*webhookConfig) error

type webhookConfig struct {
	method         string
	header         http.Header
	timeout        time.Duration
	retries        int
	backoffInitial time.Duration
	backoffMax     time.Duration
	maxRetryAfter  time.Duration
	secret         []byte
	client         *http.Client
	clock          clockwork.Clock
}

// WithMethod sets the request method: POST, PUT or PATCH (in any case),
// the methods that carry a body. Default: POST.
func WithMethod(method string) WebhookOption {
	return func(c *webhookConfig) error {
		m := strings.ToUpper(method)
		switch m {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			c.method = m
			return nil
		}
		return optionError("WithMethod", "method %s: want POST, PUT or PATCH", quote.Short(method))
	}
}

// reservedHeaders are set by the webhook itself and cannot be set with
// WithHeader: the payload is JSON by contract, the transport owns framing,
// and the Taskmill headers must be the webhook's own.
var reservedHeaders = map[string]bool{
	"Content-Type":      true,
	"Content-Length":    true,
	"Transfer-Encoding": true,
	"Connection":        true,
	"Host":              true,
	SignatureHeader:     true,
	MessageIDHeader:     true,
}

// WithHeader sets a header on every request, such as an Authorization
// token; a later WithHeader for the same key replaces the value. The key
// must be a valid header name and not one the webhook sets itself
// (Content-Type, Content-Length, Transfer-Encoding, Connection, Host,
// Taskmill-Signature, Taskmill-Message-Id); the value must not hold
// control characters. User-Agent may be replaced. Default: no extra
// headers.
func WithHeader(key, value string) WebhookOption {
	return func(c *webhookConfig) error {
		if !validHeaderKey(key) {
			return optionError("WithHeader", "invalid header name %s", quote.Short(key))
		}
		k := textproto.CanonicalMIMEHeaderKey(key)
		if reservedHeaders[k] {
			return optionError("WithHeader", "header %s is set by the webhook", k)
		}
		for i := 0; i < len(value); i++ {
			if b := value[i]; (b < 0x20 && b != '\t') || b == 0x7f {
				return optionError("WithHeader", "header %s: value holds a control character", k)
			}
		}
		c.header.Set(k, value)
		return nil
	}
}

// validHeaderKey reports whether k is an RFC 9110 token.
func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		b := k[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// WithTimeout bounds each attempt, from sending the request to reading the
// response; an attempt that takes longer is retried. It must be positive
// and at most 24h. The timeout runs on real time, not on WithClock's
// clock, since it bounds network I/O. Default: 10s (TimeoutDefault).
func WithTimeout(d time.Duration) WebhookOption {
	return func(c *webhookConfig) error {
		if d <= 0 || d > maxWait {
			return optionError("WithTimeout", "%v: want > 0 and <= %v", d, maxWait)
		}
		c.timeout = d
		return nil
	}
}

// WithRetries sets how many times a failed attempt is retried (0 for none),
// so a message gets at most n+1 attempts. Default: 3 (RetriesDefault).
func WithRetries(n int) WebhookOption {
	return func(c *webhookConfig) error {
		if n < 0 {
			return optionError("WithRetries", "%d: want >= 0", n)
		}
		c.retries = n
		return nil
	}
}

// WithBackoff sets the waits between attempts: before retry k the webhook
// waits a random duration between 0 and min(initial * 2^(k-1), max) ("full
// jitter", so that many senders do not retry in step). initial must be
// positive and max at least initial, both at most 24h. A Retry-After
// header replaces the wait (see WithMaxRetryAfter). Default: 500ms and 30s
// (BackoffInitialDefault, BackoffMaxDefault).
func WithBackoff(initial, max time.Duration) WebhookOption {
	return func(c *webhookConfig) error {
		if initial <= 0 || max < initial || max > maxWait {
			return optionError("WithBackoff", "initial %v, max %v: want 0 < initial <= max <= %v", initial, max, maxWait)
		}
		c.backoffInitial, c.backoffMax = initial, max
		return nil
	}
}

// WithMaxRetryAfter caps the wait that a 429 or 503 response's Retry-After
// header asks for; a longer wait is cut to d. It must be positive and at
// most 24h. Default: 1m (MaxRetryAfterDefault).
func WithMaxRetryAfter(d time.Duration) WebhookOption {
	return func(c *webhookConfig) error {
		if d <= 0 || d > maxWait {
			return optionError("WithMaxRetryAfter", "%v: want > 0 and <= %v", d, maxWait)
		}
		c.maxRetryAfter = d
		return nil
	}
}

// WithSecret makes the webhook sign every request with HMAC-SHA256 in the
// Taskmill-Signature header (see Sign and Verify). The secret is copied;
// it must not be empty, and 32 random bytes are recommended. Default: no
// signature.
func WithSecret(secret []byte) WebhookOption {
	return func(c *webhookConfig) error {
		if len(secret) == 0 {
			return optionError("WithSecret", "empty secret")
		}
		c.secret = append([]byte(nil), secret...)
		return nil
	}
}

// WithHTTPClient sets the client that sends the requests, for proxies, TLS
// settings or tests. Its CheckRedirect decides about redirects; its
// Timeout, if set, applies on top of WithTimeout. Default: a client on
// http.DefaultTransport that does not follow redirects, so that a 3xx is a
// failure that is not retried rather than a POST turned into a GET.
func WithHTTPClient(client *http.Client) WebhookOption {
	return func(c *webhookConfig) error {
		if client == nil {
			return optionError("WithHTTPClient", "nil client")
		}
		c.client = client
		return nil
	}
}

// WithClock sets the clock that times the waits between attempts and
// stamps signatures, so that tests can move a fake clock instead of
// sleeping. Default: the real clock (clockwork.NewRealClock()).
func WithClock(clock clockwork.Clock) WebhookOption {
	return func(c *webhookConfig) error {
		if clock == nil {
			return optionError("WithClock", "nil clock")
		}
		c.clock = clock
		return nil
	}
}
