package qlik_test

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// TestHungNodeFailsFast: 20 virtual proxies on a node that never answers
// (its latency far beyond the client's timeout). The first list sends each
// pair once; every call times out with nothing answered since, and of
// their retries one probes the node while the others wait on it and fail
// with it. The next list probes with one call, not retried; the others
// fail with it. Once the node answers again everything is listed,
// and its concurrency limit was not collapsed by the timeouts. Counts and
// outcomes only: the timeout bounds how long the test takes.
func TestHungNodeFailsFast(t *testing.T) {
	t.Parallel()
	const vps = 20
	s := startSim(t, qliksim.WithLab(qliksim.Generate(qliksim.GenOptions{VirtualProxies: vps, Nodes: 2, Sessions: 200, Users: 50, Seed: 11})),
		qliksim.WithCapacity(qliksim.Capacities{})) // no queue at the simulator: only the node's silence matters
	fast, hung := s.Hosts()[0], s.Hosts()[1] // QRS lives on the first
	var mu sync.Mutex
	sent := map[string]int{} // QPS calls that reached the wire, by node
	c := newClient(t, s, func(c *qlik.Config) {
		c.Timeout = 5 * time.Second // generous for the healthy node on a loaded machine
		c.ReadRetries = 2
		c.Observe = func(call qlik.Call) {
			if call.Service == "qps" {
				mu.Lock()
				sent[call.Node]++
				mu.Unlock()
			}
		}
	})
	sends := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := sent[hung]
		sent[hung] = 0
		return n
	}
	if err := s.SetFault(hung, qliksim.Fault{Latency: time.Hour}); err != nil {
		t.Fatal(err)
	}
	onNode := func(list *qlik.SessionList, host string) int {
		n := 0
		for _, ls := range list.Sessions {
			if ls.Proxy.Node.HostName == host {
				n++
			}
		}
		return n
	}
	var fastSeen []int
	for _, tc := range []struct {
		name       string
		sends, max int
	}{
		// A retry that comes while calls of the first wave are still out
		// waits and fails with them: no probe then.
		{"first list: each pair sent once, then at most one probe", vps, vps + 1},
		{"second list: one probe, the others fail with it", 1, 1},
	} {
		list, err := c.Sessions(t.Context(), qlik.Selection{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := onNode(list, hung); n != 0 {
			t.Errorf("%s: %d sessions listed from the hung node", tc.name, n)
		}
		fastSeen = append(fastSeen, onNode(list, fast))
		if len(list.Errors) != vps {
			t.Errorf("%s: %d pair errors, want %d (every pair on %s)", tc.name, len(list.Errors), vps, hung)
		}
		for _, pe := range list.Errors {
			if pe.Proxy.Node.HostName != hung || !errors.Is(pe, qlik.ErrNodeUnresponsive) {
				t.Errorf("%s: pair error %v, want ErrNodeUnresponsive on %s", tc.name, pe, hung)
			}
		}
		if got := sends(); got < tc.sends || got > tc.max {
			t.Errorf("%s: %d calls sent to the hung node, want %d to %d", tc.name, got, tc.sends, tc.max)
		}
	}

	if err := s.SetFault(hung, qliksim.Fault{}); err != nil {
		t.Fatal(err)
	}
	list, err := c.Sessions(t.Context(), qlik.Selection{})
	if err != nil || len(list.Errors) != 0 || len(list.Sessions) != s.AllSessions() {
		t.Fatalf("after the node recovered: err %v, %d pair errors (%v), %d sessions, want all %d", err, len(list.Errors), list.Errors, len(list.Sessions), s.AllSessions())
	}
	for i, n := range fastSeen {
		if want := onNode(list, fast); n != want || want == 0 {
			t.Errorf("list %d while the other node hung: %d sessions of the healthy node, want all %d", i+1, n, want)
		}
	}
	addr := net.JoinHostPort(hung, strconv.Itoa(s.QPSPort()))
	if got := c.Limits()[addr]; got < 16 {
		t.Errorf("limit of %s after it recovered: %d, want at least 16 (timeouts of a hung node are not overload)", addr, got)
	}
}
