// Package groupcommittest has the test helpers of a groupcommit.Writer,
// shared by its own tests and the SQL stores': waiting for writes to
// queue, checking that the writer ended idle, and running writes as one
// group.
package groupcommittest

import (
	"sync"
	"testing"
	"time"

	"github.com/taskmill/taskmill/internal/groupcommit"
)

// WaitQueued waits until n writes are queued in w.
func WaitQueued[T any](t testing.TB, w *groupcommit.Writer[T], n int) {
	t.Helper()
	for range 10_000 {
		if _, _, queued := w.Status(); queued >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d writes never queued", n)
}

// CheckIdle checks that w has ended every group and holds no write.
func CheckIdle[T any](t testing.TB, w *groupcommit.Writer[T]) {
	t.Helper()
	if groups, running, queued := w.Status(); groups != 0 || running != 0 || queued != 0 {
		t.Errorf("writer after the writes: %d groups, %d writes running, %d queued; want idle", groups, running, queued)
	}
}

// InOneGroup calls each of writes (which write through w) from a goroutine
// of its own, queued behind a held writer (Writer.Hold), so that they run
// as one group when it is released, and returns their errors. The writer
// must end idle.
func InOneGroup[T any](t testing.TB, w *groupcommit.Writer[T], writes ...func() error) []error {
	t.Helper()
	release := w.Hold()
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, write := range writes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = write()
		}()
	}
	WaitQueued(t, w, len(writes))
	release()
	wg.Wait()
	CheckIdle(t, w)
	return errs
}
