package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
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
}

type requester struct {
	Subject   string   `json:"subject"`
	Subjects  []string `json:"subjects"`
	Name      string   `json:"name,omitempty"`
	Platform  string   `json:"platform"`
	Channel   string   `json:"channel,omitempty"`
	RequestID string   `json:"requestId"`
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

func (t target) text() string {
	return prefixWord(t.Prefix) + "@" + t.Host + "/" + t.SessionID + " " + t.user().String()
}

func decodeAction(data []byte) (action, error) {
	var a action
	if err := json.Unmarshal(data, &a); err != nil {
		return a, fmt.Errorf("decode pending action: %w", err)
	}
	for _, t := range a.Targets { // stored data goes into URLs: check it as if typed
		if checkPrefix(t.Prefix) != nil || !validHost(t.Host) || !uuidRE.MatchString(t.SessionID) {
			return a, fmt.Errorf("decode pending action: bad target %q", clip(t.text()))
		}
	}
	return a, nil
}

// scopeText names what an action touches, for titles and the audit trail.
func (a action) scopeText() string {
	var ps []string
	for _, p := range a.Prefixes {
		ps = append(ps, prefixLabel(p))
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
		return fmt.Sprintf("log %s out (%s)", a.User, s)
	default:
		return fmt.Sprintf("end %s on %s", s, a.scopeText())
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// act runs delete and kick: find the sessions, check the permission on
// every (virtual proxy, node) they live on, then run now or ask for an
// approval.
func (e *Engine) act(ctx context.Context, c *call, cmd Command) bot.Reply {
	a := action{Kind: cmd.Verb, Permission: authz.Delete, Command: c.text, Prefixes: cmd.Prefixes, Hosts: cmd.Hosts,
		Requester: requester{Subject: c.subject, Subjects: c.subjects, Name: c.req.User.Name, Platform: string(c.req.Platform), Channel: c.req.Channel, RequestID: c.id}}
	switch {
	case cmd.Verb == VerbKick && cmd.User != nil:
		a.Kind, a.Permission, a.User = "logout", authz.Logout, cmd.User.String()
	case cmd.Verb == VerbKick:
		a.Permission = authz.Kick
	}
	v, r := e.resolve(ctx, c, cmd, a.Permission)
	if r != nil {
		return *r
	}
	dec, reason := v.decisionText(a.Permission)
	if len(v.vps) == 0 && v.denial != nil {
		dec = "denied" // unlinked proxies alone leave nothing to act on
	}
	e.audit(ctx, c, store.Event{Action: "decision", Command: clipAudit(c.text), Decision: dec, Reason: reason, Target: a.scopeText()})
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
		warnings = append(warnings, "No answer, not included: "+pe.Error())
	}
	if v.refused > 0 || len(v.hidden) > 0 {
		warnings = append(warnings, fmt.Sprintf("Not included: %d (virtual proxy, node) places where you may not %s", v.refused+len(v.hidden), a.Permission))
	}
	var missing [][]string
	found := sl.Sessions
	if cmd.Verb == VerbDelete {
		found = nil
		for _, id := range cmd.SessionIDs {
			i := slices.IndexFunc(sl.Sessions, func(s qlik.LocatedSession) bool { return strings.EqualFold(s.ID, id) })
			if i < 0 {
				note := "not found on virtual proxy " + prefixLabel(cmd.Prefixes[0])
				if len(sl.Errors) > 0 || v.refused > 0 {
					note += " (on the nodes asked)"
				}
				missing = append(missing, []string{prefixLabel(cmd.Prefixes[0]), "", "", "", id, note})
				continue
			}
			found = append(found, sl.Sessions[i])
		}
	}
	for _, s := range found {
		a.Targets = append(a.Targets, target{Prefix: s.VirtualProxy.Prefix, VirtualProxy: vpLabel(v.topo, s.VirtualProxy), Host: s.Proxy.Node.HostName,
			Node: s.Proxy.Node.Name, SessionID: s.ID, UserDirectory: s.UserDirectory, UserID: s.UserID, UserName: s.UserName})
	}
	if len(a.Targets) == 0 {
		rep := bot.Reply{Kind: bot.Info, Title: "No sessions to end", Summary: []string{"Nothing matched " + a.scopeText() + "."}, Warnings: warnings, Visibility: listVisibility(c)}
		if len(missing) > 0 {
			rep.Table = &bot.Table{Columns: outcomeColumns, Rows: missing, TotalRows: len(missing)}
		}
		return rep
	}
	if c.policy.NeedsApproval(a.Permission) {
		return e.requestApproval(ctx, c, a, warnings)
	}
	rows, failed := e.execute(ctx, c, a, "", nil)
	rows = append(rows, missing...)
	rep := bot.Reply{Kind: bot.Success, Title: "Done: " + a.title(), Visibility: listVisibility(c), Warnings: warnings}
	rep.Summary = []string{outcomeSummary(rows)}
	if failed > 0 || len(missing) > 0 {
		rep.Kind = bot.Warning
	}
	e.paginate(c, &rep, Command{}, outcomeColumns, rows, "outcome.csv")
	return rep
}

var targetColumns = []string{"Virtual proxy", "Node", "User", "User name", "Session ID"}
var outcomeColumns = []string{"Virtual proxy", "Node", "User", "User name", "Session ID", "Outcome"}

func (e *Engine) requestApproval(ctx context.Context, c *call, a action, warnings []string) bot.Reply {
	data, err := json.Marshal(a)
	if err != nil {
		return e.internal(c, "encode the approval request", err)
	}
	now := e.now()
	ttl := c.policy.ApprovalTTL()
	p := store.Pending{ID: newID(16), CreatedAt: now, ExpiresAt: now.Add(ttl), State: store.StatePending, Data: data}
	if err := e.st.CreatePending(ctx, p); err != nil {
		return e.storeDown(c, "save the approval request", err)
	}
	e.audit(ctx, c, store.Event{Action: "request-approval", Command: clipAudit(c.text), Pending: p.ID, Target: a.scopeText(), Outcome: plural(len(a.Targets), "session")})
	rows := make([][]string, 0, len(a.Targets))
	for _, t := range a.Targets {
		rows = append(rows, []string{t.VirtualProxy, t.Node, t.user().String(), t.UserName, t.SessionID})
	}
	who := a.Requester.Subject
	if a.Requester.Name != "" {
		who = a.Requester.Name + " (" + who + ")"
	}
	rep := bot.Reply{
		Kind:  bot.Pending,
		Title: "Approval needed: " + a.title(),
		Summary: []string{
			"Requested by " + who + ": " + e.cmdName + " " + clipAudit(a.Command),
			fmt.Sprintf("Someone else with the approve right clicks Approve (or types %s approve %s); expires in %s (%s UTC).", e.cmdName, p.ID, ttl, p.ExpiresAt.UTC().Format(time.DateTime)),
			"Only the sessions listed here are ended.",
		},
		Warnings:   warnings,
		Visibility: bot.InChannel,
	}
	e.paginate(c, &rep, Command{}, targetColumns, rows, "sessions.csv")
	rep.Buttons = []bot.Button{
		{Label: "Approve", ActionID: ActionApprove, Value: p.ID, Style: bot.Primary, Confirm: clip("End "+plural(len(a.Targets), "session")+" ("+a.scopeText()) + ")?"},
		{Label: "Reject", ActionID: ActionReject, Value: p.ID, Style: bot.Danger},
	}
	return rep
}

// executeTimeout bounds the deletes of one action (thousands of sessions
// at the client's rate limit take minutes).
const executeTimeout = 10 * time.Minute

// execute ends the action's sessions and audits each one. It returns
// outcome rows and how many failed. With a progress reporter the deletes
// run in batches (each concurrent inside the Qlik client) and prog reports
// between them; without one, in a single call. The deletes run detached
// from the request's context: once authorized (and claimed), an action
// must not stop half-way because the chat platform stopped waiting.
func (e *Engine) execute(ctx context.Context, c *call, a action, pendingID string, prog *reporter) ([][]string, int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), executeTimeout)
	defer cancel()
	defer prog.wait() // before cancel: a progress reply on its way uses ctx
	ts := make([]qlik.DeleteTarget, 0, len(a.Targets))
	for _, t := range a.Targets {
		ts = append(ts, qlik.DeleteTarget{Prefix: t.Prefix, Host: t.Host, SessionID: t.SessionID, User: t.user()})
	}
	size := len(ts)
	if prog != nil {
		size = max(e.batch, 1)
	}
	rows := make([][]string, 0, len(a.Targets))
	var sofar tally
	for start := 0; start < len(ts); start += size {
		end := min(start+size, len(ts))
		outs := e.q.DeleteSessions(ctx, ts[start:end])
		for i, t := range a.Targets[start:end] {
			o := qlik.Outcome{Status: qlik.Failed}
			if i < len(outs) {
				o = outs[i]
			}
			sofar.add(o)
			res := o.Status.String()
			switch {
			case i >= len(outs):
				res = "failed: no outcome"
			case o.Status == qlik.Failed || o.Status == 0:
				res = "failed"
				if o.Err != nil {
					res += ": " + o.Err.Error()
				}
			}
			e.audit(ctx, c, store.Event{Action: "delete", Command: clipAudit(a.Command), Target: t.text(), Outcome: res, Pending: pendingID})
			rows = append(rows, []string{t.VirtualProxy, t.Node, t.user().String(), t.UserName, t.SessionID, res})
		}
		if end < len(ts) {
			prog.update(ctx, sofar)
		}
	}
	e.log.Info("sessions ended", "request_id", c.id, "kind", a.Kind, "scope", a.scopeText(), "targets", len(ts), "failed", sofar.failed, "pending", pendingID)
	return rows, sofar.failed
}

