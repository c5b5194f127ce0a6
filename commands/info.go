package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// proxies shows the topology: nodes, and the virtual proxies the caller
// may list, with their links.
func (e *Engine) proxies(ctx context.Context, c *call, cmd Command) bot.Reply {
	v, r := e.resolve(ctx, c, cmd, authz.List)
	if r != nil {
		return *r
	}
	dec, reason := v.decisionText(authz.List)
	c.note(dec, reason, "")
	if v.empty() {
		if v.denial == nil {
			return bot.Reply{Kind: bot.Info, Title: "Virtual proxies", Summary: []string{"No virtual proxies."}, Visibility: bot.Ephemeral}
		}
		return e.denied(c, *v.denial)
	}
	topo := v.topo
	reply := bot.Reply{Kind: bot.Info, Title: "Virtual proxies", Visibility: listVisibility(c)}
	reply.Facts = append(reply.Facts, bot.Fact{Label: "Nodes", Value: strconv.Itoa(len(topo.ProxyServices))},
		bot.Fact{Label: "Virtual proxies", Value: fmt.Sprintf("%d (%d unlinked)", len(topo.VirtualProxies), len(topo.Unlinked()))})
	for _, ps := range topo.ProxyServices {
		reply.Facts = append(reply.Facts, bot.Fact{Label: nodeLabel(ps.Node), Value: fmt.Sprintf("%s, QPS port %d", plural(len(ps.LinkedVirtualProxyIDs), "linked virtual proxy"), ps.RESTPort)})
	}
	var rows [][]string
	shown := append(append([]qlik.VirtualProxy{}, v.vps...), v.unlinked...)
	for _, vp := range topo.VirtualProxies {
		if !containsVP(shown, vp.ID) {
			continue
		}
		var linked, lb []string
		for _, ps := range topo.LinkedProxies(vp.ID) {
			linked = append(linked, ps.Node.Name)
		}
		for _, n := range vp.LoadBalancingNodes {
			lb = append(lb, n.Name)
		}
		l := strings.Join(linked, ", ")
		if l == "" {
			l = "(not linked)"
		}
		rows = append(rows, []string{prefixLabel(vp.Prefix), vp.Description, vp.SessionCookieHeader, l, strings.Join(lb, ", ")})
	}
	reply.Warnings = topoWarnings(topo, v.vps, v.unlinked, v.hidden)
	if n := len(topo.VirtualProxies) - len(shown); n > 0 {
		reply.Summary = append(reply.Summary, plural(n, "virtual proxy")+" not shown: you may not list them")
	}
	e.paginate(c, &reply, cmd, []string{"Prefix", "Description", "Cookie header", "Linked nodes", "Load balancing"}, rows, "proxies.csv")
	return reply
}

func (e *Engine) whoami(c *call) bot.Reply {
	pol := c.policy
	grants := pol.Grants(c.subjects)
	reply := bot.Reply{Kind: bot.Info, Title: "Who you are", Visibility: bot.Ephemeral}
	reply.Summary = []string{"Your ids: " + strings.Join(c.subjects, ", ")}
	if name, ok := pol.Person(c.subjects); ok {
		reply.Summary = append(reply.Summary, "You are "+name+" in the policy: all of "+name+"'s ids count as one person (two-person rule).")
	}
	var need []string
	for _, p := range []authz.Permission{authz.Delete, authz.Kick, authz.Logout} {
		if pol.NeedsApproval(p) {
			need = append(need, string(p))
		}
	}
	if len(need) > 0 {
		reply.Summary = append(reply.Summary, fmt.Sprintf("Needs a second person's approval: %s (requests expire after %s)", strings.Join(need, ", "), durationWords(pol.ApprovalTTL())))
	}
	if len(grants) == 0 {
		reply.Summary = append(reply.Summary, "You have no grants: ask an admin to add one of your ids to the policy.")
		return reply
	}
	t := &bot.Table{Columns: []string{"Id", "Role", "Permissions", "Virtual proxies", "Hosts", "Channels"}}
	for _, g := range grants {
		perms := make([]string, 0, len(g.Permissions))
		for _, p := range g.Permissions {
			perms = append(perms, string(p))
		}
		vps := make([]string, 0, len(g.VirtualProxies))
		for _, vp := range g.VirtualProxies {
			vps = append(vps, prefixLabel(vp))
		}
		t.Rows = append(t.Rows, []string{g.Subject, g.Role, strings.Join(perms, ", "), strings.Join(vps, ", "), anyIfEmpty(g.Hosts), anyIfEmpty(g.Channels)})
	}
	t.TotalRows = len(t.Rows)
	reply.Table = t
	return reply
}

func anyIfEmpty(xs []string) string {
	if len(xs) == 0 {
		return "any"
	}
	return strings.Join(xs, ", ")
}
