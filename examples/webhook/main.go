// Command webhook shows error notifications: it starts a local HTTP
// receiver, registers a task that fails every second and is suspended after
// its third failure, and prints each payload the receiver gets with the
// result of checking its signature.
//
//	go run ./examples/webhook
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/taskmill/taskmill/notify"
	"github.com/taskmill/taskmill/task"
)

func main() {
	runFor := flag.Duration("for", 5*time.Second, "how long to run")
	flag.Parse()
	if err := run(*runFor, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(1)
	}
}

func run(runFor time.Duration, out io.Writer) error {
	secret := []byte("example-secret")

	// The receiver: what a team's endpoint does with a taskmill webhook.
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		verdict := "signature ok"
		if err := notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			verdict = "signature REJECTED: " + err.Error()
			w.WriteHeader(http.StatusUnauthorized)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, body, "  ", "  "); err != nil {
			pretty.Write(body)
		}
		mu.Lock()
		fmt.Fprintf(out, "received %s (%s)\n  %s\n\n", r.Header.Get(notify.MessageIDHeader), verdict, pretty.String())
		mu.Unlock()
	}))
	defer srv.Close()

	hook, err := notify.NewWebhook(srv.URL, notify.WithSecret(secret), notify.WithTimeout(5*time.Second))
	if err != nil {
		return err
	}
	eng, err := task.New(task.WithIntegration("ops_webhook", hook), task.WithTenantID("example-tenant"))
	if err != nil {
		return err
	}
	err = eng.Register(task.Spec{
		Name:                 "sync",
		Cron:                 "* * * * * *", // every second
		ErrorIntegration:     "ops_webhook",
		SuspendAfterFailures: 3,
		Job: task.JobFunc(func(context.Context) error {
			return task.Exit(2, errors.New("query sync failed: upstream timed out"))
		}),
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		return err
	}
	time.Sleep(runFor)

	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := eng.Shutdown(sctx); err != nil { // drains the notification queue
		return err
	}
	st := eng.IntegrationStats()["ops_webhook"]
	fmt.Fprintf(out, "ops_webhook: %d queued, %d delivered, %d failed, %d dropped\n", st.Queued, st.Delivered, st.Failed, st.Dropped)
	for _, info := range eng.Tasks() {
		if info.Suspended {
			fmt.Fprintf(out, "%s is suspended: %s\n", info.Name, info.SuspendedReason)
		}
	}
	return nil
}
