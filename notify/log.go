package notify

import (
	"context"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewLogNotifier returns a Notifier that writes each message to l as one
// structured entry, for hosts that ship logs rather than call webhooks.
// The entry is at Warn for TASK_FAILED and TASK_SUSPENDED and at Info
// otherwise; its text is "task failed", "task suspended", "task succeeded"
// or "task notification", and its fields carry the payload's names and
// values: the envelope as fields (timestamp as a time), and "messages" as
// an array of objects (times as times, empty ones left out). Notify
// returns nil, or ErrNilMessage. A nil l gives a Notifier that discards.
func NewLogNotifier(l *zap.Logger) Notifier {
	if l == nil {
		l = zap.NewNop()
	}
	return logNotifier{l: l}
}

type logNotifier struct{ l *zap.Logger }

func (n logNotifier) Notify(_ context.Context, m *Message) error {
	if m == nil {
		return ErrNilMessage
	}
	level, text := zapcore.InfoLevel, "task notification"
	switch m.MessageType {
	case TaskFailed:
		level, text = zapcore.WarnLevel, "task failed"
	case TaskSuspended:
		level, text = zapcore.WarnLevel, "task suspended"
	case TaskSucceeded:
		text = "task succeeded"
	}
	ce := n.l.Check(level, text)
	if ce == nil {
		return nil
	}
	ce.Write(
		zap.String("version", m.Version),
		zap.String("messageId", m.MessageID),
		zap.String("messageType", string(m.MessageType)),
		zapTime("timestamp", m.Timestamp),
		zap.String("tenantId", m.TenantID),
		zap.String("taskName", m.TaskName),
		zap.String("taskId", m.TaskID),
		zap.String("rootTaskName", m.RootTaskName),
		zap.String("rootTaskId", m.RootTaskID),
		zap.Array("messages", logDetails(m.Messages)),
	)
	return nil
}

// zapTime is zap.Time, or a Skip field for the zero time.
func zapTime(key string, t Time) zap.Field {
	if t.IsZero() {
		return zap.Skip()
	}
	return zap.Time(key, t.UTC())
}

type logDetails []Detail

func (ds logDetails) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for i := range ds {
		if err := enc.AppendObject(logDetail(ds[i])); err != nil {
			return err
		}
	}
	return nil
}

type logDetail Detail

func (d logDetail) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("runId", d.RunID)
	addTime(enc, "scheduledTime", d.ScheduledTime)
	addTime(enc, "queryStartTime", d.QueryStartTime)
	addTime(enc, "completedTime", d.CompletedTime)
	enc.AddString("queryId", d.QueryID)
	enc.AddString("errorKind", string(d.ErrorKind))
	enc.AddString("errorCode", d.ErrorCode)
	enc.AddString("errorMessage", d.ErrorMessage)
	return nil
}

func addTime(enc zapcore.ObjectEncoder, key string, t Time) {
	if !t.IsZero() {
		enc.AddTime(key, t.UTC())
	}
}
