package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// The pages of an approval. An approval request and, once approved, its
// outcome show their first page; their Next and Previous buttons run
// "approval ID --from ROW" / "--to ROW", which reads the sealed record
// back (the pending approval, or the job and its journal), verifies it
// as approve does, and shows the page to the clicker only. Handles are
// those of the whole list (action.handles), so every page agrees with the
// first one and with the CSV.
//
// Approve and Reject stay on the request message only: a decision
// replaces the message it was clicked on, and a page is a private reply
// (in Slack a message of its own under the request), so a decision taken
// there would leave the request standing in the channel. A page of a
// request still open says how to decide.
//
// Who may see the pages: whoever asked for the action (they listed its
// sessions to ask), and whoever holds list, or approve, on every (virtual
// proxy, node) it covers, on its site and in this channel. That is the
// request's own audience: those who may list the sessions anyway, and
// those asked to approve them.

// approvalPages is the command that pages approval id.
func approvalPages(id string) Command { return Command{Verb: VerbApproval, Approval: id} }

// notDone is the outcome shown for a target no batch records yet.
const notDone = "not done"

// targetRows are the rows of an approval request's table (targetColumns).
func (a action) targetRows() [][]string {
	h := a.handles()
	rows := make([][]string, 0, len(a.Targets))
	for _, t := range a.Targets {
		rows = append(rows, []string{t.VirtualProxy, t.Node, t.user().String(), t.UserName, h.of(t.SessionID)})
	}
	return rows
}

// showApproval answers "approval ID": a page of the job's outcome once
// the request was approved, else a page of the request's sessions.
func (e *Engine) showApproval(ctx context.Context, c *call, cmd Command) bot.Reply {
	id := cmd.Approval
	if r, ok := e.showJobOf(ctx, c, cmd, id); ok {
		return r
	}
	p, a, r := e.load(ctx, c, id, VerbApproval)
	if r != nil {
		return *r
	}
	if p.State == store.StateApproved {
		// Approved between the two reads: its job is there now (unless
		// kept no longer, then the request is what is left to show).
		if r, ok := e.showJobOf(ctx, c, cmd, id); ok {
			return r
		}
	}
	if r := e.mayView(c, a); r != nil {
		return e.done(VerbApproval, *r, "")
	}
	return e.done(VerbApproval, e.requestPage(c, cmd, p, a), "")
}

// showJobOf answers "approval ID" from the job of approval id; ok is
// false when there is none (not approved, or no longer kept).
func (e *Engine) showJobOf(ctx context.Context, c *call, cmd Command, id string) (r bot.Reply, ok bool) {
	j, batches, err := e.st.GetJob(ctx, id)
	switch {
	case err == nil:
		return e.showJob(ctx, c, cmd, j, batches), true
	case !errors.Is(err, store.ErrNotFound):
		return e.done(VerbApproval, e.storeDown(c, "read the approval", err), ""), true
	}
	return bot.Reply{}, false
}

// mayView checks that c may see the sessions of a (see the top of this
// file) and notes the decision; a refusal names the list right.
func (e *Engine) mayView(c *call, a action) *bot.Reply {
	if e.isRequester(c, a) {
		c.note("allowed", "the requester sees what they asked for", a.scopeText())
		return nil
	}
	list := holdsEverywhere(c.policy, c.subjects, c.req.Channel, authz.List, a)
	if list.Allowed {
		c.note("allowed", list.Reason, a.scopeText())
		return nil
	}
	if d := e.mayApprove(c, a); d.Allowed {
		c.note("allowed", d.Reason, a.scopeText())
		return nil
	}
	c.note("denied", list.Reason, a.scopeText())
	r := e.denied(c, list)
	return &r
}

// requestPage is the page cmd asks for of a request's sessions, saying
// where the request stands.
func (e *Engine) requestPage(c *call, cmd Command, p store.Pending, a action) bot.Reply {
	when := func(t time.Time) string { return t.UTC().Format(time.DateTime) + " UTC" }
	// p.State, DecidedBy and DecidedAt are the store's, not sealed: shown
	// only, never acted on (a decision goes through Claim or StartJob and
	// is checked there).
	rep := bot.Reply{Visibility: bot.Ephemeral, Summary: []string{
		"Requested by " + whoText(a.Requester.Name, a.Requester.Subject) + ": " + e.cmdName + " " + auditText(a.Command)}}
	switch {
	case p.State == store.StatePending && e.now().Before(a.Expires):
		rep.Kind, rep.Title = bot.Pending, "Approval needed: "+a.title()
		rep.Summary = append(rep.Summary,
			fmt.Sprintf("To decide, click Approve or Reject on the request, or type %s approve %s (or reject); it expires at %s.",
				e.cmdName, p.ID, when(a.Expires)),
			"Only the sessions listed here are ended.")
	case p.State == store.StateRejected:
		rep.Kind, rep.Title = bot.Info, "Rejected: "+a.title()
		rep.Summary = append(rep.Summary, fmt.Sprintf("Rejected by %s at %s. Nothing was ended.", p.DecidedBy, when(p.DecidedAt)))
	case p.State == store.StateApproved:
		rep.Kind, rep.Title = bot.Info, "Approved: "+a.title()
		rep.Summary = append(rep.Summary, fmt.Sprintf("Approved by %s at %s; its outcome is no longer kept (see %s audit).",
			p.DecidedBy, when(p.DecidedAt), e.cmdName))
	default:
		rep.Kind, rep.Title = bot.Warning, "Expired: "+a.title()
		rep.Summary = append(rep.Summary, fmt.Sprintf("It expired unanswered at %s; nothing was ended.", when(a.Expires)))
	}
	e.paginate(c, &rep, cmd, targetColumns, a.targetRows(), "sessions.csv")
	return rep
}

