package task_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/task"
)

// Exit gives a failed run the exit code a shell script would see.
func ExampleExit() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	_ = eng.Register(task.Spec{
		Name: "import",
		Job: task.JobFunc(func(context.Context) error {
			return task.Exit(3, errors.New("3 rows rejected"))
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "import")
	x, _ := eng.Wait(ctx, id)
	fmt.Println(x.State, x.ExitCode, x.Error)
	// Output: failed 3 3 rows rejected
}

// WithExitCodeMapper gives codes to errors the host does not own. It is
// asked only for errors without an ExitCode method; 0 means "no opinion"
// and records 1.
func ExampleWithExitCodeMapper() {
	ctx := context.Background()
	errNoInput := errors.New("no input files")
	eng, _ := task.New(task.WithoutInitHooks(), task.WithExitCodeMapper(func(err error) int {
		if errors.Is(err, errNoInput) {
			return 66 // EX_NOINPUT
		}
		return 0
	}))
	fail := func(err error) task.Job {
		return task.JobFunc(func(context.Context) error { return err })
	}
	_ = eng.Register(task.Spec{Name: "a-mapped", Job: fail(fmt.Errorf("load: %w", errNoInput))})
	_ = eng.Register(task.Spec{Name: "b-unmapped", Job: fail(errors.New("disk full"))})
	_ = eng.Register(task.Spec{Name: "c-own-code", Job: fail(task.Exit(3, errNoInput))})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	for _, name := range []string{"a-mapped", "b-unmapped", "c-own-code"} {
		id, _ := eng.RunNow(ctx, name)
		x, _ := eng.Wait(ctx, id)
		fmt.Println(x.Task, x.ExitCode)
	}
	// Output:
	// a-mapped 66
	// b-unmapped 1
	// c-own-code 3
}

// A job sets its run's exit message; a listener may replace it. The
// message set by OnTaskEnd beats the one set by OnTaskFailed, which beats
// the job's, which beats OnTaskStartup's.
func ExampleSetExitMessage() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks())
	_ = eng.Register(task.Spec{
		Name: "mail-digest",
		Job: task.JobFunc(func(ctx context.Context) error {
			task.SetExitMessage(ctx, "sent 120 mails")
			if strings.Contains(strings.Join(task.Args(ctx), " "), "--fail") {
				return errors.New("smtp: connection reset")
			}
			return nil
		}),
		Listeners: []task.Listener{task.ListenerFuncs{
			Failed: func(_ context.Context, x *store.Execution, err error) error {
				x.ExitMessage = "digest incomplete: " + x.ExitMessage
				return nil
			},
		}},
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	for _, args := range [][]string{nil, {"--fail"}} {
		id, _ := eng.RunNow(ctx, "mail-digest", task.WithArgs(args...))
		x, _ := eng.Wait(ctx, id)
		fmt.Printf("%s: %q\n", x.State, x.ExitMessage)
	}
	// Output:
	// succeeded: "sent 120 mails"
	// failed: "digest incomplete: sent 120 mails"
}

// A panic in a job does not take the host down: the run is recorded failed
// with the panic and its stack, and listeners get a *PanicError.
func ExamplePanicError() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks(), task.WithListener(task.ListenerFuncs{
		Failed: func(_ context.Context, x *store.Execution, err error) error {
			var pe *task.PanicError
			if errors.As(err, &pe) {
				fmt.Println("listener: panic value", pe.Value)
			}
			return nil
		},
	}))
	_ = eng.Register(task.Spec{
		Name: "fragile",
		Job: task.JobFunc(func(context.Context) error {
			var m map[string]int
			m["boom"]++ // assignment to entry in nil map
			return nil
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "fragile")
	x, _ := eng.Wait(ctx, id)
	first, stack, _ := strings.Cut(x.Error, "\n")
	fmt.Println(x.State, x.ExitCode, first)
	fmt.Println(strings.Contains(stack, "goroutine"))
	// Output:
	// listener: panic value assignment to entry in nil map
	// failed 1 task: panic: assignment to entry in nil map
	// true
}

// Engine listeners (WithListener) hear every run of every task: startup
// before the job, failed when it failed, end always.
func ExampleWithListener() {
	ctx := context.Background()
	eng, _ := task.New(task.WithoutInitHooks(), task.WithListener(task.ListenerFuncs{
		Startup: func(_ context.Context, x *store.Execution) error {
			fmt.Println("startup", x.Task)
			return nil
		},
		Failed: func(_ context.Context, x *store.Execution, err error) error {
			fmt.Println("failed ", x.Task, "-", err)
			return nil
		},
		End: func(_ context.Context, x *store.Execution) error {
			fmt.Println("end    ", x.Task, x.State)
			return nil
		},
	}))
	_ = eng.Register(task.Spec{Name: "ok", Job: task.JobFunc(func(context.Context) error { return nil })})
	_ = eng.Register(task.Spec{Name: "broken", Job: task.JobFunc(func(context.Context) error {
		return errors.New("disk full")
	})})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	for _, name := range []string{"ok", "broken"} {
		id, _ := eng.RunNow(ctx, name)
		_, _ = eng.Wait(ctx, id)
	}
	// Output:
	// startup ok
	// end     ok succeeded
	// startup broken
	// failed  broken - disk full
	// end     broken failed
}

// A task's own listeners (Spec.Listeners) run after the engine's. An error
// from a startup listener fails the run before the job: here a
// maintenance window keeps the job from running, and the failed and end
// listeners are still told.
func ExampleSpec_listeners() {
	ctx := context.Background()
	say := func(who string) task.Listener {
		return task.ListenerFuncs{
			Startup: func(context.Context, *store.Execution) error {
				fmt.Println(who, "startup")
				if who == "task" {
					return errors.New("maintenance window")
				}
				return nil
			},
			Failed: func(_ context.Context, _ *store.Execution, err error) error {
				fmt.Println(who, "failed:", err)
				return nil
			},
			End: func(context.Context, *store.Execution) error {
				fmt.Println(who, "end")
				return nil
			},
		}
	}
	eng, _ := task.New(task.WithoutInitHooks(), task.WithListener(say("engine")))
	_ = eng.Register(task.Spec{
		Name:      "migrate",
		Listeners: []task.Listener{say("task")},
		Job: task.JobFunc(func(context.Context) error {
			fmt.Println("the job runs") // not reached
			return nil
		}),
	})
	if err := eng.Start(ctx); err != nil {
		panic(err)
	}
	defer eng.Shutdown(ctx)

	id, _ := eng.RunNow(ctx, "migrate")
	x, _ := eng.Wait(ctx, id)
	fmt.Println(x.State, x.Error)
	// Output:
	// engine startup
	// task startup
	// engine failed: task "migrate": listener 1 OnTaskStartup: maintenance window
	// task failed: task "migrate": listener 1 OnTaskStartup: maintenance window
	// engine end
	// task end
	// failed task "migrate": listener 1 OnTaskStartup: maintenance window
}
