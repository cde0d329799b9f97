package task

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/taskmill/taskmill/store"
)

// A queued run (OverlapQueueOne) whose predecessor ends while Shutdown
// begins must be recorded cancelled, not started: Shutdown's doc says
// pending runs are recorded cancelled. finish now promotes the queued run
// and decides "closing" before the predecessor's final record is written,
// so if Shutdown starts during that write the queued job runs anyway.
func TestQueuedRunNotStartedWhenShutdownBeginsDuringPredecessorWrite(t *testing.T) {
	b, fs := setupFaulty(t)
	var calls atomic.Int32
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	b.register(t, Spec{Name: "q", Overlap: OverlapQueueOne, Job: JobFunc(func(ctx context.Context) error {
		if calls.Add(1) == 1 {
			started <- struct{}{}
			<-release
		}
		return nil
	})})
	b.start(t)
	id1 := b.runNow(t, "q")
	select {
	case <-started:
	case <-time.After(waitLimit):
		t.Fatal("first run did not start")
	}
	id2 := b.runNow(t, "q") // queued behind the first

	entered := make(chan struct{})
	unblock := make(chan struct{})
	fs.mu.Lock()
	fs.onUpdate = func(x *store.Execution) error {
		if x.ID == id1 && x.State.Final() {
			close(entered)
			<-unblock
		}
		return nil
	}
	fs.mu.Unlock()

	close(release)
	select {
	case <-entered:
	case <-time.After(waitLimit):
		t.Fatal("the first run's end was not written")
	}
	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		shutdown <- b.eng.Shutdown(ctx)
	}()
	waitFor(t, "Shutdown to begin", func() bool {
		b.eng.mu.Lock()
		defer b.eng.mu.Unlock()
		return b.eng.status == statusClosed
	})
	close(unblock)
	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the job ran %d times; the queued run started after Shutdown began", n)
	}
	x, err := b.store.GetExecution(context.Background(), id2)
	if err != nil {
		t.Fatalf("GetExecution: %v", err)
	}
	if x.State != store.StateCancelled {
		t.Errorf("queued run recorded %s (%q), want cancelled by shutdown", x.State, x.Error)
	}
}
