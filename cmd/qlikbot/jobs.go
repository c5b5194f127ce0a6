package main

import (
	"context"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/commands"
)

// storePoll is how often the resume loop looks whether the store has
// answered yet (awaitStore says so).
const storePoll = 100 * time.Millisecond

// resumeJobs carries on approved work nobody runs: once the store has
// answered, then every commands.ResumeEvery, until ctx ends. A job whose
// holder died resumes here within its lease plus one interval (about 25
// s); with bolt, whose leases a restart clears, at once.
func (a *app) resumeJobs(ctx context.Context) error {
	poll := time.NewTicker(storePoll)
	defer poll.Stop()
	for answered, _ := a.storeStatus.get(); !answered; answered, _ = a.storeStatus.get() {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		}
	}
	t := time.NewTicker(commands.ResumeEvery)
	defer t.Stop()
	for {
		if n, err := a.engine.ResumeJobs(ctx, a.deliverers); err != nil {
			a.log.Warn("resume jobs", "err", err)
		} else if n > 0 {
			a.log.Info("jobs resumed", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// buildDeliverers routes replies without a live request (a resumed job's
// outcome) to the adapters of this process that can send them.
// The map is the one the engine was given (WithDeliverer): filled in, not
// replaced.
func (a *app) buildDeliverers() {
	if a.deliverers == nil {
		a.deliverers = bot.Deliverers{}
	}
	for _, ad := range a.adapters {
		if d, ok := ad.(bot.Deliverer); ok {
			a.deliverers[ad.Name()] = d
		}
	}
	if a.console != nil {
		if d, ok := any(a.console).(bot.Deliverer); ok {
			a.deliverers[bot.Console] = d
		}
	}
}
