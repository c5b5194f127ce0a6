package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/store"
)

// jobRun carries out one job while this process holds its lease. Only the
// goroutine that calls carryOut touches outs; the lease is shared with the
// renewer under mu.
type jobRun struct {
	e       *Engine
	q       Qlik // the client of the job's site
	id      string
	rec     jobRecord
	c       *call // the approver: who the job's audit rows name
	h       handles
	outs    []string // per target: "" until a batch records it
	before  int      // targets recorded before this run began
	resumed bool
	stop    <-chan struct{} // closed when qlikbot stops taking work
	// notify gets progress and the "interrupted" reply: the approval
	// message's responder (a click) or its Deliverer (a resumed job).
	notify bot.Responder
	prog   *reporter

	mu    sync.Mutex
	lease store.Lease
}

// runEnd is how carryOut ended.
type runEnd int

const (
	runFinished runEnd = iota // every target has its outcome; FinishJob recorded it
	runStopped                // stopped between batches (SIGTERM), lease released
	runLost                   // lease lost or the store gone: another run resumes it
)

// newJobRun prepares job id under lease l; q is nil when this process
// does not serve the job's site.
func (e *Engine) newJobRun(id string, rec jobRecord, c *call, l store.Lease, stop <-chan struct{}) *jobRun {
	r := &jobRun{e: e, id: id, rec: rec, c: c, h: rec.Action.handles(), outs: make([]string, len(rec.Action.Targets)), stop: stop, lease: l}
	if s := e.siteNamed(rec.Action.siteName()); s != nil {
		r.q = s.q
	}
	return r
}

// approverCall is the call a job's audit rows are written as: the
// approver, on the platform and channel of the click.
func approverCall(rec jobRecord) *call {
	ap := rec.Approver
	return &call{id: ap.RequestID, subject: ap.Subject, site: rec.Action.siteName(),
		req: bot.Request{Platform: bot.Platform(ap.Platform), Channel: ap.Channel, User: bot.User{Name: ap.Name}}}
}

// apply takes the outcomes that batches read back from the store record
// (verified; one that is not is audited and disregarded, so its targets
// are done again).
func (r *jobRun) apply(ctx context.Context, batches [][]byte) {
	outs, bad := r.e.journal(r.id, len(r.outs), batches)
	for _, err := range bad {
		r.e.tampered(ctx, r.c, r.id, err)
	}
	r.outs = outs
	r.before = counts(r.outs).done()
}

// journal reads a job's batches into one outcome per target ("" where
// none is recorded), with the batches that did not verify.
func (e *Engine) journal(id string, n int, batches [][]byte) ([]string, []error) {
	outs := make([]string, n)
	var bad []error
	for _, sealed := range batches {
		b, err := e.openBatch(id, n, sealed)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		for k, i := range b.Index {
			if outs[i] == "" {
				outs[i] = b.Outcomes[k]
			}
		}
	}
	return outs, bad
}

func (r *jobRun) currentLease() store.Lease {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lease
}

// leaseDeadline is when this run must have stopped writing anything that
// another holder could overtake (progress replies): the lease's expiry.
func (r *jobRun) leaseDeadline() time.Time { return r.currentLease().Expires }

// carryOut runs what is left of the job and ends it. See runEnd.
func (r *jobRun) carryOut(ctx context.Context) (bot.Reply, runEnd) {
	ctx = context.WithoutCancel(ctx) // once claimed, never stopped by a platform that stopped waiting
	work, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	renewCtx, stopRenew := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go r.renew(renewCtx, lose, renewed)
	defer func() {
		stopRenew()
		<-renewed
	}()

	err := r.execute(work)
	r.prog.wait() // no progress reply may land after what follows
	if err == nil {
		err = r.finish(work)
	}
	switch {
	case err == nil:
		return r.outcomeReply(), runFinished
	case errors.Is(err, errJobStopped):
		rep := r.interruptedReply()
		if r.notify != nil && r.rec.Origin.Message != "" {
			// Said before the lease is released: whoever resumes the
			// job writes after this, never before.
			sctx, cancel := r.sendContext(ctx)
			if serr := r.notify.Respond(sctx, rep); serr != nil {
				r.e.log.Warn("job: interrupted notice not delivered", "request_id", r.c.id, "job", r.id, "err", serr)
			}
			cancel()
			rep = bot.Reply{}
		}
		r.release(ctx)
		r.e.log.Info("job stopped for shutdown; it resumes on the next start or on another replica", "job", r.id,
			"done", counts(r.outs).done(), "targets", len(r.outs))
		return rep, runStopped
	default:
		r.e.log.Warn("job interrupted: another run resumes it", "job", r.id, "done", counts(r.outs).done(), "targets", len(r.outs), "err", err)
		return bot.Reply{}, runLost
	}
}

