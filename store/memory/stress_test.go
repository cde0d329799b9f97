package memory

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// Every operation at once, with new names and locations all the
// time (so the write-lock paths interleave with the read-lock ones), and
// record numbers reused by deletions. Run with -race.
func TestStress(t *testing.T) {
	ctx := context.Background()
	s := New()
	defer s.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				loc := time.FixedZone(fmt.Sprintf("w%d-%d", w, i%400), i%7*3600)
				e := &store.Execution{ID: uuid.New(), Task: fmt.Sprintf("t%d", i%5), Trigger: store.TriggerSchedule,
					ScheduledAt: base.Add(time.Duration(w*1_000_000+i) * time.Second).In(loc),
					StartedAt:   base.Add(time.Duration(i%100) * time.Second).In(loc), State: store.StateRunning,
					Node: fmt.Sprintf("n%d-%d", w, i%50), RootTask: fmt.Sprintf("r%d", i%300)}
				if i%4 == 0 {
					e.Error = "x"
				}
				if err := s.CreateExecution(ctx, e); err != nil {
					t.Error(err)
					return
				}
				u := *e
				u.State = store.StateSucceeded
				u.EndedAt = e.StartedAt.Add(time.Second).In(time.FixedZone(fmt.Sprintf("e%d-%d", w, i%300), 60))
				u.Node = fmt.Sprintf("m%d-%d", w, i%70)
				if i%3 == 0 {
					u.ExitMessage = "done"
				}
				if err := s.UpdateExecution(ctx, &u); err != nil {
					t.Error(err)
					return
				}
				got, err := s.GetExecution(ctx, e.ID)
				if err == nil && (got.Node != u.Node || !got.ScheduledAt.Equal(e.ScheduledAt) ||
					got.ScheduledAt.Location() != loc || got.ExitMessage != u.ExitMessage || got.Error != u.Error) {
					t.Errorf("read back %+v, want %+v", got, u)
					return
				}
				if i%10 == 0 {
					es := make([]*store.Execution, 5)
					for j := range es {
						es[j] = &store.Execution{ID: uuid.New(), Task: fmt.Sprintf("b%d", j), Trigger: store.TriggerManual,
							StartedAt: base.In(time.FixedZone(fmt.Sprintf("b%d-%d-%d", w, i, j), 0)), State: store.StatePending,
							Node: fmt.Sprintf("bn%d-%d", w, i+j)}
					}
					for _, err := range s.CreateExecutions(ctx, es) {
						if err != nil {
							t.Error(err)
						}
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.ListExecutions(ctx, store.ExecutionFilter{Limit: 5})
			s.LastSlots(ctx)
			s.DeleteExecutions(ctx, store.DeleteParams{Before: base.Add(50 * time.Second), Limit: 20})
		}
	}()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
}
