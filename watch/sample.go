package watch

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/store"
)

// Qlik is what the watcher asks of a site (*qlik.Client).
type Qlik interface {
	Sessions(ctx context.Context, sel qlik.Selection) (*qlik.SessionList, error)
	Health(ctx context.Context, hosts []string) (*qlik.HealthReport, error)
}

// Site is one Qlik Sense site the watcher samples.
type Site struct {
	Name string // as the store, the policy and --site call it
	Qlik Qlik
}

// The series of a sample (store.SeriesKey.Metric). Proxy is the virtual
// proxy's label (ProxyLabel), Node the node's name.
const (
	MetricSessions     = "sessions"       // per virtual proxy and node
	MetricUsers        = "users"          // per virtual proxy; and per site (no proxy)
	MetricUsersAtLimit = "users_at_limit" // per virtual proxy; and per site (no proxy)
	MetricEngineUp     = "engine_answering"
	MetricEngineCPU    = "engine_cpu_pct"
	MetricEngineMem    = "engine_mem_total_mb"
	MetricEngineFree   = "engine_mem_free_mb"
	MetricEngineSess   = "engine_sessions"
	MetricEngineUsers  = "engine_users"
	MetricEngineSat    = "engine_saturated"
)

// AccessPassLimit is the sessions one user may hold at once with a Qlik
// Sense access pass: users at or above it count as "at the limit".
const AccessPassLimit = 5

// DefaultProxyLabel is how the default virtual proxy (prefix "") is named
// in series and messages.
const DefaultProxyLabel = "(default)"

// Reading is one sample of a site as the watcher read it.
type Reading struct {
	Site string
	Time time.Time
	// Err is set when the site did not answer at all (its topology could
	// not be read); then nothing else is.
	Err     error
	Proxies []ProxyCount // each linked (virtual proxy, node) pair, topology order
	Users   []UserCount  // users by sessions on the site, most first
	Nodes   []NodeState  // every node of the site: its proxy service and its engine
}

// ProxyCount is the sessions of one virtual proxy on one node.
type ProxyCount struct {
	Label    string // ProxyLabel
	Prefix   string
	Node     string // node name
	Host     string
	Sessions int
	Answered bool // false: the pair did not answer; Sessions is 0
}

// UserCount is one user's sessions on a site.
type UserCount struct {
	User     qlik.UserRef
	Sessions int
	Proxies  []string // labels of the virtual proxies the sessions are on
}

// NodeState is one node: whether its proxy service answered every pair
// asked of it, and its engine's health.
type NodeState struct {
	Name, Host string
	ProxyPairs int // (virtual proxy, node) pairs asked of the node
	ProxyFails int // of which did not answer
	HasEngine  bool
	Engine     *qlik.EngineHealth // nil when the engine did not answer (or there is none)
	EngineErr  error
}

// Down reports whether the node did not answer: every pair asked of its
// proxy service failed, or its engine's health check did.
func (n NodeState) Down() bool {
	return (n.ProxyPairs > 0 && n.ProxyFails == n.ProxyPairs) || (n.HasEngine && n.Engine == nil)
}

// ProxyLabel names a virtual proxy in series and messages: its prefix,
// DefaultProxyLabel for the default one, and its session cookie header
// after it when the prefix is shared ("hdr (X-Qlik-Session-hdr)").
// Prefixes hold no spaces or parentheses, so PrefixOf reads it back.
func ProxyLabel(topo *qlik.Topology, vp qlik.VirtualProxy) string {
	l := vp.Prefix
	if l == "" {
		l = DefaultProxyLabel
	}
	if topo != nil && len(topo.ByPrefix(vp.Prefix)) > 1 {
		l += " (" + vp.SessionCookieHeader + ")"
	}
	return l
}

// PrefixOf returns the prefix of a ProxyLabel.
func PrefixOf(label string) string {
	if label == DefaultProxyLabel || strings.HasPrefix(label, DefaultProxyLabel+" (") {
		return ""
	}
	p, _, _ := strings.Cut(label, " (")
	return p
}

// sampleSite reads one site: every session on every (virtual proxy,
// node) pair, and every engine's health, both at once.
func sampleSite(ctx context.Context, s Site, at time.Time) Reading {
	r := Reading{Site: s.Name, Time: at}
	var sl *qlik.SessionList
	var rep *qlik.HealthReport
	var serr, herr error
	var wg sync.WaitGroup
	wg.Go(func() { sl, serr = s.Qlik.Sessions(ctx, qlik.Selection{}) })
	wg.Go(func() { rep, herr = s.Qlik.Health(ctx, nil) })
	wg.Wait()
	if serr != nil {
		r.Err = fmt.Errorf("list sessions of site %s: %w", s.Name, serr)
		return r
	}
	// Every node: the proxy services', then any engine on another node.
	index := map[string]int{}
	addNode := func(n qlik.Node) {
		if _, ok := index[n.HostName]; !ok {
			index[n.HostName] = len(r.Nodes)
			r.Nodes = append(r.Nodes, NodeState{Name: n.Name, Host: n.HostName})
		}
	}
	for _, ps := range sl.Topology.ProxyServices {
		addNode(ps.Node)
	}
	if herr == nil {
		for _, e := range rep.Engines {
			addNode(e.Node)
		}
	}
	pair := func(l qlik.Location) string { return l.VirtualProxy.ID + "\x00" + l.Proxy.ID }
	failed := map[string]bool{}
	for _, pe := range sl.Errors {
		failed[pair(pe.Location)] = true
	}
	perPair := map[string]int{}
	for _, ls := range sl.Sessions {
		perPair[pair(ls.Location)]++
	}
	labels := map[string]string{}
	label := func(vp qlik.VirtualProxy) string {
		l, ok := labels[vp.ID]
		if !ok {
			l = ProxyLabel(sl.Topology, vp)
			labels[vp.ID] = l
		}
		return l
	}
	for _, loc := range sl.Selected {
		ok := !failed[pair(loc)]
		r.Proxies = append(r.Proxies, ProxyCount{Label: label(loc.VirtualProxy), Prefix: loc.VirtualProxy.Prefix,
			Node: loc.Proxy.Node.Name, Host: loc.Proxy.Node.HostName, Sessions: perPair[pair(loc)], Answered: ok})
		addNode(loc.Proxy.Node)
		ns := &r.Nodes[index[loc.Proxy.Node.HostName]]
		ns.ProxyPairs++
		if !ok {
			ns.ProxyFails++
		}
	}
	r.Users = countUsers(sl, label)
	if herr != nil {
		// The engine list itself could not be read: every node's engine
		// is unknown, none is reported down for it.
		return r
	}
	for _, e := range rep.Engines {
		r.Nodes[index[e.Node.HostName]].HasEngine = true
	}
	for _, n := range rep.Nodes {
		h := n.EngineHealth
		r.Nodes[index[n.Engine.Node.HostName]].Engine = &h
	}
	for _, e := range rep.Errors {
		r.Nodes[index[e.Engine.Node.HostName]].EngineErr = e.Err
	}
	return r
}

