package main

import (
	"context"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/qlik"
)

// metrics holds qlikbot's Prometheus collectors on a registry of its own
// (no global default registry), served at /metrics.
type metrics struct {
	reg          *prometheus.Registry
	commands     *prometheus.CounterVec   // command, outcome
	qlikCalls    *prometheus.HistogramVec // site, node, endpoint, status class
	qlikLimits   *limitsCollector         // site, addr: each node's adaptive concurrency limit
	sessionsSeen *prometheus.GaugeVec     // site, virtual_proxy
	approvals    *prometheus.CounterVec   // decision: requested, approved, rejected, expired
	pending      prometheus.Gauge
	refusals     *prometheus.CounterVec // reason: rate_limited, busy
	chat429      *prometheus.CounterVec // platform
	health       *healthGauges
	watch        *watchGauges
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qlikbot_commands_total", Help: "Commands handled, by command and outcome.",
		}, []string{"command", "outcome"}),
		qlikCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "qlikbot_qlik_call_duration_seconds", Help: "Qlik QRS/QPS call latency, by site, node, endpoint and HTTP status (error: no answer).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"site", "node", "endpoint", "code"}),
		qlikLimits: &limitsCollector{desc: prometheus.NewDesc("qlikbot_qlik_concurrency_limit",
			"Qlik calls the client sends at once to each node and port now: its adaptive limit (1 while a node that stopped answering is probed).",
			[]string{"site", "addr"}, nil)},
		sessionsSeen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qlikbot_sessions_seen", Help: "Sessions seen per site and virtual proxy in the latest list.",
		}, []string{"site", "virtual_proxy"}),
		approvals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qlikbot_approvals_total", Help: "Approval requests and decisions.",
		}, []string{"decision"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "qlikbot_approvals_pending", Help: "Approvals requested and not yet decided by this process.",
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qlikbot_refusals_total", Help: "Requests refused before running, by reason (rate_limited, busy).",
		}, []string{"reason"}),
		chat429: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qlikbot_chat_rate_limited_total", Help: "HTTP 429 answers from chat platform APIs.",
		}, []string{"platform"}),
	}
	m.reg.MustRegister(m.commands, m.qlikCalls, m.qlikLimits, m.sessionsSeen, m.approvals, m.pending, m.refusals, m.chat429,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.health = newHealthGauges(m.reg)
	m.watch = newWatchGauges(m.reg)
	return m
}

// knownCommands bounds the command label: user text never becomes a label.
var knownCommands = map[string]bool{
	"help": true, "sessions": true, "users": true, "proxies": true, "health": true, "delete": true, "kick": true,
	"audit": true, "whoami": true, "approve": true, "reject": true, "approval": true, "expire": true, "jobs": true, "job-resumed": true,
	"qlik.approve": true, "qlik.reject": true, "qlik.run": true,
	"subscribe": true, "unsubscribe": true, "alerts": true, "trend": true, "qlik.silence": true,
}

func commandLabel(s string) string {
	if knownCommands[s] {
		return s
	}
	return "other"
}

func (m *metrics) observeCommand(ev commands.Event) {
	m.commands.WithLabelValues(commandLabel(ev.Command), ev.Outcome).Inc()
	switch ev.Approval {
	case "":
	case "requested":
		m.approvals.WithLabelValues(ev.Approval).Inc()
		m.pending.Inc()
	default:
		m.approvals.WithLabelValues(ev.Approval).Inc()
		m.pending.Dec()
	}
}

func (m *metrics) observeDispatch(ev bot.DispatchEvent) {
	switch ev.Outcome {
	case bot.OutcomeRateLimited, bot.OutcomeBusy:
		m.refusals.WithLabelValues(ev.Outcome).Inc()
	}
}

// observeQlik returns site's Qlik call observer.
func (m *metrics) observeQlik(site string) func(qlik.Call) {
	return func(c qlik.Call) {
		code := "error"
		if c.Status > 0 {
			code = strconv.Itoa(c.Status)
		}
		m.qlikCalls.WithLabelValues(site, c.Node, c.Endpoint, code).Observe(c.Duration.Seconds())
	}
}

// limitsCollector reads every site client's adaptive limits at scrape
// time (qlik.Client.Limits), so the gauge is never stale.
type limitsCollector struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	from []limitSource
}

type limitSource struct {
	site   string
	limits func() map[string]int
}

// add makes site's client's limits part of the gauge.
func (l *limitsCollector) add(site string, limits func() map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.from = append(l.from, limitSource{site, limits})
}

func (l *limitsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

func (l *limitsCollector) Collect(ch chan<- prometheus.Metric) {
	l.mu.Lock()
	from := slices.Clone(l.from)
	l.mu.Unlock()
	for _, s := range from {
		for addr, n := range s.limits() {
			ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, float64(n), s.site, addr)
		}
	}
}

// chatRateLimited returns the hook an adapter calls on each 429.
func (m *metrics) chatRateLimited(p bot.Platform) func() {
	c := m.chat429.WithLabelValues(string(p))
	return c.Inc
}

// observedQlik is a site's Qlik client with every session list reported
// to the sessions-seen gauge.
type observedQlik struct {
	*qlik.Client
	m    *metrics
	site string
}

func (o observedQlik) Sessions(ctx context.Context, sel qlik.Selection) (*qlik.SessionList, error) {
	l, err := o.Client.Sessions(ctx, sel)
	if l != nil && sel.User == nil { // one user's sessions say nothing of the proxy's
		o.m.observeSessions(o.site, l)
	}
	return l, err
}

// observeSessions sets the gauge of every virtual proxy the list asked,
// zero included, so a proxy whose sessions were all ended drops to 0. A
// proxy with a node that did not answer keeps its previous value.
func (m *metrics) observeSessions(site string, l *qlik.SessionList) {
	failed := map[string]bool{}
	for _, e := range l.Errors {
		failed[prefixLabel(e.VirtualProxy.Prefix)] = true
	}
	counts := map[string]float64{}
	for _, loc := range l.Selected {
		counts[prefixLabel(loc.VirtualProxy.Prefix)] += 0
	}
	for _, s := range l.Sessions {
		counts[prefixLabel(s.VirtualProxy.Prefix)]++
	}
	for p, n := range counts {
		if !failed[p] {
			m.sessionsSeen.WithLabelValues(site, p).Set(n)
		}
	}
}

func prefixLabel(p string) string {
	if p == "" {
		return "(default)"
	}
	return p
}
