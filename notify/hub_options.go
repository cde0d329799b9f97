package notify

import "go.uber.org/zap"

// Defaults of the hub options.
const (
	// QueueSizeDefault is how many messages each integration's queue holds.
	QueueSizeDefault = 1024
	// WorkersDefault is how many deliveries each integration runs at once.
	WorkersDefault = 4
)

// Limits of the hub options.
const (
	// MaxQueueSize is the largest WithQueueSize accepted.
	MaxQueueSize = 1 << 20
	// MaxWorkers is the largest WithWorkers accepted.
	MaxWorkers = 1024
)

// HubOption configures NewHub. Each returns an error wrapping
// ErrInvalidOption for a bad value.
type HubOption func(*hubConfig) error

type hubConfig struct {
	log       *zap.Logger
	queueSize int
	workers   int
}

// WithLogger sets the logger for delivery outcomes; the hub logs under the
// name "notify" with an "integration" field. Default: zap.NewNop().
func WithLogger(l *zap.Logger) HubOption {
	return func(c *hubConfig) error {
		if l == nil {
			return optionError("WithLogger", "nil logger")
		}
		c.log = l
		return nil
	}
}

// WithQueueSize sets how many messages each integration's queue holds
// before Send drops with ErrQueueFull; 1 to MaxQueueSize. Default: 1024
// (QueueSizeDefault).
func WithQueueSize(n int) HubOption {
	return func(c *hubConfig) error {
		if n < 1 || n > MaxQueueSize {
			return optionError("WithQueueSize", "%d: want 1 to %d", n, MaxQueueSize)
		}
		c.queueSize = n
		return nil
	}
}

// WithWorkers sets how many goroutines deliver each integration's
// messages, so how many deliveries to one integration run at once; 1 to
// MaxWorkers. With more than one, messages may arrive out of order.
// Default: 4 (WorkersDefault).
func WithWorkers(n int) HubOption {
	return func(c *hubConfig) error {
		if n < 1 || n > MaxWorkers {
			return optionError("WithWorkers", "%d: want 1 to %d", n, MaxWorkers)
		}
		c.workers = n
		return nil
	}
}
