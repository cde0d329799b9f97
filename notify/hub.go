package notify

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/internal/quote"
)

// Hub holds named integrations and delivers messages to them in the
// background: Send queues a message and returns at once, and workers call
// the integration's Notify. Each integration has its own bounded queue and
// its own workers, started by Add, so a slow or dead receiver delays and
// drops only its own messages. A Hub is safe for concurrent use; Close
// stops its goroutines.
type Hub struct {
	log       *zap.Logger
	queueSize int
	workers   int

	// ctx is the context of every delivery; cancel is called when a
	// Close's context ends, and once the workers have stopped.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.RWMutex
	ints    map[string]*integration
	closed  bool
	wg      sync.WaitGroup // workers
	stopped chan struct{}  // closed when the workers have stopped after Close
}

// integration is one named Notifier with its queue and counters.
type integration struct {
	name    string
	n       Notifier
	log     *zap.Logger
	queue   chan *Message
	enabled atomic.Bool

	queued, delivered, failed, dropped, disabled atomic.Uint64
}

// Stats counts what happened to an integration's messages since Add. The
// counters only grow. Queued counts messages Send accepted; each of them
// ends Delivered, Failed, or Dropped at Close (not attempted because
// Close's context ended), so once Close has returned nil,
// Queued = Delivered + Failed + the Dropped at Close. Dropped also counts
// messages refused because the queue was full, and Disabled those refused
// because the integration was disabled; neither was Queued.
type Stats struct {
	Queued    uint64
	Delivered uint64
	Failed    uint64
	Dropped   uint64
	Disabled  uint64
}

// NewHub returns a hub with no integrations. A bad option gives an error
// wrapping ErrInvalidOption.
func NewHub(opts ...HubOption) (*Hub, error) {
	cfg := hubConfig{
		log:       zap.NewNop(),
		queueSize: QueueSizeDefault,
		workers:   WorkersDefault,
	}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: hub option %d is nil", ErrInvalidOption, i)
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		log:       cfg.log.Named("notify"),
		queueSize: cfg.queueSize,
		workers:   cfg.workers,
		ctx:       ctx,
		cancel:    cancel,
		ints:      make(map[string]*integration),
		stopped:   make(chan struct{}),
	}, nil
}

// maxNameLen bounds integration names.
const maxNameLen = 128

func validName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("%w %s: longer than %d bytes", ErrInvalidName, quote.Short(name), maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		b := name[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '_', b == '-', b == '.':
		default:
			return fmt.Errorf("%w %s: only ASCII letters, digits, '_', '-' and '.' are allowed", ErrInvalidName, quote.Short(name))
		}
	}
	return nil
}