// execute deletes the targets without an outcome, a batch at a time with
// jobWindow batches in flight, recording each batch as it completes (in
// order). It stops between batches when r.stop closes (errJobStopped) and
// at once when the lease is lost (ctx is cancelled with the cause).
func (r *jobRun) execute(ctx context.Context) error {
	var todo []int
	for i, o := range r.outs {
		if o == "" {
			todo = append(todo, i)
		}
	}
	size := max(r.e.batch, 1)
	type flight struct {
		idx  []int
		done chan []qlik.Outcome
	}
	var inFlight []flight
	defer func() { // a lost lease cancels ctx: the calls return soon
		for _, f := range inFlight {
			<-f.done
		}
	}()
	next := 0
	for {
		for len(inFlight) < max(r.e.window, 1) && next < len(todo) && !r.stopping() && ctx.Err() == nil {
			end := min(next+size, len(todo))
			f := flight{idx: todo[next:end], done: make(chan []qlik.Outcome, 1)}
			ts := make([]qlik.DeleteTarget, len(f.idx))
			for k, i := range f.idx {
				t := r.rec.Action.Targets[i]
				ts[k] = qlik.DeleteTarget{Prefix: t.Prefix, Host: t.Host, SessionID: t.SessionID, User: t.user()}
			}
			go func() { f.done <- r.q.DeleteSessions(ctx, ts) }()
			inFlight = append(inFlight, f)
			next = end
		}
		if len(inFlight) == 0 {
			break
		}
		f := inFlight[0]
		outs := <-f.done
		inFlight = inFlight[1:]
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if err := r.record(ctx, f.idx, outs); err != nil {
			return err
		}
		if next < len(todo) || len(inFlight) > 0 {
			r.prog.update(ctx, counts(r.outs))
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if next < len(todo) {
		return errJobStopped
	}
	return nil
}

func (r *jobRun) stopping() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// record writes one batch's outcomes and audit rows in one store write,
// fenced by the lease. A write whose answer was lost may have landed:
// before trying again the journal is read back, so a batch is never
// recorded (nor its targets audited) twice. It gives up when the lease is
// lost or lapses meanwhile.
func (r *jobRun) record(ctx context.Context, idx []int, outs []qlik.Outcome) error {
	a := r.rec.Action
	b := jobBatchRecord{Index: idx, Outcomes: make([]string, len(idx))}
	events := make([]store.Event, len(idx))
	for k, i := range idx {
		var o qlik.Outcome
		ok := k < len(outs)
		if ok {
			o = outs[k]
		}
		t := a.Targets[i]
		b.Outcomes[k] = outcomeText(o, ok)
		if ok && o.Err != nil && o.Status != qlik.Deleted && o.Status != qlik.AlreadyGone {
			r.e.log.Warn("delete failed", "request_id", r.c.id, "job", r.id, "target", t.text(r.h), "err", redactIDs(o.Err.Error()))
		}
		ev := store.Event{Action: "delete", Command: auditText(a.Command), Target: t.text(r.h), Outcome: b.Outcomes[k], Pending: r.id}
		if r.resumed {
			ev.Reason = "resumed after an interruption"
		}
		events[k] = r.e.event(r.c, ev)
	}
	sealed := r.e.sealBatch(r.id, b)
	err := r.retry(ctx, "record a batch", func(wctx context.Context) error {
		return r.e.st.RecordJobBatch(wctx, r.currentLease(), r.id, sealed, events)
	}, func(wctx context.Context) (bool, bool) {
		_, batches, err := r.e.st.GetJob(wctx, r.id)
		return err == nil && containsBytes(batches, sealed), err == nil
	})
	if err != nil {
		return err
	}
	for k, i := range idx {
		r.outs[i] = b.Outcomes[k]
	}
	return nil
}

// finish records the result, the job's closing audit row and releases the
// lease, in one write.
func (r *jobRun) finish(ctx context.Context) error {
	t := counts(r.outs)
	res := r.e.sealResult(r.id, jobResult{Deleted: t.deleted, Gone: t.gone, Failed: t.failed, Resumed: r.resumed})
	ev := store.Event{Action: "job", Command: auditText(r.rec.Action.Command), Pending: r.id, Target: r.rec.Action.scopeText(),
		Outcome: fmt.Sprintf("finished: deleted %d, already gone %d, failed %d", t.deleted, t.gone, t.failed)}
	if r.resumed {
		ev.Reason = fmt.Sprintf("resumed after an interruption with %d of %d done", r.before, len(r.outs))
	}
	ev = r.e.event(r.c, ev)
	now := r.e.now()
	return r.retry(ctx, "finish", func(wctx context.Context) error {
		return r.e.st.FinishJob(wctx, r.currentLease(), r.id, now, res, []store.Event{ev})
	}, func(wctx context.Context) (bool, bool) {
		j, _, err := r.e.st.GetJob(wctx, r.id)
		return err == nil && j.Finished() && bytes.Equal(j.Result, res), err == nil
	})
}

// who is the approval's first summary line.
func (r *jobRun) who() string {
	ap, rq := r.rec.Approver, r.rec.Action.Requester
	return fmt.Sprintf("Approved by %s; requested by %s", whoText(ap.Name, ap.Subject), whoText(rq.Name, rq.Subject))
}

// outcomeReply is the finished job as the approval message shows it: its
// first page, whose Next runs "approval ID" (see approval.go).
func (r *jobRun) outcomeReply() bot.Reply {
	rep := r.outcomePage(r.c, approvalPages(r.id), true, nil)
	rep.Visibility, rep.ReplaceOriginal = bot.InChannel, true
	return rep
}

// interruptedReply says where a stopped job stands and that it goes on.
func (r *jobRun) interruptedReply() bot.Reply {
	rep := progressReply(r, counts(r.outs))
	rep.Summary = append(rep.Summary,
		"Interrupted: qlikbot is restarting. The job goes on by itself when qlikbot is back or on another replica; this message will show the outcome.")
	return rep
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
