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

// listed resolves, authorizes and lists for sessions and users.
func (e *Engine) listed(ctx context.Context, c *call, cmd Command) (*view, *qlik.SessionList, *bot.Reply) {
	v, r := e.resolve(ctx, c, cmd, authz.List)
	if r != nil {
		return nil, nil, r
	}
	dec, reason := v.decisionText(authz.List)
	c.note(dec, reason, "")
	if v.empty() {
		if v.denial == nil {
			r := bot.Reply{Kind: bot.Info, Title: "Nothing to list", Summary: []string{"No selected virtual proxy is linked to the selected proxy hosts."}, Visibility: bot.Ephemeral}
			return nil, nil, &r
		}
		r := e.denied(c, *v.denial)
		return nil, nil, &r
	}
	sl, r := e.list(ctx, c, v, cmd.User)
	if r != nil {
		return nil, nil, r
	}
	return v, sl, nil
}

func (e *Engine) sessions(ctx context.Context, c *call, cmd Command) bot.Reply {
	v, sl, r := e.listed(ctx, c, cmd)
	if r != nil {
		return *r
	}
	ss := slices.Clone(sl.Sessions)
	sortSessions(ss, v.topo, cmd.Sort)
	ids := make([]string, 0, len(ss))
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	h := newHandles(ids) // over every row, so every page and the CSV agree
	rows := make([][]string, 0, len(ss))
	perNode := map[string]int{}
	perVP := map[string]int{}
	for _, s := range ss {
		rows = append(rows, []string{vpLabel(v.topo, s.VirtualProxy), s.Proxy.Node.Name, s.User().String(), s.UserName, attrText(s.Attributes), h.of(s.ID)})
		perNode[s.Proxy.Node.HostName]++
		perVP[s.VirtualProxy.ID]++
	}
	reply := bot.Reply{Kind: bot.Info, Title: "Sessions", Visibility: listVisibility(c)}
	reply.Facts = append(reply.Facts, bot.Fact{Label: "Total sessions", Value: strconv.Itoa(len(ss))})
	for _, ps := range v.topo.ProxyServices {
		if asked(sl, ps.Node.HostName) {
			reply.Facts = append(reply.Facts, bot.Fact{Label: nodeLabel(ps.Node), Value: nodeCount(sl, ps.Node, perNode[ps.Node.HostName])})
		}
	}
	chart := &bot.Chart{Title: "Sessions per virtual proxy"}
	var per []string
	for _, vp := range v.vps {
		if n := perVP[vp.ID]; n > 0 {
			per = append(per, fmt.Sprintf("%s %d", vpLabel(v.topo, vp), n))
			chart.Points = append(chart.Points, bot.Point{Label: vpLabel(v.topo, vp), Value: float64(n)})
		}
	}
	if len(per) > 0 {
		reply.Facts = append(reply.Facts, bot.Fact{Label: "Per virtual proxy", Value: strings.Join(per, ", ")})
		reply.Chart = chart
	}
	reply.Warnings = topoWarnings(v.topo, v.vps, v.unlinked, v.hidden)
	for _, pe := range sl.Errors {
		reply.Warnings = append(reply.Warnings, pairFailure("No answer from", pe))
	}
	if len(sl.Errors) > 0 {
		reply.Kind = bot.Warning
	}
	reply.Menus = proxyMenu(cmd, v, sl.Sessions)
	e.paginate(c, &reply, cmd, sessionColumns, rows, "sessions.csv")
	return reply
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

func sortSessions(ss []qlik.LocatedSession, topo *qlik.Topology, key string) {
	lower := strings.ToLower
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
		return lower(vpLabel(topo, s.VirtualProxy))
	}
	if key == "" {
		key = "prefix"
	}
	order := []string{key, "prefix", "proxyhost", "userdir", "userid"}
	slices.SortStableFunc(ss, func(a, b qlik.LocatedSession) int {
		for _, k := range order {
			if c := cmp.Compare(field(a, k), field(b, k)); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

func attrText(as []qlik.Attribute) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		parts = append(parts, a.Key+"="+a.Value)
	}
	return strings.Join(parts, "; ")
}

type userRow struct {
	user  qlik.UserRef
	name  string
	count int
	vps   []string
	locs  []qlik.Location
}

func (e *Engine) users(ctx context.Context, c *call, cmd Command) bot.Reply {
	v, sl, r := e.listed(ctx, c, cmd)
	if r != nil {
		return *r
	}
	var urs []*userRow
	byKey := map[string]*userRow{}
	for _, s := range sl.Sessions {
		k := strings.ToLower(s.User().String())
		u := byKey[k]
		if u == nil {
			u = &userRow{user: s.User()}
			byKey[k] = u
			urs = append(urs, u)
		}
		u.count++
		if u.name == "" {
			u.name = s.UserName
		}
		u.vps = appendFold(u.vps, vpLabel(v.topo, s.VirtualProxy))
		u.locs = append(u.locs, s.Location)
	}
	slices.SortStableFunc(urs, func(a, b *userRow) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return cmp.Compare(strings.ToLower(a.user.String()), strings.ToLower(b.user.String()))
	})
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
		rows = append(rows, []string{u.user.String(), u.name, strconv.Itoa(u.count), strings.Join(u.vps, ", "), note})
		shown = append(shown, u)
	}
	reply := bot.Reply{Kind: bot.Info, Title: "Users by session count", Visibility: listVisibility(c)}
	reply.Facts = []bot.Fact{
		{Label: "Users", Value: strconv.Itoa(len(urs))},
		{Label: "Sessions", Value: strconv.Itoa(len(sl.Sessions))},
		{Label: fmt.Sprintf("At the access-pass limit of %d sessions", accessPassLimit), Value: strconv.Itoa(flagged)},
	}
	if cmd.Min > 0 {
		reply.Facts = append(reply.Facts, bot.Fact{Label: fmt.Sprintf("Showing users with at least %d sessions", cmd.Min), Value: strconv.Itoa(len(rows))})
	}
	reply.Warnings = topoWarnings(v.topo, v.vps, nil, v.hidden)
	for _, pe := range sl.Errors {
		reply.Warnings = append(reply.Warnings, pairFailure("No answer from", pe))
	}
	if len(sl.Errors) > 0 {
		reply.Kind = bot.Warning
	}
	reply.Menus = proxyMenu(cmd, v, sl.Sessions)
	e.paginateWith(c, &reply, cmd, []string{"User", "User name", "Sessions", "Virtual proxies", "Note"}, rows, "users.csv",
		func(first, last int) []bot.Menu { return e.kickMenu(c, shown[first:last]) })
	return reply
}

func (e *Engine) mayLogout(c *call, locs []qlik.Location) bool {
	for _, l := range locs {
		if c.policy.Decide(c.subjects, authz.Logout, authz.Scope{VirtualProxy: l.VirtualProxy.Prefix, Host: l.Proxy.Node.HostName, Channel: c.req.Channel}).Allowed {
			return true
		}
	}
	return false
}
