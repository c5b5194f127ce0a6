package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
)

// Menus instead of typing. A menu's options are command lines; choosing
// one sends it as a qlik.run action, which runs it exactly as if typed,
// with the same parsing and permission checks.

const maxMenuLabel = 70

// kickMenu offers to log out a user of the page, for each one the caller
// may log out: one menu whatever the page size, so the paging buttons are
// never pushed off a card that keeps 5 actions.
func (e *Engine) kickMenu(c *call, g *gathered, us []*userRow) []bot.Menu {
	m := kickUserMenu(nil)
	if !c.policy.NeedsApproval(authz.Logout) {
		m.Confirm = "Log this user out now? Every session of theirs shown here ends."
	}
	for _, u := range us {
		if !e.mayLogout(c, u.site, u.locs) {
			continue
		}
		uu := u.user
		m.Options = append(m.Options, bot.Option{
			Label: clipLabel(fmt.Sprintf("%s%s (%s)", g.label(u.site), uu, plural(u.count, "session"))),
			Value: Command{Verb: VerbKick, User: &uu, Site: e.siteArg(u.site)}.String(),
		})
	}
	if len(m.Options) == 0 {
		return nil
	}
	return []bot.Menu{m}
}

// kickUserMenu is the "Kick a user" menu of kicks ("kick --user" commands).
func kickUserMenu(kicks []bot.Option) bot.Menu {
	return bot.Menu{Label: "Kick a user", Placeholder: "Choose a user to log out", ActionID: ActionRun, Options: kicks}
}

// siteArg is the --site a command made for s carries: its name when the
// engine serves several sites, so the command runs where its menu was.
func (e *Engine) siteArg(s *site) string {
	if !e.multi() {
		return ""
	}
	return s.name
}

// proxyMenu narrows a list asked for without a prefix to one virtual
// proxy: "sessions" offers "sessions finance", "users" offers "users
// finance", for each virtual proxy that holds sessions (per site). It is
// offered only when more than one does (otherwise the list is already
// that narrow).
func (e *Engine) proxyMenu(cmd Command, g *gathered) []bot.Menu {
	if len(cmd.Prefixes) > 0 || cmd.User != nil {
		return nil
	}
	type choice struct {
		site   *site
		prefix string
		n      int
	}
	var cs []choice
	index := map[string]int{} // site and folded prefix -> choice: a shared prefix is one choice
	for _, sr := range g.shown {
		perVP := map[string]int{}
		for _, s := range sr.sl.Sessions {
			perVP[s.VirtualProxy.ID]++
		}
		for _, vp := range sr.v.vps {
			n := perVP[vp.ID]
			if n == 0 {
				continue
			}
			key := sr.s.name + "\x00" + strings.ToLower(vp.Prefix)
			if i, ok := index[key]; ok {
				cs[i].n += n
				continue
			}
			index[key] = len(cs)
			cs = append(cs, choice{sr.s, vp.Prefix, n})
		}
	}
	if len(cs) < 2 {
		return nil
	}
	m := bot.Menu{Label: "Show one virtual proxy", Placeholder: "Choose a virtual proxy", ActionID: ActionRun}
	for _, ch := range cs {
		narrow := Command{Verb: cmd.Verb, Prefixes: []string{ch.prefix}, Hosts: cmd.Hosts, Sort: cmd.Sort, Min: cmd.Min, Site: e.siteArg(ch.site)}
		m.Options = append(m.Options, bot.Option{Label: clipLabel(fmt.Sprintf("%s%s (%s)", g.label(ch.site), prefixLabel(ch.prefix), plural(ch.n, "session"))), Value: narrow.String()})
	}
	return []bot.Menu{m}
}

// bareKick answers "kick" typed alone (or with --site only): rather than
// a usage error, a menu of the virtual proxies the caller may kick on.
// ok is false for any other command line.
func (e *Engine) bareKick(ctx context.Context, c *call) (bot.Reply, bool) {
	f := strings.Fields(c.text)
	if len(f) == 0 || !strings.EqualFold(f[0], VerbKick) {
		return bot.Reply{}, false
	}
	cmd := Command{Verb: VerbKick}
	switch {
	case len(f) == 1:
	case len(f) == 2 && strings.HasPrefix(strings.ToLower(f[1]), "--site="):
		cmd.Site = f[1][len("--site="):]
	case len(f) == 3 && strings.EqualFold(f[1], "--site"):
		cmd.Site = f[2]
	default:
		return bot.Reply{}, false
	}
	if cmd.Site != "" && authz.CheckSiteName(cmd.Site) != nil {
		return bot.Reply{}, false // Parse says what is wrong with it
	}
	sites, r := e.chooseSites(c, cmd, true)
	if r != nil {
		return *r, true
	}
	c.site = strings.Join(siteNames(sites), ",")
	m := bot.Menu{Label: "Kick every session on a virtual proxy", Placeholder: "Choose a virtual proxy", ActionID: ActionRun}
	var denial *authz.Decision
	var warnings []string
	for _, s := range sites {
		v, err := e.resolveSite(ctx, c, s, cmd, authz.Kick)
		if err != nil && len(sites) == 1 {
			return e.failReply(c, err), true
		}
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("Site %s did not answer (could not %s: %s)", s.name, failWhat(err), qlikReason(err, false)))
			continue
		}
		if len(v.vps) == 0 && denial == nil {
			denial = v.denial
		}
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
			if len(sites) > 1 {
				label = s.name + ": " + label
			}
			m.Options = append(m.Options, bot.Option{Label: clipLabel(label), Value: Command{Verb: VerbKick, Prefixes: []string{vp.Prefix}, Site: e.siteArg(s)}.String()})
		}
	}
	if len(m.Options) == 0 && len(warnings) > 0 {
		return bot.Reply{Kind: bot.Error, Title: "Qlik request failed", Summary: warnings, Visibility: bot.Ephemeral}, true
	}
	if len(m.Options) == 0 {
		if denial != nil {
			return e.denied(c, *denial), true
		}
		return e.usage(&UsageError{Verb: VerbKick, Problem: "no virtual proxy you may kick on is linked to a node"}), true
	}
	say := "Choose the virtual proxy whose sessions should end, or type " + e.cmdName + " kick PREFIX (or --user DIR\\ID)."
	if c.policy.NeedsApproval(authz.Kick) {
		say += " The sessions listed then end when someone else approves."
	} else {
		m.Confirm = "End every session on this virtual proxy now?"
	}
	return bot.Reply{Kind: bot.Info, Title: "Kick: which virtual proxy?", Summary: []string{say}, Menus: []bot.Menu{m}, Warnings: warnings, Visibility: bot.Ephemeral}, true
}

func clipLabel(s string) string {
	if len(s) > maxMenuLabel {
		return clip(s)
	}
	return s
}
