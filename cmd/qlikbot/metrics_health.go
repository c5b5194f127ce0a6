package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qlikbot/qlikbot/qlik"
)

// healthGauges are the engines' figures as last read, labelled by site and
// node (the engine's host name): by /qlik health, and by the watcher at
// every sample (QLIKBOT_WATCH_INTERVAL) when it runs.
type healthGauges struct {
	up, cpu, memUsed, memTotal, sessions, users, apps, saturated, started *prometheus.GaugeVec
}

func newHealthGauges(reg *prometheus.Registry) *healthGauges {
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "qlikbot_engine_" + name, Help: help}, append([]string{"site", "node"}, labels...))
	}
	h := &healthGauges{
		up:        gauge("up", "1 when the engine answered its health check when last read, 0 when it did not."),
		cpu:       gauge("cpu_percent", "Engine CPU use in percent over 30 s, as last read."),
		memUsed:   gauge("memory_used_bytes", "Engine node memory in use (physical minus free), as last read."),
		memTotal:  gauge("memory_total_bytes", "Engine node physical memory, as last read."),
		sessions:  gauge("sessions", "Engine sessions, active and total, as last read.", "state"),
		users:     gauge("users", "Engine users, active and total, as last read.", "state"),
		apps:      gauge("apps_loaded", "Apps loaded by the engine, as last read."),
		saturated: gauge("saturated", "1 when the engine reported itself saturated (overloaded) when last read."),
		started:   gauge("started_timestamp_seconds", "When the engine started, in Unix seconds, as last read."),
	}
	reg.MustRegister(h.up, h.cpu, h.memUsed, h.memTotal, h.sessions, h.users, h.apps, h.saturated, h.started)
	return h
}

const mb = 1 << 20

// observe sets the gauges of every engine of the report: its figures when
// it answered; up 0 and no figures (rather than stale ones) when not.
func (h *healthGauges) observe(site string, rep *qlik.HealthReport) {
	for _, n := range rep.Nodes {
		node, v := n.Engine.Node.HostName, n.EngineHealth
		h.up.WithLabelValues(site, node).Set(1)
		h.cpu.WithLabelValues(site, node).Set(v.CPU)
		h.memUsed.WithLabelValues(site, node).Set((v.Mem.TotalPhysical - v.Mem.Free) * mb)
		h.memTotal.WithLabelValues(site, node).Set(v.Mem.TotalPhysical * mb)
		h.sessions.WithLabelValues(site, node, "active").Set(float64(v.Sessions.Active))
		h.sessions.WithLabelValues(site, node, "total").Set(float64(v.Sessions.Total))
		h.users.WithLabelValues(site, node, "active").Set(float64(v.Users.Active))
		h.users.WithLabelValues(site, node, "total").Set(float64(v.Users.Total))
		h.apps.WithLabelValues(site, node).Set(float64(v.Apps.LoadedDocs.Count))
		h.saturated.WithLabelValues(site, node).Set(boolGauge(v.Saturated))
		if !v.Started.IsZero() {
			h.started.WithLabelValues(site, node).Set(float64(v.Started.Unix()))
		}
	}
	for _, e := range rep.Errors {
		node := e.Engine.Node.HostName
		h.up.WithLabelValues(site, node).Set(0)
		match := prometheus.Labels{"site": site, "node": node}
		for _, g := range []*prometheus.GaugeVec{h.cpu, h.memUsed, h.memTotal, h.sessions, h.users, h.apps, h.saturated, h.started} {
			g.DeletePartialMatch(match)
		}
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Health is the site's engine health, reported to the gauges.
func (o observedQlik) Health(ctx context.Context, hosts []string) (*qlik.HealthReport, error) {
	rep, err := o.Client.Health(ctx, hosts)
	if rep != nil {
		o.m.health.observe(o.site, rep)
	}
	return rep, err
}
