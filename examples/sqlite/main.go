// Command sqlite runs a host whose history survives restarts, on an
// embedded SQLite file. Run it twice: the second run prints the first run's
// executions and records the slots missed between the two.
//
//	go run ./examples/sqlite -db /tmp/taskmill-example.db
//	sleep 3
//	go run ./examples/sqlite -db /tmp/taskmill-example.db
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/taskmill/taskmill/examples/internal/restart"
	"github.com/taskmill/taskmill/store/sqlite"
)

func main() {
	path := flag.String("db", filepath.Join(os.TempDir(), "taskmill-example.db"), "the SQLite database file")
	runFor := flag.Duration("for", 3*time.Second, "how long to run")
	flag.Parse()
	st, err := sqlite.Open(context.Background(), *path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sqlite example:", err)
		os.Exit(1)
	}
	defer st.Close()
	fmt.Printf("database: %s\n", *path)
	if err := restart.Run(st, "sqlite-example", *runFor, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sqlite example:", err)
		os.Exit(1)
	}
}
