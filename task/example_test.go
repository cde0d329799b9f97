package task_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/task"
)

func ExampleEngine_RunNow() {
	ctx := context.Background()
	eng, err := task.New(task.WithoutInitHooks())
	if err != nil {
		panic(err)
	}
	_ = eng.Register(task.Spec{
		Name: "reindex",
		Job: task.JobFunc(func(ctx context.Context) error {
			task.SetExitMessage(ctx, "reindexed "+strings.Join(task.Args(ctx), ", "))
			return nil
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, err := eng.RunNow(ctx, "reindex", task.WithArgs("orders", "invoices"))
	if err != nil {
		panic(err)
	}
	x, err := eng.Wait(ctx, id)
	if err != nil {
		panic(err)
	}
	fmt.Println(x.Trigger, x.State, x.ExitCode, x.ExitMessage)
	// Output: manual succeeded 0 reindexed orders, invoices
}

func ExampleExit() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	_ = eng.Register(task.Spec{
		Name: "import",
		Job: task.JobFunc(func(context.Context) error {
			return task.Exit(3, errors.New("3 rows rejected"))
		}),
	})
	_ = eng.Start(ctx)
	defer eng.Shutdown(ctx)
	id, _ := eng.RunNow(ctx, "import")
	x, _ := eng.Wait(ctx, id)
	fmt.Println(x.State, x.ExitCode, x.Error)
	// Output: failed 3 3 rows rejected
}

// A schedule driven by a fake clock, the way taskmill's own tests run: the
// listener reports each end, the test moves time.
func ExampleEngine_Start() {
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC))
	ended := make(chan store.Execution, 10)
	eng, _ := task.New(task.WithClock(clock), task.WithoutInitHooks(), task.WithListener(task.ListenerFuncs{
		End: func(_ context.Context, x *store.Execution) error { ended <- *x; return nil },
	}))
	_ = eng.Register(task.Spec{
		Name:     "backup",
		Schedule: cron.MustParse("0 30 2 * * *", "America/Los_Angeles"), // 02:30 every day
		Job:      task.JobFunc(func(context.Context) error { return nil }),
	})
	_ = eng.Start(ctx)
	defer eng.Shutdown(ctx)

	for range 2 {
		_ = clock.BlockUntilContext(ctx, 1) // the schedule's timer is armed
		next := eng.Tasks()[0].Next
		clock.Advance(next.Sub(clock.Now()))
		x := <-ended
		fmt.Println(x.ScheduledAt.In(time.UTC), x.State)
	}
	// 02:30 does not exist on 2026-03-08 in Los Angeles: that day runs at
	// 03:00 PDT, the first instant after the gap.

	// Output:
	// 2026-03-08 10:00:00 +0000 UTC succeeded
	// 2026-03-09 09:30:00 +0000 UTC succeeded
}
