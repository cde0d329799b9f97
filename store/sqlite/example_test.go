package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/sqlite"
)

// Open a store on a file, claim a scheduled slot twice and read the
// history back.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "taskmill-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "taskmill.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	slot := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	for _, node := range []string{"node-a", "node-b"} {
		err := s.CreateExecution(ctx, &store.Execution{
			ID:          uuid.New(),
			Task:        "report",
			Trigger:     store.TriggerSchedule,
			ScheduledAt: slot,
			StartedAt:   slot.Add(time.Millisecond),
			State:       store.StateRunning,
			Node:        node,
		})
		switch {
		case err == nil:
			fmt.Printf("%s claims the 09:00 slot\n", node)
		case errors.Is(err, store.ErrConflict):
			fmt.Printf("%s finds the 09:00 slot claimed\n", node)
		default:
			fmt.Println(err)
			return
		}
	}
	page, err := s.ListExecutions(ctx, store.ExecutionFilter{Task: "report"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range page.Executions {
		fmt.Println(e.Task, e.ScheduledAt.Format(time.Kitchen), e.State, e.Node)
	}
	// Output:
	// node-a claims the 09:00 slot
	// node-b finds the 09:00 slot claimed
	// report 9:00AM running node-a
}
