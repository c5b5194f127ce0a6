package qliksim_test

import (
	"net/http"
	"testing"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// BenchmarkListSessions measures one QPS list over a warm mutual-TLS
// connection: the simulator's own cost per call, to keep it well below the
// latencies tests inject.
func BenchmarkListSessions(b *testing.B) {
	lab := qliksim.Generate(qliksim.GenOptions{Users: 200, Sessions: 1000, VirtualProxies: 10, Nodes: 2, Seed: 1})
	s, err := qliksim.Start(qliksim.WithLab(lab))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := newClient(b, s, tlsConfig(b, s))
	u := qpsURL(s, "node1.sim.qlik.test", "/qps/vp2/session")
	for b.Loop() {
		resp, err := call(b.Context(), c, http.MethodGet, u, nil)
		if err != nil || resp.status != http.StatusOK {
			b.Fatalf("list: %d %v", resp.status, err)
		}
	}
}
