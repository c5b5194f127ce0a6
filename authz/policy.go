package authz

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scope is where an action would take effect.
type Scope struct {
	VirtualProxy string // prefix; "" is the default virtual proxy; "*" every one (site-wide, e.g. audit)
	Host         string // proxy node host name; "" = not specific to a host
	Channel      string // chat channel id; "" = not specific (a direct message)
	// Site is the Qlik Sense site (as named in QLIKBOT_SITES; "default"
	// for a single site). "" is not specific to a site: it reaches every
	// site, so only a grant on every site covers it.
	Site string
}

// Decision is the answer to "may one of these subjects do this, there?".
// It carries enough to be written to the audit trail as it is.
type Decision struct {
	Allowed    bool
	Subject    string     // the subject whose grant allowed it, or the first subject asked when denied
	Permission Permission // the permission asked about, as given
	Scope      Scope      // the scope asked about, as given
	Reason     string     // human-readable; for a denial: what was missing and who asked
	Role       string     // the role that allowed it; "" when denied
	// HostRestricted is set when List was allowed for a Scope without a
	// Host only through a grant limited to some hosts: the caller must keep
	// only the rows of hosts for which Decide, asked with that Host, allows.
	HostRestricted bool
}

// GrantView is one role of one grant held by a subject, for /qlik whoami.
// VirtualProxies holds "*" for any and "" for the default virtual proxy;
// empty Hosts or Channels mean any.
type GrantView struct {
	Subject        string
	Role           string
	Permissions    []Permission
	VirtualProxies []string
	Hosts          []string
	Channels       []string
	Sites          []string // empty: every site
}

// Policy is a parsed policy: roles, grants and approval rules. It is
// immutable once parsed and safe for concurrent use. A nil *Policy denies
// everything and uses the approval defaults.
type Policy struct {
	roles     map[string][]Permission
	grants    []grant
	bySubject map[string][]int // canonical subject -> indexes into grants, ascending
	approval  []Permission
	ttl       time.Duration
	people    []person          // file order
	personOf  map[string]string // canonical subject -> person name
	alerts    []AlertRule       // the alerts section (see Alerts)
	hasAlerts bool
}

type grant struct {
	subjects []string              // canonical spelling (normSubject)
	position map[string]int        // subject -> index in subjects
	roles    []string              // in file order
	perms    map[Permission]string // permission -> first role granting it
	anyVP    bool                  // "*"
	vps      []string              // lower-cased prefixes; "" is the default proxy
	hosts    []string              // normHost; empty = any
	channels []string              // exact; empty = any
	sites    []string              // lower-cased site names; empty = any
}

// Decide answers whether one of subjects may do perm on s. Deny by default:
// a grant allows when one of its subjects is among subjects, one of its
// roles holds perm, and it covers s:
//
//   - its virtual proxies include s.VirtualProxy (case-insensitive) or "*";
//     a Scope with VirtualProxy "*" (every virtual proxy, e.g. the audit
//     trail) is covered only by a grant on "*";
//   - it lists no hosts, or s.Host is one of them (case-insensitive);
//   - it lists no channels, or s.Channel is one of them (exact). A request
//     from no channel (s.Channel == "", a direct message) is not in any list;
//   - it lists no sites, or s.Site is one of them (case-insensitive). A
//     Scope without a Site reaches every site: only a grant without sites
//     covers it.
//
// A grant limited to hosts and a Scope without a Host: the action would
// reach every host, so Delete, Kick, Logout, Approve and Audit are denied;
// List is allowed with HostRestricted set, and the caller filters rows by
// asking again per host. Approve is asked with the scope of the action being
// approved (its virtual proxy and host) and the channel of the click.
// Subjects the policy could never hold ("*", malformed) are ignored.
func (p *Policy) Decide(subjects []string, perm Permission, s Scope) Decision {
	d := Decision{Permission: perm, Scope: s}
	if len(subjects) > 0 {
		d.Subject = subjects[0]
	}
	asked := canonicalSubjects(subjects)
	switch {
	case len(subjects) == 0:
		d.Reason = fmt.Sprintf("no subject asked for %q", perm)
		return d
	case !perm.Valid():
		d.Reason = fmt.Sprintf("%s asked for unknown permission %q", strings.Join(subjects, " / "), perm)
		return d
	}
	vp := strings.ToLower(s.VirtualProxy)
	host := normHost(s.Host)
	site := strings.ToLower(s.Site)
	var (
		partial   *grant // a List grant limited to hosts, for a Scope without Host
		partialBy string
		needHost  []string // hosts of grants that fit but for the missing Host
		needSite  []string // sites of grants that fit but for the missing Site
	)
	for _, i := range p.grantsOf(asked) {
		g := &p.grants[i]
		by, ok := g.holder(asked)
		if !ok {
			continue
		}
		if _, ok := g.perms[perm]; !ok || !g.coversVP(vp) {
			continue
		}
		if len(g.channels) > 0 && !slices.Contains(g.channels, s.Channel) {
			continue
		}
		if len(g.sites) > 0 && !slices.Contains(g.sites, site) {
			if site == "" {
				needSite = append(needSite, g.sites...)
			}
			continue
		}
		if len(g.hosts) > 0 {
			if host == "" {
				if perm == List && partial == nil {
					partial, partialBy = g, by
				}
				needHost = append(needHost, g.hosts...)
				continue
			}
			if !slices.Contains(g.hosts, host) {
				continue
			}
		}
		return allow(d, g, by, false)
	}
	if partial != nil {
		return allow(d, partial, partialBy, true)
	}
	d.Reason = fmt.Sprintf("%s has no grant with %q %s", strings.Join(subjects, " / "), perm, where(s))
	if len(needHost) > 0 {
		slices.Sort(needHost)
		d.Reason += fmt.Sprintf(" (only on hosts %s: name one)", strings.Join(slices.Compact(needHost), ", "))
	}
	if len(needSite) > 0 {
		slices.Sort(needSite)
		d.Reason += fmt.Sprintf(" (only on sites %s: name one)", strings.Join(slices.Compact(needSite), ", "))
	}
	return d
}

