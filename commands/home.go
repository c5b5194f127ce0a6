package commands

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// Home is what a person sees on opening the app (Slack's App Home): the
// sessions per virtual proxy they may see, the nodes that answer, the
// users at the access-pass limit and the approvals they may decide, with
// their buttons. It runs with the person's rights, like any command, and
// is audited as the command "home".
func (e *Engine) Home(ctx context.Context, req bot.Request) bot.Reply {
	c := e.newCall(req, "home")
	r := bot.Reply{Kind: bot.Info, Title: "Qlik Sense at a glance", Visibility: bot.Ephemeral}
	r.Summary = []string{fmt.Sprintf("Updated %s UTC. Type %s help for commands.", e.now().UTC().Format("2006-01-02 15:04"), e.cmdName)}
	g, rr := e.gather(ctx, c, Command{Verb: VerbSessions}, authz.List, true)
	// One row, with its decision, as for any command (Home only reads).
	defer func() { e.commandRow(ctx, c, outcomeOf(r)) }()
	switch {
	case rr != nil && rr.Kind == bot.Denied, rr == nil && len(g.shown) == 0:
		r.Summary = append(r.Summary, "You may not see any virtual proxy. Your ids: "+strings.Join(c.subjects, ", ")+"; ask an admin for a grant.")
	case rr != nil:
		r.Kind, r.Warnings = bot.Warning, append(r.Warnings, rr.Title+": "+strings.Join(rr.Summary, " "))
	default:
		e.homeSessions(g, &r)
	}
	e.homeApprovals(ctx, c, &r)
	return r
}

// homeLimitNames is how many users at the access-pass limit Home names.
const homeLimitNames = 10

func (e *Engine) homeSessions(g *gathered, r *bot.Reply) {
	perUser := map[string]int{}
	names := map[string]string{}
	asked, failed := map[string]int{}, map[string]int{}
	chart := &bot.Chart{Title: "Sessions per virtual proxy"}
	total, sessionErrors := 0, false
	for _, sr := range g.shown {
		sl := sr.sl
		perVP := map[string]int{}
		for _, s := range sl.Sessions {
			perVP[s.VirtualProxy.ID]++
			k := sr.s.name + "\x00" + strings.ToLower(s.User().String()) // an access pass is per site
			perUser[k]++
			names[k] = g.label(sr.s) + s.User().String()
		}
		total += len(sl.Sessions)
		// A node answers when at least one of the pairs asked of it did.
		for _, l := range sl.Selected {
			asked[sr.s.name+"\x00"+l.Proxy.Node.HostName]++
		}
		for _, pe := range sl.Errors {
			r.Warnings = append(r.Warnings, g.label(sr.s)+pairFailure("No answer from", pe))
			failed[sr.s.name+"\x00"+pe.Proxy.Node.HostName]++
			sessionErrors = true
		}
		for _, vp := range sr.v.vps {
			if n := perVP[vp.ID]; n > 0 {
				chart.Points = append(chart.Points, bot.Point{Label: g.label(sr.s) + vpLabel(sr.v.topo, vp), Value: float64(n)})
			}
		}
	}
	var full []string
	for k, n := range perUser {
		if n >= accessPassLimit {
			full = append(full, names[k])
		}
	}
	slices.SortFunc(full, func(a, b string) int { return cmp.Compare(strings.ToLower(a), strings.ToLower(b)) })
	answering := 0
	for h, n := range asked {
		if failed[h] < n {
			answering++
		}
	}
	r.Facts = append(r.Facts,
		bot.Fact{Label: "Sessions you may see", Value: fmt.Sprint(total)},
		bot.Fact{Label: "Nodes answering", Value: fmt.Sprintf("%d of %d", answering, len(asked))},
		bot.Fact{Label: fmt.Sprintf("Users at the %d-session limit", accessPassLimit), Value: fmt.Sprint(len(full))},
	)
	if len(full) > 0 {
		line := "At the limit: " + strings.Join(full[:min(len(full), homeLimitNames)], ", ")
		if len(full) > homeLimitNames {
			line += fmt.Sprintf(" and %d more", len(full)-homeLimitNames)
		}
		r.Summary = append(r.Summary, line+" (see "+e.cmdName+" users --min 5).")
	}
	if len(chart.Points) > 0 {
		r.Chart = chart
	}
	e.siteWarnings(r, g)
	if sessionErrors {
		r.Kind = bot.Warning
	}
}

// Approvals on Home. The store lists no pending approvals by itself, so
// Home finds them through the audit trail (each request is audited
// before it is stored), then reads each back and keeps those still
// pending that the caller may decide.
const (
	homeAuditScan = 1000 // recent audit events searched for approval requests
	homeApprovals = 5    // approvals shown, each with two buttons
)

func (e *Engine) homeApprovals(ctx context.Context, c *call, r *bot.Reply) {
	evs, err := e.st.RecentAudit(ctx, homeAuditScan)
	if err != nil {
		e.log.Warn("home: read audit trail", "request_id", c.id, "err", err)
		r.Warnings = append(r.Warnings, "Approvals waiting could not be read (request "+c.id+").")
		return
	}
	now := e.now()
	seen := map[string]bool{}
	n := 0
	for _, ev := range evs {
		if ev.Action != "request-approval" || ev.Pending == "" || seen[ev.Pending] {
			continue
		}
		seen[ev.Pending] = true
		p, err := e.st.GetPending(ctx, ev.Pending)
		if err != nil || p.State != store.StatePending || !now.Before(p.ExpiresAt) {
			continue
		}
		a, err := e.open(p)
		if err != nil || e.isRequester(c, a) || len(a.Targets) == 0 || !e.mayApprove(c, a).Allowed {
			continue
		}
		n++
		if n > homeApprovals {
			continue
		}
		what := clipLabel(a.title())
		r.Summary = append(r.Summary, fmt.Sprintf("Waiting for approval: %s, asked by %s, expires %s UTC (id %s).",
			a.title(), whoText(a.Requester.Name, a.Requester.Subject), p.ExpiresAt.UTC().Format(time.TimeOnly), p.ID))
		r.Buttons = append(r.Buttons,
			bot.Button{Label: "Approve: " + what, ActionID: ActionApprove, Value: p.ID, Style: bot.Primary, Confirm: a.confirmText()},
			bot.Button{Label: "Reject: " + what, ActionID: ActionReject, Value: p.ID, Style: bot.Danger})
	}
	r.Facts = append(r.Facts, bot.Fact{Label: "Approvals you may decide", Value: fmt.Sprint(n)})
	if n > homeApprovals {
		r.Summary = append(r.Summary, fmt.Sprintf("%d more approvals wait: see the channels they were asked in, or %s approve ID.", n-homeApprovals, e.cmdName))
	}
}
