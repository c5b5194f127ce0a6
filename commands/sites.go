package commands

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
)

// Several Qlik Sense sites from one engine. Every command takes --site
// NAME. Without it, sessions, users, proxies and health ask every site
// the caller holds a grant on, all at once, and merge the answers (a
// Site column when more than one site is shown, a warning per site that
// did not answer); the other commands act on the default site. An
// approval, its targets, its audit rows and the handles it shows belong
// to one site.

// Site is one Qlik Sense site the engine serves.
type Site struct {
	// Name is how --site, the policy's grants and the audit trail name
	// it (authz.CheckSiteName; compared case-insensitively).
	Name string
	Qlik Qlik
	// Default marks the site of commands that act on one site when no
	// --site is given; without one marked, the first site.
	Default bool
	// CPUWarn and MemFreeWarn are when /qlik health warns about a node:
	// CPU at or above CPUWarn percent, free memory under MemFreeWarn
	// percent of its physical memory. 0 takes DefaultCPUWarn and
	// DefaultMemFreeWarn.
	CPUWarn, MemFreeWarn float64
}

// site is a Site as the engine keeps it: its name lower-cased, its
// thresholds filled in.
type site struct {
	name                 string
	q                    Qlik
	cpuWarn, memFreeWarn float64
}

// newSite checks s's thresholds and fills in the defaults.
func newSite(s Site) (*site, error) {
	out := &site{name: strings.ToLower(s.Name), q: s.Qlik, cpuWarn: s.CPUWarn, memFreeWarn: s.MemFreeWarn}
	if out.cpuWarn == 0 {
		out.cpuWarn = DefaultCPUWarn
	}
	if out.memFreeWarn == 0 {
		out.memFreeWarn = DefaultMemFreeWarn
	}
	if err := CheckHealthThresholds(out.cpuWarn, out.memFreeWarn); err != nil {
		return nil, fmt.Errorf("site %q: %w", out.name, err)
	}
	return out, nil
}

// DefaultSite is the name of the one site of an engine made with New's
// Qlik client rather than WithSites.
const DefaultSite = "default"

// WithSites makes the engine serve several sites, in the order given (the
// order of merged lists); New's Qlik client must then be nil. Names must
// be valid and distinct; at most one site is the Default.
func WithSites(sites ...Site) Option {
	return func(o *options) error {
		if len(sites) == 0 {
			return errors.New("WithSites: no sites")
		}
		o.sites, o.defaultSite = nil, 0
		defaults := 0
		for i, s := range sites {
			if err := authz.CheckSiteName(s.Name); err != nil {
				return fmt.Errorf("WithSites: %w", err)
			}
			name := strings.ToLower(s.Name)
			if s.Qlik == nil {
				return fmt.Errorf("WithSites: site %q has no Qlik client", name)
			}
			if slices.ContainsFunc(o.sites, func(x *site) bool { return x.name == name }) {
				return fmt.Errorf("WithSites: site %q is given twice", name)
			}
			if s.Default {
				defaults++
				o.defaultSite = i
			}
			ns, err := newSite(s)
			if err != nil {
				return fmt.Errorf("WithSites: %w", err)
			}
			o.sites = append(o.sites, ns)
		}
		if defaults > 1 {
			return errors.New("WithSites: more than one default site")
		}
		return nil
	}
}

// multi reports whether the engine serves more than one site: then
// replies and approvals name the site they concern.
func (e *Engine) multi() bool { return len(e.sites) > 1 }

// defSite is the site of single-site commands given without --site.
func (e *Engine) defSite() *site { return e.sites[e.defaultSite] }

// siteNamed finds a configured site by name, case-insensitively.
func (e *Engine) siteNamed(name string) *site {
	for _, s := range e.sites {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

// siteNames lists the names of ss.
func siteNames(ss []*site) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.name)
	}
	return out
}

// visibleSites are the sites where one of c's grants applies, in order:
// the sites a merged list asks, and the ones an unknown --site suggests,
// so that a typo does not list sites someone holds no right on.
func (e *Engine) visibleSites(c *call) []*site {
	grants := c.policy.Grants(c.subjects)
	var out []*site
	for _, s := range e.sites {
		if slices.ContainsFunc(grants, func(g authz.GrantView) bool {
			return len(g.Sites) == 0 || slices.Contains(g.Sites, s.name)
		}) {
			out = append(out, s)
		}
	}
	return out
}

// chooseSites picks the sites a command runs on: the one --site names;
// without it, for a merged list (sessions, users, proxies, health), every
// site c may see (the default one when c may see none, so that the
// refusal names what is missing), else the default site. An unknown
// --site is a usage reply.
func (e *Engine) chooseSites(c *call, cmd Command, merged bool) ([]*site, *bot.Reply) {
	if cmd.Site != "" {
		if s := e.siteNamed(cmd.Site); s != nil {
			return []*site{s}, nil
		}
		r := e.usage(&UsageError{Verb: cmd.Verb, Problem: e.unknownSite(c, cmd.Site)})
		return nil, &r
	}
	if merged {
		if vs := e.visibleSites(c); len(vs) > 0 {
			return vs, nil
		}
	}
	return []*site{e.defSite()}, nil
}

// unknownSite explains a --site no configured site has, suggesting the
// sites c may see.
func (e *Engine) unknownSite(c *call, name string) string {
	known := siteNames(e.visibleSites(c))
	list := "none"
	if len(known) > 0 {
		list = strings.Join(known, ", ")
	}
	return fmt.Sprintf("unknown site %q%s; sites you may use: %s", clip(name), didYouMean(name, known), list)
}

// siteWord is " on site NAME" when the engine serves several sites, for
// titles and sentences about one site; "" otherwise.
func (e *Engine) siteWord(name string) string {
	if !e.multi() || name == "" {
		return ""
	}
	return " on site " + name
}
