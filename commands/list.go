package commands

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// accessPassLimit is how many concurrent proxy sessions a user access
// pass allows; the next one gets "No available access type".
const accessPassLimit = 5

// sessionColumns: "Session" holds the handle (handle.go), never the id.
var sessionColumns = []string{"Virtual proxy", "Node", "User", "User name", "Attributes", "Session"}

// nothingToList answers a list whose selection holds no linked virtual
// proxy.
func nothingToList() bot.Reply {
	return bot.Reply{Kind: bot.Info, Title: "Nothing to list", Summary: []string{"No selected virtual proxy is linked to the selected proxy hosts."}, Visibility: bot.Ephemeral}
}

func (e *Engine) sessions(ctx context.Context, c *call, cmd Command) bot.Reply {
	g, r := e.gather(ctx, c, cmd, authz.List, true)
	if r != nil {
		return *r
	}
	if len(g.shown) == 0 {
		return nothingToList()
	}
	reply := bot.Reply{Kind: bot.Info, Title: "Sessions", Visibility: listVisibility(c)}
	var rows [][]string
	var keys []string // each row's page key: its site, sort fields and handle
	var nodes []bot.Fact
	var per, perSite []string
	chart := &bot.Chart{Title: "Sessions per virtual proxy"}
	total := 0
	for _, sr := range g.shown {
		v, sl := sr.v, sr.sl
		ss := slices.Clone(sl.Sessions)
		fields := sortSessions(ss, v.topo, cmd.Sort)
		siteKey := fmt.Sprintf("%04d", slices.Index(e.sites, sr.s))
		ids := make([]string, 0, len(ss))
		for _, s := range ss {
			ids = append(ids, s.ID)
		}
		h := newHandles(ids) // over every row of the site, so every page and the CSV agree
		perNode := map[string]int{}
		perVP := map[string]int{}
		label := vpLabels(v.topo)
		for i, s := range ss {
			rows = append(rows, g.row(sr.s, []string{label(s.VirtualProxy), s.Proxy.Node.Name, s.User().String(), s.UserName, attrText(s.Attributes), h.of(s.ID)}))
			f := fields[i]
			keys = append(keys, pageKey(siteKey, f[0], f[1], f[2], f[3], f[4], h.of(s.ID)))
			perNode[s.Proxy.Node.HostName]++
			perVP[s.VirtualProxy.ID]++
		}
		total += len(ss)
		perSite = append(perSite, fmt.Sprintf("%s %d", sr.s.name, len(ss)))
		for _, ps := range v.topo.ProxyServices {
			if asked(sl, ps.Node.HostName) {
				nodes = append(nodes, bot.Fact{Label: g.label(sr.s) + nodeLabel(ps.Node), Value: nodeCount(sl, ps.Node, perNode[ps.Node.HostName])})
			}
		}
		for _, vp := range v.vps {
			if n := perVP[vp.ID]; n > 0 {
				label := g.label(sr.s) + vpLabel(v.topo, vp)
				per = append(per, fmt.Sprintf("%s %d", label, n))
				chart.Points = append(chart.Points, bot.Point{Label: label, Value: float64(n)})
			}
		}
		reply.Warnings = append(reply.Warnings, g.labelled(sr.s, topoWarnings(v.topo, v.vps, v.unlinked, v.hidden))...)
		for _, pe := range sl.Errors {
			reply.Warnings = append(reply.Warnings, g.label(sr.s)+pairFailure("No answer from", pe))
		}
		if len(sl.Errors) > 0 {
			reply.Kind = bot.Warning
		}
	}
	reply.Facts = append(reply.Facts, bot.Fact{Label: "Total sessions", Value: strconv.Itoa(total)})
	if g.multi() {
		reply.Facts = append(reply.Facts, bot.Fact{Label: "Per site", Value: strings.Join(perSite, ", ")})
	}
	reply.Facts = append(reply.Facts, nodes...)
	if len(per) > 0 {
		reply.Facts = append(reply.Facts, bot.Fact{Label: "Per virtual proxy", Value: strings.Join(per, ", ")})
		reply.Chart = chart
	}
	e.siteWarnings(&reply, g)
	reply.Menus = e.proxyMenu(cmd, g)
	rows, keys = sortByKey(rows, keys)
	e.paginateKeyed(c, &reply, cmd, g.columns(sessionColumns), rows, keys, "sessions.csv", nil)
	return reply
}

