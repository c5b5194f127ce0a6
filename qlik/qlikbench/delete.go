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

// Delete scenario: 1,000 sessions on 10 virtual proxies x 2 nodes, every
// call 20 ms, the client limited to 200 requests per second.
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
	c, err := qlik.New(qlik.Config{
		QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(),
		Resolve:           sim.Resolve(),
		RequestsPerSecond: DeleteRPS,
		Logger:            slog.New(slog.DiscardHandler),
	})
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

func measureDelete(ctx context.Context, _ Options) ([]Figure, error) {
	d, err := StartDeleteSite()
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ts, err := d.Targets(ctx)
	if err != nil {
		return nil, err
	}
	if len(ts) != DeleteSessions {
		return nil, fmt.Errorf("site holds %d sessions, want %d", len(ts), DeleteSessions)
	}
	elapsed, peak, err := d.Run(ctx, ts)
	if err != nil {
		return nil, err
	}
	return []Figure{
		{Key: "delete_1000_seconds", Label: "time to delete 1,000 sessions", Value: elapsed.Seconds(), Unit: "s"},
		{Key: "delete_peak_rps", Label: "peak requests in any 1 s window (limit 200)", Value: float64(peak), Unit: "req/s"},
	}, nil
}
