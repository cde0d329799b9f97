package task

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/taskmill/taskmill/store"
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

type requestKey struct{}

// A run started by RunNow sees the caller's context values (a trace, a
// request id) but not its cancellation; its own cancellation still
// reports its cause, and a context derived from it keeps the values.
func TestRunNowContextCarriesCallerValues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	type seen struct {
		value, childValue any
		errAtStart        error
		cause             error
	}
	got := make(chan seen, 1)
	started := make(chan struct{})
	b.register(t, Spec{Name: "req", Job: JobFunc(func(ctx context.Context) error {
		s := seen{value: ctx.Value(requestKey{}), errAtStart: ctx.Err()}
		close(started)
		<-ctx.Done()
		child, cancel := context.WithCancel(ctx)
		defer cancel()
		s.childValue, s.cause = child.Value(requestKey{}), context.Cause(ctx)
		got <- s
		return context.Cause(ctx)
	})})
	b.start(t)
	caller, cancelCaller := context.WithCancel(context.WithValue(context.Background(), requestKey{}, "req-42"))
	id, err := b.eng.RunNow(caller, "req")
	if err != nil {
		t.Fatal(err)
	}
	cancelCaller() // the request is over; the run goes on
	select {
	case <-started:
	case <-time.After(waitLimit):
		t.Fatal("the job did not start")
	}
	if err := b.eng.Cancel(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s.value != "req-42" || s.childValue != "req-42" {
			t.Fatalf("the run's context values: %v, child %v; want the caller's req-42", s.value, s.childValue)
		}
		if s.errAtStart != nil {
			t.Fatalf("the run's context at start: %v", s.errAtStart)
		}
		if !errors.Is(s.cause, ErrCancelled) {
			t.Fatalf("cause after Cancel = %v, want ErrCancelled", s.cause)
		}
	case <-time.After(waitLimit):
		t.Fatal("the job was not cancelled")
	}
	if x := b.wait(t, id); x.State != store.StateCancelled {
		t.Fatalf("state %s, want cancelled", x.State)
	}
}