// Add registers n under name, enabled, and starts its workers. The name
// must be 1 to 128 ASCII letters, digits, '_', '-' or '.' (ErrInvalidName)
// and not taken (ErrDuplicate); n must not be nil (ErrNilNotifier). After
// Close, Add returns ErrClosed.
func (h *Hub) Add(name string, n Notifier) error {
	if err := validName(name); err != nil {
		return err
	}
	if n == nil {
		return fmt.Errorf("%w for integration %q", ErrNilNotifier, name)
	}
	if f, ok := n.(NotifierFunc); ok && f == nil {
		return fmt.Errorf("%w for integration %q", ErrNilNotifier, name)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	if _, dup := h.ints[name]; dup {
		return fmt.Errorf("%w %q", ErrDuplicate, name)
	}
	in := &integration{
		name:  name,
		n:     n,
		log:   h.log.With(zap.String("integration", name)),
		queue: make(chan *Message, h.queueSize),
	}
	in.enabled.Store(true)
	h.ints[name] = in
	h.wg.Add(h.workers)
	for i := 0; i < h.workers; i++ {
		go h.work(in)
	}
	return nil
}

// Has reports whether an integration named name was added.
func (h *Hub) Has(name string) bool {
	return h.get(name) != nil
}

func (h *Hub) get(name string) *integration {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.ints[name]
}

func unknown(name string) error {
	return fmt.Errorf("%w %s", ErrUnknownIntegration, quote.Short(name))
}

// SetEnabled switches an integration on or off at run time; a disabled
// integration sends nothing (see Send). Messages already queued are still
// delivered. An unknown name gives ErrUnknownIntegration.
func (h *Hub) SetEnabled(name string, enabled bool) error {
	in := h.get(name)
	if in == nil {
		return unknown(name)
	}
	if in.enabled.Swap(enabled) != enabled {
		in.log.Info("integration switched", zap.Bool("enabled", enabled))
	}
	return nil
}

// Enabled reports whether an integration is enabled. An unknown name gives
// ErrUnknownIntegration.
func (h *Hub) Enabled(name string) (bool, error) {
	in := h.get(name)
	if in == nil {
		return false, unknown(name)
	}
	return in.enabled.Load(), nil
}

// Send queues a copy of m for delivery to the integration named name and
// returns without waiting for the delivery, or for anything else. It
// returns nil when the message was queued, and otherwise:
//
//   - ErrClosed after Close began;
//   - ErrNilMessage for a nil m;
//   - ErrUnknownIntegration for a name never added;
//   - ErrDisabled for a disabled integration: the message is not sent,
//     and is counted (Stats.Disabled) and logged at Info;
//   - ErrQueueFull when the integration's queue is full: the message is
//     dropped, counted (Stats.Dropped) and logged at Warn with its
//     messageId, queryId and taskName.
//
// Send logs the disabled and dropped cases itself, so that they are
// visible even where the caller ignores the error; callers need not log
// them again.
func (h *Hub) Send(name string, m *Message) error {
	if m == nil {
		return ErrNilMessage
	}
	h.mu.RLock()
	if h.closed {
		h.mu.RUnlock()
		return ErrClosed
	}
	in := h.ints[name]
	if in == nil {
		h.mu.RUnlock()
		return unknown(name)
	}
	if !in.enabled.Load() {
		h.mu.RUnlock()
		in.disabled.Add(1)
		in.log.Info("integration disabled, message not sent", messageFields(m)...)
		return fmt.Errorf("%w: %s", ErrDisabled, name)
	}
	cp := *m
	cp.Messages = slices.Clone(m.Messages)
	// Count before queueing, so that Delivered+Failed never exceeds Queued
	// for a reader.
	in.queued.Add(1)
	select {
	case in.queue <- &cp:
		h.mu.RUnlock()
		return nil
	default:
	}
	h.mu.RUnlock()
	in.queued.Add(^uint64(0)) // undo
	in.dropped.Add(1)
	in.log.Warn("queue full, message dropped", append(messageFields(m), zap.Int("queueSize", h.queueSize))...)
	return fmt.Errorf("%w: %s", ErrQueueFull, name)
}

// Stats returns the counters of the integration named name, or zero Stats
// for an unknown name.
func (h *Hub) Stats(name string) Stats {
	in := h.get(name)
	if in == nil {
		return Stats{}
	}
	return in.stats()
}

// AllStats returns the counters of every integration, by name.
func (h *Hub) AllStats() map[string]Stats {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make(map[string]Stats, len(h.ints))
	for name, in := range h.ints {
		out[name] = in.stats()
	}
	return out
}

func (in *integration) stats() Stats {
	return Stats{
		Queued:    in.queued.Load(),
		Delivered: in.delivered.Load(),
		Failed:    in.failed.Load(),
		Dropped:   in.dropped.Load(),
		Disabled:  in.disabled.Load(),
	}
}

// Close stops the hub: Send and Add return ErrClosed from now on, and the
// workers deliver what is queued, then stop. Close returns nil once they
// have stopped. If ctx ends first, Close cancels the context of the
// deliveries in flight, makes the workers count the messages still queued
// as Dropped (logged at Warn) without delivering them, and returns
// ctx.Err() at once, without waiting for a Notifier that ignores its
// context; the workers stop as soon as their Notify calls return.
//
// Close may be called again, and from several goroutines: each call waits
// for the workers to stop or for its own ctx to end, in the same way.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		for _, in := range h.ints {
			close(in.queue)
		}
		go func() {
			h.wg.Wait()
			h.cancel()
			close(h.stopped)
		}()
	}
	h.mu.Unlock()
	select {
	case <-h.stopped:
		return nil
	case <-ctx.Done():
		h.cancel()
		return ctx.Err()
	}
}

func (h *Hub) work(in *integration) {
	defer h.wg.Done()
	for m := range in.queue {
		if h.ctx.Err() != nil {
			in.dropped.Add(1)
			in.log.Warn("hub closed, message dropped", messageFields(m)...)
			continue
		}
		h.deliver(in, m)
	}
}

func (h *Hub) deliver(in *integration, m *Message) {
	start := time.Now()
	stack, err := safeNotify(h.ctx, in.n, m)
	took := time.Since(start)
	if err == nil {
		in.delivered.Add(1)
		if ce := in.log.Check(zap.DebugLevel, "message delivered"); ce != nil {
			ce.Write(append(messageFields(m), zap.Duration("took", took))...)
		}
		return
	}
	in.failed.Add(1)
	attempts := 1
	var de *DeliveryError
	if errors.As(err, &de) {
		attempts = de.Attempts
	}
	fields := append(messageFields(m), zap.Int("attempts", attempts), zap.Duration("took", took), zap.Error(err))
	if stack != nil {
		fields = append(fields, zap.ByteString("stack", stack))
	}
	in.log.Warn("delivery failed", fields...)
}

// safeNotify calls n.Notify, turning a panic into an error and the stack.
func safeNotify(ctx context.Context, n Notifier, m *Message) (stack []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			stack, err = debug.Stack(), fmt.Errorf("notify: notifier panicked: %v", r)
		}
	}()
	return nil, n.Notify(ctx, m)
}

// messageFields are the fields that identify a message in the hub's logs.
func messageFields(m *Message) []zap.Field {
	return []zap.Field{
		zap.String("messageId", m.MessageID),
		zap.String("messageType", string(m.MessageType)),
		zap.String("taskName", m.TaskName),
		zap.String("queryId", m.queryID()),
	}
}
