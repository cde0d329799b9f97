package task_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
	"github.com/taskmill/taskmill/task"
)

// RunMain is the whole main of a program that an outside scheduler (cron,
// Kubernetes, Airflow) starts: it records the run, runs the job and
// returns the exit code. A real main passes it to os.Exit.
func ExampleRunMain() {
	spec := task.Spec{
		Name: "nightly-export",
		Job: task.JobFunc(func(ctx context.Context) error {
			fmt.Println("exporting", task.Args(ctx))
			return task.Exit(2, errors.New("2 files missing"))
		}),
	}
	// func main() { os.Exit(task.RunMain(context.Background(), spec, task.WithArgs(os.Args[1:]...))) }
	code := task.RunMain(context.Background(), spec, task.WithArgs("--date", "2026-06-01"))
	fmt.Println("exit code", code)
	// Output:
	// exporting [--date 2026-06-01]
	// exit code 2
}

// RunOnce is RunMain returning the record. WithEngineOptions configures the
// engine it builds, here the store that keeps the history (on a real host
// store/sqlite or store/postgres, shared with the host's other processes).
func ExampleRunOnce() {
	ctx := context.Background()
	st := memory.New()
	defer st.Close()
	spec := task.Spec{
		Name: "rotate-keys",
		Job: task.JobFunc(func(ctx context.Context) error {
			task.SetExitMessage(ctx, "rotated 3 keys")
			return nil
		}),
	}
	x, err := task.RunOnce(ctx, spec, task.WithEngineOptions(task.WithStore(st)), task.WithExternalID("k8s-job-7f3a"))
	if err != nil {
		panic(err) // the run could not start
	}
	fmt.Println(x.Trigger, x.State, x.ExitCode, x.ExitMessage, x.ExternalID)

	page, _ := st.ListExecutions(ctx, store.ExecutionFilter{Task: "rotate-keys"})
	fmt.Println("records:", len(page.Executions))
	// Output:
	// one-shot succeeded 0 rotated 3 keys k8s-job-7f3a
	// records: 1
}
