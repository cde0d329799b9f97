package task_test

import (
	"context"
	"fmt"

	"github.com/taskmill/taskmill/task"
)

// quotaError is an error of the host's own that carries its exit code.
type quotaError struct{ used, limit int }

func (e quotaError) Error() string { return fmt.Sprintf("quota exceeded: %d of %d", e.used, e.limit) }
func (quotaError) ExitCode() int   { return 75 } // EX_TEMPFAIL: try again later

// An error that implements ExitCoder sets the exit code, even wrapped: the
// first error in the chain with an ExitCode method decides.
func ExampleExitCoder() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	_ = eng.Register(task.Spec{
		Name: "sync",
		Job: task.JobFunc(func(context.Context) error {
			return fmt.Errorf("sync: %w", quotaError{used: 1000, limit: 1000})
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "sync")
	x, _ := eng.Wait(ctx, id)
	fmt.Println(x.State, x.ExitCode, x.Error)
	// Output: failed 75 sync: quota exceeded: 1000 of 1000
}
