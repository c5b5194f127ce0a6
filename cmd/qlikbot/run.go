package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// expirySweep is how often expired approvals are recorded as such.
const expirySweep = 30 * time.Second

// run starts every part and blocks until ctx ends (SIGINT/SIGTERM), a part
// fails, or the console reaches end of input. Then it shuts down
// gracefully within QLIKBOT_SHUTDOWN_TIMEOUT: no new work, running jobs
// checkpoint after their batches in flight and release their leases,
// in-flight requests finish, sockets are closed.
func (a *app) run(ctx context.Context) error {
	defer a.close()
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// The workers get a context of their own so that in-flight work can
	// finish after runCtx ends; Shutdown bounds how long.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	dispDone := make(chan struct{})
	go func() {
		defer close(dispDone)
		if err := a.disp.Run(workCtx); err != nil {
			a.log.Error("dispatcher", "err", err)
		}
	}()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var failure error
	start := func(name string, fn func(context.Context) error) {
		wg.Go(func() {
			err := fn(runCtx)
			if err != nil && !errors.Is(err, context.Canceled) {
				mu.Lock()
				if failure == nil {
					failure = err
					if !errors.Is(err, errConfig) { // a configuration error is its own one line
						failure = fmt.Errorf("%s: %w", name, err)
					}
				}
				mu.Unlock()
				cancel(err)
			}
		})
	}
	for _, ad := range a.adapters {
		start(string(ad.Name()), ad.Start)
	}
	for _, l := range []*listener{a.public, a.admin} {
		if l == nil {
			continue
		}
		a.log.Info("http listening", "addr", l.Addr().String(), "serves", serves(l.name))
		start(l.name, func(context.Context) error {
			if err := l.srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	start("store", a.awaitStore)
	if a.cfg.Policy != "" {
		start("policy watch", a.authz.Watch)
		start("policy reload on SIGHUP", a.reloadOnHangup)
	}
	start("approval expiry", a.sweepExpired)
	start("job resume", a.resumeJobs)
	if a.watcher != nil {
		start("watcher", a.watcher.Run)
	}
	if a.console != nil {
		start("console", func(ctx context.Context) error {
			err := a.console.Start(ctx)
			if err == nil && ctx.Err() == nil && a.input.n.Load() == 0 && !a.cfg.Demo() {
				err = errNoChat
			}
			cancel(errStopped)
			return err
		})
	}

	<-runCtx.Done()
	if cause := context.Cause(runCtx); !errors.Is(cause, errStopped) {
		a.log.Info("shutting down", "cause", cause)
	}
	if ctx.Err() != nil && a.public != nil && a.console == nil && a.cfg.ShutdownDrain > 0 {
		// Signalled: the Service and load balancers drop this pod a little
		// later. Until then /readyz fails and the listeners still serve,
		// so requests sent meanwhile are answered, not refused.
		a.draining.Store(true)
		a.log.Info("draining: /readyz fails, listeners still serve", "for", a.cfg.ShutdownDrain)
		a.sleep(a.cfg.ShutdownDrain)
	}
	shCtx, cancelShutdown := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancelShutdown()
	// Jobs stop first: each finishes its batches in flight, records them
	// and releases its lease, so the next start or another replica goes
	// on with it; the requests that ran them then answer and drain.
	jobsStopped := make(chan error, 1)
	go func() { jobsStopped <- a.engine.StopJobs(shCtx) }()
	for _, l := range []*listener{a.public, a.admin} {
		if l == nil {
			continue
		}
		if err := l.srv.Shutdown(shCtx); err != nil {
			a.log.Warn("http shutdown", "listener", l.name, "err", err)
		}
	}
	if err := <-jobsStopped; err != nil {
		a.log.Warn("jobs did not checkpoint in time; they resume once their leases lapse", "timeout", a.cfg.ShutdownTimeout, "err", err)
	}
	if err := a.disp.Shutdown(shCtx); err != nil {
		a.log.Warn("in-flight requests did not finish in time", "timeout", a.cfg.ShutdownTimeout, "err", err)
	}
	stopWork()
	<-dispDone
	wg.Wait()
	return failure
}

// errNoChat: Qlik is configured but no chat platform, and the console's
// input ended before a single line (a service started without its chat
// settings, stdin /dev/null): say so rather than exit 0 without a word.
var errNoChat = configErr("no chat platform is configured and standard input ended at once, so there is nothing to do; " +
	"want QLIKBOT_SLACK_MODE=socket or http (with QLIKBOT_SLACK_BOT_TOKEN ...) or QLIKBOT_TEAMS_APP_ID (with QLIKBOT_TEAMS_APP_PASSWORD and QLIKBOT_TEAMS_TENANT_ID), or commands on standard input for the console")

// countingReader counts the bytes read through it (the console's input).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// serves says what a listener is for, in its start-up log line.
func serves(name string) string {
	if name == "QLIKBOT_ADMIN_ADDR" {
		return "/metrics /readyz /healthz"
	}
	return "chat endpoints, /files/, /healthz"
}

func (a *app) reloadOnHangup(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			if err := a.authz.Reload(); err != nil {
				a.log.Error("policy reload on SIGHUP failed; keeping the last good policy", "err", err)
			} else {
				a.log.Info("policy reloaded on SIGHUP")
			}
		}
	}
}

func (a *app) sweepExpired(ctx context.Context) error {
	t := time.NewTicker(expirySweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if n, err := a.engine.ExpireDue(ctx); err != nil {
				a.log.Warn("expire approvals", "err", err)
			} else if n > 0 {
				a.log.Info("approvals expired", "count", n)
			}
		}
	}
}
