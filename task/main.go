// This file owns one-shot runs: RunOnce and RunMain.

package task

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// RunOnce runs spec's job once in a short-lived process, the purpose of
// Spring Cloud Task: it builds an engine (configured WithEngineOptions; its
// init hooks are not run), records a one-shot execution with the arguments,
// external id and parent id of opts, runs the job with the listeners, records
// the end and shuts the engine down. SIGINT and SIGTERM, like ctx ending,
// cancel the run, which is then recorded cancelled. With SingleInstance it
// refuses, returning ErrAlreadyRunning naming the task, while another
// process runs the task: on a store with a locker (store/sqlite,
// store/postgres) it holds a lease for the whole run, so that of processes
// started at the same instant one runs, and a killed one blocks the next
// for at most one lease TTL (see SingleInstance). Spec.Schedule, Cron,
// TimeZone, When and After are ignored: the process is the schedule.
func RunOnce(ctx context.Context, spec Spec, opts ...OnceOption) (*store.Execution, error) {
	rc, err := buildRunConfig(opts)
	if err != nil {
		return nil, err
	}
	spec.Schedule, spec.Cron, spec.TimeZone, spec.When, spec.After = nil, "", "", nil, nil
	eng, err := New(append(rc.engineOpts, WithoutInitHooks())...)
	if err != nil {
		return nil, err
	}
	if err := eng.Register(spec); err != nil {
		return nil, err
	}
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGraceDefault)
		defer cancel()
		if err := eng.Shutdown(sctx); err != nil {
			eng.log.Warn("shutting down the one-shot engine: " + err.Error())
		}
	}()

	if rc.singleInstance {
		release, err := eng.holdSingle(ctx, spec.Name)
		if err != nil {
			return nil, err
		}
		defer release() // before Shutdown, which stops the renewer
	}

	sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	id, err := eng.runNow(ctx, spec.Name, store.TriggerOneShot, rc)
	if err != nil {
		return nil, err
	}
	done := eng.runDone(id)
	go func() {
		select {
		case <-sigCtx.Done():
			eng.cancelRun(id, ErrShutdown)
		case <-done:
			return
		}
		// A job that ignores its context is recorded cancelled after the
		// grace period, so the process can exit.
		select {
		case <-done:
		case <-eng.clock.After(ShutdownGraceDefault):
			eng.abortRun(id, ErrShutdown)
		}
	}()
	return eng.Wait(context.WithoutCancel(ctx), id)
}

// RunMain is RunOnce for a program's main: it returns the exit code to pass
// to os.Exit — the run's exit code, or 1 (with the error on standard error)
// when the run could not start.
//
//	func main() {
//		os.Exit(task.RunMain(context.Background(), spec, task.WithArgs(os.Args[1:]...)))
//	}
func RunMain(ctx context.Context, spec Spec, opts ...OnceOption) int {
	x, err := RunOnce(ctx, spec, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return x.ExitCode
}

// abortRun records a run on this engine cancelled without waiting for its
// job.
func (e *Engine) abortRun(id uuid.UUID, cause error) {
	r := e.runs.get(id)
	if r != nil {
		r.abort(cause)
	}
}

// runDone returns a channel closed when the run ends, or a closed channel if
// the run is not on this engine.
func (e *Engine) runDone(id uuid.UUID) <-chan struct{} {
	if r := e.runs.get(id); r != nil {
		return r.done.wait()
	}
	closed := make(chan struct{})
	close(closed)
	return closed
}
