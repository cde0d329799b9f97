// Package notify tells people when tasks fail: it defines the message
// taskmill sends, the Notifier that delivers one, a webhook and a zap
// integration, and a Hub of named integrations that delivers in the
// background so that a slow receiver never slows the scheduler. It imports
// no other public taskmill package; the engine (package task) maps its execution
// records onto Message.
//
//	hook, err := notify.NewWebhook("https://hooks.example.com/tasks",
//		notify.WithSecret(secret), notify.WithTimeout(5*time.Second))
//	hub, err := notify.NewHub(notify.WithLogger(logger))
//	err = hub.Add("ops_webhook", hook)
//	err = hub.Send("ops_webhook", msg) // queued; returns at once
//	defer hub.Close(ctx)               // drains the queues until ctx ends
//
// # The payload
//
// A Message is written as this JSON, a contract with receivers: the field
// names, the nesting and the types (every value a string, "messages" an
// array of objects) do not change within a Version.
//
//	{"version":"1.0","messageId":"063e40ab-0b55-439e-9cd2-504c496e1566","messageType":"TASK_FAILED",
//	 "timestamp":"2024-03-19T02:37:21.160705788Z","tenantId":"tn78p61xz","taskName":"my_task","taskId":"15",
//	 "rootTaskName":"my_task","rootTaskId":"15",
//	 "messages":[{"runId":"unknown","scheduledTime":"2024-03-19T02:37:21.157169855Z",
//	   "queryStartTime":"2024-03-19T02:37:21.043090475Z","completedTime":"2024-03-19T02:37:21.157169205Z",
//	   "queryId":"88bb9d5d-5d5e-4e52-92cc-b1953406245a","errorKind":"UnexpectedError","errorCode":"500",
//	   "errorMessage":"query sync failed: ..."}]}
//
// Every field is always present; a value that is not known is "". Times
// (the Time type) are RFC 3339 in UTC with exactly nine fractional digits
// (TimeLayout); a zero time, such as the scheduled time of a run started
// by hand, is "". Decoding accepts any RFC 3339 time.
//
// The message types are TASK_FAILED (a run failed), TASK_SUSPENDED (a task
// was suspended after too many consecutive failures; its detail is the
// failure that caused it) and TASK_SUCCEEDED (a run succeeded, for tasks
// that opt in: errorKind and errorMessage are "", errorCode is "0").
//
// # Mapping from an execution
//
// The engine fills a Message from a task's execution record like this:
//
//	messageId       a fresh UUID per message, the same across retries of
//	                that message (receivers deduplicate on it)
//	messageType     TASK_FAILED, TASK_SUSPENDED or TASK_SUCCEEDED
//	timestamp       when the message was made
//	tenantId        an engine option (may be empty)
//	taskName        the task's name
//	taskId          a stable id derived from the task name (the engine's job)
//	rootTaskName    the name of the root of the task's graph (the task itself
//	                outside a graph)
//	rootTaskId      the root's stable id, derived the same way
//	runId           the graph run id, or the execution id for a task outside
//	                a graph
//	queryId         the execution id
//	scheduledTime   the nominal time (empty for a run with none)
//	queryStartTime  the start of the run
//	completedTime   the end of the run
//	errorKind       Timeout, Panic, Cancelled or UnexpectedError (KindTimeout,
//	                KindPanic, KindCancelled, KindUnexpectedError)
//	errorCode       the run's exit code in decimal
//	errorMessage    the error text: its first line, cut to 4 KiB
//	                (TruncateError(text, MaxErrorMessage))
//
// # Webhook delivery
//
// A Webhook sends the JSON as the body of a POST (WithMethod) with the
// headers
//
//	Content-Type: application/json
//	User-Agent: taskmill-webhook/1
//	Taskmill-Message-Id: <messageId>
//	Taskmill-Signature: t=<unix seconds>,v1=<hex>   (with WithSecret)
//
// and those set with WithHeader. Any 2xx status means delivered. A network
// error, an attempt that exceeds WithTimeout, a 5xx and a 429 are retried,
// up to WithRetries times, after a wait with exponential backoff and full
// jitter (WithBackoff); a 429 or 503 with a Retry-After header (seconds or
// an HTTP date) waits as long as it asks instead, capped by
// WithMaxRetryAfter. Any other status (other 4xx, and 3xx, as redirects are
// not followed by default) is final: it is not retried. Notify returns a
// *DeliveryError with the last status and the number of attempts when it
// gives up, and stops at once, with an error wrapping ctx.Err(), when its
// context ends during a request or a wait. Errors name the URL without its
// password and query string, where tokens often live.
//
// # Signatures
//
// With WithSecret, every attempt carries a signature made at the moment
// of sending (see Sign):
//
//	Taskmill-Signature: t=1710815841,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// where t is the time of signing in Unix seconds and v1 is the lower-case
// hex HMAC-SHA256, keyed with the secret, of the text t, ".", and the raw
// request body. A receiver verifies it on the body exactly as received,
// before parsing it, and refuses old timestamps so that a captured request
// cannot be replayed later:
//
//	func receive(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//		if err != nil {
//			http.Error(w, "read error", http.StatusBadRequest)
//			return
//		}
//		err = notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), 5*time.Minute)
//		if err != nil { // errors.Is(err, notify.ErrBadSignature) or notify.ErrSignatureExpired
//			http.Error(w, "bad signature", http.StatusUnauthorized) // 4xx: not retried
//			return
//		}
//		var m notify.Message
//		if err := json.Unmarshal(body, &m); err != nil {
//			http.Error(w, "bad payload", http.StatusBadRequest)
//			return
//		}
//		// Deduplicate on m.MessageID (a retry repeats it), then act.
//		w.WriteHeader(http.StatusNoContent)
//	}
//
// In another language: split the header on ",", take t and every v1,
// compute HMAC-SHA256(secret, t + "." + body) as hex, compare it with each
// v1 in constant time, and refuse the request when none matches or when t
// is more than a few minutes from the receiver's clock.
//
// # The hub
//
// A Hub holds integrations by name (letters, digits, '_', '-', '.'), each
// enabled or not; SetEnabled switches one at run time. Send never blocks:
// it copies the message into the integration's bounded queue
// (WithQueueSize) and returns. A message for a disabled integration is not
// sent, and is counted and logged at Info; a message that finds the queue
// full is dropped, counted and logged at Warn. Workers (WithWorkers per
// integration) call Notify and count and log each outcome: Debug when
// delivered, Warn "delivery failed" with the attempts and the error. Stats
// and AllStats read the counters.
//
// Each integration has its own queue and workers, started by Add, rather
// than all sharing one queue. A dead webhook holds a worker for up to
// (retries+1) × timeout plus the backoff per message, about a minute with
// the defaults; with a shared queue it would soon hold every worker and let
// its backlog fill the queue, so the messages of healthy integrations would
// wait behind it and be dropped. With a queue per integration the delay and
// the drops stay with the integration that causes them, and each
// integration's counters describe it alone. The cost is WithWorkers idle
// goroutines and one channel per integration, small for the handful of
// integrations a host has.
//
// Close stops accepting messages and lets the workers drain the queues
// until its context ends; then it cancels the deliveries in flight, counts
// what is left as dropped, and returns ctx.Err() without waiting further.
// Call Close to stop the hub's goroutines. A Notifier that panics is
// recovered; the delivery counts as failed and the stack is logged.
//
// # Logging integration
//
// NewLogNotifier writes each message as one zap entry (Warn for failures
// and suspensions, Info otherwise) whose fields carry the payload's names,
// for hosts that ship logs rather than call webhooks. It can be added to a
// Hub like any Notifier, or called directly: it never blocks for long.
package notify
