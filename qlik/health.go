package qlik

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// EngineService is one engine service as QRS lists it
// (GET /qrs/engineservice/full): the node it runs on and its listener
// ports (settings.listenerPorts, Qlik's default [4747]).
type EngineService struct {
	ID            string
	Node          Node
	ListenerPorts []int
}

// EngineHealth is what one engine's health check reports
// (GET https://NODE:4747/engine/healthcheck/). Memory is in MB, CPU in
// percent over the last 30 s.
type EngineHealth struct {
	Version string
	// Started is when the engine started; zero when the engine's text
	// (StartedText, e.g. 20160314T103522.000+0100) could not be read.
	Started     time.Time
	StartedText string
	Mem         EngineMemory
	CPU         float64
	Sessions    ActiveTotal
	Users       ActiveTotal
	Apps        EngineApps
	Cache       EngineCache
	Saturated   bool
}

// EngineMemory is an engine's memory in MB.
type EngineMemory struct {
	Committed, Allocated, Free, TotalPhysical float64
}

// ActiveTotal counts sessions or users.
type ActiveTotal struct {
	Active, Total int
}

// EngineApps is what an engine holds: app ids by state, calls and
// selections.
type EngineApps struct {
	ActiveDocs, InMemoryDocs, LoadedDocs Docs
	Calls, Selections                    int64
}

// Docs is a list of app ids. Count is len(IDs), or the number the engine
// sent when it sent a count instead of ids.
type Docs struct {
	IDs   []string
	Count int
}

// EngineCache is an engine's cache counters.
type EngineCache struct {
	Hits, Lookups, Added, Replaced, BytesAdded int64
}

// NodeHealth is one engine's answer.
type NodeHealth struct {
	Engine EngineService
	EngineHealth
}

// EngineError is an engine that did not answer its health check.
type EngineError struct {
	Engine EngineService
	Err    error
}

func (e *EngineError) Error() string {
	return "read the health of the engine on " + e.Engine.Node.HostName + ": " + e.Err.Error()
}

func (e *EngineError) Unwrap() error { return e.Err }

// HealthReport is the health of the engines asked. A non-empty Errors
// with Nodes is a partial result, not a failure.
type HealthReport struct {
	Engines []EngineService // every engine asked, in QRS order
	Nodes   []NodeHealth    // the answers, in the same order
	Errors  []*EngineError  // the engines that did not answer, in the same order
}

// Engines returns the site's engine services from QRS, cached like the
// topology (TopologyTTL; InvalidateTopology drops both). The result is a
// copy.
func (c *Client) Engines(ctx context.Context) ([]EngineService, error) {
	es, err := c.engineList(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]EngineService, len(es))
	for i, e := range es {
		e.ListenerPorts = slices.Clone(e.ListenerPorts)
		out[i] = e
	}
	return out, nil
}

func (c *Client) engineList(ctx context.Context) ([]EngineService, error) {
	es, err := c.engines.get(ctx, c, func(ctx context.Context) ([]EngineService, error) {
		b, err := c.do(ctx, request{service: "qrs", endpoint: "qrs.engineservice.list", method: http.MethodGet, path: "/qrs/engineservice/full"})
		if err != nil {
			return nil, err
		}
		return decodeEngineServices(b)
	})
	if err != nil {
		return nil, fmt.Errorf("read engine services from QRS %s: %w", c.cfg.QRSHost, err)
	}
	return es, nil
}

// enginePort is where e's health check listens: Config.EnginePort, else
// the first port QRS reports, else 4747.
func (c *Client) enginePort(e EngineService) int {
	switch {
	case c.cfg.EnginePort > 0:
		return c.cfg.EnginePort
	case len(e.ListenerPorts) > 0 && e.ListenerPorts[0] > 0 && e.ListenerPorts[0] <= 65535:
		return e.ListenerPorts[0]
	}
	return DefaultEnginePort
}

// Health asks the engines on hosts (host names or node names, compared
// case-insensitively; none means every engine QRS lists) for their health
// check, all at once within each engine's concurrency limit. An unknown
// host is an *UnknownHostError and asks nothing. An engine that does not
// answer lands in Errors and the others are still returned.
func (c *Client) Health(ctx context.Context, hosts []string) (*HealthReport, error) {
	all, err := c.engineList(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine health: %w", err)
	}
	asked, err := selectEngines(all, hosts)
	if err != nil {
		return nil, fmt.Errorf("engine health: %w", err)
	}
	answers := make([]EngineHealth, len(asked))
	errs := make([]error, len(asked))
	var wg sync.WaitGroup
	for i, e := range asked {
		r := request{service: "engine", host: e.Node.HostName, port: c.enginePort(e), endpoint: "engine.healthcheck",
			method: http.MethodGet, path: "/engine/healthcheck/"}
		wg.Go(func() {
			b, err := c.do(ctx, r)
			if err == nil {
				answers[i], err = decodeEngineHealth(b)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	rep := &HealthReport{Engines: asked}
	for i, e := range asked {
		if errs[i] != nil {
			rep.Errors = append(rep.Errors, &EngineError{Engine: e, Err: errs[i]})
			continue
		}
		rep.Nodes = append(rep.Nodes, NodeHealth{Engine: e, EngineHealth: answers[i]})
	}
	if len(rep.Errors) > 0 {
		c.log.WarnContext(ctx, "some Qlik engines did not answer their health check", "failed", len(rep.Errors), "asked", len(asked))
	}
	return rep, nil
}

// selectEngines picks the engines on hosts, in QRS order; none is all.
func selectEngines(all []EngineService, hosts []string) ([]EngineService, error) {
	if len(hosts) == 0 {
		return slices.Clone(all), nil
	}
	picked := make([]bool, len(all))
	for _, h := range hosts {
		i := slices.IndexFunc(all, func(e EngineService) bool {
			return strings.EqualFold(e.Node.HostName, h) || strings.EqualFold(e.Node.Name, h)
		})
		if i < 0 {
			valid := make([]string, len(all))
			for j, e := range all {
				valid[j] = e.Node.HostName
			}
			return nil, &UnknownHostError{Host: h, Valid: valid, Kind: "engine"}
		}
		picked[i] = true
	}
	var out []EngineService
	for i, e := range all {
		if picked[i] {
			out = append(out, e)
		}
	}
	return out, nil
}
