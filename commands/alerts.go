package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/watch"
)

// Alerts as messages: what the watcher posts (AlertReply), /qlik alerts,
// and the Silence buttons.

// silenceHour is what "Silence 1 h" silences for.
const silenceHour = time.Hour

// maxKickButtons: more users at the limit than this get a menu instead
// (a Teams card shows about 6 actions, and the Silence buttons come first).
const maxKickButtons = 3

// AlertReply is the message about an alert the watcher posts and updates
// (watch.Renderer): what fires as a table, since when, the silence that
// holds it, and, while it fires, the Silence buttons and, for users at
// the session limit, a Kick button per user (the normal kick --user,
// with its approval).
func (e *Engine) AlertReply(n watch.Notice) bot.Reply {
	d := n.Detail
	summary := d.Summary
	if summary == "" {
		summary = n.Key.Rule + " on site " + n.Key.Site
	}
	r := bot.Reply{Kind: bot.Warning, Title: "Alert: " + summary, Visibility: bot.InChannel}
	at := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	switch n.State {
	case store.AlertResolved:
		r.Kind, r.Title = bot.Success, "Resolved: "+n.Key.Rule+" on site "+n.Key.Site
		r.Summary = []string{fmt.Sprintf("Rule %s fired at %s and cleared at %s (after %s). It was: %s.",
			n.Key.Rule, at(n.FiredAt), at(n.Since), durationWords(n.Since.Sub(n.FiredAt)), summary)}
	default:
		line := fmt.Sprintf("Rule %s, firing since %s.", n.Key.Rule, at(n.FiredAt))
		if n.Notifications > 1 {
			line += fmt.Sprintf(" Still firing: reminder %d.", n.Notifications)
		}
		r.Summary = []string{line}
	}
	if s := n.Silence; s != nil {
		r.Summary = append(r.Summary, silenceText(*s)+".")
	}
	if len(d.Items) > 0 {
		t := &bot.Table{Columns: d.Columns}
		for _, it := range d.Items {
			t.Rows = append(t.Rows, it.Cells)
		}
		t.TotalRows = len(t.Rows)
		r.Table = t
	}
	if n.State != store.AlertFiring {
		return r
	}
	if n.Silence == nil {
		r.Buttons = append(r.Buttons,
			bot.Button{Label: "Silence 1 h", ActionID: ActionSilence, Value: silenceValue("1h", n.Key)},
			bot.Button{Label: "Silence until resolved", ActionID: ActionSilence, Value: silenceValue("resolved", n.Key)})
	}
	r.Buttons, r.Menus = e.kickChoices(n, r.Buttons)
	return r
}

// kickChoices adds, for an alert about users at the limit, a Kick
// button per user (a menu for more than a few): the command a click runs
// is the typed "kick --user DIR\ID", with its checks and its approval.
func (e *Engine) kickChoices(n watch.Notice, buttons []bot.Button) ([]bot.Button, []bot.Menu) {
	return kickButtonsOrMenu(e.kickOptions(n), buttons)
}

// kickButtonsOrMenu adds kicks as buttons, or as a menu (kickUserMenu)
// when there are more than a few.
func kickButtonsOrMenu(kicks []bot.Option, buttons []bot.Button) ([]bot.Button, []bot.Menu) {
	if len(kicks) == 0 {
		return buttons, nil
	}
	if len(kicks) <= maxKickButtons {
		for _, k := range kicks {
			buttons = append(buttons, bot.Button{Label: k.Label, ActionID: ActionRun, Value: k.Value, Style: bot.Danger})
		}
		return buttons, nil
	}
	return buttons, []bot.Menu{kickUserMenu(kicks)}
}

// kickOptions are the "kick --user" of each user an alert names (users
// at the session limit), on the alert's site.
func (e *Engine) kickOptions(n watch.Notice) []bot.Option {
	s := e.siteNamed(n.Key.Site)
	if s == nil || n.Detail.Type != authz.AlertUserSessions {
		return nil
	}
	var kicks []bot.Option
	for _, it := range n.Detail.Items {
		u, err := parseUser(it.User)
		if err != nil {
			continue
		}
		kicks = append(kicks, bot.Option{Label: clipLabel("Kick " + u.String()), Value: Command{Verb: VerbKick, User: &u, Site: e.siteArg(s)}.String()})
	}
	return kicks
}

func silenceValue(dur string, k store.AlertKey) string {
	return dur + "|" + k.Rule + "|" + k.Site + "|" + k.Group
}

// silenceText says who silenced what until when.
func silenceText(s store.Silence) string {
	until := "until it resolves"
	if !s.UntilResolved {
		until = "until " + s.Until.UTC().Format("2006-01-02 15:04 UTC")
	}
	return "Silenced by " + s.By + " " + until
}

