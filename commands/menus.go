package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// Menus instead of typing. A menu's options are command lines; choosing
// one sends it as a qlik.run action, which runs it exactly as if typed,
// with the same parsing and permission checks.

const maxMenuLabel = 70

// kickMenu offers to log out a user of the page, for each one the caller
// may log out: one menu whatever the page size, so the paging buttons are
// never pushed off a card that keeps 5 actions.
func (e *Engine) kickMenu(c *call, us []*userRow) []bot.Menu {
	m := bot.Menu{Label: "Kick a user", Placeholder: "Choose a user to log out", ActionID: ActionRun}
	if !c.policy.NeedsApproval(authz.Logout) {
		m.Confirm = "Log this user out now? Every session of theirs shown here ends."
	}
	for _, u := range us {
		if !e.mayLogout(c, u.locs) {
			continue
		}
		uu := u.user
		m.Options = append(m.Options, bot.Option{
			Label: clipLabel(fmt.Sprintf("%s (%s)", uu, plural(u.count, "session"))),
			Value: Command{Verb: VerbKick, User: &uu}.String(),
		})
	}
	if len(m.Options) == 0 {
		return nil
	}
	return []bot.Menu{m}
}

// proxyMenu narrows a list asked for without a prefix to one virtual
// proxy: "sessions" offers "sessions finance", "users" offers "users
// finance", for each virtual proxy that holds sessions. It is offered only
// when more than one does (otherwise the list is already that narrow).
func proxyMenu(cmd Command, v *view, ss []qlik.LocatedSession) []bot.Menu {
	if len(cmd.Prefixes) > 0 || cmd.User != nil {
		return nil
	}
	perVP := map[string]int{}
	for _, s := range ss {
		perVP[s.VirtualProxy.ID]++
	}
	type choice struct {
		prefix string
		n      int
	}
	var cs []choice
	index := map[string]int{} // folded prefix -> choice: a shared prefix is one choice
	for _, vp := range v.vps {
		n := perVP[vp.ID]
		if n == 0 {
			continue
		}
		key := strings.ToLower(vp.Prefix)
		if i, ok := index[key]; ok {
			cs[i].n += n
			continue
		}
		index[key] = len(cs)
		cs = append(cs, choice{vp.Prefix, n})
	}
	if len(cs) < 2 {
		return nil
	}
	m := bot.Menu{Label: "Show one virtual proxy", Placeholder: "Choose a virtual proxy", ActionID: ActionRun}
	for _, ch := range cs {
		narrow := Command{Verb: cmd.Verb, Prefixes: []string{ch.prefix}, Hosts: cmd.Hosts, Sort: cmd.Sort, Min: cmd.Min}
		m.Options = append(m.Options, bot.Option{Label: clipLabel(fmt.Sprintf("%s (%s)", prefixLabel(ch.prefix), plural(ch.n, "session"))), Value: narrow.String()})
	}
	return []bot.Menu{m}
}

// bareKick answers "kick" typed alone: rather than a usage error, a menu
// of the virtual proxies the caller may kick on. ok is false for any other
// command line.
func (e *Engine) bareKick(ctx context.Context, c *call) (bot.Reply, bool) {
	if f := strings.Fields(c.text); len(f) != 1 || !strings.EqualFold(f[0], VerbKick) {
		return bot.Reply{}, false
	}
	v, r := e.resolve(ctx, c, Command{Verb: VerbKick}, authz.Kick)
	if r != nil {
		return *r, true
	}
	if len(v.vps) == 0 {
		if v.denial != nil {
			return e.denied(c, *v.denial), true
		}
		return e.usage(&UsageError{Verb: VerbKick, Problem: "no virtual proxy you may kick on is linked to a node"}), true
	}
	m := bot.Menu{Label: "Kick every session on a virtual proxy", Placeholder: "Choose a virtual proxy", ActionID: ActionRun}
	seen := map[string]bool{}
	for _, vp := range v.vps {
		key := strings.ToLower(vp.Prefix)
		if seen[key] {
			continue
		}
		seen[key] = true
		label := prefixLabel(vp.Prefix)
		if vp.Description != "" {
			label += ": " + vp.Description
		}
		m.Options = append(m.Options, bot.Option{Label: clipLabel(label), Value: Command{Verb: VerbKick, Prefixes: []string{vp.Prefix}}.String()})
	}
	say := "Choose the virtual proxy whose sessions should end, or type " + e.cmdName + " kick PREFIX (or --user DIR\\ID)."
	if c.policy.NeedsApproval(authz.Kick) {
		say += " The sessions listed then end when someone else approves."
	} else {
		m.Confirm = "End every session on this virtual proxy now?"
	}
	return bot.Reply{Kind: bot.Info, Title: "Kick: which virtual proxy?", Summary: []string{say}, Menus: []bot.Menu{m}, Visibility: bot.Ephemeral}, true
}

func clipLabel(s string) string {
	if len(s) > maxMenuLabel {
		return clip(s[:60])
	}
	return s
}
