package qlikbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// ListSize sizes a generated list site. Users is large enough that the
// 5-session licence limit never refuses a generated session.
type ListSize struct {
	VirtualProxies, Nodes, Sessions, Users int
	Latency                                time.Duration // of every simulated call
	// Capacity is what the simulator's nodes take at once (the zero value:
	// no limit). A model for testing, not Qlik's figures.
	Capacity qliksim.Capacities
}

// The list sites. StandardList is the foundation issue's scenario, on
// nodes without a capacity limit; LargeList the 10,000-session one, on
// nodes with the simulator's default capacity. The Short ones are for CI
// smoke runs.
var (
	StandardList   = ListSize{VirtualProxies: 30, Nodes: 2, Sessions: 300, Users: 100, Latency: 50 * time.Millisecond}
	LargeList      = ListSize{VirtualProxies: 100, Nodes: 4, Sessions: 10000, Users: 2500, Latency: 50 * time.Millisecond, Capacity: qliksim.DefaultCapacities()}
	ShortList      = ListSize{VirtualProxies: 10, Nodes: 2, Sessions: 100, Users: 50, Latency: 10 * time.Millisecond}
	ShortLargeList = ListSize{VirtualProxies: 20, Nodes: 2, Sessions: 1000, Users: 250, Latency: 10 * time.Millisecond, Capacity: qliksim.DefaultCapacities()}
)

// Pairs is the number of (virtual proxy, node) pairs: one QPS call each.
func (s ListSize) Pairs() int { return s.VirtualProxies * s.Nodes }

func (s ListSize) String() string {
	capacity := "no capacity limit"
	if c := s.Capacity.QPS; c.InFlight > 0 {
		capacity = fmt.Sprintf("nodes serving %d QPS calls at once, %d waiting", c.InFlight, c.Queue)
	}
	return fmt.Sprintf("%d virtual proxies x %d nodes, %d sessions, %s per call, %s", s.VirtualProxies, s.Nodes, s.Sessions, s.Latency, capacity)
}

// ListSite is a generated site where every call takes Latency, with our
// client and a serial baseline.
type ListSite struct {
	Sim    *qliksim.Server
	Client *qlik.Client
	Size   ListSize

	cfg    qlik.Config
	serial *http.Client
}

// StartListSiteSized starts a site of the given size, our client with the
// shipped limits and the serial baseline. Close it when done.
func StartListSiteSized(size ListSize, shipped Shipped) (*ListSite, error) {
	sim, err := qliksim.Start(
		qliksim.WithLab(qliksim.Generate(qliksim.GenOptions{Users: size.Users, Sessions: size.Sessions,
			VirtualProxies: size.VirtualProxies, Nodes: size.Nodes, Seed: 1})),
		qliksim.WithLogger(slog.New(slog.DiscardHandler)),
		qliksim.WithCapacity(size.Capacity),
	)
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	sim.SetFaultAll(qliksim.Fault{Latency: size.Latency})
	cfg := ClientConfig(sim, shipped)
	c, err := qlik.New(cfg)
	if err != nil {
		sim.Close()
		return nil, err
	}
	tr, err := qlik.NewTransport(cfg) // same settings for the baseline
	if err != nil {
		sim.Close()
		return nil, err
	}
	return &ListSite{Sim: sim, Client: c, Size: size, cfg: cfg, serial: &http.Client{Transport: tr}}, nil
}

// Close stops the clients and the simulator.
func (s *ListSite) Close() {
	s.Client.Close()
	s.serial.CloseIdleConnections()
	s.Sim.Close()
}

// Cold lists every session with the topology cache invalidated.
func (s *ListSite) Cold(ctx context.Context) (int, error) {
	s.Client.InvalidateTopology()
	return s.Warm(ctx)
}

// Warm lists every session with the cached topology.
func (s *ListSite) Warm(ctx context.Context) (int, error) { return listAll(ctx, s.Client) }

