package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/taskmill/taskmill/notify"
)

func ExampleMessage() {
	at := time.Date(2024, 3, 19, 2, 37, 21, 160705788, time.UTC)
	m := notify.NewMessage(notify.TaskFailed, at)
	m.MessageID = "063e40ab-0b55-439e-9cd2-504c496e1566" // normally a fresh UUID
	m.TaskName, m.TaskID = "sync", "a1"
	m.RootTaskName, m.RootTaskID = "sync", "a1"
	m.Messages = []notify.Detail{{
		RunID:          "88bb9d5d-5d5e-4e52-92cc-b1953406245a",
		QueryStartTime: notify.Time{Time: at.Add(-time.Second)},
		CompletedTime:  notify.Time{Time: at},
		QueryID:        "88bb9d5d-5d5e-4e52-92cc-b1953406245a",
		ErrorKind:      notify.KindTimeout,
		ErrorCode:      "1",
		ErrorMessage:   notify.TruncateError("task: timed out\nmore detail", notify.MaxErrorMessage),
	}}
	b, _ := json.MarshalIndent(m, "", "  ")
	fmt.Println(string(b))
	// Output:
	// {
	//   "version": "1.0",
	//   "messageId": "063e40ab-0b55-439e-9cd2-504c496e1566",
	//   "messageType": "TASK_FAILED",
	//   "timestamp": "2024-03-19T02:37:21.160705788Z",
	//   "tenantId": "",
	//   "taskName": "sync",
	//   "taskId": "a1",
	//   "rootTaskName": "sync",
	//   "rootTaskId": "a1",
	//   "messages": [
	//     {
	//       "runId": "88bb9d5d-5d5e-4e52-92cc-b1953406245a",
	//       "scheduledTime": "",
	//       "queryStartTime": "2024-03-19T02:37:20.160705788Z",
	//       "completedTime": "2024-03-19T02:37:21.160705788Z",
	//       "queryId": "88bb9d5d-5d5e-4e52-92cc-b1953406245a",
	//       "errorKind": "Timeout",
	//       "errorCode": "1",
	//       "errorMessage": "task: timed out"
	//     }
	//   ]
	// }
}

func ExampleVerify() {
	secret := []byte("shared secret")
	body := []byte(`{"version":"1.0"}`)
	signedAt := time.Unix(1710815841, 0)
	header := notify.Sign(secret, body, signedAt)
	fmt.Println(header)

	fmt.Println(notify.Verify(secret, header, body, signedAt.Add(time.Minute), 5*time.Minute))
	err := notify.Verify(secret, header, []byte(`{"version":"2.0"}`), signedAt, 5*time.Minute)
	fmt.Println(errors.Is(err, notify.ErrBadSignature))
	err = notify.Verify(secret, header, body, signedAt.Add(time.Hour), 5*time.Minute)
	fmt.Println(errors.Is(err, notify.ErrSignatureExpired))
	// Output:
	// t=1710815841,v1=054d7e135571543db6194778dfa3160cfadb3e82645ff98fccd4734ed59f9da2
	// <nil>
	// true
	// true
}

func ExampleNewWebhook() {
	secret := []byte("shared secret")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m notify.Message
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		fmt.Println("received", m.MessageType, m.TaskName, m.Messages[0].ErrorMessage)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	hook, err := notify.NewWebhook(srv.URL, notify.WithSecret(secret), notify.WithTimeout(5*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	m := notify.NewMessage(notify.TaskFailed, time.Now())
	m.TaskName = "sync"
	m.Messages = []notify.Detail{{ErrorKind: notify.KindUnexpectedError, ErrorCode: "1", ErrorMessage: "connection refused"}}
	fmt.Println(hook.Notify(context.Background(), m))
	// Output:
	// received TASK_FAILED sync connection refused
	// <nil>
}

func ExampleHub() {
	hub, err := notify.NewHub(notify.WithQueueSize(16))
	if err != nil {
		fmt.Println(err)
		return
	}
	var mu sync.Mutex
	var got []string
	printer := notify.NotifierFunc(func(_ context.Context, m *notify.Message) error {
		mu.Lock() // a Notifier is called from several workers at once
		defer mu.Unlock()
		got = append(got, fmt.Sprint("notified: ", m.MessageType, " ", m.TaskName))
		return nil
	})
	if err := hub.Add("ops", printer); err != nil {
		fmt.Println(err)
		return
	}
	m := notify.NewMessage(notify.TaskSuspended, time.Now())
	m.TaskName = "sync"
	fmt.Println(hub.Send("ops", m)) // queued, returns at once
	fmt.Println(hub.Send("nope", m))

	_ = hub.SetEnabled("ops", false)
	fmt.Println(hub.Send("ops", m))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(hub.Close(ctx)) // drains the queue
	fmt.Println(got)
	fmt.Printf("%+v\n", hub.Stats("ops"))
	// Output:
	// <nil>
	// notify: unknown integration "nope"
	// notify: integration disabled: ops
	// <nil>
	// [notified: TASK_SUSPENDED sync]
	// {Queued:1 Delivered:1 Failed:0 Dropped:0 Disabled:1}
}

func ExampleTruncateError() {
	fmt.Println(notify.TruncateError("task: panic: boom\n\ngoroutine 7 [running]:\n...", notify.MaxErrorMessage))
	fmt.Println(notify.TruncateError("query sync failed: connection reset by peer", 24))
	// Output:
	// task: panic: boom
	// query sync failed: co...
}

// NewLogNotifier writes each message as one structured zap entry, for
// hosts that ship logs rather than call webhooks: an integration like any
// other (task.WithIntegration("log", notify.NewLogNotifier(logger))).
func ExampleNewLogNotifier() {
	logger := zap.NewExample() // JSON on standard output, no timestamps
	n := notify.NewLogNotifier(logger)

	m := notify.NewMessage(notify.TaskSuspended, time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	m.MessageID = "063e40ab-0b55-439e-9cd2-504c496e1566" // normally a fresh UUID
	m.TaskName, m.RootTaskName = "sync", "sync"
	m.Messages = []notify.Detail{{ErrorKind: notify.KindUnexpectedError, ErrorCode: "1", ErrorMessage: "connection refused"}}
	if err := n.Notify(context.Background(), m); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"level":"warn","msg":"task suspended","version":"1.0","messageId":"063e40ab-0b55-439e-9cd2-504c496e1566","messageType":"TASK_SUSPENDED","timestamp":"2026-06-01T09:00:00.000Z","tenantId":"","taskName":"sync","taskId":"","rootTaskName":"sync","rootTaskId":"","messages":[{"runId":"","queryId":"","errorKind":"UnexpectedError","errorCode":"1","errorMessage":"connection refused"}]}
}
