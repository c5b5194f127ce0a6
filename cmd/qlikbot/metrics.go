package main

import (
	"strconv"

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
	qlikCalls    *prometheus.HistogramVec // node, endpoint, status class
	sessionsSeen *prometheus.GaugeVec     // virtual_proxy
	approvals    *prometheus.CounterVec   // decision: requested, approved, rejected, expired
	pending      prometheus.Gauge
	refusals     *prometheus.CounterVec // reason: rate_limited, busy
	chat429      *prometheus.CounterVec // platform
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "qlikbot_commands_total", Help: "Commands handled, by command and outcome.",
		}, []string{"command", "outcome"}),
		qlikCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "qlikbot_qlik_call_duration_seconds", Help: "Qlik QRS/QPS call latency, by node and endpoint.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"node", "endpoint", "code"}),
		sessionsSeen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "qlikbot_sessions_seen", Help: "Sessions seen per virtual proxy in the latest list.",
		}, []string{"virtual_proxy"}),
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
	m.reg.MustRegister(m.commands, m.qlikCalls, m.sessionsSeen, m.approvals, m.pending, m.refusals, m.chat429,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// knownCommands bounds the command label: user text never becomes a label.
var knownCommands = map[string]bool{
	"help": true, "sessions": true, "users": true, "proxies": true, "delete": true, "kick": true,
	"audit": true, "whoami": true, "approve": true, "reject": true, "expire": true,
	"qlik.approve": true, "qlik.reject": true, "qlik.run": true,
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

func (m *metrics) observeQlik(c qlik.Call) {
	code := "error"
	if c.Status > 0 {
		code = strconv.Itoa(c.Status)
	}
	m.qlikCalls.WithLabelValues(c.Node, c.Endpoint, code).Observe(c.Duration.Seconds())
}
