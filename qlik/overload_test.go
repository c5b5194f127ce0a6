package qlik_test

import (
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// genSim starts a generated site where every call takes latency.
func genSim(t *testing.T, g qliksim.GenOptions, latency time.Duration, opts ...qliksim.Option) *qliksim.Server {
	t.Helper()
	s := startSim(t, append([]qliksim.Option{qliksim.WithLab(qliksim.Generate(g))}, opts...)...)
	s.SetFaultAll(qliksim.Fault{Latency: latency})
	return s
}

// TestNoOverloadAtDefaults: a site far larger than the simulator's
// default capacity (100 QPS calls per node against 16 served at once and
// 32 waiting) listed by a client at its defaults: every session, no 503,
// and the queue never full. Retries are off, so a 503 would be an error.
func TestNoOverloadAtDefaults(t *testing.T) {
	t.Parallel()
	s := genSim(t, qliksim.GenOptions{VirtualProxies: 100, Nodes: 2, Sessions: 1000, Users: 200, Seed: 7}, 50*time.Millisecond)
	c := newClient(t, s, func(c *qlik.Config) { c.Concurrency = 0 }) // the default ceiling
	for _, name := range []string{"cold", "warm"} {
		list, err := c.Sessions(t.Context(), qlik.Selection{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(list.Errors) > 0 || len(list.Sessions) != 1000 {
			t.Fatalf("%s: %d sessions, %d errors (first: %v); want 1000 and none", name, len(list.Sessions), len(list.Errors), list.Errors)
		}
	}
	for _, l := range s.Loads() {
		if l.QPS.Rejected != 0 || l.QRS.Rejected != 0 {
			t.Errorf("%s answered 503: %+v", l.Host, l)
		}
		if l.QPS.PeakQueued >= qliksim.DefaultCapacities().QPS.Queue {
			t.Errorf("%s: QPS queue reached %d, its limit", l.Host, l.QPS.PeakQueued)
		}
		t.Logf("%s: QPS peak in flight %d, peak queued %d", l.Host, l.QPS.PeakInFlight, l.QPS.PeakQueued)
	}
}

// TestBacksOffOn503: a node that takes 8 calls at once and queues 8 more
// meets the client's first wave of 32: it answers 503s, the client cuts
// that node's limit, retries, and lists everything; the next list finds
// the node's capacity without a single 503.
func TestBacksOffOn503(t *testing.T) {
	t.Parallel()
	s := genSim(t, qliksim.GenOptions{VirtualProxies: 48, Nodes: 1, Sessions: 96, Users: 40, Seed: 8}, 200*time.Millisecond,
		qliksim.WithCapacity(qliksim.Capacities{QPS: qliksim.Capacity{InFlight: 8, Queue: 8}}))
	var mu sync.Mutex
	lowest := map[string]int{}
	c := newClient(t, s, func(c *qlik.Config) {
		c.Concurrency, c.ReadRetries, c.RetryBackoff = 0, 5, 50*time.Millisecond
		c.Observe = func(call qlik.Call) {
			mu.Lock()
			defer mu.Unlock()
			if v, ok := lowest[call.Service]; !ok || call.Limit < v {
				lowest[call.Service] = call.Limit
			}
		}
	})
	qps := net.JoinHostPort(s.Hosts()[0], strconv.Itoa(s.QPSPort()))

	if _, err := c.Sessions(t.Context(), qlik.Selection{}); err != nil {
		t.Fatal(err)
	}
	if rej := s.Loads()[0].QPS.Rejected; rej == 0 {
		t.Fatal("no 503 on the first wave: the scenario did not overload the node")
	}
	mu.Lock()
	low := lowest["qps"]
	mu.Unlock()
	if low > 16 {
		t.Errorf("the QPS limit never went below %d after 503s, want it cut to the node's 16 or less", low)
	}
	t.Logf("first list: %d 503s, QPS limit down to %d, now %d", s.Loads()[0].QPS.Rejected, low, c.Limits()[qps])

	s.ResetLoad()
	list, err := c.Sessions(t.Context(), qlik.Selection{})
	if err != nil || len(list.Errors) > 0 || len(list.Sessions) != 96 {
		t.Fatalf("second list: %v, %d errors, %d sessions; want all 96", err, len(list.Errors), len(list.Sessions))
	}
	if l := s.Loads()[0].QPS; l.Rejected != 0 {
		t.Errorf("second list met %d 503s (load %+v), want none", l.Rejected, l)
	}
}

// TestConnectionsStayWarm: the idle pool holds a wave to every node, and a
// connection that has to be made again resumes its TLS session.
func TestConnectionsStayWarm(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	cfg := simConfig(s)
	cfg.Concurrency = 0
	tr, err := qlik.NewTransport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tr.MaxIdleConnsPerHost < qlik.DefaultConcurrency || tr.TLSClientConfig.ClientSessionCache == nil {
		t.Errorf("transport keeps %d idle connections per node, session cache %v; want %d and a cache",
			tr.MaxIdleConnsPerHost, tr.TLSClientConfig.ClientSessionCache, qlik.DefaultConcurrency)
	}

	// One call per list, so each list makes one connection: its ticket
	// comes from a full handshake. (Go's server may refuse a ticket that
	// was issued on a resumed connection with a client certificate; that
	// costs a full handshake, not an error.)
	c := newClient(t, s, nil)
	one := qlik.Selection{Hosts: []string{dev1}, Prefixes: []string{"dev"}}
	if _, err := c.Sessions(t.Context(), one); err != nil {
		t.Fatal(err)
	}
	c.Close() // every connection dropped: the next list dials again
	s.ResetRequests()
	if _, err := c.Sessions(t.Context(), one); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if len(reqs) == 0 {
		t.Fatal("no requests")
	}
	for _, r := range reqs {
		if !r.Resumed {
			t.Errorf("%s %s came on a full TLS handshake, want a resumed session", r.Method, r.Path)
		}
	}
}
