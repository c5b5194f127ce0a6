package qlikbench

import (
	"context"
	"testing"
)

// The large-site list as benchmarks (100 virtual proxies x 4 nodes, 10,000
// sessions, 50 ms per call); compare with `go run ./cmd/qlikbench -only
// list10k`. The serial walk takes about 20 s per iteration: run it with
// -benchtime=1x.

func benchLarge(b *testing.B, list func(*ListSite) func(context.Context) (int, error), warmup bool) {
	site, err := StartListSiteSized(LargeList)
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
		if n != LargeList.Sessions {
			b.Fatalf("listed %d sessions, want %d", n, LargeList.Sessions)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/list")
	b.ReportMetric(float64(site.Pairs), "pairs")
}

func BenchmarkList10kSerial(b *testing.B) {
	benchLarge(b, func(s *ListSite) func(context.Context) (int, error) { return s.Serial }, false)
}

func BenchmarkList10kCold(b *testing.B) {
	benchLarge(b, func(s *ListSite) func(context.Context) (int, error) { return s.Cold }, true)
}

func BenchmarkList10kWarm(b *testing.B) {
	benchLarge(b, func(s *ListSite) func(context.Context) (int, error) { return s.Warm }, true)
}
