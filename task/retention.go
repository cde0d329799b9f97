// This file owns retention: the built-in task that deletes old records
// (WithRetention).

package task

import (
	"context"
	"fmt"
	"time"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
)

// RetentionTaskName is the name of the task WithRetention registers.
const RetentionTaskName = "taskmill.retention"

// Retention defaults.
const (
	// RetentionBatchDefault is Retention.BatchSize's default.
	RetentionBatchDefault = 1000
)

// Retention says which execution records the history cleanup deletes
// (Metabase's task-history cleanup). Pending and running executions are
// never deleted.
type Retention struct {
	// MaxAge deletes final executions that started longer ago. Zero: no
	// age limit.
	MaxAge time.Duration
	// KeepPerTask keeps at most this many newest executions of each
	// registered task and deletes the older final ones (records that
	// started at the same instant as the oldest kept one are kept too).
	// Zero: no count limit. Tasks no longer registered are only subject
	// to MaxAge.
	KeepPerTask int
	// Schedule is when the cleanup runs. Default: every hour.
	Schedule cron.Schedule
	// BatchSize is how many records one delete removes; the cleanup
	// repeats until a batch comes back short. Default
	// RetentionBatchDefault.
	BatchSize int
}

// WithRetention registers a task, RetentionTaskName, that deletes old
// execution records in batches on a schedule. It is an ordinary task: its
// runs are recorded, it can be run now, suspended and resumed, and its exit
// message says how many records it deleted. Default: no cleanup.
func WithRetention(r Retention) Option {
	return func(c *config) error {
		switch {
		case r.MaxAge < 0:
			return fmt.Errorf("%w: WithRetention: MaxAge %v is negative", ErrInvalidOption, r.MaxAge)
		case r.KeepPerTask < 0:
			return fmt.Errorf("%w: WithRetention: KeepPerTask %d is negative", ErrInvalidOption, r.KeepPerTask)
		case r.MaxAge == 0 && r.KeepPerTask == 0:
			return fmt.Errorf("%w: WithRetention: set MaxAge or KeepPerTask", ErrInvalidOption)
		case r.BatchSize < 0:
			return fmt.Errorf("%w: WithRetention: BatchSize %d is negative", ErrInvalidOption, r.BatchSize)
		}
		if r.Schedule == nil {
			r.Schedule = cron.Every(time.Hour)
		}
		if r.BatchSize == 0 {
			r.BatchSize = RetentionBatchDefault
		}
		c.retention = &r
		return nil
	}
}

// retentionSpec is the cleanup task.
func (e *Engine) retentionSpec(r Retention) Spec {
	return Spec{
		Name:        RetentionTaskName,
		Description: "deletes old execution records",
		Schedule:    r.Schedule,
		Job: JobFunc(func(ctx context.Context) error {
			n, err := e.cleanUp(ctx, r)
			SetExitMessage(ctx, fmt.Sprintf("deleted %d execution records", n))
			return err
		}),
	}
}

// cleanUp deletes what r says, in batches, and returns how many it deleted.
func (e *Engine) cleanUp(ctx context.Context, r Retention) (int, error) {
	total := 0
	deleteAll := func(p store.DeleteParams) error {
		p.Limit = r.BatchSize
		for {
			n, err := e.store.DeleteExecutions(ctx, p)
			total += n
			if err != nil {
				return err
			}
			if n < p.Limit {
				return nil
			}
		}
	}
	if r.MaxAge > 0 {
		if err := deleteAll(store.DeleteParams{Before: e.clock.Now().Add(-r.MaxAge)}); err != nil {
			return total, fmt.Errorf("task: retention by age: %w", err)
		}
	}
	if r.KeepPerTask > 0 {
		for _, name := range e.taskNames() {
			cutoff, err := e.keepCutoff(ctx, name, r.KeepPerTask)
			if err != nil {
				return total, err
			}
			if cutoff.IsZero() {
				continue
			}
			if err := deleteAll(store.DeleteParams{Task: name, Before: cutoff}); err != nil {
				return total, fmt.Errorf("task: retention of task %q: %w", name, err)
			}
		}
	}
	return total, nil
}

// keepCutoff returns the start of the keep-th newest execution of a task
// when more than keep exist, and the zero time otherwise.
func (e *Engine) keepCutoff(ctx context.Context, task string, keep int) (time.Time, error) {
	f := store.ExecutionFilter{Task: task}
	seen := 0
	for {
		f.Limit = min(keep-seen, store.MaxListLimit)
		page, err := e.store.ListExecutions(ctx, f)
		if err != nil {
			return time.Time{}, fmt.Errorf("task: retention of task %q: %w", task, err)
		}
		seen += len(page.Executions)
		if page.NextCursor == "" {
			return time.Time{}, nil // keep or fewer
		}
		if seen >= keep {
			return page.Executions[len(page.Executions)-1].StartedAt, nil
		}
		f.Cursor = page.NextCursor
	}
}