// showJob answers "approval ID" for an approved request: a page of its
// job's outcome so far. The job, its result and every batch are verified
// as a resumed job's are: a job or result that does not verify is
// refused and audited as tampering; a batch that does not verify is
// audited and its sessions show as not done.
func (e *Engine) showJob(ctx context.Context, c *call, cmd Command, j store.Job, batches [][]byte) bot.Reply {
	c.pending = j.ID
	rec, err := e.openJob(j.ID, j.Data)
	var res jobResult
	if err == nil && j.Finished() {
		res, err = e.openResult(j.ID, j.Result)
	}
	if errors.Is(err, seal.ErrUnknownKey) {
		return e.done(VerbApproval, e.notVerifiableHere(c, "job", j.ID, err, "a replica that holds the key carries it out"), "")
	}
	if err != nil {
		e.tampered(ctx, c, j.ID, err)
		return e.done(VerbApproval, e.unverified(c), "")
	}
	rec.Action.showSite = e.multi()
	c.site = rec.Action.siteName()
	if r := e.mayView(c, rec.Action); r != nil {
		return e.done(VerbApproval, *r, "")
	}
	run := e.newJobRun(j.ID, rec, approverCall(rec), store.Lease{}, nil)
	outs, bad := e.journal(j.ID, len(run.outs), batches)
	for _, err := range bad {
		e.tampered(ctx, c, j.ID, err)
	}
	run.outs = outs
	var warnings []string
	if res.Refused != "" {
		warnings = append(warnings, "This job was refused: it could not be verified when it was approved, so nothing more was ended.")
	}
	if len(bad) > 0 {
		warnings = append(warnings, fmt.Sprintf("%d of %d recorded batches of outcomes could not be verified (see the audit trail): their sessions show as %s.",
			len(bad), len(batches), notDone))
	}
	return e.done(VerbApproval, run.outcomePage(c, cmd, j.Finished(), warnings), "")
}

// outcomePage is the page cmd asks for of the job's outcome, fitted for
// c's platform: the outcome of a finished job as its approval message
// shows it, or the outcome so far of one still running. It is shown to
// the asker only; outcomeReply puts the first page in the channel.
func (r *jobRun) outcomePage(c *call, cmd Command, finished bool, warnings []string) bot.Reply {
	a := r.rec.Action
	rows := make([][]string, 0, len(a.Targets))
	for i, t := range a.Targets {
		o := r.outs[i]
		if o == "" {
			o = notDone
		}
		rows = append(rows, []string{t.VirtualProxy, t.Node, t.user().String(), t.UserName, r.h.of(t.SessionID), o})
	}
	rep := bot.Reply{Kind: bot.Success, Title: "Approved: " + a.title(), Visibility: bot.Ephemeral}
	rep.Summary = []string{r.who()}
	if r.resumed {
		rep.Summary = append(rep.Summary, fmt.Sprintf("Resumed after an interruption: %d of %s had been done before it.", r.before, plural(len(a.Targets), "session")))
	}
	rep.Summary = append(rep.Summary, outcomeSummary(rows)...)
	t := counts(r.outs)
	if t.failed > 0 {
		rep.Kind = bot.Warning
		rep.Warnings = []string{failedWarning(r.c, t.failed)}
	}
	switch left := len(r.outs) - t.done(); {
	case left == 0:
	case finished:
		rep.Kind, rep.Title = bot.Error, "Stopped: "+a.title()
		rep.Summary = append(rep.Summary, fmt.Sprintf("%s not done.", plural(left, "session")))
	default:
		rep.Kind, rep.Title = bot.Pending, a.progressTitle(t.done())
		rep.Summary = append(rep.Summary, fmt.Sprintf("%d to go: the job is running, or resumes by itself.", left))
	}
	rep.Warnings = append(rep.Warnings, warnings...)
	r.e.paginate(c, &rep, cmd, outcomeColumns, rows, "outcome.csv")
	return rep
}
