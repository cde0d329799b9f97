package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// New builds the engine's default store (task.New uses memory.New() when
// given no WithStore). Records are copied in and out; nothing survives
// the process.
func ExampleNew() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()

	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	x := &store.Execution{ID: uuid.New(), Task: "report", Trigger: store.TriggerManual, StartedAt: at, State: store.StateRunning}
	if err := s.CreateExecution(ctx, x); err != nil {
		panic(err)
	}
	x.State, x.EndedAt, x.ExitMessage = store.StateSucceeded, at.Add(time.Second), "42 rows"
	if err := s.UpdateExecution(ctx, x); err != nil {
		panic(err)
	}

	got, err := s.GetExecution(ctx, x.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Task, got.State, got.ExitMessage, got.Duration())
	// Output: report succeeded 42 rows 1s
}

// WithMaxPerTask caps each task's history: a create past the cap evicts
// the task's oldest final records (never a pending or running one). The
// default cap is MaxPerTaskDefault; WithMaxPerTask(0) keeps everything.
func ExampleWithMaxPerTask() {
	ctx := context.Background()
	s := memory.New(memory.WithMaxPerTask(3))
	defer s.Close()

	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		start := at.Add(time.Duration(i) * time.Minute)
		err := s.CreateExecution(ctx, &store.Execution{
			ID: uuid.New(), Task: "ping", Trigger: store.TriggerManual,
			StartedAt: start, EndedAt: start.Add(time.Second), State: store.StateSucceeded,
		})
		if err != nil {
			panic(err)
		}
	}
	page, _ := s.ListExecutions(ctx, store.ExecutionFilter{Task: "ping"})
	for _, x := range page.Executions { // newest first
		fmt.Println(x.StartedAt.Format("15:04"))
	}
	// Output:
	// 09:04
	// 09:03
	// 09:02
}