func allow(d Decision, g *grant, by string, hostRestricted bool) Decision {
	d.Allowed = true
	d.Subject = by
	d.Role = g.perms[d.Permission]
	d.HostRestricted = hostRestricted
	d.Reason = fmt.Sprintf("%s may %q %s (role %q)", by, d.Permission, where(d.Scope), d.Role)
	if hostRestricted {
		d.Reason += fmt.Sprintf(", only on hosts %s", strings.Join(g.hosts, ", "))
	}
	return d
}

// where renders a scope for reasons: `on virtual proxy "finance" on host
// "node1" in channel "C1"`.
func where(s Scope) string {
	var w string
	switch s.VirtualProxy {
	case "":
		w = "on the default virtual proxy"
	case "*":
		w = "on every virtual proxy"
	default:
		w = fmt.Sprintf("on virtual proxy %q", s.VirtualProxy)
	}
	if s.Host != "" {
		w += fmt.Sprintf(" on host %q", s.Host)
	}
	if s.Site != "" {
		w += fmt.Sprintf(" on site %q", s.Site)
	}
	if s.Channel != "" {
		w += fmt.Sprintf(" in channel %q", s.Channel)
	}
	return w
}

// canonicalSubjects maps each usable asked subject's canonical spelling to
// the spelling the caller used.
func canonicalSubjects(subjects []string) map[string]string {
	m := make(map[string]string, len(subjects))
	for _, s := range subjects {
		if n, err := normSubject(s); err == nil {
			if _, ok := m[n]; !ok {
				m[n] = s
			}
		}
	}
	return m
}

// holder returns the caller's spelling of the first grant subject asked.
// It walks the few subjects asked, not the grant's (which may list
// hundreds of people): Decide runs for every place of every request.
func (g *grant) holder(asked map[string]string) (string, bool) {
	best, by := len(g.subjects), ""
	for s, orig := range asked {
		if i, ok := g.position[s]; ok && i < best {
			best, by = i, orig
		}
	}
	return by, best < len(g.subjects)
}

func (g *grant) coversVP(vp string) bool { return g.anyVP || slices.Contains(g.vps, vp) }

// grantsOf returns, in file order, the indexes of the grants naming one of
// the asked subjects.
func (p *Policy) grantsOf(asked map[string]string) []int {
	if p == nil {
		return nil
	}
	var idx []int
	for s := range asked {
		idx = append(idx, p.bySubject[s]...)
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

// NeedsApproval reports whether perm needs a second person's approval
// before it runs. Default: kick and logout.
func (p *Policy) NeedsApproval(perm Permission) bool {
	if p == nil {
		return slices.Contains(defaultApproval, perm)
	}
	return slices.Contains(p.approval, perm)
}

// ApprovalTTL is how long a pending approval may wait. Default 30 minutes.
func (p *Policy) ApprovalTTL() time.Duration {
	if p == nil {
		return DefaultApprovalTTL
	}
	return p.ttl
}

// Grants lists, in file order, each role of each grant held by one of
// subjects, for /qlik whoami. The slices are copies.
func (p *Policy) Grants(subjects []string) []GrantView {
	asked := canonicalSubjects(subjects)
	var out []GrantView
	for _, i := range p.grantsOf(asked) {
		g := &p.grants[i]
		by, ok := g.holder(asked)
		if !ok {
			continue
		}
		vps := slices.Clone(g.vps)
		if g.anyVP {
			vps = append([]string{"*"}, vps...)
		}
		for _, r := range g.roles {
			out = append(out, GrantView{
				Subject:        by,
				Role:           r,
				Permissions:    slices.Clone(p.roles[r]),
				VirtualProxies: slices.Clone(vps),
				Hosts:          slices.Clone(g.hosts),
				Channels:       slices.Clone(g.channels),
				Sites:          slices.Clone(g.sites),
			})
		}
	}
	return out
}

// SiteNames lists, sorted, every site a grant of the policy names, so
// that the operator can be warned about a site that is not configured.
func (p *Policy) SiteNames() []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, g := range p.grants {
		out = append(out, g.sites...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
