package commands

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// The audit trail holds one "command" row per request (the command as
// typed, or the click, with its decision and, unless it acted, its
// outcome), then one row per thing done: request-approval, approve,
// reject, expire, delete (one per session) and tamper. The command row is
// written before anything is deleted or claimed; a command that only
// reads is written when it is answered.

// audit appends one event, filling in who and when. A failed write is
// logged loudly and never undoes or hides the action itself; what must be
// in the trail before it happens uses mustAudit instead.
func (e *Engine) audit(ctx context.Context, c *call, ev store.Event) {
	_ = e.writeAudit(ctx, c, e.event(c, ev))
}

// mustAudit appends events (filled in with event) in one write and
// returns the error, so that the caller does nothing it could not record.
func (e *Engine) mustAudit(ctx context.Context, c *call, evs ...store.Event) error {
	for i := range evs {
		evs[i] = e.event(c, evs[i])
	}
	return e.writeAudit(ctx, c, evs...)
}

// writeAudit appends filled-in events in one write, even when the
// request's context is gone; a failure is logged loudly and returned.
func (e *Engine) writeAudit(ctx context.Context, c *call, evs ...store.Event) error {
	if len(evs) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteTimeout)
	defer cancel()
	err := e.st.AppendAudit(wctx, evs...)
	if err != nil {
		ev := evs[0]
		e.log.Error("AUDIT WRITE FAILED", "request_id", c.id, "action", ev.Action, "target", ev.Target,
			"outcome", ev.Outcome, "subject", ev.Subject, "events", len(evs), "err", err)
	}
	return err
}

// auditWriteTimeout bounds one audit write.
const auditWriteTimeout = 5 * time.Second

// event fills in who and when of an audit event, without writing it.
func (e *Engine) event(c *call, ev store.Event) store.Event {
	ev.Time = e.now()
	ev.RequestID = c.id
	ev.Platform = string(c.req.Platform)
	ev.Subject = c.subject
	ev.UserName = c.req.User.Name
	ev.Channel = c.req.Channel
	if ev.Site == "" {
		ev.Site = c.site
	}
	// Belt and braces: whatever a caller put in the event, no session id
	// reaches the trail in full.
	// The approval id the store knows (c.pending) is kept.
	ev.Command, ev.Target = redactIDs(ev.Command, c.pending), redactIDs(ev.Target, c.pending)
	ev.Reason, ev.Outcome = redactIDs(ev.Reason, c.pending), redactIDs(ev.Outcome, c.pending)
	return ev
}

// auditText is a command line as the audit trail and replies quote it:
// session ids cut to handles (but the approval ids of keep), at most 500
// bytes.
func auditText(s string, keep ...string) string {
	return clipN(redactIDs(s, keep...), 500)
}

// note records the command's decision for its audit row.
func (c *call) note(decision, reason, target string) {
	c.decision, c.reason, c.target = decision, reason, target
}

// commandRow writes the command's audit row once; later calls do nothing.
func (e *Engine) commandRow(ctx context.Context, c *call, outcome string) {
	if c.audited {
		if outcome != "" {
			// The row went in before the command acted (mustCommandRow,
			// StartJob): what went wrong after is recorded after it.
			e.audit(ctx, c, store.Event{Action: "outcome", Command: auditText(c.text, c.pending), Pending: c.pending, Target: c.target, Outcome: outcome})
		}
		return
	}
	c.audited = true
	e.audit(ctx, c, e.commandEvent(c, outcome))
}

// mustCommandRow writes the command's audit row before the command acts:
// an error means nothing may be done (and the row is left for Handle to
// try again with the refusal as its outcome).
func (e *Engine) mustCommandRow(ctx context.Context, c *call, also ...store.Event) error {
	if c.audited {
		return nil
	}
	if err := e.mustAudit(ctx, c, append([]store.Event{e.commandEvent(c, "")}, also...)...); err != nil {
		return err
	}
	c.audited = true
	return nil
}

// commandEvent is the command's audit row, not yet filled in.
func (e *Engine) commandEvent(c *call, outcome string) store.Event {
	return store.Event{Action: "command", Command: auditText(c.text, c.pending), Decision: c.decision, Reason: c.reason,
		Target: c.target, Pending: c.pending, Outcome: outcome}
}

