package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// view is what one caller may touch with one permission on one site:
// the selected virtual proxies and, for each, the linked nodes the policy
// allows.
type view struct {
	site     *site
	topo     *qlik.Topology
	vps      []qlik.VirtualProxy // selected, permitted and linked, topology order
	hosts    map[string][]string // vp id -> permitted hosts (topology order)
	unlinked []qlik.VirtualProxy // selected, permitted, linked to no node
	hidden   []string            // requested virtual proxies left out for lack of permission
	denial   *authz.Decision     // the first refusal, for a Denied reply
	allowed  int                 // permitted (vp, host) pairs
	refused  int                 // refused (vp, host) pairs
}

// qlikFailure is a Qlik call that failed while making a site's view or
// list: what was being done, and why.
type qlikFailure struct {
	what string
	err  error
}

func (f *qlikFailure) Error() string { return f.what + ": " + f.err.Error() }
func (f *qlikFailure) Unwrap() error { return f.err }

// failReply turns an error of resolveSite or listSite into the reply of a
// single-site command: a usage reply or a Qlik error.
func (e *Engine) failReply(c *call, err error) bot.Reply {
	var ue *UsageError
	if errors.As(err, &ue) {
		return e.usage(ue)
	}
	var qf *qlikFailure
	if errors.As(err, &qf) {
		return e.qlikError(c, qf.what, qf.err)
	}
	return e.internal(c, "read Qlik", err)
}

// resolve is resolveSite for a command on one site: a non-nil reply
// means stop and answer it.
func (e *Engine) resolve(ctx context.Context, c *call, s *site, cmd Command, perm authz.Permission) (*view, *bot.Reply) {
	v, err := e.resolveSite(ctx, c, s, cmd, perm)
	if err != nil {
		r := e.failReply(c, err)
		return nil, &r
	}
	return v, nil
}

// resolveSite reads the site's topology and narrows it to what c may do
// with perm. Errors are a *UsageError (a prefix or host the site does not
// have) or a *qlikFailure. Refusals are counted, not answered: callers
// decide. It only reads c, so sites may be resolved at once.
func (e *Engine) resolveSite(ctx context.Context, c *call, s *site, cmd Command, perm authz.Permission) (*view, error) {
	topo, err := s.q.Topology(ctx)
	if err != nil {
		return nil, &qlikFailure{"read the Qlik topology", err}
	}
	var hosts []string
	for _, h := range cmd.Hosts {
		host, ok := proxyHost(topo, h)
		if !ok {
			return nil, &UsageError{Verb: cmd.Verb, Problem: unknownHost(topo, h)}
		}
		hosts = appendFold(hosts, host)
	}
	candidates := topo.VirtualProxies
	if len(cmd.Prefixes) > 0 {
		candidates = nil
		for _, p := range cmd.Prefixes {
			found := topo.ByPrefix(p)
			if len(found) == 0 {
				return nil, &UsageError{Verb: cmd.Verb, Problem: unknownPrefix(c, s, topo, p)}
			}
			for _, vp := range found {
				if !containsVP(candidates, vp.ID) {
					candidates = append(candidates, vp)
				}
			}
		}
	}
	v := &view{site: s, topo: topo, hosts: map[string][]string{}}
	pol := c.policy
	for _, vp := range topo.VirtualProxies { // topology order, whatever order was typed
		if !containsVP(candidates, vp.ID) {
			continue
		}
		linked := topo.LinkedProxies(vp.ID)
		if len(linked) == 0 {
			d := pol.Decide(c.subjects, perm, authz.Scope{VirtualProxy: vp.Prefix, Channel: c.req.Channel, Site: s.name})
			if d.Allowed {
				v.unlinked = append(v.unlinked, vp)
			} else {
				v.refuse(d, vp, len(cmd.Prefixes) > 0)
			}
			continue
		}
		var ok []string
		var first *authz.Decision
		for _, ps := range linked {
			h := ps.Node.HostName
			if len(hosts) > 0 && !slices.Contains(hosts, h) {
				continue
			}
			d := pol.Decide(c.subjects, perm, authz.Scope{VirtualProxy: vp.Prefix, Host: h, Channel: c.req.Channel, Site: s.name})
			if d.Allowed {
				ok = append(ok, h)
				v.allowed++
			} else {
				v.refused++
				if first == nil {
					first = &d
				}
			}
		}
		if len(ok) > 0 {
			v.vps = append(v.vps, vp)
			v.hosts[vp.ID] = ok
		} else if first != nil {
			v.refuse(*first, vp, len(cmd.Prefixes) > 0)
		}
	}
	return v, nil
}

