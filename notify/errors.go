package notify

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors; callers branch on them with errors.Is. The errors
// returned wrap them and name the input (the option, the URL, the
// integration).
var (
	// ErrInvalidOption is wrapped by the error of an option given a bad
	// value, such as WithTimeout(0) or WithLogger(nil), or of a nil option.
	ErrInvalidOption = errors.New("notify: invalid option")

	// ErrInvalidURL is returned by NewWebhook for a URL that is empty,
	// does not parse, or is not an absolute http or https URL with a host.
	ErrInvalidURL = errors.New("notify: invalid webhook URL")

	// ErrNilMessage is returned by Notify and Hub.Send for a nil *Message.
	ErrNilMessage = errors.New("notify: nil message")

	// ErrHTTPStatus is the cause, in a *DeliveryError, of a delivery that
	// ended with a status other than 2xx. DeliveryError.Status holds it.
	ErrHTTPStatus = errors.New("notify: unexpected HTTP status")

	// ErrTimeout is the cause, in a *DeliveryError, of a delivery whose
	// last attempt took longer than the per-attempt timeout (WithTimeout).
	// A delivery stopped by the caller's context wraps ctx.Err() instead.
	ErrTimeout = errors.New("notify: webhook attempt timed out")

	// ErrBadSignature is wrapped by Verify's error for a signature header
	// that is malformed or does not match the body and secret.
	ErrBadSignature = errors.New("notify: bad signature")

	// ErrSignatureExpired is wrapped by Verify's error for a correctly
	// signed request whose timestamp is further from now than the
	// tolerance: a replay, or a clock that is badly off.
	ErrSignatureExpired = errors.New("notify: signature timestamp outside tolerance")

	// ErrInvalidName is returned by Hub.Add for an integration name that is
	// empty, too long, or holds characters other than ASCII letters,
	// digits, '_', '-' and '.'.
	ErrInvalidName = errors.New("notify: invalid integration name")

	// ErrNilNotifier is returned by Hub.Add for a nil Notifier.
	ErrNilNotifier = errors.New("notify: nil notifier")

	// ErrDuplicate is returned by Hub.Add for a name already added.
	ErrDuplicate = errors.New("notify: duplicate integration name")

	// ErrUnknownIntegration is returned for a name that was never added.
	ErrUnknownIntegration = errors.New("notify: unknown integration")

	// ErrDisabled is returned by Hub.Send for a disabled integration; the
	// message is not sent.
	ErrDisabled = errors.New("notify: integration disabled")

	// ErrQueueFull is returned by Hub.Send when the integration's queue is
	// full; the message is dropped.
	ErrQueueFull = errors.New("notify: queue full, message dropped")

	// ErrClosed is returned by Hub.Send and Hub.Add after Close began
	// (http.ErrServerClosed style).
	ErrClosed = errors.New("notify: hub closed")
)

// DeliveryError is the error Webhook.Notify returns when a message was not
// delivered: a status that is not retried (4xx other than 429, 3xx), the
// last of the allowed attempts failing, or the caller's context ending.
// Err says why, and wraps ErrHTTPStatus, ErrTimeout, ctx.Err() or the
// network error.
type DeliveryError struct {
	// URL is the webhook's URL with any password and query string
	// redacted, so that the error can be logged.
	URL string
	// Status is the HTTP status of the last response, or 0 if the last
	// attempt got none (network error, timeout, cancelled context).
	Status int
	// Attempts is the number of requests made, 1 or more, or 0 when the
	// context had ended before the first.
	Attempts int
	// Err is the cause.
	Err error
}

// Error reads like
//
//	notify: webhook https://hooks.example.com/tasks: 4 attempts: notify: unexpected HTTP status 503 Service Unavailable
func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString("notify: webhook ")
	b.WriteString(e.URL)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Attempts))
	if e.Attempts == 1 {
		b.WriteString(" attempt")
	} else {
		b.WriteString(" attempts")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *DeliveryError) Unwrap() error { return e.Err }

// optionError wraps ErrInvalidOption with the option's name and detail.
func optionError(option, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidOption, option, fmt.Sprintf(format, args...))
}
