package commands

import (
	"context"
	"errors"

	"github.com/qlikbot/qlikbot/bot"
)

// Big approved jobs run in the background: a kick of 10,000 sessions
// must not hold a dispatcher worker for minutes (a few would fill the
// pool). The click is answered with the job's first progress message, and
// the job then updates the approval message itself through the
// Deliverer, as a resumed job does. Without a Deliverer (or for a job
// small enough to report no progress) the job runs within the request,
// whose reply is its outcome: there would be no way to say it otherwise.

// WithDeliverer gives the engine the adapters that post without a live
// request (bot.Deliverers): an approved job big enough to report progress
// (see WithProgress) then runs in the background and updates the approval
// message through d. The map may be filled in after New, before the
// first request (the adapters need the dispatcher, which needs the
// engine).
func WithDeliverer(d bot.Deliverer) Option {
	return func(o *options) error {
		if d == nil {
			return errors.New("nil deliverer")
		}
		o.deliver = d
		return nil
	}
}

// inBackground answers whether run goes to the background: it reports
// progress, and a Deliverer can say the outcome once the request is over.
func (e *Engine) inBackground(run *jobRun) bool {
	return e.deliver != nil && len(run.rec.Action.Targets) > e.progressThreshold
}

// runInBackground starts run (registered with the job tracker by the
// caller) on its own goroutine and returns the first progress message.
// Said through the request's ReplyTo before the job starts (so no update
// of the job can land before it), the reply is then empty; without a
// ReplyTo it is the reply. The job's progress and outcome go to the
// approval message (Origin) through the Deliverer; a typed approve, with
// no message to update, gets its outcome as a new message.
func (e *Engine) runInBackground(ctx context.Context, c *call, run *jobRun) bot.Reply {
	dst := run.rec.Origin
	if f, ok := e.deliver.(fitter); ok {
		run.c.req.Fit = f.FitFor(dst.Platform) // page the outcome for where it goes
	}
	if dst.Message != "" {
		run.notify = deliverTo{e.deliver, dst}
	}
	run.prog = e.progressFor(run, run.notify)
	first := e.firstProgress(run)
	if c.req.ReplyTo != nil {
		sctx, cancel := run.sendContext(ctx) // before the lease, which nobody renews yet, lapses
		err := c.req.ReplyTo.Respond(sctx, first)
		if err != nil && run.notify != nil {
			// Where the job's own updates go, before it starts.
			err = run.notify.Respond(sctx, first)
		}
		cancel()
		if err != nil {
			e.log.Warn("job: first progress message not delivered", "request_id", c.id, "job", run.id, "err", err)
		}
		if err == nil || first.ReplaceOriginal {
			// Never the reply when it replaces the approval message:
			// said once the job runs, it could land after the job's
			// outcome and cover it. The job's updates show its progress.
			first = bot.Reply{}
		}
	}
	bg := context.WithoutCancel(ctx)
	go func() {
		defer e.jobs.end(run.id)
		rep, end := run.carryOut(bg)
		if end == runLost || rep.IsEmpty() {
			return // another run resumes it; or the notice is on the message
		}
		dctx, cancel := context.WithTimeout(bg, progressTimeout)
		defer cancel()
		if _, err := e.deliver.Deliver(dctx, dst, rep); err != nil {
			e.log.Error("approved job ended; its outcome was not delivered (it is in the audit trail)", "request_id", c.id, "job", run.id,
				"platform", dst.Platform, "err", err)
		}
	}()
	return first
}

// firstProgress is the approval message as the job starts: what
// progressFor shows, with nothing done yet.
func (e *Engine) firstProgress(run *jobRun) bot.Reply {
	r := progressReply(run, tally{})
	r.ReplaceOriginal = run.rec.Origin.Message != ""
	return r
}
