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

// ListSite is a generated site of 30 virtual proxies on 2 nodes (60 pairs)
// where every call takes Latency, with our client and a serial baseline.
type ListSite struct {
	Sim    *qliksim.Server
	Client *qlik.Client
	Pairs  int

	cfg    qlik.Config
	serial *http.Client
}

// ListLatency is the simulated time of every call in the list scenario.
const ListLatency = 50 * time.Millisecond

// StartListSite starts the simulator and both clients. Close it when done.
func StartListSite() (*ListSite, error) {
	sim, err := qliksim.Start(
		qliksim.WithLab(qliksim.Generate(qliksim.GenOptions{Users: 100, Sessions: 300, VirtualProxies: 30, Nodes: 2, Seed: 1})),
		qliksim.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	sim.SetFaultAll(qliksim.Fault{Latency: ListLatency})
	cfg := qlik.Config{
		QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(),
		Resolve:           sim.Resolve(),
		Concurrency:       32, // 60 pairs in two waves: QRS + 2 round trips cold
		RequestsPerSecond: 1000,
		Logger:            slog.New(slog.DiscardHandler),
	}
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
	return &ListSite{Sim: sim, Client: c, Pairs: 60, cfg: cfg, serial: &http.Client{Transport: tr}}, nil
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
func (s *ListSite) Warm(ctx context.Context) (int, error) {
	l, err := s.Client.Sessions(ctx, qlik.Selection{})
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

func measureList(ctx context.Context, o Options) ([]Figure, error) {
	site, err := StartListSite()
	if err != nil {
		return nil, err
	}
	defer site.Close()
	want := 300
	timeIt := func(name string, runs int, warmup bool, f func(context.Context) (int, error)) (time.Duration, error) {
		if warmup { // open the connections once; every variant then runs warm
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
		return median(ds), nil
	}
	serial, err := timeIt("serial", (o.runs()+1)/2, false, site.Serial) // 3 s each: fewer runs
	if err != nil {
		return nil, err
	}
	cold, err := timeIt("cold", o.runs(), true, site.Cold)
	if err != nil {
		return nil, err
	}
	warm, err := timeIt("warm", o.runs(), true, site.Warm)
	if err != nil {
		return nil, err
	}
	return []Figure{
		{Key: "list_serial_ms", Label: "serial, Ctrl-Q style (median)", Value: ms(serial), Unit: "ms"},
		{Key: "list_cold_ms", Label: "qlik client, topology read (median)", Value: ms(cold), Unit: "ms"},
		{Key: "list_warm_ms", Label: "qlik client, cached topology (median)", Value: ms(warm), Unit: "ms"},
		{Key: "list_speedup_cold", Label: "speed-up, cold", Value: float64(serial) / float64(cold), Unit: "x"},
		{Key: "list_speedup_warm", Label: "speed-up, warm", Value: float64(serial) / float64(warm), Unit: "x"},
	}, nil
}