func (v *view) refuse(d authz.Decision, vp qlik.VirtualProxy, explicit bool) {
	if v.denial == nil {
		v.denial = &d
	}
	if explicit {
		v.hidden = append(v.hidden, vpLabel(v.topo, vp))
	}
}

// empty reports whether nothing at all is visible.
func (v *view) empty() bool { return len(v.vps) == 0 && len(v.unlinked) == 0 }

// decisionText sums up a view's decisions for the audit trail (one event
// per command rather than one per virtual proxy and node).
func (v *view) decisionText(perm authz.Permission) (string, string) {
	reason := fmt.Sprintf("%s: %s, %s allowed, %d refused", perm, plural(len(v.vps)+len(v.unlinked), "virtual proxy"),
		plural(v.allowed, "(virtual proxy, node) pair"), v.refused)
	if v.denial != nil {
		reason += "; first refusal: " + v.denial.Reason
	}
	if v.empty() {
		return "denied", reason
	}
	return "allowed", reason
}

// list is listSite for a command on one site: a non-nil reply means stop
// and answer it.
func (e *Engine) list(ctx context.Context, c *call, v *view, user *qlik.UserRef) (*qlik.SessionList, *bot.Reply) {
	sl, err := e.listSite(ctx, v, user)
	if err != nil {
		r := e.failReply(c, err)
		return nil, &r
	}
	return sl, nil
}

// listSite asks the view's site for the sessions of every permitted
// pair. Virtual proxies with the same permitted hosts share one
// Selection, so no pair outside the view is ever asked. Errors are a
// *qlikFailure.
func (e *Engine) listSite(ctx context.Context, v *view, user *qlik.UserRef) (*qlik.SessionList, error) {
	out := &qlik.SessionList{Topology: v.topo, Unlinked: v.unlinked}
	var groups []qlik.Selection
	for _, vp := range v.vps {
		hs := v.hosts[vp.ID]
		i := slices.IndexFunc(groups, func(s qlik.Selection) bool { return slices.Equal(s.Hosts, hs) })
		if i < 0 {
			groups = append(groups, qlik.Selection{Hosts: hs, User: user})
			i = len(groups) - 1
		}
		groups[i].VirtualProxyIDs = append(groups[i].VirtualProxyIDs, vp.ID)
	}
	for _, sel := range groups {
		sl, err := v.site.q.Sessions(ctx, sel)
		if err != nil {
			return nil, &qlikFailure{"list sessions", err}
		}
		out.Selected = append(out.Selected, sl.Selected...)
		out.Errors = append(out.Errors, sl.Errors...)
		for _, s := range sl.Sessions {
			// Belt and braces: never show a pair outside the view.
			if slices.Contains(v.hosts[s.VirtualProxy.ID], s.Proxy.Node.HostName) {
				out.Sessions = append(out.Sessions, s)
			}
		}
	}
	return out, nil
}

// topoWarnings: unlinked virtual proxies (with the cookie header, as
// Ctrl-Q shows them), shared prefixes, and what was left out.
func topoWarnings(topo *qlik.Topology, shown []qlik.VirtualProxy, unlinked []qlik.VirtualProxy, hidden []string) []string {
	var w []string
	for _, vp := range unlinked {
		w = append(w, fmt.Sprintf("Virtual proxy %s (%s, cookie %s) is not linked to any proxy: it can hold no sessions",
			prefixLabel(vp.Prefix), vp.Description, vp.SessionCookieHeader))
	}
	done := map[string]bool{}
	for _, vp := range append(slices.Clone(shown), unlinked...) {
		key := strings.ToLower(vp.Prefix)
		same := topo.ByPrefix(vp.Prefix)
		if len(same) < 2 || done[key] {
			continue
		}
		done[key] = true
		var parts []string
		for _, s := range same {
			parts = append(parts, fmt.Sprintf("%q (cookie %s)", s.Description, s.SessionCookieHeader))
		}
		w = append(w, fmt.Sprintf("Prefix %s is shared by %d virtual proxies: %s", prefixLabel(vp.Prefix), len(same), strings.Join(parts, ", ")))
	}
	if len(hidden) > 0 {
		w = append(w, "Not shown, you lack the permission: "+strings.Join(hidden, ", "))
	}
	return w
}

