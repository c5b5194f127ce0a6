package commands

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// proxies shows the topology: nodes, and the virtual proxies the caller
// may list, with their links, per site.
func (e *Engine) proxies(ctx context.Context, c *call, cmd Command) bot.Reply {
	g, r := e.gather(ctx, c, cmd, authz.List, false)
	if r != nil {
		return *r
	}
	if len(g.shown) == 0 {
		return bot.Reply{Kind: bot.Info, Title: "Virtual proxies", Summary: []string{"No virtual proxies."}, Visibility: bot.Ephemeral}
	}
	reply := bot.Reply{Kind: bot.Info, Title: "Virtual proxies", Visibility: listVisibility(c)}
	var rows [][]string
	for _, sr := range g.shown {
		topo, v, l := sr.v.topo, sr.v, g.label(sr.s)
		reply.Facts = append(reply.Facts, bot.Fact{Label: l + "Nodes", Value: strconv.Itoa(len(topo.ProxyServices))},
			bot.Fact{Label: l + "Virtual proxies", Value: fmt.Sprintf("%d (%d unlinked)", len(topo.VirtualProxies), len(topo.Unlinked()))})
		for _, ps := range topo.ProxyServices {
			reply.Facts = append(reply.Facts, bot.Fact{Label: l + nodeLabel(ps.Node), Value: fmt.Sprintf("%s, QPS port %d", plural(len(ps.LinkedVirtualProxyIDs), "linked virtual proxy"), ps.RESTPort)})
		}
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
			ln := strings.Join(linked, ", ")
			if ln == "" {
				ln = "(not linked)"
			}
			rows = append(rows, g.row(sr.s, []string{prefixLabel(vp.Prefix), vp.Description, vp.SessionCookieHeader, ln, strings.Join(lb, ", ")}))
		}
		reply.Warnings = append(reply.Warnings, g.labelled(sr.s, topoWarnings(topo, v.vps, v.unlinked, v.hidden))...)
		if n := len(topo.VirtualProxies) - len(shown); n > 0 {
			reply.Summary = append(reply.Summary, l+plural(n, "virtual proxy")+" not shown: you may not list them")
		}
	}
	e.siteWarnings(&reply, g)
	e.paginate(c, &reply, cmd, g.columns([]string{"Prefix", "Description", "Cookie header", "Linked nodes", "Load balancing"}), rows, "proxies.csv")
	return reply
}

// whoami shows the caller's ids, person, grants and, with several sites,
// the sites and which one is the default; --site keeps the grants that
// apply there.
func (e *Engine) whoami(c *call, cmd Command) bot.Reply {
	pol := c.policy
	grants := pol.Grants(c.subjects)
	if cmd.Site != "" {
		sites, r := e.chooseSites(c, cmd, false)
		if r != nil {
			return *r
		}
		c.site = sites[0].name
		grants = slices.DeleteFunc(grants, func(g authz.GrantView) bool {
			return len(g.Sites) > 0 && !slices.Contains(g.Sites, c.site)
		})
	}
	reply := bot.Reply{Kind: bot.Info, Title: "Who you are", Visibility: bot.Ephemeral}
	reply.Summary = []string{"Your ids: " + strings.Join(c.subjects, ", ")}
	if e.multi() {
		names := siteNames(e.sites)
		names[e.defaultSite] += " (default)"
		reply.Summary = append(reply.Summary, "Qlik Sense sites: "+strings.Join(names, ", ")+"; --site NAME picks one.")
	}
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
	// Sites only where they tell something: several sites, or a grant
	// limited to some.
	withSites := e.multi() || slices.ContainsFunc(grants, func(g authz.GrantView) bool { return len(g.Sites) > 0 })
	t := &bot.Table{Columns: []string{"Id", "Role", "Permissions", "Virtual proxies", "Hosts", "Channels"}}
	if withSites {
		t.Columns = append(t.Columns, "Sites")
	}
	for _, g := range grants {
		perms := make([]string, 0, len(g.Permissions))
		for _, p := range g.Permissions {
			perms = append(perms, string(p))
		}
		vps := make([]string, 0, len(g.VirtualProxies))
		for _, vp := range g.VirtualProxies {
			vps = append(vps, prefixLabel(vp))
		}
		row := []string{g.Subject, g.Role, strings.Join(perms, ", "), strings.Join(vps, ", "), anyIfEmpty(g.Hosts), anyIfEmpty(g.Channels)}
		if withSites {
			row = append(row, anyIfEmpty(g.Sites))
		}
		t.Rows = append(t.Rows, row)
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
