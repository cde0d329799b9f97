package notify

import "context"

// Notifier delivers a message. Notify is a synchronous attempt to deliver:
// it returns when the message was delivered (nil), when delivery failed for
// good (an error; a Webhook retries before giving up), or when ctx ends
// (an error wrapping ctx.Err()). It must not change m, and must be safe for
// concurrent use: a Hub calls it from several workers at once.
//
// A Notifier that panics inside a Hub is recovered; the delivery counts as
// failed and is logged with the panic value and stack.
type Notifier interface {
	Notify(ctx context.Context, m *Message) error
}

// NotifierFunc adapts a function to a Notifier.
type NotifierFunc func(ctx context.Context, m *Message) error

// Notify calls f(ctx, m).
func (f NotifierFunc) Notify(ctx context.Context, m *Message) error { return f(ctx, m) }