// silence answers a Silence button: the subscribe right on the alert's
// site, the alert still firing, then the silence is saved and audited.
// The watcher updates the alert's messages at its next sample.
func (e *Engine) silence(ctx context.Context, c *call, value string) bot.Reply {
	parts := strings.Split(value, "|")
	bad := bot.Reply{Kind: bot.Usage, Title: "Unknown alert", Visibility: bot.Ephemeral, Summary: []string{"That button does not name an alert."}}
	if len(parts) != 4 || (parts[0] != "1h" && parts[0] != "resolved") || authz.CheckRuleName(parts[1]) != nil ||
		authz.CheckSiteName(parts[2]) != nil || len(parts[3]) > 256 {
		c.note("denied", "not an alert", "")
		return bad
	}
	if e.watch == nil {
		return e.watchCommand(ctx, c, Command{Verb: VerbAlerts})
	}
	key := store.AlertKey{Rule: parts[1], Site: parts[2], Group: parts[3]}
	c.site = key.Site
	target := key.Rule + " on site " + key.Site
	if d := e.mayWatch(c, key.Site, target); !d.Allowed {
		return e.denied(c, d)
	}
	a, err := e.watch.st.GetAlert(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && a.State != store.AlertFiring:
		return bot.Reply{Kind: bot.Info, Title: "Not firing", Visibility: bot.Ephemeral, Summary: []string{
			"The alert " + target + " is not firing any more; nothing was silenced."}}
	case err != nil:
		return e.storeDown(c, "read the alert", err)
	}
	now := e.now().Round(0)
	s := store.Silence{ID: newID(16), Rule: key.Rule, Site: key.Site, Group: key.Group, By: c.subject, CreatedAt: now}
	if parts[0] == "1h" {
		s.Until = now.Add(silenceHour)
	} else {
		s.UntilResolved = true
		// It holds the firings that started by CreatedAt: never before
		// the one read here, whichever replica's clock dated it.
		if a.FiredAt.After(now) {
			s.CreatedAt = a.FiredAt
		}
	}
	if err := e.watch.st.PutSilence(ctx, s); err != nil {
		if errors.Is(err, store.ErrLimit) {
			return bot.Reply{Kind: bot.Error, Title: "Too many silences", Visibility: bot.Ephemeral, Summary: []string{
				fmt.Sprintf("qlikbot keeps at most %d silences; nothing was silenced.", store.MaxSilences)}}
		}
		return e.storeDown(c, "save the silence", err)
	}
	text := silenceText(s)
	e.audit(ctx, c, store.Event{Action: "silence", Target: target, Pending: s.ID, Outcome: strings.ToLower(text[:1]) + text[1:]})
	return bot.Reply{Kind: bot.Success, Title: "Silenced: " + target, Visibility: bot.InChannel, Summary: []string{
		text + ": its messages are not repeated meanwhile. The watcher marks them at its next sample."}}
}

