package store_test

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// benchStores returns one store per backend for a benchmark.
func benchStores(b *testing.B) map[string]store.Store {
	bolt, err := store.OpenBolt(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bolt.Close() })
	stores := map[string]store.Store{"bolt": bolt}
	if _, err := exec.LookPath("redis-server"); err == nil {
		r, err := store.NewRedis(&redis.Options{Addr: storetest.StartRedis(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = r.Close() })
		stores["redis"] = r
	}
	return stores
}

// BenchmarkCreateClaim measures one approval round trip: create, claim.
func BenchmarkCreateClaim(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("bench-%d", i)
				i++
				if err := s.CreatePending(ctx, store.Pending{ID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Claim(ctx, id, store.StateApproved, "slack:U1", t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendAudit(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			e := store.Event{Time: t0, Subject: "slack:U1", Action: "command", Command: "/qlik sessions finance"}
			for b.Loop() {
				if err := s.AppendAudit(b.Context(), e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSeenBefore(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := s.SeenBefore(b.Context(), fmt.Sprintf("evt-%d", i), time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ackBurst is the Slack ack-path load of issue 16: this many signed slash
// commands arrive at once, and each one's replay check is on the ack path.
const ackBurst = 200

// BenchmarkSeenBeforeBurst releases ackBurst concurrent SeenBefore calls
// with fresh keys per iteration (one op = one burst) and reports the
// per-call latency percentiles the ack path sees.
func BenchmarkSeenBeforeBurst(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			burst := 0
			for b.Loop() {
				burst++
				lat = append(lat, seenBurst(b, s, burst)...)
			}
			reportPercentiles(b, lat)
		})
	}
}

func seenBurst(b *testing.B, s store.Store, burst int) []time.Duration {
	lat := make([]time.Duration, ackBurst)
	errs := make([]error, ackBurst)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range ackBurst {
		wg.Go(func() {
			key := fmt.Sprintf("slack:%d:%d", burst, i)
			<-start
			t := time.Now()
			_, errs[i] = s.SeenBefore(b.Context(), key, 5*time.Minute)
			lat[i] = time.Since(t)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return lat
}

// reportPercentiles adds p50, p99 and max of lat (in ms) to the benchmark
// line.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50_ms")
	b.ReportMetric(at(0.99), "p99_ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max_ms")
}
