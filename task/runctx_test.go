package task

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestJobContextCauseIsTheFirstCause(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	for i := 0; i < 5000; i++ {
		var c jobCtx
		_ = c.Done() // the job looks at cancellation: the context is made
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, cause := range []error{errA, errB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c.cancelWith(cause)
			}()
		}
		close(start)
		wg.Wait()
		if got, want := context.Cause(&c), c.causeErr(); got != want {
			t.Fatalf("iteration %d: context.Cause = %v, but the run recorded %v", i, got, want)
		}
	}
}

// A run cancelled before its job looked at the context: the standard
// context, made on first use, is born cancelled with the run's cause, and
// so is a context derived from it.
func TestJobContextCancelledBeforeFirstUse(t *testing.T) {
	errA := errors.New("a")
	r := &run{}
	r.jc.r = r
	c := &r.jc
	if c.Err() != nil {
		t.Fatalf("Err before cancel = %v", c.Err())
	}
	if got := c.Value(runKey{}); got != r {
		t.Fatalf("Value(runKey) = %v, want the run", got)
	}
	if got := c.Value("other"); got != nil {
		t.Fatalf("Value(other) = %v, want nil", got)
	}
	c.cancelWith(errA)
	c.cancelWith(errors.New("later"))
	child, cancel := context.WithCancel(c)
	defer cancel()
	for name, ctx := range map[string]context.Context{"run": c, "child": child} {
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Done not closed after the run was cancelled", name)
		}
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("%s: Err = %v, want context.Canceled", name, ctx.Err())
		}
		if got := context.Cause(ctx); got != errA {
			t.Fatalf("%s: Cause = %v, want the first cause %v", name, got, errA)
		}
	}
}

func TestEventWaitersBeforeAndAfterClose(t *testing.T) {
	var ev event
	before := ev.wait()
	select {
	case <-before:
		t.Fatal("closed before close")
	default:
	}
	ev.close()
	for name, ch := range map[string]<-chan struct{}{"waiter before close": before, "waiter after close": ev.wait()} {
		select {
		case <-ch:
		default:
			t.Fatalf("%s: channel not closed", name)
		}
	}
	var unwaited event
	unwaited.close()
	select {
	case <-unwaited.wait():
	default:
		t.Fatal("an event closed before anyone waited: wait's channel is not closed")
	}
}
