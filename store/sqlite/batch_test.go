package sqlite

import (
	"testing"

	"github.com/taskmill/taskmill/internal/groupcommit/groupcommittest"
	"github.com/taskmill/taskmill/store/storetest"
)

// TestBatchRace: batches and single writes from many goroutines at once,
// some cancelled midway (storetest.BatchRace); the writer ends idle.
func TestBatchRace(t *testing.T) {
	s := testStore(t)
	storetest.BatchRace(t, s)
	groupcommittest.CheckIdle(t, s.w.Writer)
}
