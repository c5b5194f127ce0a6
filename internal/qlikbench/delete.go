package qlikbench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// Delete scenario of the Qlik client alone (package qlik's
// BenchmarkDelete1000): 1,000 sessions on 10 virtual proxies x 2 nodes,
// every call 20 ms, the client limited to 200 requests per second. The
// printed delete figures come from cmd/qlikbench/botbench, through an
// approved kick with the same limits.
const (
	DeleteSessions = 1000
	DeleteRPS      = 200
	DeleteLatency  = 20 * time.Millisecond
)

// DeleteSite is a site full of sessions to delete.
type DeleteSite struct {
	Sim    *qliksim.Server
	Client *qlik.Client
	lab    qliksim.Lab
}

// StartDeleteSite starts the simulator (250 users, so the 5-session limit
// allows 1,000 sessions) and a client limited to DeleteRPS.
func StartDeleteSite() (*DeleteSite, error) {
	lab := qliksim.Generate(qliksim.GenOptions{Users: 250, Sessions: DeleteSessions, VirtualProxies: 10, Nodes: 2, Seed: 2})
	sim, err := qliksim.Start(qliksim.WithLab(lab), qliksim.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	sim.SetFaultAll(qliksim.Fault{Latency: DeleteLatency})
	cfg := ClientConfig(sim, Shipped{})
	cfg.RequestsPerSecond = DeleteRPS
	c, err := qlik.New(cfg)
	if err != nil {
		sim.Close()
		return nil, err
	}
	return &DeleteSite{Sim: sim, Client: c, lab: lab}, nil
}

// Close stops the client and the simulator.
func (d *DeleteSite) Close() {
	d.Client.Close()
	d.Sim.Close()
}

// Targets lists every session on the site as delete targets.
func (d *DeleteSite) Targets(ctx context.Context) ([]qlik.DeleteTarget, error) {
	l, err := d.Client.Sessions(ctx, qlik.Selection{})
	if err != nil {
		return nil, err
	}
	if len(l.Errors) > 0 {
		return nil, l.Errors[0]
	}
	ts := make([]qlik.DeleteTarget, len(l.Sessions))
	for i, s := range l.Sessions {
		ts[i] = qlik.DeleteTarget{Prefix: s.VirtualProxy.Prefix, Host: s.Proxy.Node.HostName, SessionID: s.ID, User: s.User()}
	}
	return ts, nil
}

// Refill puts the lab's sessions back after a delete run.
func (d *DeleteSite) Refill() error {
	for _, ls := range d.lab.Sessions {
		if _, err := d.Sim.AddSession(ls.NodeHost, ls.Prefix, ls.Session); err != nil {
			return fmt.Errorf("refill: %w", err)
		}
	}
	return nil
}

// Run deletes ts, checks every one was deleted, and returns the time taken
// and the peak requests per second the simulator saw while deleting.
func (d *DeleteSite) Run(ctx context.Context, ts []qlik.DeleteTarget) (time.Duration, int, error) {
	d.Sim.ResetRequests()
	start := time.Now()
	outs := d.Client.DeleteSessions(ctx, ts)
	elapsed := time.Since(start)
	for _, o := range outs {
		if o.Status != qlik.Deleted {
			return 0, 0, fmt.Errorf("session %s: %s: %v", o.Target.SessionID, o.Status, o.Err)
		}
	}
	if left := d.Sim.AllSessions(); left != 0 {
		return 0, 0, fmt.Errorf("%d sessions left after deleting", left)
	}
	reqs := d.Sim.Requests()
	for _, r := range reqs {
		if r.Method != http.MethodDelete {
			return 0, 0, fmt.Errorf("unexpected %s %s while deleting", r.Method, r.Path)
		}
	}
	if len(reqs) != len(ts) {
		return 0, 0, fmt.Errorf("%d DELETEs for %d sessions", len(reqs), len(ts))
	}
	return elapsed, PeakPerSecond(reqs), nil
}
