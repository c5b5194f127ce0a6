package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/store"
)

// action is the snapshot kept with a pending approval (store.Pending.Data)
// and what an approval executes: exactly the sessions the requester saw,
// never a fresh "everything on the proxy" (sessions started since are not
// the ones anyone approved).
type action struct {
	Kind       string           `json:"kind"` // "delete", "kick", "logout"
	Permission authz.Permission `json:"permission"`
	Requester  requester        `json:"requester"`
	Prefixes   []string         `json:"prefixes,omitempty"`
	Hosts      []string         `json:"hosts,omitempty"`
	User       string           `json:"user,omitempty"`
	Targets    []target         `json:"targets"`
	Command    string           `json:"command"`
	// Site is the one site every target is on ("" in approvals made
	// before sites: the site named "default").
	Site string `json:"site,omitempty"`
	// Created and Expires repeat the store's CreatedAt and ExpiresAt
	// under the seal, so that altering them in the store is noticed.
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`

	// showSite makes titles name the site (the engine serves several);
	// set when the action is made or read back, never stored.
	showSite bool
}

// siteName is the site of the action's targets.
func (a action) siteName() string {
	if a.Site == "" {
		return DefaultSite
	}
	return a.Site
}

// onSite is " on site NAME" for titles when the engine serves several sites.
func (a action) onSite() string {
	if !a.showSite {
		return ""
	}
	return " on site " + a.siteName()
}

type requester struct {
	Subject   string   `json:"subject"`
	Subjects  []string `json:"subjects"`
	Name      string   `json:"name,omitempty"`
	Platform  string   `json:"platform"`
	Channel   string   `json:"channel,omitempty"`
	RequestID string   `json:"requestId"`
	// People the requester was, under the policy of the request (records
	// sealed before Identities; kept for them).
	People []string `json:"people,omitempty"`
	// Identities: every subject the requester was under the policy of the
	// request (authz.Identities: theirs and their people's), so the
	// two-person rule holds whatever the people section says later.
	Identities []string `json:"identities,omitempty"`
}

type target struct {
	Prefix        string `json:"prefix"`
	VirtualProxy  string `json:"virtualProxy"` // display label
	Host          string `json:"host"`
	Node          string `json:"node"`
	SessionID     string `json:"sessionId"`
	UserDirectory string `json:"userDirectory"`
	UserID        string `json:"userId"`
	UserName      string `json:"userName,omitempty"`
}

func (t target) user() qlik.UserRef { return qlik.UserRef{Directory: t.UserDirectory, ID: t.UserID} }

// text names the target in the audit trail and logs: its session by
// handle (never in full) and user first, so a shortened cell keeps them.
func (t target) text(h handles) string {
	return h.of(t.SessionID) + " " + t.user().String() + " on " + prefixWord(t.Prefix) + "@" + t.Host
}

// handles of an action's targets: the request, the outcome and the audit
// trail show the same ones.
func (a action) handles() handles {
	ids := make([]string, 0, len(a.Targets))
	for _, t := range a.Targets {
		ids = append(ids, t.SessionID)
	}
	return newHandles(ids)
}

func decodeAction(data []byte) (action, error) {
	var a action
	if err := json.Unmarshal(data, &a); err != nil {
		return a, fmt.Errorf("decode pending action: %w", err)
	}
	if err := checkAction(a); err != nil {
		return a, fmt.Errorf("decode pending action: %w", err)
	}
	return a, nil
}

// checkAction checks a stored action's site and targets as if typed:
// they go into URLs.
func checkAction(a action) error {
	if a.Site != "" && authz.CheckSiteName(a.Site) != nil {
		return fmt.Errorf("bad site %q", clip(a.Site))
	}
	for _, t := range a.Targets {
		if checkPrefix(t.Prefix) != nil || !validHost(t.Host) || !uuidRE.MatchString(t.SessionID) {
			return fmt.Errorf("bad target %q", clip(t.text(a.handles())))
		}
	}
	return nil
}

// scopeText names what an action touches, for titles and the audit trail.
func (a action) scopeText() string {
	var ps []string
	for _, p := range a.Prefixes {
		ps = append(ps, prefixPhrase(p))
	}
	where := strings.Join(ps, ", ")
	if a.User != "" {
		if where == "" {
			return a.User
		}
		return a.User + " on " + where
	}
	return where
}

func (a action) title() string {
	n := len(a.Targets)
	s := plural(n, "session")
	switch a.Kind {
	case "logout":
		return fmt.Sprintf("log %s out%s (%s)", a.User, a.onSite(), s)
	default:
		return fmt.Sprintf("end %s on %s%s", s, a.scopeText(), a.onSite())
	}
}

// confirmText is the "are you sure?" of the Approve button.
func (a action) confirmText() string {
	s := plural(len(a.Targets), "session")
	if a.Kind == "logout" {
		return clip("Log "+a.User+" out") + a.onSite() + " (" + s + ")?"
	}
	return "End " + s + " on " + clip(a.scopeText()) + a.onSite() + "?"
}

// act runs delete and kick: find the sessions, check the permission on
// every (virtual proxy, node) they live on, then run now or ask for an
// approval.
func (e *Engine) act(ctx context.Context, c *call, cmd Command) bot.Reply {
	a := action{Kind: cmd.Verb, Permission: authz.Delete, Command: c.text, Prefixes: cmd.Prefixes, Hosts: cmd.Hosts,
		Requester: requester{Subject: c.subject, Subjects: c.subjects, Name: c.req.User.Name, Platform: string(c.req.Platform), Channel: c.req.Channel, RequestID: c.id}}
	if name, ok := c.policy.Person(c.subjects); ok {
		a.Requester.People = []string{name}
	}
	a.Requester.Identities = c.policy.Identities(c.subjects)
	switch {
	case cmd.Verb == VerbKick && cmd.User != nil:
		a.Kind, a.Permission, a.User = "logout", authz.Logout, cmd.User.String()
	case cmd.Verb == VerbKick:
		a.Permission = authz.Kick
	}
	sites, r := e.chooseSites(c, cmd, false)
	if r != nil {
		return *r
	}
	s := sites[0]
	a.Site, a.showSite, c.site = s.name, e.multi(), s.name
	v, r := e.resolve(ctx, c, s, cmd, a.Permission)
	if r != nil {
		return *r
	}
	dec, reason := v.decisionText(a.Permission)
	if len(v.vps) == 0 && v.denial != nil {
		dec = "denied" // unlinked proxies alone leave nothing to act on
	}
	c.note(dec, reason, a.scopeText())
	if len(v.vps) == 0 {
		if v.denial != nil {
			return e.denied(c, *v.denial)
		}
		return bot.Reply{Kind: bot.Info, Title: "Nothing to do", Summary: []string{"The selected virtual proxies are not linked to the selected proxy hosts: they hold no sessions."},
			Warnings: topoWarnings(v.topo, nil, v.unlinked, nil), Visibility: bot.Ephemeral}
	}
	sl, r := e.list(ctx, c, v, cmd.User)
	if r != nil {
		return *r
	}
	var warnings []string
	for _, pe := range sl.Errors {
		warnings = append(warnings, pairFailure("Not included, no answer from", pe))
	}
	if v.refused > 0 || len(v.hidden) > 0 {
		warnings = append(warnings, fmt.Sprintf("Not included: %s where you may not %s",
			plural(v.refused+len(v.hidden), "(virtual proxy, node) place"), permVerb(a.Permission)))
	}
	found := sl.Sessions
	if cmd.Verb == VerbDelete {
		var rep *bot.Reply
		if found, rep = e.pick(c, cmd, v, sl, warnings); rep != nil {
			return *rep
		}
	}
	for _, s := range found {
		a.Targets = append(a.Targets, target{Prefix: s.VirtualProxy.Prefix, VirtualProxy: vpLabel(v.topo, s.VirtualProxy), Host: s.Proxy.Node.HostName,
			Node: s.Proxy.Node.Name, SessionID: s.ID, UserDirectory: s.UserDirectory, UserID: s.UserID, UserName: s.UserName})
	}
	if len(a.Targets) == 0 {
		if cmd.User != nil && (v.refused > 0 || v.denial != nil) {
			return e.elsewhere(ctx, c, cmd, v, a, warnings)
		}
		rep := bot.Reply{Kind: bot.Info, Title: "No sessions to end", Summary: []string{"Nothing matched " + a.scopeText() + a.onSite() + "."}, Warnings: warnings, Visibility: listVisibility(c)}
		if len(sl.Errors) > 0 { // a node that did not answer may hold some
			rep.Kind = bot.Warning
			rep.Summary[0] = "Nothing matched " + a.scopeText() + a.onSite() + " on the nodes that answered."
		}
		return rep
	}
	if c.policy.NeedsApproval(a.Permission) {
		return e.requestApproval(ctx, c, a, warnings)
	}
	if err := e.mustCommandRow(ctx, c); err != nil { // in the trail before anything is deleted
		return e.storeDown(c, "write the audit record", err)
	}
	rows, failed := e.execute(ctx, c, a)
	rep := bot.Reply{Kind: bot.Success, Title: "Done: " + a.title(), Visibility: listVisibility(c), Warnings: warnings}
	rep.Summary = outcomeSummary(rows)
	if failed > 0 {
		rep.Kind = bot.Warning
		rep.Warnings = append(rep.Warnings, failedWarning(c, failed))
	}
	e.paginate(c, &rep, Command{}, outcomeColumns, rows, "outcome.csv")
	return rep
}

// The "Session" column holds handles (see handle.go), never full ids.
var targetColumns = []string{"Virtual proxy", "Node", "User", "User name", "Session"}
var outcomeColumns = []string{"Virtual proxy", "Node", "User", "User name", "Session", "Outcome"}

func (e *Engine) requestApproval(ctx context.Context, c *call, a action, warnings []string) bot.Reply {
	now := e.now().Round(0) // no monotonic reading: the times go to the store and back
	ttl := c.policy.ApprovalTTL()
	a.Created, a.Expires = now, now.Add(ttl)
	data, err := json.Marshal(a)
	if err != nil {
		return e.internal(c, "encode the approval request", err)
	}
	if len(c.policy.Holders(authz.Approve, a.scopes(c.req.Channel), c.subjects)) == 0 {
		warnings = append([]string{fmt.Sprintf("Nobody else may approve this: no other person holds the approve right on every place it covers. "+
			"Unless an admin grants it to someone, it expires unanswered in %s (you may reject it).", durationWords(ttl))}, warnings...)
	}
	p := store.Pending{ID: newID(16), CreatedAt: a.Created, ExpiresAt: a.Expires, State: store.StatePending}
	c.pending = p.ID
	p.Data = e.sealer.Seal(sealKind, p.ID, data)
	// Both rows are in the trail before the request exists (Home finds
	// approvals through the second); a request that then cannot be saved
	// gets its failure recorded after them (commandRow).
	requested := store.Event{Action: "request-approval", Command: auditText(c.text), Pending: p.ID, Target: a.scopeText(), Outcome: plural(len(a.Targets), "session")}
	if err := e.mustCommandRow(ctx, c, requested); err != nil {
		return e.storeDown(c, "write the audit record", err)
	}
	if err := e.st.CreatePending(ctx, p); err != nil {
		return e.storeDown(c, "save the approval request", err)
	}
	rep := bot.Reply{
		Kind:  bot.Pending,
		Title: "Approval needed: " + a.title(),
		Summary: []string{
			"Requested by " + whoText(a.Requester.Name, a.Requester.Subject) + ": " + e.cmdName + " " + auditText(a.Command),
			fmt.Sprintf("Someone else with the approve right clicks Approve (or types %s approve %s); expires in %s (%s UTC).", e.cmdName, p.ID, durationWords(ttl), p.ExpiresAt.UTC().Format(time.DateTime)),
			"Only the sessions listed here are ended.",
		},
		Warnings:   warnings,
		Visibility: bot.InChannel,
		// First, so that a page is fitted with them and they come before
		// Next (see approval.go for the other pages).
		Buttons: []bot.Button{
			{Label: "Approve", ActionID: ActionApprove, Value: p.ID, Style: bot.Primary, Confirm: a.confirmText()},
			{Label: "Reject", ActionID: ActionReject, Value: p.ID, Style: bot.Danger},
		},
	}
	e.paginate(c, &rep, approvalPages(p.ID), targetColumns, a.targetRows(), "sessions.csv")
	return rep
}

// executeTimeout bounds the deletes of one action that runs at once
// (approved actions are jobs: see job.go).
const executeTimeout = 10 * time.Minute

// execute ends the sessions of an action that needs no approval (its
// command row is in the trail already) and audits each outcome, all rows
// in one write. It returns outcome rows and how many failed. The deletes
// run detached from the request's context: once authorized, an action
// must not stop half-way because the chat platform stopped waiting.
func (e *Engine) execute(ctx context.Context, c *call, a action) ([][]string, int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), executeTimeout)
	defer cancel()
	ts := make([]qlik.DeleteTarget, 0, len(a.Targets))
	for _, t := range a.Targets {
		ts = append(ts, qlik.DeleteTarget{Prefix: t.Prefix, Host: t.Host, SessionID: t.SessionID, User: t.user()})
	}
	var outs []qlik.Outcome
	if s := e.siteNamed(a.siteName()); s != nil { // act checked it is served
		outs = s.q.DeleteSessions(ctx, ts)
	}
	h := a.handles()
	rows := make([][]string, 0, len(a.Targets))
	events := make([]store.Event, 0, len(a.Targets))
	results := make([]string, 0, len(a.Targets))
	for i, t := range a.Targets {
		var o qlik.Outcome
		if i < len(outs) {
			o = outs[i]
		}
		res := outcomeText(o, i < len(outs))
		if o.Err != nil && o.Status != qlik.Deleted && o.Status != qlik.AlreadyGone {
			e.log.Warn("delete failed", "request_id", c.id, "target", t.text(h), "err", redactIDs(o.Err.Error()))
		}
		results = append(results, res)
		events = append(events, store.Event{Action: "delete", Command: auditText(a.Command), Target: t.text(h), Outcome: res})
		rows = append(rows, []string{t.VirtualProxy, t.Node, t.user().String(), t.UserName, h.of(t.SessionID), res})
	}
	_ = e.mustAudit(ctx, c, events...) // done is done: a failure is logged loudly
	t := counts(results)
	e.log.Info("sessions ended", "request_id", c.id, "kind", a.Kind, "site", a.siteName(), "scope", a.scopeText(), "targets", len(ts), "failed", t.failed)
	return rows, t.failed
}

// failedWarning points at the table for failed deletes and at the log for
// the details.
func failedWarning(c *call, failed int) string {
	return fmt.Sprintf("%s could not be ended; see the table. The operators have the details in the log (request %s).", plural(failed, "session"), c.id)
}

// outcomeSummary counts the outcomes and says what "already gone" means
// when there is one.
func outcomeSummary(rows [][]string) []string {
	counts := map[string]int{}
	for _, r := range rows {
		o := r[len(r)-1]
		if strings.HasPrefix(o, "failed") {
			o = "failed"
		}
		counts[o]++
	}
	gone := counts[qlik.AlreadyGone.String()]
	lines := []string{fmt.Sprintf("Deleted %d, already gone %d, failed %d", counts[qlik.Deleted.String()], gone, counts["failed"])}
	if gone > 0 {
		lines = append(lines, "Already gone: the session had ended before the delete reached it (logged out or timed out); nothing left to do.")
	}
	return lines
}

// storeDown answers a failed store call (Redis restarting, a bolt file
// locked): the action never started, so the user may simply try again.
func (e *Engine) storeDown(c *call, what string, err error) bot.Reply {
	e.log.Error("state store unavailable", "request_id", c.id, "what", what, "err", redactIDs(err.Error()))
	return bot.Reply{Kind: bot.Error, Title: "State store unavailable", Summary: []string{
		"Could not " + what + ": the state store is unavailable, so nothing was done. Try again in a minute; the operators have the details in the log (request " + c.id + ")."},
		Visibility: bot.Ephemeral}
}

// internal answers an unexpected failure without details (they go to
// the log).
func (e *Engine) internal(c *call, what string, err error) bot.Reply {
	e.log.Error("internal error", "request_id", c.id, "what", what, "err", redactIDs(err.Error()))
	return bot.Reply{Kind: bot.Error, Title: "Something went wrong", Summary: []string{"Could not " + what + ". The operators have the details in the log (request " + c.id + ")."}, Visibility: bot.Ephemeral}
}
