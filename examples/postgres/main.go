// Command postgres runs a host whose history survives restarts, on the
// PostgreSQL database named by TASKMILL_POSTGRES_URL. Run it twice: the
// second run prints the first run's executions and records the slots missed
// between the two.
//
//	export TASKMILL_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	go run ./examples/postgres
//	sleep 3
//	go run ./examples/postgres
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/taskmill/taskmill/examples/internal/restart"
	"github.com/taskmill/taskmill/store/postgres"
)

func main() {
	runFor := flag.Duration("for", 3*time.Second, "how long to run")
	prefix := flag.String("prefix", "taskmill_example_", "table prefix")
	flag.Parse()
	dsn := os.Getenv("TASKMILL_POSTGRES_URL")
	if dsn == "" {
		fmt.Fprintln(os.Stderr, "postgres example: set TASKMILL_POSTGRES_URL to a PostgreSQL connection string, e.g.\n"+
			"  TASKMILL_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' go run ./examples/postgres")
		os.Exit(2)
	}
	st, err := postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(*prefix))
	if err != nil {
		fmt.Fprintln(os.Stderr, "postgres example:", err)
		os.Exit(1)
	}
	defer st.Close()
	if err := restart.Run(st, "postgres-example", *runFor, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "postgres example:", err)
		os.Exit(1)
	}
}