// sortByKey orders rows by their page keys (each site's rows come sorted
// already; the sites then go in the order of their keys).
func sortByKey(rows [][]string, keys []string) ([][]string, []string) {
	if slices.IsSorted(keys) {
		return rows, keys
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	outRows, outKeys := make([][]string, len(rows)), make([]string, len(keys))
	for i, j := range idx {
		outRows[i], outKeys[i] = rows[j], keys[j]
	}
	return outRows, outKeys
}

// siteWarnings adds the warnings of the sites that did not answer.
func (e *Engine) siteWarnings(r *bot.Reply, g *gathered) {
	if len(g.warnings) > 0 {
		r.Warnings = append(r.Warnings, g.warnings...)
		r.Kind = bot.Warning
	}
}

// nodeCount is a node's value in the summary: its session count, or "no
// answer" when none of its (virtual proxy, node) calls answered (a count
// of 0 would claim it has no sessions).
func nodeCount(sl *qlik.SessionList, n qlik.Node, count int) string {
	asked, failed := 0, 0
	for _, l := range sl.Selected {
		if l.Proxy.Node.HostName == n.HostName {
			asked++
		}
	}
	for _, pe := range sl.Errors {
		if pe.Proxy.Node.HostName == n.HostName {
			failed++
		}
	}
	switch {
	case failed > 0 && failed >= asked:
		return "no answer"
	case failed > 0:
		return fmt.Sprintf("%d (no answer for %s)", count, plural(failed, "virtual proxy"))
	}
	return strconv.Itoa(count)
}

func asked(sl *qlik.SessionList, host string) bool {
	return slices.ContainsFunc(sl.Selected, func(l qlik.Location) bool { return l.Proxy.Node.HostName == host })
}

// sortSessions orders ss by key (default prefix), then prefix, proxy
// host, user directory and user id, then id. Each session's sort fields
// are worked out once (a label reads the topology), not per comparison.
// sortSessions sorts ss by key (then virtual proxy, host, user directory,
// user id and id) and returns each sorted session's sort fields, for its
// page key.
func sortSessions(ss []qlik.LocatedSession, topo *qlik.Topology, key string) [][5]string {
	lower := strings.ToLower
	label := vpLabels(topo)
	field := func(s qlik.LocatedSession, k string) string {
		switch k {
		case "proxyhost":
			return lower(s.Proxy.Node.HostName)
		case "proxyname":
			return lower(s.Proxy.Node.Name)
		case "userdir":
			return lower(s.UserDirectory)
		case "userid":
			return lower(s.UserID)
		case "username":
			return lower(s.UserName)
		}
		return lower(label(s.VirtualProxy))
	}
	if key == "" {
		key = "prefix"
	}
	order := []string{key, "prefix", "proxyhost", "userdir", "userid"}
	type keyed struct {
		fields [5]string
		s      qlik.LocatedSession
	}
	ks := make([]keyed, len(ss))
	for i, s := range ss {
		ks[i].s = s
		for j, k := range order {
			ks[i].fields[j] = field(s, k)
		}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		if c := slices.Compare(a.fields[:], b.fields[:]); c != 0 {
			return c
		}
		return cmp.Compare(normID(a.s.ID), normID(b.s.ID)) // as the handles compare
	})
	fields := make([][5]string, len(ks))
	for i := range ks {
		ss[i], fields[i] = ks[i].s, ks[i].fields
	}
	return fields
}

func attrText(as []qlik.Attribute) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		parts = append(parts, a.Key+"="+a.Value)
	}
	return strings.Join(parts, "; ")
}