// countUsers counts each user's sessions on the site, most first.
func countUsers(sl *qlik.SessionList, label func(qlik.VirtualProxy) string) []UserCount {
	byUser := map[string]*UserCount{}
	var out []*UserCount
	for _, s := range sl.Sessions {
		k := strings.ToLower(s.User().String())
		u := byUser[k]
		if u == nil {
			u = &UserCount{User: s.User()}
			byUser[k] = u
			out = append(out, u)
		}
		u.Sessions++
		if l := label(s.VirtualProxy); !slices.Contains(u.Proxies, l) {
			u.Proxies = append(u.Proxies, l)
		}
	}
	slices.SortStableFunc(out, func(a, b *UserCount) int {
		if c := cmp.Compare(b.Sessions, a.Sessions); c != 0 {
			return c
		}
		return cmp.Compare(strings.ToLower(a.User.String()), strings.ToLower(b.User.String()))
	})
	users := make([]UserCount, len(out))
	for i, u := range out {
		users[i] = *u
	}
	return users
}

// Sample returns r as the store keeps it: sessions per virtual proxy and
// node (NaN where the pair did not answer), users and users at the
// access-pass limit per virtual proxy and for the site, and seven engine
// figures per node (NaN where the engine did not answer, except
// engine_answering, which is then 0). A site that did not answer gives no
// sample (ok is false).
func (r Reading) Sample() (s store.Sample, ok bool) {
	if r.Err != nil {
		return store.Sample{}, false
	}
	v := make(map[store.SeriesKey]float64, 2*len(r.Proxies)+7*len(r.Nodes)+2)
	proxyOK := map[string]bool{}
	for _, p := range r.Proxies {
		k := store.SeriesKey{Metric: MetricSessions, Proxy: p.Label, Node: p.Node}
		if p.Answered {
			v[k] = float64(p.Sessions)
		} else {
			v[k] = math.NaN()
		}
		ok, seen := proxyOK[p.Label]
		proxyOK[p.Label] = (ok || !seen) && p.Answered
	}
	users, atLimit := map[string]float64{}, map[string]float64{}
	for l := range proxyOK {
		users[l], atLimit[l] = 0, 0
	}
	siteAt := 0.0
	for _, u := range r.Users {
		at := u.Sessions >= AccessPassLimit
		if at {
			siteAt++
		}
		for _, l := range u.Proxies {
			users[l]++
			if at {
				atLimit[l]++
			}
		}
	}
	for l, ok := range proxyOK {
		if !ok {
			// A node of the proxy did not answer: its users are unknown.
			users[l], atLimit[l] = math.NaN(), math.NaN()
		}
		v[store.SeriesKey{Metric: MetricUsers, Proxy: l}] = users[l]
		v[store.SeriesKey{Metric: MetricUsersAtLimit, Proxy: l}] = atLimit[l]
	}
	v[store.SeriesKey{Metric: MetricUsers}] = float64(len(r.Users))
	v[store.SeriesKey{Metric: MetricUsersAtLimit}] = siteAt
	for _, n := range r.Nodes {
		if !n.HasEngine {
			continue
		}
		key := func(m string) store.SeriesKey { return store.SeriesKey{Metric: m, Node: n.Name} }
		if n.Engine == nil {
			v[key(MetricEngineUp)] = 0
			for _, m := range []string{MetricEngineCPU, MetricEngineMem, MetricEngineFree, MetricEngineSess, MetricEngineUsers, MetricEngineSat} {
				v[key(m)] = math.NaN()
			}
			continue
		}
		h := n.Engine
		sat := 0.0
		if h.Saturated {
			sat = 1
		}
		v[key(MetricEngineUp)] = 1
		v[key(MetricEngineCPU)] = h.CPU
		v[key(MetricEngineMem)] = h.Mem.TotalPhysical
		v[key(MetricEngineFree)] = h.Mem.Free
		v[key(MetricEngineSess)] = float64(h.Sessions.Total)
		v[key(MetricEngineUsers)] = float64(h.Users.Total)
		v[key(MetricEngineSat)] = sat
	}
	return store.Sample{Site: r.Site, Time: r.Time, Values: v}, true
}
