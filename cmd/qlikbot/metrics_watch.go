package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qlikbot/qlikbot/watch"
)

// watchGauges are the watcher's figures of its last sample, set on the
// replica that samples (the others have none). The engine figures and
// the sessions per virtual proxy are the gauges of /qlik health and
// /qlik sessions (qlikbot_engine_*, qlikbot_sessions_seen), which a sample
// sets too.
type watchGauges struct {
	sessions *prometheus.GaugeVec // site, virtual_proxy, node
	atLimit  *prometheus.GaugeVec // site
	users    *prometheus.GaugeVec // site
	samples  *prometheus.CounterVec
}

func newWatchGauges(reg *prometheus.Registry) *watchGauges {
	g := &watchGauges{
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qlikbot_sessions", Help: "Sessions per site, virtual proxy and node in the watcher's last sample (a pair that did not answer is left out).",
		}, []string{"site", "virtual_proxy", "node"}),
		atLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qlikbot_users_at_limit", Help: "Users at or above the 5-session access-pass limit per site in the watcher's last sample.",
		}, []string{"site"}),
		users: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qlikbot_users", Help: "Users with a session per site in the watcher's last sample.",
		}, []string{"site"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qlikbot_watch_samples_total", Help: "Samples the watcher took on this replica, by site and outcome (ok, partial: a pair or engine did not answer, failed).",
		}, []string{"site", "outcome"}),
	}
	reg.MustRegister(g.sessions, g.atLimit, g.users, g.samples)
	return g
}

// observeReading sets the gauges from one sample of a site.
func (m *metrics) observeReading(r watch.Reading) {
	g := m.watch
	if r.Err != nil {
		g.samples.WithLabelValues(r.Site, "failed").Inc()
		return
	}
	// The site's pairs as they are now: a virtual proxy removed since
	// leaves no stale series.
	g.sessions.DeletePartialMatch(prometheus.Labels{"site": r.Site})
	outcome := "ok"
	for _, p := range r.Proxies {
		if !p.Answered {
			outcome = "partial"
			continue
		}
		g.sessions.WithLabelValues(r.Site, p.Label, p.Node).Set(float64(p.Sessions))
	}
	at := 0
	for _, u := range r.Users {
		if u.Sessions >= watch.AccessPassLimit {
			at++
		}
	}
	for _, n := range r.Nodes {
		if n.HasEngine && n.Engine == nil {
			outcome = "partial"
		}
	}
	g.atLimit.WithLabelValues(r.Site).Set(float64(at))
	g.users.WithLabelValues(r.Site).Set(float64(len(r.Users)))
	g.samples.WithLabelValues(r.Site, outcome).Inc()
}
