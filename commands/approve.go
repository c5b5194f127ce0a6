package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

var pendingIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// handleAction answers a button click.
func (e *Engine) handleAction(ctx context.Context, req bot.Request) bot.Reply {
	act := req.Action
	switch act.ID {
	case ActionRun:
		c := e.newCall(req, act.Value)
		return e.run(ctx, c, true)
	case ActionApprove, ActionReject:
		c := e.newCall(req, act.ID+" "+clip(act.Value))
		if !pendingIDRE.MatchString(act.Value) {
			e.audit(ctx, c, store.Event{Action: "command", Command: c.text, Outcome: "bad approval id"})
			return e.done(act.ID, bot.Reply{Kind: bot.Usage, Title: "Unknown approval", Summary: []string{"That button does not name an approval request."}, Visibility: bot.Ephemeral}, "")
		}
		if act.ID == ActionApprove {
			return e.approve(ctx, c, act.Value)
		}
		return e.reject(ctx, c, act.Value)
	default:
		c := e.newCall(req, "click "+clip(act.ID))
		e.audit(ctx, c, store.Event{Action: "command", Command: c.text, Outcome: "unknown button"})
		return e.done("unknown", bot.Reply{Kind: bot.Usage, Title: "Unknown button", Summary: []string{"This button is not one of mine (or from an older version): type " + e.cmdName + " help."}, Visibility: bot.Ephemeral}, "")
	}
}

// load fetches a pending action and decodes it; a non-nil reply ends the click.
func (e *Engine) load(ctx context.Context, c *call, id, verb string) (store.Pending, action, *bot.Reply) {
	p, err := e.st.GetPending(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		r := e.done(verb, bot.Reply{Kind: bot.Info, Title: "Unknown or expired approval", Summary: []string{"This approval request is unknown or expired; ask again if it is still needed."}, Visibility: bot.Ephemeral}, "")
		return p, action{}, &r
	}
	if err != nil {
		r := e.done(verb, e.storeDown(c, "read the approval request", err), "")
		return p, action{}, &r
	}
	a, err := decodeAction(p.Data)
	if err != nil {
		r := e.done(verb, e.internal(c, "read the approval request", err), "")
		return p, action{}, &r
	}
	return p, a, nil
}

// mayApprove checks c holds Approve on every (virtual proxy, node) of the
// action; the first refusal is returned.
func (e *Engine) mayApprove(ctx context.Context, c *call, a action, pendingID string) authz.Decision {
	var last authz.Decision
	seen := map[authz.Scope]bool{}
	for _, t := range a.Targets {
		s := authz.Scope{VirtualProxy: t.Prefix, Host: t.Host, Channel: c.req.Channel}
		if seen[s] {
			continue
		}
		seen[s] = true
		last = c.policy.Decide(c.subjects, authz.Approve, s)
		if !last.Allowed {
			break
		}
	}
	dec := "denied"
	if last.Allowed {
		dec = "allowed"
	}
	e.audit(ctx, c, store.Event{Action: "decision", Command: c.text, Decision: dec, Reason: last.Reason, Target: a.scopeText(), Pending: pendingID})
	return last
}

func (e *Engine) approve(ctx context.Context, c *call, id string) bot.Reply {
	p, a, r := e.load(ctx, c, id, "approve")
	if r != nil {
		return *r
	}
	if d := e.mayApprove(ctx, c, a, id); !d.Allowed {
		return e.done("approve", e.denied(c, d), "")
	}
	if overlaps(c.subjects, a.Requester.Subjects) {
		e.audit(ctx, c, store.Event{Action: "decision", Command: c.text, Decision: "denied", Reason: "two-person rule: the requester cannot approve", Pending: id})
		return e.done("approve", bot.Reply{Kind: bot.Denied, Title: "Not allowed",
			Summary:    []string{"Not allowed: you asked for this, so someone else must approve it (two-person rule). Your id: " + c.subject + "."},
			Visibility: bot.Ephemeral}, "")
	}
	claimed, err := e.st.Claim(ctx, id, store.StateApproved, c.subject, e.now())
	if r := e.claimFailed(ctx, c, id, p, claimed, a, err, "approve"); r != nil {
		return *r
	}
	e.audit(ctx, c, store.Event{Action: "approve", Command: clipAudit(a.Command), Pending: id, Target: a.scopeText(), Decision: "allowed", Outcome: "approved"})
	who := fmt.Sprintf("Approved by %s; requested by %s", whoText(c.req.User.Name, c.subject), whoText(a.Requester.Name, a.Requester.Subject))
	rows, failed := e.execute(ctx, c, a, id, e.progressFor(c, a, []string{who}))
	rep := bot.Reply{Kind: bot.Success, Title: "Approved: " + a.title(), Visibility: bot.InChannel, ReplaceOriginal: true}
	rep.Summary = []string{who, outcomeSummary(rows)}
	if failed > 0 {
		rep.Kind = bot.Warning
		rep.Warnings = []string{fmt.Sprintf("%s could not be ended; see the table", plural(failed, "session"))}
	}
	e.paginate(c, &rep, Command{}, outcomeColumns, rows, "outcome.csv")
	return e.done("approve", rep, "approved")
}