// alerts lists the alerts (firing first, then resolved, newest first) of
// the sites c may list every virtual proxy of, the silences, the rules
// and the channel's subscription.
func (e *Engine) alerts(ctx context.Context, c *call, cmd Command) bot.Reply {
	sites, r := e.chooseSites(c, cmd, true)
	if r != nil {
		return *r
	}
	var shown []*site
	var denial *authz.Decision
	for _, s := range sites {
		d := c.policy.Decide(c.subjects, authz.List, authz.Scope{VirtualProxy: "*", Channel: c.req.Channel, Site: s.name})
		if d.HostRestricted {
			// An alert sums the whole site (every node): a grant limited
			// to some hosts does not cover it.
			d.Allowed = false
			d.Reason = fmt.Sprintf("%s may %q only on some hosts, and alerts cover every host of site %s", d.Subject, authz.List, s.name)
		}
		if d.Allowed {
			shown = append(shown, s)
		} else if denial == nil {
			denial = &d
		}
	}
	c.site = strings.Join(siteNames(shown), ",")
	if len(shown) == 0 {
		c.note("denied", denial.Reason, "")
		return e.denied(c, *denial)
	}
	c.note("allowed", "alerts of "+c.site, "")
	as, err := e.watch.st.ListAlerts(ctx)
	if err != nil {
		return e.storeDown(c, "read the alerts", err)
	}
	now := e.now()
	silences, err := e.watch.st.ListSilences(ctx, now)
	if err != nil {
		return e.storeDown(c, "read the silences", err)
	}
	as = slices.DeleteFunc(as, func(a store.Alert) bool {
		return !slices.ContainsFunc(shown, func(s *site) bool { return s.name == a.Key.Site })
	})
	slices.SortStableFunc(as, func(a, b store.Alert) int {
		if (a.State == store.AlertFiring) != (b.State == store.AlertFiring) {
			if a.State == store.AlertFiring {
				return -1
			}
			return 1
		}
		return b.Since.Compare(a.Since)
	})
	reply := bot.Reply{Kind: bot.Info, Title: "Alerts", Visibility: listVisibility(c)}
	firing := 0
	var rows [][]string
	var kick []bot.Option
	var silenceMenu []bot.Option
	for _, a := range as {
		n := watch.NoticeOf(e.sealer, a, silences, now)
		state, held := string(a.State), ""
		if n.Silence != nil {
			held = silenceText(*n.Silence)
		}
		if a.State == store.AlertFiring {
			firing++
			if n.Silence == nil {
				silenceMenu = append(silenceMenu, bot.Option{Label: clipLabel(a.Key.Rule + " on " + a.Key.Site), Value: silenceValue("1h", a.Key)})
			}
			kick = append(kick, e.kickOptions(n)...)
		}
		what := n.Detail.Summary
		if len(n.Detail.Items) > 0 {
			var keys []string
			for _, it := range n.Detail.Items {
				keys = append(keys, it.Key)
			}
			what += ": " + strings.Join(keys, ", ")
		}
		rows = append(rows, []string{a.Key.Rule, a.Key.Site, state, a.Since.UTC().Format("2006-01-02 15:04"), clipTo(what, 120), held})
	}
	reply.Facts = []bot.Fact{{Label: "Firing", Value: fmt.Sprint(firing)}, {Label: "Resolved lately", Value: fmt.Sprint(len(as) - firing)}}
	if firing > 0 {
		reply.Kind = bot.Warning
	}
	reply.Summary = append(reply.Summary, e.rulesLine(c))
	if line, err := e.subscriptionLine(ctx, c); err == nil {
		reply.Summary = append(reply.Summary, line)
	}
	for _, s := range silences {
		if slices.ContainsFunc(shown, func(x *site) bool { return s.Site == "" || x.name == s.Site }) {
			reply.Summary = append(reply.Summary, fmt.Sprintf("Silence %s: %s on site %s. %s.", s.ID[:8], s.Rule, anySite(s.Site), silenceText(s)))
		}
	}
	if len(as) == 0 {
		reply.Summary = append(reply.Summary, "No alert has fired lately.")
	}
	e.paginate(c, &reply, cmd, []string{"Rule", "Site", "State", "Since (UTC)", "What", "Silenced"}, rows, "alerts.csv")
	var menus []bot.Menu
	reply.Buttons, menus = kickButtonsOrMenu(kick, reply.Buttons)
	reply.Menus = append(reply.Menus, menus...)
	if len(silenceMenu) > 0 {
		reply.Menus = append(reply.Menus, bot.Menu{Label: "Silence for 1 h", Placeholder: "Choose an alert", ActionID: ActionSilence, Options: silenceMenu})
	}
	return reply
}

func anySite(s string) string {
	if s == "" {
		return "every site"
	}
	return s
}

// rulesLine names the alert rules in force.
func (e *Engine) rulesLine(c *call) string {
	rules := e.rules(c)
	if len(rules) == 0 {
		return "Rules: none (the policy's alerts section has no rules)."
	}
	var names []string
	for _, r := range rules {
		names = append(names, r.Name+" ("+string(r.Type)+")")
	}
	return "Rules: " + strings.Join(names, ", ") + "."
}

// subscriptionLine says whether c's channel is subscribed.
func (e *Engine) subscriptionLine(ctx context.Context, c *call) (string, error) {
	dst, ok := destination(c.req)
	if !ok {
		return "", errors.New("no channel")
	}
	subs, err := e.watch.st.ListSubscriptions(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range subs {
		if s.Platform == string(dst.Platform) && s.Channel == dst.Channel {
			what := "every rule"
			if len(s.Rules) > 0 {
				what = strings.Join(s.Rules, ", ")
			}
			return fmt.Sprintf("This channel is subscribed to %s (by %s).", what, s.By), nil
		}
	}
	var direct []string
	rules := e.rules(c)
	for _, r := range rules {
		if dst.Platform == bot.Console && r.Post.Console || dst.Platform == bot.Slack && slices.Contains(r.Post.Slack, dst.Channel) {
			direct = append(direct, r.Name)
		}
	}
	if len(direct) > 0 && len(direct) == len(rules) {
		return "Every rule posts here (the policy says so).", nil
	}
	if len(direct) > 0 {
		return "The rules " + strings.Join(direct, ", ") + " post here; " + e.cmdName + " subscribe adds the others.", nil
	}
	return "This channel is not subscribed: " + e.cmdName + " subscribe posts alerts here.", nil
}
