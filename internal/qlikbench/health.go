package qlikbench

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// The health scenario: the engines of HealthNodes nodes, every call
// HealthLatency. With the engine list cached, every engine is asked at
// once: one round trip.
const (
	HealthNodes    = 4
	HealthLatency  = 50 * time.Millisecond
	healthSessions = 400
)

// HealthSite is a generated site with a client whose engine list is
// cached.
type HealthSite struct {
	Sim    *qliksim.Server
	Client *qlik.Client
}

// StartHealthSite starts the site and reads the engine list once.
func StartHealthSite(ctx context.Context, shipped Shipped) (*HealthSite, error) {
	sim, err := qliksim.Start(
		qliksim.WithLab(qliksim.Generate(qliksim.GenOptions{Users: healthSessions, Sessions: healthSessions, VirtualProxies: 10, Nodes: HealthNodes, Seed: 9})),
		qliksim.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	sim.SetFaultAll(qliksim.Fault{Latency: HealthLatency})
	cfg := ClientConfig(sim, shipped)
	cfg.TopologyTTL = time.Hour // the engine list stays cached through the runs
	c, err := qlik.New(cfg)
	if err != nil {
		sim.Close()
		return nil, err
	}
	h := &HealthSite{Sim: sim, Client: c}
	if _, err := c.Engines(ctx); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Close stops the client and the simulator.
func (h *HealthSite) Close() {
	h.Client.Close()
	h.Sim.Close()
}

// Health asks every engine and checks every one answered with the
// sessions it holds.
func (h *HealthSite) Health(ctx context.Context) error {
	rep, err := h.Client.Health(ctx, nil)
	if err != nil {
		return err
	}
	if len(rep.Errors) > 0 {
		return rep.Errors[0]
	}
	total := 0
	for _, n := range rep.Nodes {
		total += n.Sessions.Total
	}
	if len(rep.Nodes) != HealthNodes || total != healthSessions {
		return fmt.Errorf("%d engines reported %d sessions, want %d and %d", len(rep.Nodes), total, HealthNodes, healthSessions)
	}
	return nil
}

func measureHealth(ctx context.Context, o Options) ([]Figure, error) {
	h, err := StartHealthSite(ctx, o.Shipped)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if err := h.Health(ctx); err != nil { // warm connections
		return nil, err
	}
	ds := make([]time.Duration, o.runs())
	for i := range ds {
		start := time.Now()
		if err := h.Health(ctx); err != nil {
			return nil, err
		}
		ds[i] = time.Since(start)
	}
	return []Figure{{Key: fmt.Sprintf("health_%dnodes_ms", HealthNodes), Label: "every engine asked at once (median)", Value: MS(Median(ds)), Unit: "ms"}}, nil
}