// vpLabel names a virtual proxy; a shared prefix gets its cookie header.
func vpLabel(topo *qlik.Topology, vp qlik.VirtualProxy) string {
	l := prefixLabel(vp.Prefix)
	if len(topo.ByPrefix(vp.Prefix)) > 1 {
		l += " (" + vp.SessionCookieHeader + ")"
	}
	return l
}

// vpLabels is vpLabel for many rows of one topology: each virtual
// proxy's label is worked out once (a label looks for shared prefixes).
func vpLabels(topo *qlik.Topology) func(qlik.VirtualProxy) string {
	labels := map[string]string{}
	return func(vp qlik.VirtualProxy) string {
		l, ok := labels[vp.ID]
		if !ok {
			l = vpLabel(topo, vp)
			labels[vp.ID] = l
		}
		return l
	}
}

// proxyHost finds a proxy node by its host name or its node name (dev1),
// case-insensitively, and returns its host name as Qlik reports it.
func proxyHost(topo *qlik.Topology, h string) (string, bool) {
	for _, ps := range topo.ProxyServices {
		if strings.EqualFold(ps.Node.HostName, h) || strings.EqualFold(ps.Node.Name, h) {
			return ps.Node.HostName, true
		}
	}
	return "", false
}

func unknownHost(topo *qlik.Topology, h string) string {
	var names, labels []string
	for _, ps := range topo.ProxyServices {
		names = append(names, ps.Node.Name, ps.Node.HostName)
		labels = append(labels, nodeLabel(ps.Node))
	}
	return fmt.Sprintf("unknown proxy node %q%s; the proxy nodes are: %s", clip(h), didYouMean(h, names), strings.Join(labels, ", "))
}

// unknownPrefix explains a prefix no virtual proxy has, suggesting only
// prefixes c may see. =default (a virtual proxy literally named
// "default") gets its own words, since "default" alone means the default
// virtual proxy.
func unknownPrefix(c *call, s *site, topo *qlik.Topology, p string) string {
	known := permittedPrefixes(c, s, topo)
	if strings.EqualFold(p, "default") || p == "-" {
		return fmt.Sprintf("no virtual proxy has the prefix %q itself (that is what =%s asks for); "+
			"the default virtual proxy, which has no prefix, is written default; prefixes you may see: %s", p, p, prefixList(known))
	}
	return fmt.Sprintf("no virtual proxy has the prefix %q%s; prefixes you may see: %s", p, didYouMean(p, known), prefixList(known))
}

// permittedPrefixes are the prefixes c may list on site s, as typed.
func permittedPrefixes(c *call, s *site, topo *qlik.Topology) []string {
	var ps []string
	for _, vp := range topo.VirtualProxies {
		if c.policy.Decide(c.subjects, authz.List, authz.Scope{VirtualProxy: vp.Prefix, Channel: c.req.Channel, Site: s.name}).Allowed {
			ps = appendFold(ps, prefixWord(vp.Prefix))
		}
	}
	return ps
}

// prefixList writes the prefixes c may list (permittedPrefixes), so a
// mistyped prefix does not hand the whole configuration to someone
// without rights.
func prefixList(ps []string) string {
	if len(ps) == 0 {
		return "none"
	}
	if len(ps) > 40 {
		return strings.Join(ps[:40], ", ") + fmt.Sprintf(" and %d more (see proxies)", len(ps)-40)
	}
	return strings.Join(ps, ", ")
}

func containsVP(vps []qlik.VirtualProxy, id string) bool {
	return slices.ContainsFunc(vps, func(vp qlik.VirtualProxy) bool { return vp.ID == id })
}

func nodeLabel(n qlik.Node) string { return n.Name + " (" + n.HostName + ")" }