// outcomeOf sums up a reply for the audit trail: for a refusal, a
// mistake or a failure, its kind and first line; otherwise nothing (the
// decision, and the rows of what was done, say it).
func outcomeOf(r bot.Reply) string {
	switch r.Kind {
	case bot.Usage, bot.Error, bot.Denied, bot.Warning:
		first := r.Title
		if len(r.Summary) > 0 {
			first = r.Summary[0]
		}
		return r.Kind.String() + ": " + clip(first)
	}
	return ""
}

// auditActions are what --action accepts: the trail's actions, then the
// command verbs (matching command rows).
func auditActions() []string {
	return append([]string{"command", "decision", "request-approval", "approve", "reject", "expire", "delete", "job", "tamper", "silence", "unsilence", "outcome"}, verbOrder...)
}

// checkActor keeps a --user filter to one printable word.
func checkActor(s string) error {
	switch {
	case s == "", len(s) > maxUserPart:
		return fmt.Errorf("give a subject, an id or a name of at most %d bytes", maxUserPart)
	case !utf8.ValidString(s), strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }):
		return errors.New("one word, without spaces or control characters")
	}
	return nil
}

var sinceRE = regexp.MustCompile(`^([0-9]{1,4})([mhd])$`)

// sinceTime reads --since relative to now: 30m, 2h, 7d (at most 9999 of
// a unit), a date (midnight UTC) or an RFC 3339 time.
func sinceTime(s string, now time.Time) (time.Time, error) {
	if m := sinceRE.FindStringSubmatch(strings.ToLower(s)); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
		return now.Add(-time.Duration(n) * unit), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("write 30m, 2h, 7d, a date like 2026-11-22 or a time like 2026-11-22T09:00:00Z")
}

// auditScope is where the audit permission is checked: the trail covers
// every virtual proxy, so it takes a grant on all of them ("*"); and
// every site, unless --site keeps the rows of one (or there is one).
func (e *Engine) auditScope(c *call, cmd Command) (authz.Scope, *bot.Reply) {
	s := authz.Scope{VirtualProxy: "*", Channel: c.req.Channel}
	switch {
	case cmd.Site != "":
		sites, r := e.chooseSites(c, cmd, false)
		if r != nil {
			return s, r
		}
		s.Site = sites[0].name
		c.site = s.Site
	case !e.multi():
		s.Site = e.defSite().name
	}
	return s, nil
}

// auditScan bounds how many of the newest events one /qlik audit reads:
// the filters run here, over RecentAudit, rather than in the store, so a
// filter that matches little costs at most this many events decoded.
const auditScan = 5000

// Widths of the audit table's columns, so that a console line fits in
// 120 columns (two spaces between columns): 19+18+16+30+27+8 = 118.
const (
	auditWhoW    = 18
	auditActionW = 16
	auditTargetW = 30
	auditResultW = 27
)