type userRow struct {
	site  *site
	user  qlik.UserRef
	name  string
	count int
	vps   []string
	locs  []qlik.Location
}

// users counts sessions per user and site (an access pass is per site),
// most sessions first within each site.
func (e *Engine) users(ctx context.Context, c *call, cmd Command) bot.Reply {
	g, r := e.gather(ctx, c, cmd, authz.List, true)
	if r != nil {
		return *r
	}
	if len(g.shown) == 0 {
		return nothingToList()
	}
	var urs []*userRow
	sessions := 0
	reply := bot.Reply{Kind: bot.Info, Title: "Users by session count", Visibility: listVisibility(c)}
	for _, sr := range g.shown {
		var site []*userRow
		byKey := map[string]*userRow{}
		for _, s := range sr.sl.Sessions {
			k := strings.ToLower(s.User().String())
			u := byKey[k]
			if u == nil {
				u = &userRow{site: sr.s, user: s.User()}
				byKey[k] = u
				site = append(site, u)
			}
			u.count++
			if u.name == "" {
				u.name = s.UserName
			}
			u.vps = appendFold(u.vps, vpLabel(sr.v.topo, s.VirtualProxy))
			u.locs = append(u.locs, s.Location)
		}
		slices.SortStableFunc(site, func(a, b *userRow) int {
			if c := cmp.Compare(b.count, a.count); c != 0 {
				return c
			}
			return cmp.Compare(strings.ToLower(a.user.String()), strings.ToLower(b.user.String()))
		})
		urs = append(urs, site...)
		sessions += len(sr.sl.Sessions)
		reply.Warnings = append(reply.Warnings, g.labelled(sr.s, topoWarnings(sr.v.topo, sr.v.vps, nil, sr.v.hidden))...)
		for _, pe := range sr.sl.Errors {
			reply.Warnings = append(reply.Warnings, g.label(sr.s)+pairFailure("No answer from", pe))
		}
		if len(sr.sl.Errors) > 0 {
			reply.Kind = bot.Warning
		}
	}
	var rows [][]string
	var shown []*userRow
	flagged := 0
	for _, u := range urs {
		if u.count < cmd.Min {
			continue
		}
		note := ""
		if u.count >= accessPassLimit {
			note = fmt.Sprintf("at the access-pass limit of %d", accessPassLimit)
			flagged++
		}
		rows = append(rows, g.row(u.site, []string{u.user.String(), u.name, strconv.Itoa(u.count), strings.Join(u.vps, ", "), note}))
		shown = append(shown, u)
	}
	reply.Facts = []bot.Fact{
		{Label: "Users", Value: strconv.Itoa(len(urs))},
		{Label: "Sessions", Value: strconv.Itoa(sessions)},
		{Label: fmt.Sprintf("At the access-pass limit of %d sessions", accessPassLimit), Value: strconv.Itoa(flagged)},
	}
	if cmd.Min > 0 {
		reply.Facts = append(reply.Facts, bot.Fact{Label: fmt.Sprintf("Showing users with at least %d sessions", cmd.Min), Value: strconv.Itoa(len(rows))})
	}
	e.siteWarnings(&reply, g)
	reply.Menus = e.proxyMenu(cmd, g)
	e.paginateWith(c, &reply, cmd, g.columns([]string{"User", "User name", "Sessions", "Virtual proxies", "Note"}), rows, "users.csv",
		func(first, last int) []bot.Menu { return e.kickMenu(c, g, shown[first:last]) })
	return reply
}

func (e *Engine) mayLogout(c *call, s *site, locs []qlik.Location) bool {
	for _, l := range locs {
		if c.policy.Decide(c.subjects, authz.Logout, authz.Scope{VirtualProxy: l.VirtualProxy.Prefix, Host: l.Proxy.Node.HostName, Channel: c.req.Channel, Site: s.name}).Allowed {
			return true
		}
	}
	return false
}
