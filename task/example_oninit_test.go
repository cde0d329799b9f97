package task_test

import (
	"context"
	"fmt"

	"github.com/taskmill/taskmill/task"
)

// A module of the host registers its tasks from its own init(), the way
// Metabase modules implement init!; the package that builds the engine
// only has to import the module.
func init() {
	task.OnInit("billing", func(r task.Registrar) error {
		return r.Register(task.Spec{
			Name:     "billing.close-month",
			Cron:     "0 0 1 1 * *", // 01:00 on the first of each month
			TimeZone: "Europe/Paris",
			Job:      task.JobFunc(func(context.Context) error { return nil }),
		})
	})
}

// Start runs every OnInit hook, in name order, before it arms the
// schedules: the module's tasks are there without the host naming them.
func ExampleOnInit() {
	ctx := context.Background()
	eng, err := task.New() // without WithoutInitHooks: the hooks run
	if err != nil {
		panic(err)
	}
	if err := eng.Start(ctx); err != nil {
		panic(err) // a hook that fails names itself here
	}
	defer eng.Shutdown(ctx)

	for _, t := range eng.Tasks() {
		fmt.Println(t.Name, "-", t.Schedule)
	}
	// Output:
	// billing.close-month - 0 0 1 1 * * Europe/Paris
}