func (e *Engine) auditTrail(ctx context.Context, c *call, cmd Command) bot.Reply {
	s, r := e.auditScope(c, cmd)
	if r != nil {
		return *r
	}
	d := e.decide(c, authz.Audit, s, "audit trail")
	if !d.Allowed {
		return e.denied(c, d)
	}
	now := e.now()
	var since time.Time
	if cmd.Since != "" {
		since, _ = sinceTime(cmd.Since, now) // Parse checked it
	}
	evs, err := e.st.RecentAudit(ctx, auditScan)
	if err != nil {
		e.log.Error("read audit trail", "request_id", c.id, "err", err)
		return bot.Reply{Kind: bot.Error, Title: "Audit trail unavailable", Summary: []string{"Could not read the audit trail; the operators have the details in the log (request " + c.id + ")."}, Visibility: bot.Ephemeral}
	}
	t := &bot.Table{Columns: []string{"Time (UTC)", "Who", "Action", "Target", "Result"}}
	hidden := 0
	var match []store.Event // every matching event of the scan, newest first
	for _, ev := range evs {
		if !since.IsZero() && ev.Time.Before(since) {
			break // newest first: the rest is older
		}
		if !e.auditMatch(c, cmd, ev) {
			if cmd.Action == "" && auditVerb(ev) == VerbAudit && len(match) < cmd.N {
				hidden++
			}
			continue
		}
		match = append(match, ev)
	}
	window, keys, cmd, ue := auditWindow(match, cmd)
	if ue != nil {
		return e.usage(ue)
	}
	for _, ev := range window {
		t.Rows = append(t.Rows, e.auditRow(ev))
	}
	summary := []string{fmt.Sprintf("%s, newest first", plural(len(t.Rows), "event"))}
	var filters []string
	if cmd.Actor != "" {
		filters = append(filters, "by "+cmd.Actor)
	}
	if cmd.Action != "" {
		filters = append(filters, "action "+cmd.Action)
	}
	if cmd.Since != "" {
		filters = append(filters, "since "+since.UTC().Format(time.DateTime)+" UTC")
	}
	if cmd.Site != "" {
		filters = append(filters, "site "+cmd.Site)
	}
	if len(filters) > 0 {
		summary[0] += " (" + strings.Join(filters, ", ") + ")"
	}
	if hidden > 0 {
		summary = append(summary, plural(hidden, "read")+" of the audit trail itself left out (--action audit shows them).")
	}
	if len(evs) == auditScan && len(t.Rows) < cmd.N {
		summary = append(summary, fmt.Sprintf("Searched the newest %d events.", auditScan))
	}
	reply := bot.Reply{Kind: bot.Info, Title: "Audit trail", Summary: summary, Visibility: bot.Ephemeral}
	e.paginateKeyed(c, &reply, cmd, t.Columns, t.Rows, keys, "audit.csv", nil)
	return reply
}

// auditVerb is the command verb of a command row ("" for other rows).
func auditVerb(ev store.Event) string {
	if ev.Action != "command" {
		return ""
	}
	v, _, _ := strings.Cut(strings.TrimSpace(ev.Command), " ")
	return strings.ToLower(v)
}

// auditMatch applies the filters; without --action, reads of the audit
// trail itself are left out.
func (e *Engine) auditMatch(c *call, cmd Command, ev store.Event) bool {
	verb := auditVerb(ev)
	switch {
	case cmd.Action == "" && verb == VerbAudit:
		return false
	case cmd.Action != "" && ev.Action != cmd.Action && verb != cmd.Action:
		return false
	case cmd.Site != "" && !slices.Contains(strings.Split(ev.Site, ","), cmd.Site):
		return false
	}
	if cmd.Actor == "" {
		return true
	}
	a := strings.ToLower(cmd.Actor)
	_, id, _ := strings.Cut(ev.Subject, ":")
	if strings.EqualFold(ev.Subject, a) || strings.EqualFold(id, a) || strings.EqualFold(ev.UserName, a) {
		return true
	}
	person, ok := c.policy.Person([]string{ev.Subject})
	return ok && strings.EqualFold(person, a)
}

// auditRow is one event as the table shows it. The subject is always
// written as the platform gave it ("slack:U0LEAD"), a command row's
// action is the command as typed ("/qlik kick"), and long cells are
// shortened to their column.
func (e *Engine) auditRow(ev store.Event) []string {
	action, target := ev.Action, ev.Target
	if ev.Action == "command" {
		action = e.cmdName + " " + auditVerb(ev)
		target = ev.Command
	}
	if ev.Pending != "" {
		target = strings.TrimSpace(target + " [approval " + ev.Pending[:min(8, len(ev.Pending))] + "]")
	}
	if e.multi() && ev.Site != "" {
		target = ev.Site + ": " + target
	}
	result := ev.Decision
	switch {
	case ev.Decision == "denied" && ev.Reason != "":
		result += ": " + ev.Reason // the outcome repeats it
	case ev.Action == "tamper":
		result = ev.Outcome + ": " + ev.Reason
	case ev.Outcome != "" && (ev.Decision == "" || ev.Action == "command"):
		result = ev.Outcome // a mistake, a failure, or what was done
	case ev.Outcome != "":
		result += "; " + ev.Outcome
	}
	return []string{ev.Time.UTC().Format(time.DateTime), clipTo(ev.Subject, auditWhoW), clipTo(action, auditActionW),
		clipTo(target, auditTargetW), clipTo(result, auditResultW)}
}

// clipTo shortens s to at most n runes, ending in "…" when cut.
func clipTo(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
