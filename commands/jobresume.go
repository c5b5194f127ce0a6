package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// ResumeJobs looks once for unfinished jobs nobody runs (their holder
// crashed, stopped, or lost the store for longer than a lease), takes the
// lease of each it can and carries it on in the background: only the
// targets no batch records are deleted, and the outcome replaces the
// approval message through to (or posts anew where the job has no
// message). It returns how many jobs it took. cmd calls it at start and
// every ResumeEvery; StopJobs stops what it started.
func (e *Engine) ResumeJobs(ctx context.Context, to bot.Deliverer) (int, error) {
	if !e.jobs.accepting() {
		return 0, nil
	}
	js, err := e.st.ListJobs(ctx, true, resumeScan)
	if err != nil {
		return 0, fmt.Errorf("resume jobs: %w", err)
	}
	taken := 0
	var errs []error
	for _, j := range js {
		if j.Holder != "" || j.Finished() || e.jobs.isRunning(j.ID) {
			continue
		}
		stop, ok := e.jobs.begin(j.ID)
		if !ok {
			continue
		}
		l, err := e.st.AcquireLease(ctx, store.JobLease(j.ID), e.holder, e.leaseTTL)
		if err != nil {
			e.jobs.end(j.ID)
			if !errors.Is(err, store.ErrLeaseHeld) {
				errs = append(errs, err)
			}
			continue
		}
		taken++
		go func(id string) {
			defer e.jobs.end(id)
			e.resume(context.WithoutCancel(ctx), id, l, stop, to)
		}(j.ID)
	}
	if len(errs) > 0 {
		return taken, fmt.Errorf("resume jobs: %w", errors.Join(errs...))
	}
	return taken, nil
}

// resume carries on job id under lease l.
func (e *Engine) resume(ctx context.Context, id string, l store.Lease, stop <-chan struct{}, to bot.Deliverer) {
	sys := &call{id: bot.NewRequestID(), subject: "system"}
	j, batches, err := e.st.GetJob(ctx, id)
	if err != nil || j.Finished() {
		if err != nil {
			e.log.Warn("resume job: cannot read it; it is tried again later", "job", id, "err", err)
		}
		rctx, cancel := context.WithTimeout(ctx, writeTimeout)
		_ = e.st.ReleaseLease(rctx, l)
		cancel()
		return
	}
	rec, err := e.openJob(id, j.Data)
	if errors.Is(err, seal.ErrUnknownKey) {
		e.leaveToKeyHolder(ctx, sys, id, l, err)
		return
	}
	if err != nil {
		e.refuseJob(ctx, e.newJobRun(id, jobRecord{}, sys, l, stop), err)
		return
	}
	c := approverCall(rec)
	if f, ok := to.(fitter); ok {
		c.req.Fit = f.FitFor(rec.Origin.Platform) // page the outcome for where it goes
	}
	run := e.newJobRun(id, rec, c, l, stop)
	if run.q == nil {
		// Another replica serves the site; the lease goes back at once.
		e.log.Warn("resume job: its site is not served here; left to a replica that serves it", "job", id, "site", rec.Action.siteName())
		run.release(ctx)
		return
	}
	run.resumed = true
	run.apply(ctx, batches)
	e.log.Info("job resumed", "job", id, "holder", e.holder, "done", run.before, "targets", len(run.outs))
	if to != nil && rec.Origin.Message != "" {
		run.notify = deliverTo{to, rec.Origin}
	}
	run.prog = e.progressFor(run, run.notify)
	rep, end := run.carryOut(ctx)
	if end != runFinished {
		return
	}
	e.observe(Event{Command: "job-resumed", Outcome: rep.Kind.String()})
	if to == nil {
		e.log.Warn("resumed job finished; no adapter to tell", "job", id)
		return
	}
	dctx, cancel := context.WithTimeout(ctx, progressTimeout)
	defer cancel()
	if _, err := to.Deliver(dctx, rec.Origin, rep); err != nil {
		e.log.Error("resumed job finished; its outcome was not delivered (it is in the audit trail)", "job", id,
			"platform", rec.Origin.Platform, "err", err)
	}
}

// leaveToKeyHolder hands back a job sealed with a key this replica does
// not hold: during a key rotation another replica may hold it, so the job
// is not closed as forged (that would end it for good) but left for one
// that can verify it. Said loudly in the log each time, and once per
// process in the audit trail (the scan comes back every ResumeEvery).
func (e *Engine) leaveToKeyHolder(ctx context.Context, c *call, id string, l store.Lease, why error) {
	e.log.Error("JOB NOT RUN: it is sealed with a key this replica does not hold; left to a replica that holds it "+
		"(give every replica the same QLIKBOT_STATE_KEY, and the previous one in QLIKBOT_STATE_OLD_KEYS)",
		"job", id, "holder", e.holder, "err", redactIDs(why.Error()))
	if e.jobs.firstUnknownKey(id) {
		e.audit(ctx, c, store.Event{Action: "job", Pending: id, Reason: why.Error(),
			Outcome: "not run here: sealed with a key this replica does not hold; left to a replica that holds it"})
	}
	rctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := e.st.ReleaseLease(rctx, l); err != nil {
		e.log.Warn("job: lease not released; it lapses by itself", "job", id, "err", err)
	}
}

// fitter gives the Request.Fit of a platform's adapter (bot.Deliverers).
type fitter interface {
	FitFor(p bot.Platform) func(bot.Reply) int
}

// deliverTo is a Responder that delivers to one destination: a resumed
// job's progress and notices replace its approval message.
type deliverTo struct {
	d   bot.Deliverer
	dst bot.Destination
}

func (t deliverTo) Respond(ctx context.Context, r bot.Reply) error {
	_, err := t.d.Deliver(ctx, t.dst, r)
	return err
}
