package qliksim_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestSeedLab(t *testing.T) {
	t.Parallel()
	lab := qliksim.SeedLab()
	if len(lab.Nodes) != 2 || len(lab.ProxyServices) != 2 || len(lab.VirtualProxies) != 29 || len(lab.Sessions) != 5 {
		t.Fatalf("seed lab sizes: %d nodes, %d proxies, %d virtual proxies, %d sessions",
			len(lab.Nodes), len(lab.ProxyServices), len(lab.VirtualProxies), len(lab.Sessions))
	}
	ids := map[string]bool{}
	for _, vp := range lab.VirtualProxies {
		if ids[vp.ID] {
			t.Fatalf("duplicate virtual proxy id %s", vp.ID)
		}
		ids[vp.ID] = true
	}
	if !reflect.DeepEqual(lab, qliksim.SeedLab()) {
		t.Fatal("SeedLab is not the same on every call")
	}
	s := start(t)
	if got := s.AllSessions(); got != 5 {
		t.Fatalf("AllSessions = %d, want 5", got)
	}
	if got := s.Sessions(central, "win"); len(got) != 2 || got[0].UserID != "testuser_3" || got[1].ID != testuser4 {
		t.Fatalf("Sessions(central, win) = %+v", got)
	}
	got := s.Sessions(central, "")
	got[0].UserID = "changed" // a copy
	if s.Sessions(central, "")[0].UserID != "goran" {
		t.Fatal("Sessions returned shared state")
	}
	if s.Sessions("nope", "") != nil || s.Sessions(dev1, "win") != nil {
		t.Fatal("Sessions on an unknown host or unlinked prefix is not nil")
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                          string
		o                             qliksim.GenOptions
		nodes, vps, sessions, maxUser int
	}{
		{"bench size", qliksim.GenOptions{Users: 200, Sessions: 1000, VirtualProxies: 30, Nodes: 2, Seed: 1}, 2, 30, 1000, 5},
		{"users allow exactly 5 each", qliksim.GenOptions{Users: 10, Sessions: 50, VirtualProxies: 3, Nodes: 3, Seed: 2}, 3, 3, 50, 5},
		{"too few users: the limit cannot hold", qliksim.GenOptions{Users: 2, Sessions: 20, VirtualProxies: 2, Nodes: 1}, 1, 2, 20, 10},
		{"zero sizes mean one node, one proxy", qliksim.GenOptions{}, 1, 1, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lab := qliksim.Generate(tc.o)
			if len(lab.Nodes) != tc.nodes || len(lab.ProxyServices) != tc.nodes || len(lab.VirtualProxies) != tc.vps || len(lab.Sessions) != tc.sessions {
				t.Fatalf("sizes %d/%d/%d/%d, want nodes %d, vps %d, sessions %d", len(lab.Nodes), len(lab.ProxyServices),
					len(lab.VirtualProxies), len(lab.Sessions), tc.nodes, tc.vps, tc.sessions)
			}
			if !reflect.DeepEqual(lab, qliksim.Generate(tc.o)) {
				t.Fatal("Generate is not deterministic for one seed")
			}
			if lab.VirtualProxies[0].Prefix != "" || !lab.VirtualProxies[0].Default {
				t.Fatalf("first virtual proxy %+v, want the default", lab.VirtualProxies[0])
			}
			for i, n := range lab.Nodes {
				if want := "node" + string(rune('1'+i)) + ".sim.qlik.test"; n.HostName != want {
					t.Fatalf("node %d host %q, want %q", i, n.HostName, want)
				}
			}
			for _, vp := range lab.VirtualProxies {
				if len(vp.LinkedTo) != tc.nodes || len(vp.LoadBalancingNodes) != tc.nodes {
					t.Fatalf("%q linked to %d nodes, want every node", vp.Prefix, len(vp.LinkedTo))
				}
			}
			perUser, perPair := map[string]int{}, map[string]int{}
			for _, ls := range lab.Sessions {
				perUser[ls.Session.UserDirectory+`\`+ls.Session.UserID]++
				perPair[ls.NodeHost+"/"+ls.Prefix]++
			}
			most := 0
			for _, n := range perUser {
				most = max(most, n)
			}
			if most != tc.maxUser {
				t.Fatalf("busiest user holds %d sessions, want %d", most, tc.maxUser)
			}
			if tc.sessions >= tc.nodes*tc.vps && len(perPair) != tc.nodes*tc.vps {
				t.Fatalf("sessions cover %d (node, proxy) pairs, want all %d (round-robin)", len(perPair), tc.nodes*tc.vps)
			}
			s := start(t, qliksim.WithLab(lab))
			if s.AllSessions() != tc.sessions {
				t.Fatalf("simulator holds %d sessions, want %d", s.AllSessions(), tc.sessions)
			}
		})
	}
	if reflect.DeepEqual(qliksim.Generate(qliksim.GenOptions{Sessions: 5, Seed: 1}), qliksim.Generate(qliksim.GenOptions{Sessions: 5, Seed: 2})) {
		t.Fatal("different seeds gave the same lab")
	}
}

func TestGeneratedSiteOverTheWire(t *testing.T) {
	t.Parallel()
	lab := qliksim.Generate(qliksim.GenOptions{Users: 20, Sessions: 60, VirtualProxies: 5, Nodes: 3, Seed: 9})
	s := start(t, qliksim.WithLab(lab), qliksim.WithAdvertiseLoopback())
	c := newClient(t, s, tlsConfig(t, s))
	proxies := decode[[]qrsProxy](t, mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/proxyservice/full"), nil, 200))
	total := 0
	for _, p := range proxies {
		if len(p.Settings.VirtualProxies) != 5 || !strings.HasPrefix(p.ServerNodeConfiguration.HostName, "127.0.0.") {
			t.Fatalf("proxy %+v", p)
		}
		for _, vp := range p.Settings.VirtualProxies {
			path := "/qps/" + vp.Prefix + "/session"
			total += len(decode[[]wireSession](t, mustCall(t, c, http.MethodGet, qpsURL(s, p.ServerNodeConfiguration.HostName, path), nil, 200)))
		}
	}
	if len(proxies) != 3 || total != 60 {
		t.Fatalf("%d proxies, %d sessions listed over the wire, want 3 and 60", len(proxies), total)
	}
}
