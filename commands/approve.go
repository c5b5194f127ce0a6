package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

var pendingIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// actionText is a click as the audit trail shows it: the command it runs,
// "approve ID" / "reject ID" for the approval buttons.
func actionText(act *bot.Action) string {
	switch act.ID {
	case ActionRun:
		return act.Value
	case ActionApprove:
		return VerbApprove + " " + clip(act.Value)
	case ActionReject:
		return VerbReject + " " + clip(act.Value)
	case ActionSilence:
		return "silence " + clip(act.Value)
	}
	return "click " + clip(act.ID)
}

// handleAction answers a button click; c.text is actionText.
func (e *Engine) handleAction(ctx context.Context, c *call) bot.Reply {
	act := c.req.Action
	switch act.ID {
	case ActionRun:
		return e.run(ctx, c, true)
	case ActionApprove, ActionReject:
		if !pendingIDRE.MatchString(act.Value) {
			return e.done(act.ID, bot.Reply{Kind: bot.Usage, Title: "Unknown approval", Summary: []string{"That button does not name an approval request."}, Visibility: bot.Ephemeral}, "")
		}
		if act.ID == ActionApprove {
			return e.approve(ctx, c, act.Value)
		}
		return e.reject(ctx, c, act.Value)
	case ActionSilence:
		return e.done(ActionSilence, e.silence(ctx, c, act.Value), "")
	default:
		return e.done("unknown", bot.Reply{Kind: bot.Usage, Title: "Unknown button", Summary: []string{"This button is not one of mine (or from an older version): type " + e.cmdName + " help."}, Visibility: bot.Ephemeral}, "")
	}
}

// load fetches a pending action and decodes it; a non-nil reply ends the click.
func (e *Engine) load(ctx context.Context, c *call, id, verb string) (store.Pending, action, *bot.Reply) {
	p, err := e.st.GetPending(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		r := e.done(verb, unknownApproval(), "")
		return p, action{}, &r
	}
	if err != nil {
		r := e.done(verb, e.storeDown(c, "read the approval request", err), "")
		return p, action{}, &r
	}
	// Only an id the store knows goes into the audit row: 32 hex digits
	// typed by mistake may be a session id.
	c.pending = id
	a, err := e.open(p)
	if errors.Is(err, seal.ErrUnknownKey) {
		// Another replica's key (a rotation) or a forgery under a key of
		// the forger's own: the store cannot tell, so it stays pending for
		// a replica that holds the key, and the trail says tamper either way.
		e.audit(ctx, c, store.Event{Action: "tamper", Pending: id, Reason: err.Error(),
			Outcome: "refused here; left pending: sealed with a key this replica does not hold (another replica's, or forged)"})
		r := e.done(verb, e.notVerifiableHere(c, "approval", id, err, "it is still pending"), "")
		return p, action{}, &r
	}
	if err != nil {
		e.tampered(ctx, c, id, err)
		r := e.done(verb, e.unverified(c), "")
		return p, action{}, &r
	}
	c.site = a.siteName()
	switch {
	case c.onlySite != "" && c.onlySite != a.siteName():
		r := e.done(verb, bot.Reply{Kind: bot.Usage, Title: "Another site", Visibility: bot.Ephemeral, Summary: []string{
			fmt.Sprintf("This approval request is for site %s, not %s; nothing was done.", a.siteName(), c.onlySite)}}, "")
		return p, action{}, &r
	case e.siteNamed(a.siteName()) == nil:
		r := e.done(verb, bot.Reply{Kind: bot.Error, Title: "Site not served", Visibility: bot.Ephemeral, Summary: []string{
			fmt.Sprintf("This approval request is for site %s, which qlikbot no longer serves (see its sites configuration); nothing was done.", a.siteName())}}, "")
		return p, action{}, &r
	}
	return p, a, nil
}