func listAll(ctx context.Context, c *qlik.Client) (int, error) {
	l, err := c.Sessions(ctx, qlik.Selection{})
	if err != nil {
		return 0, err
	}
	if len(l.Errors) > 0 {
		return 0, l.Errors[0]
	}
	return len(l.Sessions), nil
}

// Serial is the baseline: what Ctrl-Q's session-get does. Virtual proxies,
// then proxy services, then one QPS GET after another.
func (s *ListSite) Serial(ctx context.Context) (int, error) {
	var vps []struct{ ID, Prefix string }
	qrs := "https://" + s.cfg.QRSHost + ":" + strconv.Itoa(s.cfg.QRSPort)
	if err := s.get(ctx, qrs+"/qrs/virtualproxyconfig/full", &vps); err != nil {
		return 0, err
	}
	var pss []struct {
		ServerNodeConfiguration struct{ HostName string }
		Settings                struct{ VirtualProxies []struct{ ID string } }
	}
	if err := s.get(ctx, qrs+"/qrs/proxyservice/full", &pss); err != nil {
		return 0, err
	}
	n := 0
	for _, vp := range vps {
		for _, ps := range pss {
			for _, link := range ps.Settings.VirtualProxies {
				if link.ID != vp.ID {
					continue
				}
				var sessions []json.RawMessage
				u := "https://" + ps.ServerNodeConfiguration.HostName + ":" + strconv.Itoa(s.cfg.QPSPort) + "/qps/" + url.PathEscape(vp.Prefix) + "/session"
				if err := s.get(ctx, u, &sessions); err != nil {
					return 0, err
				}
				n += len(sessions)
			}
		}
	}
	return n, nil
}

func (s *ListSite) get(ctx context.Context, u string, v any) error {
	const key = "0123456789abcdef" // Ctrl-Q style: fixed per run is enough for a baseline
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"?xrfkey="+key, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	req.Header.Set("X-Qlik-User", "UserDirectory=INTERNAL; UserId=sa_api")
	resp, err := s.serial.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return json.Unmarshal(b, v)
}

// timeList runs f runs times and returns the median. With warmup it runs
// f once first, untimed, so connections are open.
func timeList(ctx context.Context, name string, want, runs int, warmup bool, f func(context.Context) (int, error)) (time.Duration, error) {
	if warmup {
		if _, err := f(ctx); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
	}
	ds := make([]time.Duration, runs)
	for i := range ds {
		start := time.Now()
		n, err := f(ctx)
		ds[i] = time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if n != want {
			return 0, fmt.Errorf("%s listed %d sessions, want %d", name, n, want)
		}
	}
	return Median(ds), nil
}

func measureList(ctx context.Context, o Options) ([]Figure, error) {
	size := StandardList
	if o.Short {
		size = ShortList
	}
	site, err := StartListSiteSized(size, o.Shipped)
	if err != nil {
		return nil, err
	}
	defer site.Close()
	serial, err := timeList(ctx, "serial", size.Sessions, (o.runs()+1)/2, false, site.Serial) // 3 s each: fewer runs
	if err != nil {
		return nil, err
	}
	cold, err := timeList(ctx, "cold", size.Sessions, o.runs(), true, site.Cold)
	if err != nil {
		return nil, err
	}
	warm, err := timeList(ctx, "warm", size.Sessions, o.runs(), true, site.Warm)
	if err != nil {
		return nil, err
	}
	return []Figure{
		{Key: "list_serial_ms", Label: "serial, Ctrl-Q style (median)", Value: MS(serial), Unit: "ms"},
		{Key: "list_cold_ms", Label: "qlik client, topology read (median)", Value: MS(cold), Unit: "ms"},
		{Key: "list_warm_ms", Label: "qlik client, cached topology (median)", Value: MS(warm), Unit: "ms"},
		{Key: "list_speedup_cold", Label: "speed-up, cold", Value: float64(serial) / float64(cold), Unit: "x"},
		{Key: "list_speedup_warm", Label: "speed-up, warm", Value: float64(serial) / float64(warm), Unit: "x"},
	}, nil
}
