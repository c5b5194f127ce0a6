package qlik_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func isEngine(r qliksim.Request) bool { return r.Service == "engine" }

func isEngineList(r qliksim.Request) bool { return r.Path == "/qrs/engineservice/full" }

// TestHealth reads both seed-lab engines over mutual TLS, on the port QRS
// reports, and gets the simulator's figures.
func TestHealth(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	rep, err := c.Health(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 0 || len(rep.Nodes) != 2 || len(rep.Engines) != 2 {
		t.Fatalf("%d answers, %d errors (%v) from %d engines; want 2, 0, 2", len(rep.Nodes), len(rep.Errors), rep.Errors, len(rep.Engines))
	}
	for i, host := range []string{central, dev1} {
		n := rep.Nodes[i]
		if n.Engine.Node.HostName != host || !slices.Equal(n.Engine.ListenerPorts, []int{s.EnginePort()}) {
			t.Errorf("answer %d from %s %v, want %s on port %d", i, n.Engine.Node.HostName, n.Engine.ListenerPorts, host, s.EnginePort())
		}
		want, _ := s.EngineHealth(host)
		got := n.EngineHealth
		if got.Version != want.Version || got.StartedText != want.Started || got.Started.IsZero() ||
			got.Sessions != (qlik.ActiveTotal{Active: want.Session.Active, Total: want.Session.Total}) ||
			got.Users != (qlik.ActiveTotal{Active: want.Users.Active, Total: want.Users.Total}) ||
			got.CPU != want.CPU.Total || got.Mem != (qlik.EngineMemory(want.Mem)) ||
			!slices.Equal(got.Apps.LoadedDocs.IDs, want.Apps.LoadedDocs) || got.Apps.LoadedDocs.Count != len(want.Apps.LoadedDocs) ||
			got.Apps.ActiveDocs.Count != len(want.Apps.ActiveDocs) || got.Apps.InMemoryDocs.Count != len(want.Apps.InMemoryDocs) ||
			got.Apps.Calls != int64(want.Apps.Calls) || got.Apps.Selections != int64(want.Apps.Selections) ||
			got.Cache != (qlik.EngineCache{Hits: int64(want.Cache.Hits), Lookups: int64(want.Cache.Lookups), Added: int64(want.Cache.Added),
				Replaced: int64(want.Cache.Replaced), BytesAdded: int64(want.Cache.BytesAdded)}) ||
			got.Saturated != want.Saturated {
			t.Errorf("%s: got %+v\nsimulator says %+v", host, got, want)
		}
	}
	if rep.Nodes[0].Sessions.Total != 5 || rep.Nodes[1].Sessions.Total != 0 {
		t.Errorf("sessions %d and %d, want the seed lab's 5 on Central and none on dev1", rep.Nodes[0].Sessions.Total, rep.Nodes[1].Sessions.Total)
	}
}

func TestHealthSelectsEngines(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	tests := []struct {
		name  string
		hosts []string
		want  []string
	}{
		{name: "by host name", hosts: []string{dev1}, want: []string{dev1}},
		{name: "by node name, any case", hosts: []string{"DEV1", "central"}, want: []string{central, dev1}},
		{name: "all", want: []string{central, dev1}},
	}
	for _, tt := range tests {
		rep, err := c.Health(t.Context(), tt.hosts)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, n := range rep.Nodes {
			got = append(got, n.Engine.Node.HostName)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: answers from %v, want %v", tt.name, got, tt.want)
		}
	}
	s.ResetRequests()
	_, err := c.Health(t.Context(), []string{"nowhere.example.com"})
	var he *qlik.UnknownHostError
	if !errors.As(err, &he) || he.Kind != "engine" || !slices.Equal(he.Valid, []string{central, dev1}) {
		t.Fatalf("unknown host: %v, want an *UnknownHostError listing the engine hosts", err)
	}
	mustContain(t, err.Error(), "unknown engine host", central)
	if n := count(s.Requests(), isEngine); n != 0 {
		t.Errorf("%d health checks sent for an unknown host, want none", n)
	}
}

// TestHealthEngineListCached: the engine list is read from QRS once per
// TopologyTTL, like the topology, and again after InvalidateTopology.
func TestHealthEngineListCached(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	for range 3 {
		if _, err := c.Health(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	}
	reqs := s.Requests()
	if n := count(reqs, isEngineList); n != 1 {
		t.Errorf("%d engine list reads for 3 health checks, want 1", n)
	}
	if n := count(reqs, isEngine); n != 6 {
		t.Errorf("%d engine calls, want 6", n)
	}
	c.InvalidateTopology()
	es, err := c.Engines(t.Context())
	if err != nil || len(es) != 2 {
		t.Fatalf("Engines: %v %v", es, err)
	}
	es[0].ListenerPorts[0] = 1 // a copy
	if n := count(s.Requests(), isEngineList); n != 2 {
		t.Errorf("%d engine list reads after invalidating, want 2", n)
	}
	if again, _ := c.Engines(t.Context()); again[0].ListenerPorts[0] != s.EnginePort() {
		t.Error("Engines returned the cache itself")
	}
}

// TestHealthAsksAtOnce: both health checks are in flight together: each
// waits in the client's last step before sending until the other is there
// too (a sequential client would fail here, after a bound, not hang).
func TestHealthAsksAtOnce(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	var wg sync.WaitGroup
	wg.Add(2)
	both := make(chan struct{})
	go func() { wg.Wait(); close(both) }()
	var sequential sync.Once
	qlik.SetBeforeSend(c, func(r *http.Request) {
		if !strings.Contains(r.URL.Path, "/healthcheck") {
			return
		}
		wg.Done()
		select {
		case <-both:
		case <-time.After(20 * time.Second):
			sequential.Do(func() { t.Error("the second health check was not sent while the first was") })
		}
	})
	rep, err := c.Health(t.Context(), nil)
	if err != nil || len(rep.Nodes) != 2 {
		t.Fatalf("Health: %v, %d answers", err, len(rep.Nodes))
	}
}

// TestHealthFaults: a node down gives the other's answer and an error
// entry; a saturated, busy or short-of-memory engine says so.
func TestHealthFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault qliksim.Fault
		check func(t *testing.T, rep *qlik.HealthReport)
	}{
		{name: "down", fault: qliksim.Fault{Down: true}, check: func(t *testing.T, rep *qlik.HealthReport) {
			if len(rep.Nodes) != 1 || rep.Nodes[0].Engine.Node.HostName != central || len(rep.Errors) != 1 {
				t.Fatalf("answers %d errors %v, want Central's answer and dev1's error", len(rep.Nodes), rep.Errors)
			}
			e := rep.Errors[0]
			var ce *qlik.ConnError
			if e.Engine.Node.HostName != dev1 || !errors.As(e, &ce) {
				t.Fatalf("error %v, want a *ConnError for dev1", e)
			}
			mustContain(t, e.Error(), "engine on "+dev1, "nothing accepts connections")
		}},
		{name: "answering 500", fault: qliksim.Fault{ErrorRate: 1}, check: func(t *testing.T, rep *qlik.HealthReport) {
			var he *qlik.HTTPError
			if len(rep.Errors) != 1 || !errors.As(rep.Errors[0], &he) || he.Status != http.StatusInternalServerError {
				t.Fatalf("errors %v, want dev1's 500", rep.Errors)
			}
		}},
		{name: "saturated", fault: qliksim.Fault{Saturated: true}, check: func(t *testing.T, rep *qlik.HealthReport) {
			if !rep.Nodes[1].Saturated || rep.Nodes[0].Saturated {
				t.Fatalf("saturated: central %v dev1 %v, want dev1 only", rep.Nodes[0].Saturated, rep.Nodes[1].Saturated)
			}
		}},
		{name: "high CPU", fault: qliksim.Fault{HighCPU: true}, check: func(t *testing.T, rep *qlik.HealthReport) {
			if rep.Nodes[1].CPU != 97 || rep.Nodes[0].CPU >= 90 {
				t.Fatalf("cpu: central %v dev1 %v", rep.Nodes[0].CPU, rep.Nodes[1].CPU)
			}
		}},
		{name: "low memory", fault: qliksim.Fault{LowMemory: true}, check: func(t *testing.T, rep *qlik.HealthReport) {
			m := rep.Nodes[1].Mem
			if free := m.Free / m.TotalPhysical; free >= 0.1 {
				t.Fatalf("dev1 has %.0f%% memory free, want under 10%%", 100*free)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startSim(t)
			c := newClient(t, s, func(c *qlik.Config) { c.ReadRetries = 0 })
			if err := s.SetFault(dev1, tt.fault); err != nil {
				t.Fatal(err)
			}
			rep, err := c.Health(t.Context(), nil)
			if err != nil {
				t.Fatalf("Health: %v", err)
			}
			if tt.fault.Down || tt.fault.ErrorRate > 0 {
				tt.check(t, rep)
				return
			}
			if len(rep.Nodes) != 2 {
				t.Fatalf("%d answers (errors %v), want 2", len(rep.Nodes), rep.Errors)
			}
			tt.check(t, rep)
		})
	}
}

// TestHealthWithoutQRS: the engine list comes from QRS; with QRS down and
// nothing cached, Health says so.
func TestHealthWithoutQRS(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	if err := s.SetFault(central, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	_, err := c.Health(t.Context(), nil)
	var ce *qlik.ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *ConnError", err)
	}
	mustContain(t, err.Error(), "engine health", "read engine services from QRS")
}
