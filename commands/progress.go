package commands

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// Progress defaults: a job of more than progressThreshold sessions
// reports at most once per progressEvery. Slack's chat.update is tier 3 (~50/min) and the poster
// paces a channel at 1/s, Teams allows 7 per second per conversation: one
// update per 5 s stays far under all of them.
const (
	defaultProgressThreshold = 100
	defaultProgressEvery     = 5 * time.Second
	// progressTimeout bounds one progress reply; the final reply waits
	// for it, so a stuck platform must not hold the outcome for long.
	progressTimeout = 30 * time.Second
)

// WithProgress makes an approved action of more than threshold sessions
// update the approval message with the counts so far, at most once per
// every (by the engine's clock). Defaults: 100 and 5 s.
func WithProgress(threshold int, every time.Duration) Option {
	return func(o *options) error {
		if threshold < 1 {
			return fmt.Errorf("progress threshold %d: want at least 1", threshold)
		}
		if every <= 0 {
			return fmt.Errorf("progress interval %v: want more than 0", every)
		}
		o.progressThreshold, o.progressEvery = threshold, every
		return nil
	}
}

// tally counts outcomes so far.
type tally struct{ deleted, gone, failed int }

func (t tally) done() int { return t.deleted + t.gone + t.failed }

// reporter sends progress replies for one action. Replies go out on a
// goroutine of their own so the deletes never wait for the chat platform
// (its pacing and 429s); while one is on its way the next chance is
// skipped, so the platform sets the pace when it is slower than every.
// Each reply must land before deadline (the job's lease: after it lapses
// another process may resume the job, and its replies must never be
// overtaken by ours); none is started with less than a renewal period
// (a third of the lease) left, as renewals are then failing. Not safe for concurrent use except as documented:
// update and wait are called from the goroutine running the action.
type reporter struct {
	e        *Engine
	c        *call
	to       bot.Responder
	every    time.Duration
	last     time.Time
	render   func(t tally) bot.Reply
	deadline func() time.Time
	busy     chan struct{} // holds a token while a reply is on its way
	wg       sync.WaitGroup
}

// progressFor returns a reporter for a job big enough, sending to to, or
// nil (no progress) when to is nil. Only a message can be updated in
// place: a typed approve answers with a new message, and a new message
// every few seconds would flood the channel, so its caller passes nil.
func (e *Engine) progressFor(r *jobRun, to bot.Responder) *reporter {
	if len(r.rec.Action.Targets) <= e.progressThreshold || to == nil {
		return nil
	}
	return &reporter{e: e, c: r.c, to: to, every: e.progressEvery, last: e.now(), busy: make(chan struct{}, 1), deadline: r.leaseDeadline,
		render: func(t tally) bot.Reply { return progressReply(r, t) }}
}

// progressReply is the approval message while job r runs, t done so far.
func progressReply(r *jobRun, t tally) bot.Reply {
	a := r.rec.Action
	lead := []string{r.who()}
	if r.resumed {
		lead = append(lead, "Resumed after an interruption.")
	}
	return bot.Reply{
		Kind:  bot.Pending,
		Title: a.progressTitle(t.done()),
		Summary: append(lead,
			fmt.Sprintf("So far: deleted %d, already gone %d, failed %d; %d to go", t.deleted, t.gone, t.failed, len(a.Targets)-t.done())),
		Visibility:      bot.InChannel,
		ReplaceOriginal: true,
	}
}

func (a action) progressTitle(done int) string {
	s := plural(len(a.Targets), "session")
	if a.Kind == "logout" {
		return fmt.Sprintf("Logging %s out%s (%s): %d done", a.User, a.onSite(), s, done)
	}
	return fmt.Sprintf("Ending %s on %s%s: %d done", s, a.scopeText(), a.onSite(), done)
}

// update sends t if every has passed since the start or the last reply
// and no reply is still on its way. A nil reporter does nothing.
func (r *reporter) update(ctx context.Context, t tally) {
	if r == nil {
		return
	}
	now := r.e.now()
	if now.Sub(r.last) < r.every || time.Until(r.deadline()) < r.e.leaseTTL/3 {
		return
	}
	select {
	case r.busy <- struct{}{}:
	default:
		return
	}
	r.last = now
	rep := r.render(t)
	r.wg.Go(func() {
		defer func() { <-r.busy }()
		defer func() {
			if v := recover(); v != nil {
				r.e.log.Error("progress responder panicked", "request_id", r.c.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			}
		}()
		sctx, cancel := context.WithDeadline(ctx, earliest(r.deadline(), time.Now().Add(progressTimeout)))
		defer cancel()
		if err := r.to.Respond(sctx, rep); err != nil {
			r.e.log.Warn("progress reply not delivered", "request_id", r.c.id, "err", err)
		}
	})
}

// wait returns once no progress reply is on its way, so that the final
// reply, sent after, is the one that stays.
func (r *reporter) wait() {
	if r != nil {
		r.wg.Wait()
	}
}