func (e *Engine) reject(ctx context.Context, c *call, id string) bot.Reply {
	p, a, r := e.load(ctx, c, id, "reject")
	if r != nil {
		return *r
	}
	// The requester may withdraw; anyone else needs the approve right.
	if !overlaps(c.subjects, a.Requester.Subjects) {
		if d := e.mayApprove(ctx, c, a, id); !d.Allowed {
			return e.done("reject", e.denied(c, d), "")
		}
	}
	claimed, err := e.st.Claim(ctx, id, store.StateRejected, c.subject, e.now())
	if r := e.claimFailed(ctx, c, id, p, claimed, a, err, "reject"); r != nil {
		return *r
	}
	e.audit(ctx, c, store.Event{Action: "reject", Command: clipAudit(a.Command), Pending: id, Target: a.scopeText(), Outcome: "rejected"})
	rep := bot.Reply{Kind: bot.Info, Title: "Rejected: " + a.title(), Visibility: bot.InChannel, ReplaceOriginal: true,
		Summary: []string{fmt.Sprintf("Rejected by %s; requested by %s. Nothing was ended.", whoText(c.req.User.Name, c.subject), whoText(a.Requester.Name, a.Requester.Subject))}}
	return e.done("reject", rep, "rejected")
}

// claimFailed turns a failed Claim into a reply (nil when the claim won).
func (e *Engine) claimFailed(ctx context.Context, c *call, id string, p, claimed store.Pending, a action, err error, verb string) *bot.Reply {
	var r bot.Reply
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrDecided):
		r = bot.Reply{Kind: bot.Info, Title: "Already decided",
			Summary:    []string{fmt.Sprintf("Already %s by %s at %s UTC.", claimed.State, claimed.DecidedBy, claimed.DecidedAt.UTC().Format(time.DateTime))},
			Visibility: bot.Ephemeral}
	case errors.Is(err, store.ErrExpired):
		e.audit(ctx, c, store.Event{Action: "expire", Command: clipAudit(a.Command), Pending: id, Target: a.scopeText(),
			Outcome: "expired at " + p.ExpiresAt.UTC().Format(time.RFC3339) + "; " + verb + " click refused"})
		r = bot.Reply{Kind: bot.Warning, Title: "Expired: " + a.title(), Visibility: bot.InChannel, ReplaceOriginal: true,
			Summary: []string{fmt.Sprintf("This request expired at %s UTC; nothing was ended. Ask again if it is still needed.", p.ExpiresAt.UTC().Format(time.DateTime))}}
		r = e.done(verb, r, "expired")
		return &r
	case errors.Is(err, store.ErrNotFound):
		r = bot.Reply{Kind: bot.Info, Title: "Unknown or expired approval", Summary: []string{"This approval request is unknown or expired."}, Visibility: bot.Ephemeral}
	default:
		r = e.storeDown(c, "record the decision", err)
	}
	r = e.done(verb, r, "")
	return &r
}

func overlaps(a, b []string) bool {
	return slices.ContainsFunc(a, func(s string) bool { return slices.Contains(b, s) })
}

func whoText(name, subject string) string {
	if name == "" {
		return subject
	}
	return name + " (" + subject + ")"
}
