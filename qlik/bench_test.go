package qlik_test

import (
	"context"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/qlikbench"
)

// The list benchmarks: the standard site (30 virtual proxies x 2 nodes,
// 50 ms per call) and the large one (100 x 4, 10,000 sessions, nodes with
// the simulator's default capacity; its serial walk takes about 20 s per
// iteration, run it with -benchtime=1x; -short walks a smaller site), with package qlik's default
// limits (cmd/qlikbench reads qlikbot's shipped ones from its binary).
// Compare with `go run ./cmd/qlikbench -only list,list10k,health`.

func benchList(b *testing.B, size qlikbench.ListSize, list func(*qlikbench.ListSite) func(context.Context) (int, error), warmup bool) {
	site, err := qlikbench.StartListSiteSized(size, qlikbench.Shipped{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(site.Close)
	f := list(site)
	if warmup {
		if _, err := f(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		n, err := f(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if n != size.Sessions {
			b.Fatalf("listed %d sessions, want %d", n, size.Sessions)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/list")
	b.ReportMetric(float64(site.Size.Pairs()), "pairs")
}

func serial(s *qlikbench.ListSite) func(context.Context) (int, error) { return s.Serial }
func cold(s *qlikbench.ListSite) func(context.Context) (int, error)   { return s.Cold }
func warm(s *qlikbench.ListSite) func(context.Context) (int, error)   { return s.Warm }

func BenchmarkListSerial(b *testing.B)    { benchList(b, qlikbench.StandardList, serial, false) }
func BenchmarkListCold(b *testing.B)      { benchList(b, qlikbench.StandardList, cold, true) }
func BenchmarkListWarm(b *testing.B)      { benchList(b, qlikbench.StandardList, warm, true) }
func BenchmarkList10kSerial(b *testing.B) { benchList(b, largeSerial(), serial, false) }

// largeSerial is the large site, or with -short (CI runs every benchmark
// once) the smaller one cmd/qlikbench -short lists: the full serial walk
// alone takes about 20 s.
func largeSerial() qlikbench.ListSize {
	if testing.Short() {
		return qlikbench.ShortLargeList
	}
	return qlikbench.LargeList
}
func BenchmarkList10kCold(b *testing.B) { benchList(b, qlikbench.LargeList, cold, true) }
func BenchmarkList10kWarm(b *testing.B) { benchList(b, qlikbench.LargeList, warm, true) }

// BenchmarkHealth4Nodes asks 4 engines at 50 ms per call with the engine
// list cached: one round trip.
func BenchmarkHealth4Nodes(b *testing.B) {
	h, err := qlikbench.StartHealthSite(b.Context(), qlikbench.Shipped{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(h.Close)
	if err := h.Health(b.Context()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := h.Health(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/health")
}

// BenchmarkDelete1000 deletes 1,000 sessions at 200 requests/s with 20 ms
// per call, refilling the site between rounds (not timed).
func BenchmarkDelete1000(b *testing.B) {
	d, err := qlikbench.StartDeleteSite()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Close)
	ts, err := d.Targets(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	peak := 0
	var total time.Duration
	first := true
	for b.Loop() {
		if !first {
			b.StopTimer()
			if err := d.Refill(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		first = false
		elapsed, p, err := d.Run(b.Context(), ts)
		if err != nil {
			b.Fatal(err)
		}
		total += elapsed
		peak = max(peak, p)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/1000-deletes")
	b.ReportMetric(float64(peak), "peak-req/s")
}
