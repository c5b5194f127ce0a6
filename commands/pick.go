package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// pick resolves delete's session references (handles or full ids) among
// the sessions of sl: the ones the caller may delete, nowhere else, so a
// handle says nothing about sessions beyond the caller's rights. Every
// reference must name exactly one session: when one names none or
// several, nothing at all is deleted and the reply lists each problem
// (the users an ambiguous handle could be, never a guess).
func (e *Engine) pick(c *call, cmd Command, v *view, sl *qlik.SessionList, warnings []string) ([]qlik.LocatedSession, *bot.Reply) {
	type problem struct {
		ref        string
		candidates []qlik.LocatedSession
	}
	var (
		found    []qlik.LocatedSession
		problems []problem
		ids      []string // every id the reply may show, for its handles
	)
	for _, ref := range cmd.SessionIDs {
		n := normID(ref)
		var cands []qlik.LocatedSession
		for _, s := range sl.Sessions {
			if strings.HasPrefix(normID(s.ID), n) {
				cands = append(cands, s)
			}
		}
		if len(n) == 32 {
			ids = append(ids, n)
		}
		if len(cands) == 1 {
			if !slices.ContainsFunc(found, func(f qlik.LocatedSession) bool { return sameSession(f, cands[0]) }) {
				found = append(found, cands[0])
			}
			continue
		}
		problems = append(problems, problem{ref: ref, candidates: cands})
		for _, s := range cands {
			ids = append(ids, s.ID)
		}
	}
	if len(problems) == 0 {
		return found, nil
	}
	h := newHandles(ids)
	vp := prefixLabel(cmd.Prefixes[0])
	var rows [][]string
	unknown, ambiguous := 0, 0
	for _, p := range problems {
		ref := refLabel(h, p.ref)
		if len(p.candidates) == 0 {
			unknown++
			note := "not found: no session on " + vp + " that you may end starts with " + ref
			if len(sl.Errors) > 0 || v.refused > 0 {
				note += " (on the nodes asked)"
			}
			rows = append(rows, []string{vp, "", "", "", ref, note})
			continue
		}
		ambiguous++
		for _, s := range p.candidates {
			rows = append(rows, []string{vpLabel(v.topo, s.VirtualProxy), s.Proxy.Node.Name, s.User().String(), s.UserName, h.of(s.ID),
				"ambiguous: " + ref + " could be this session"})
		}
	}
	var why []string
	if ambiguous > 0 {
		why = append(why, fmt.Sprintf("%s could be more than one session (type the longer handle shown)", plural(ambiguous, "handle")))
	}
	if unknown > 0 {
		why = append(why, fmt.Sprintf("%s not found", plural(unknown, "session")))
	}
	r := bot.Reply{Kind: bot.Warning, Title: "Nothing ended", Visibility: bot.Ephemeral, Warnings: warnings,
		Summary: []string{
			"Nothing was ended: " + strings.Join(why, ", and ") + ".",
			"Every session named must be found, and found once, before any is ended. " +
				"Not found means no session of " + vp + " you may end has that handle: it may have ended already, or be on another virtual proxy.",
		}}
	e.paginate(c, &r, Command{}, outcomeColumns, rows, "problems.csv")
	return nil, &r
}

func sameSession(a, b qlik.LocatedSession) bool {
	return a.ID == b.ID && a.VirtualProxy.ID == b.VirtualProxy.ID && a.Proxy.Node.HostName == b.Proxy.Node.HostName
}

// elsewhere answers a kick --user that found nothing where the caller may
// log users out, while places were left out for lack of the right: if the
// user has sessions there that the caller may see, say so rather than
// "nothing matched".
func (e *Engine) elsewhere(ctx context.Context, c *call, cmd Command, v *view, a action, warnings []string) bot.Reply {
	lv, r := e.resolve(ctx, c, v.site, cmd, authz.List)
	var outside []string
	n := 0
	if r == nil && !lv.empty() {
		if sl, r := e.list(ctx, c, lv, cmd.User); r == nil {
			for _, s := range sl.Sessions {
				if slices.Contains(v.hosts[s.VirtualProxy.ID], s.Proxy.Node.HostName) {
					continue
				}
				n++
				outside = appendFold(outside, vpLabel(lv.topo, s.VirtualProxy)+" on "+s.Proxy.Node.Name)
			}
		}
	}
	verb := permVerb(a.Permission)
	if n > 0 {
		c.note("denied", fmt.Sprintf("%s has sessions only where %s may not %s", a.User, c.subject, verb), a.scopeText())
	}
	if n == 0 {
		return bot.Reply{Kind: bot.Info, Title: "No sessions to end", Visibility: listVisibility(c), Warnings: warnings, Summary: []string{
			fmt.Sprintf("%s has no session where you may %s.", a.User, verb),
			fmt.Sprintf("%s where you may not %s were not searched.", plural(v.refused+len(v.hidden), "(virtual proxy, node) place"), verb),
		}}
	}
	return bot.Reply{Kind: bot.Denied, Title: "Not allowed", Visibility: bot.Ephemeral, Summary: []string{
		fmt.Sprintf("%s has %s where you may not %s (%s), and none where you may; nothing was requested.",
			a.User, plural(n, "session"), verb, strings.Join(outside, ", ")),
		fmt.Sprintf("Your id: %s; ask an admin to grant %q there, or ask someone who has it.", strings.Join(c.subjects, ", "), a.Permission),
	}}
}

// permVerb is a permission as words in a sentence ("where you may not ...").
func permVerb(p authz.Permission) string {
	switch p {
	case authz.Logout:
		return "log users out"
	case authz.Kick:
		return "kick"
	case authz.Delete:
		return "end sessions"
	case authz.List:
		return "list sessions"
	}
	return string(p)
}
