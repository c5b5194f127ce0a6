package qlik_test

import (
	"context"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qlikbench"
)

// The list benchmarks: 30 virtual proxies x 2 nodes, 50 ms per call (see
// qlikbench.StartListSite). Compare with `go run ./cmd/qlikbench`.

func benchList(b *testing.B, list func(*qlikbench.ListSite) func(context.Context) (int, error), warmup bool) {
	site, err := qlikbench.StartListSite()
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
		if _, err := f(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/list")
	b.ReportMetric(float64(site.Pairs), "pairs")
}

func BenchmarkListSerial(b *testing.B) {
	benchList(b, func(s *qlikbench.ListSite) func(context.Context) (int, error) { return s.Serial }, false)
}

func BenchmarkListCold(b *testing.B) {
	benchList(b, func(s *qlikbench.ListSite) func(context.Context) (int, error) { return s.Cold }, true)
}

func BenchmarkListWarm(b *testing.B) {
	benchList(b, func(s *qlikbench.ListSite) func(context.Context) (int, error) { return s.Warm }, true)
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
