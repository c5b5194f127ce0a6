package qlik_test

import (
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik"
)

// fakeClock is an injected clock for the topology cache.
type fakeClock = testkit.Clock

func newFakeClock() *fakeClock { return testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) }

func TestTopology(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	topo, err := c.Topology(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.VirtualProxies) != 29 || len(topo.ProxyServices) != 2 {
		t.Fatalf("%d virtual proxies, %d proxy services; want 29, 2", len(topo.VirtualProxies), len(topo.ProxyServices))
	}
	if !slices.Equal(topo.Hosts(), []string{central, dev1}) {
		t.Errorf("hosts %v", topo.Hosts())
	}
	if ps := topo.ProxyServices[0]; ps.ID != "9d5d7900-3e52-4f22-b6b9-51f38a3afe86" || ps.Node.Name != "Central" || len(ps.LinkedVirtualProxyIDs) != 24 || ps.RESTPort != s.QPSPort() {
		t.Errorf("central proxy service %+v", ps)
	}
	def := topo.ByPrefix("")
	if len(def) != 1 || !def[0].Default || def[0].SessionCookieHeader != "X-Qlik-Session" || def[0].Description != "Central Proxy (Default)" {
		t.Errorf("default virtual proxy %+v", def)
	}
	fin := topo.ByPrefix("finance")
	if len(fin) != 1 || len(fin[0].LoadBalancingNodes) != 2 || fin[0].LoadBalancingNodes[1].HostName != dev1 || fin[0].SessionInactivityTimeout != 30 {
		t.Errorf("finance %+v", fin)
	}
	if len(topo.Unlinked()) != 3 || len(topo.ByPrefix("hdr")) != 2 {
		t.Errorf("%d unlinked, %d hdr", len(topo.Unlinked()), len(topo.ByPrefix("hdr")))
	}
	// The result is a copy: changing it does not change the next one.
	topo.VirtualProxies[0].Prefix = "changed"
	topo.ProxyServices[0].LinkedVirtualProxyIDs[0] = "changed"
	again, err := c.Topology(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if again.VirtualProxies[0].Prefix != "" || again.ProxyServices[0].LinkedVirtualProxyIDs[0] == "changed" {
		t.Error("the cached topology was changed through a returned copy")
	}
}

func TestTopologyCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ttl  time.Duration
		// steps: before each list, what to do; then the QRS calls expected so far.
		steps []func(c *qlik.Client, clk *fakeClock)
		want  []int
	}{
		{name: "second list uses the cache", ttl: time.Minute,
			steps: []func(*qlik.Client, *fakeClock){nil, nil}, want: []int{2, 2}},
		{name: "expires after the TTL", ttl: time.Minute,
			steps: []func(*qlik.Client, *fakeClock){nil,
				func(_ *qlik.Client, clk *fakeClock) { clk.Advance(59 * time.Second) },
				func(_ *qlik.Client, clk *fakeClock) { clk.Advance(time.Second) }},
			want: []int{2, 2, 4}},
		{name: "invalidate", ttl: time.Minute,
			steps: []func(*qlik.Client, *fakeClock){nil, func(c *qlik.Client, _ *fakeClock) { c.InvalidateTopology() }},
			want:  []int{2, 4}},
		{name: "negative TTL disables", ttl: -1,
			steps: []func(*qlik.Client, *fakeClock){nil, nil}, want: []int{2, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startSim(t)
			clk := newFakeClock()
			c := newClient(t, s, func(c *qlik.Config) { c.TopologyTTL, c.Clock = tt.ttl, clk.Now })
			for i, step := range tt.steps {
				if step != nil {
					step(c, clk)
				}
				if _, err := c.Sessions(t.Context(), qlik.Selection{Prefixes: []string{"finance"}}); err != nil {
					t.Fatal(err)
				}
				if n := count(s.Requests(), isQRS); n != tt.want[i] {
					t.Errorf("after list %d: %d QRS calls, want %d", i+1, n, tt.want[i])
				}
			}
		})
	}
}

// TestTopologySharedFetch: concurrent callers with a cold cache share one
// pair of QRS calls.
func TestTopologySharedFetch(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Topology(t.Context()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count(s.Requests(), isQRS); n != 2 {
		t.Errorf("%d QRS calls for 10 concurrent cold callers, want 2", n)
	}
}

func TestFilterTopology(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	tests := []struct {
		name       string
		prefixes   []string
		wantVPs    int
		wantFilter string
	}{
		{name: "two prefixes", prefixes: []string{"finance", "HDR"}, wantVPs: 3, wantFilter: "prefix eq 'finance' or prefix eq 'HDR'"},
		{name: "default", prefixes: []string{""}, wantVPs: 1, wantFilter: "prefix eq ''"},
		{name: "quote escaped", prefixes: []string{"o'brien"}, wantVPs: 0, wantFilter: "prefix eq 'o''brien'"},
		{name: "no prefixes, no filter", wantVPs: 29},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			topo, err := c.FilterTopology(t.Context(), tt.prefixes)
			if err != nil {
				t.Fatalf("FilterTopology: %v", err)
			}
			if len(topo.VirtualProxies) != tt.wantVPs || len(topo.ProxyServices) != 2 {
				t.Errorf("%d virtual proxies, %d proxies; want %d, 2", len(topo.VirtualProxies), len(topo.ProxyServices), tt.wantVPs)
			}
			if tt.wantFilter == "" {
				return
			}
			found := false
			for _, r := range s.Requests() {
				q, _ := url.ParseQuery(r.Query)
				found = found || q.Get("filter") == tt.wantFilter
			}
			if !found {
				t.Errorf("no QRS call with filter %q", tt.wantFilter)
			}
		})
	}
}