func outcomeSummary(rows [][]string) string {
	counts := map[string]int{}
	for _, r := range rows {
		o := r[len(r)-1]
		switch {
		case strings.HasPrefix(o, "failed"):
			o = "failed"
		case strings.HasPrefix(o, "not found"):
			o = "not found"
		}
		counts[o]++
	}
	return fmt.Sprintf("Deleted %d, already gone %d, failed %d, not found %d",
		counts[qlik.Deleted.String()], counts[qlik.AlreadyGone.String()], counts["failed"], counts["not found"])
}

// storeDown answers a failed store call (Redis restarting, a bolt file
// locked): the action never started, so the user may simply try again.
func (e *Engine) storeDown(c *call, what string, err error) bot.Reply {
	e.log.Error("state store unavailable", "request_id", c.id, "what", what, "err", err)
	return bot.Reply{Kind: bot.Error, Title: "State store unavailable", Summary: []string{
		"Could not " + what + ": the state store is unavailable, so nothing was done. Try again in a minute; the operators have the details in the log (request " + c.id + ")."},
		Visibility: bot.Ephemeral}
}

// internal answers an unexpected failure without details (they go to
// the log).
func (e *Engine) internal(c *call, what string, err error) bot.Reply {
	e.log.Error("internal error", "request_id", c.id, "what", what, "err", err)
	return bot.Reply{Kind: bot.Error, Title: "Something went wrong", Summary: []string{"Could not " + what + ". The operators have the details in the log (request " + c.id + ")."}, Visibility: bot.Ephemeral}
}