// scopes are the (virtual proxy, node) places of the action's targets, in
// the given channel.
func (a action) scopes(channel string) []authz.Scope {
	var out []authz.Scope
	for _, t := range a.Targets {
		s := authz.Scope{VirtualProxy: t.Prefix, Host: t.Host, Channel: channel, Site: a.siteName()}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// mayApprove checks c holds Approve on every (virtual proxy, node) of the
// action; the first refusal is returned.
func (e *Engine) mayApprove(c *call, a action) authz.Decision {
	return holdsEverywhere(c.policy, c.subjects, c.req.Channel, authz.Approve, a)
}

// mayReject answers whether c may reject a: the requester may withdraw,
// anyone else needs the approve right (the decision, for the reason and
// the refusal).
func (e *Engine) mayReject(c *call, a action) (authz.Decision, bool) {
	if e.isRequester(c, a) {
		return authz.Decision{Allowed: true, Reason: "the requester withdraws"}, true
	}
	d := e.mayApprove(c, a)
	return d, d.Allowed
}

// holdsEverywhere checks subjects hold perm under pol on every (virtual
// proxy, node) of the action, in channel; the first refusal is returned.
func holdsEverywhere(pol *authz.Policy, subjects []string, channel string, perm authz.Permission, a action) authz.Decision {
	var last authz.Decision
	for _, s := range a.scopes(channel) {
		if last = pol.Decide(subjects, perm, s); !last.Allowed {
			break
		}
	}
	return last
}

// isRequester reports whether c is the person who asked for a: the same
// subject or verified e-mail, or the same person of the policy's people,
// now or as recorded (sealed) when the request was made.
func (e *Engine) isRequester(c *call, a action) bool {
	return c.policy.SamePerson(c.subjects, a.Requester.Subjects) ||
		c.policy.SamePerson(c.subjects, a.Requester.Identities) ||
		slices.ContainsFunc(a.Requester.People, func(n string) bool { return c.policy.IsPerson(c.subjects, n) })
}

// requesterStillAllowed checks that whoever asked still holds, under the
// current policy, the permission they asked with on every place of the
// action (a grant revoked since must not be carried out by an approval).
func (e *Engine) requesterStillAllowed(c *call, a action) authz.Decision {
	return holdsEverywhere(c.policy, a.Requester.Subjects, a.Requester.Channel, a.Permission, a)
}

// checkApprover answers whether c may approve a, with the reason for the
// audit trail and, when not, the reply. Refusals come in this order: the
// two-person rule, the approver's right on every place, the requester's.
func (e *Engine) checkApprover(c *call, a action) (string, *bot.Reply) {
	if e.isRequester(c, a) {
		r := bot.Reply{Kind: bot.Denied, Title: "Not allowed", Visibility: bot.Ephemeral, Summary: []string{
			"Not allowed: you asked for this (as " + whoText(a.Requester.Name, a.Requester.Subject) +
				"), so someone else must approve it (two-person rule). Your id: " + strings.Join(c.subjects, ", ") + "."}}
		return "two-person rule: the requester cannot approve", &r
	}
	ok := e.mayApprove(c, a)
	if !ok.Allowed {
		r := e.denied(c, ok)
		return ok.Reason, &r
	}
	if d := e.requesterStillAllowed(c, a); !d.Allowed {
		reason := fmt.Sprintf("the requester %s no longer holds %q %s under the current policy", a.Requester.Subject, a.Permission, e.scopePhrase(d.Scope))
		r := bot.Reply{Kind: bot.Denied, Title: "Not allowed", Visibility: bot.Ephemeral, Summary: []string{
			fmt.Sprintf("Not allowed: %s, who asked, may no longer %s %s: the policy changed since the request. Nothing was done.",
				whoText(a.Requester.Name, a.Requester.Subject), permVerb(a.Permission), e.scopePhrase(d.Scope)),
			"Reject the request, or ask them to ask again once they hold the right.",
		}}
		return reason, &r
	}
	return ok.Reason, nil
}

func (e *Engine) approve(ctx context.Context, c *call, id string) bot.Reply {
	p, a, r := e.load(ctx, c, id, "approve")
	if r != nil {
		return *r
	}
	reason, refusal := e.checkApprover(c, a)
	c.pending = id
	if refusal != nil {
		c.note("denied", reason, a.scopeText())
		return e.done("approve", *refusal, "")
	}
	c.note("allowed", reason, a.scopeText())
	if r := e.pastExpiry(c, a, p, "approve"); r != nil {
		return *r
	}
	if !e.jobs.accepting() {
		return e.done("approve", e.notNow(c), "")
	}
	run, r := e.startJob(ctx, c, id, p, a)
	if r != nil {
		return *r
	}
	run.stop = e.jobs.add(id)
	if e.inBackground(run) {
		return e.done("approve", e.runInBackground(ctx, c, run), "approved")
	}
	defer e.jobs.end(id)
	if c.req.Action != nil && run.rec.Origin.Message != "" {
		run.notify = c.req.ReplyTo // a click: its message shows progress
	}
	run.prog = e.progressFor(run, run.notify)
	rep, _ := run.carryOut(ctx)
	return e.done("approve", rep, "approved")
}

// startJob turns the verified approval into a job: store.StartJob claims
// it, records the job and writes the command and approve audit rows, in
// one step before anything is deleted. A failed claim comes back as the
// reply.
func (e *Engine) startJob(ctx context.Context, c *call, id string, p store.Pending, a action) (*jobRun, *bot.Reply) {
	now := e.now()
	rec := jobRecord{Action: a, Origin: origin(c.req), Approved: now,
		Approver: approver{Subject: c.subject, Name: c.req.User.Name, Platform: string(c.req.Platform), Channel: c.req.Channel, RequestID: c.id}}
	data, err := e.sealJob(id, rec)
	if err != nil {
		r := e.done("approve", e.internal(c, "record the job", err), "")
		return nil, &r
	}
	events := []store.Event{
		e.event(c, e.commandEvent(c, "")),
		e.event(c, store.Event{Action: "approve", Command: auditText(a.Command), Pending: id, Target: a.scopeText(), Decision: "allowed", Outcome: "approved"}),
	}
	claimed, lease, err := e.st.StartJob(ctx, store.JobStart{PendingID: id, By: c.subject, Now: now, Data: data,
		Holder: e.holder, LeaseTTL: e.leaseTTL, Events: events})
	if err != nil {
		if r := e.startLanded(ctx, c, id, rec, data, err); r != nil {
			return nil, r
		}
		return nil, e.claimFailed(ctx, c, id, p, claimed, a, err, "approve")
	}
	c.audited = true // the command row went in with the claim
	run := e.newJobRun(id, rec, c, lease, nil)
	if err := claimedSame(p, claimed); err != nil {
		e.refuseJob(ctx, run, err)
		r := e.done("approve", e.unverified(c), "")
		return nil, &r
	}
	return run, nil
}

// refuseJob closes a job that must not run (what it rests on does not
// verify): it is audited as tampering and finished with nothing done.
func (e *Engine) refuseJob(ctx context.Context, r *jobRun, why error) {
	e.log.Error("job refused: it cannot be verified", "request_id", r.c.id, "job", r.id, "err", redactIDs(why.Error()))
	ev := e.event(r.c, store.Event{Action: "tamper", Pending: r.id, Reason: why.Error(), Outcome: "refused; nothing was done"})
	res := e.sealResult(r.id, jobResult{Refused: why.Error()})
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if err := e.st.FinishJob(wctx, r.currentLease(), r.id, e.now(), res, []store.Event{ev}); err != nil {
		e.log.Error("AUDIT WRITE FAILED: refused job not closed", "job", r.id, "err", err)
	}
}

// origin is where a job reports when no request waits for it: the
// adapter's Request.Origin, or what the request itself says.
func origin(req bot.Request) bot.Destination {
	d := req.Origin
	if d.IsZero() {
		d = bot.Destination{Platform: req.Platform, Channel: req.Channel}
		if req.Action != nil {
			d.Message = req.Action.MessageRef
		}
	}
	return d
}

// notNow answers an approval while qlikbot stops taking work.
func (e *Engine) notNow(c *call) bot.Reply {
	return bot.Reply{Kind: bot.Error, Title: "qlikbot is restarting", Visibility: bot.Ephemeral, Summary: []string{
		"qlikbot is restarting and takes no new work, so nothing was done. Try again in a minute (request " + c.id + ")."}}
}

func (e *Engine) reject(ctx context.Context, c *call, id string) bot.Reply {
	p, a, r := e.load(ctx, c, id, "reject")
	if r != nil {
		return *r
	}
	d, ok := e.mayReject(c, a)
	c.pending = id
	if !ok {
		c.note("denied", d.Reason, a.scopeText())
		return e.done("reject", e.denied(c, d), "")
	}
	c.note("allowed", d.Reason, a.scopeText())
	if r := e.pastExpiry(c, a, p, "reject"); r != nil {
		return *r
	}
	if err := e.mustCommandRow(ctx, c); err != nil { // in the trail before the claim
		return e.done("reject", e.storeDown(c, "write the audit record", err), "")
	}
	claimed, err := e.claim(ctx, c, id, p, store.StateRejected)
	if r := e.claimFailed(ctx, c, id, p, claimed, a, err, "reject"); r != nil {
		return *r
	}
	e.audit(ctx, c, store.Event{Action: "reject", Command: auditText(a.Command), Pending: id, Target: a.scopeText(), Outcome: "rejected"})
	rep := bot.Reply{Kind: bot.Info, Title: "Rejected: " + a.title(), Visibility: bot.InChannel, ReplaceOriginal: true,
		Summary: []string{fmt.Sprintf("Rejected by %s; requested by %s. Nothing was ended.", whoText(c.req.User.Name, c.subject), whoText(a.Requester.Name, a.Requester.Subject))}}
	return e.done("reject", rep, "rejected")
}

func whoText(name, subject string) string {
	if name == "" {
		return subject
	}
	return name + " (" + subject + ")"
}
