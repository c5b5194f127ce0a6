package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// The size figure: 7 days of storetest's history site (100
// virtual proxies on 4 nodes, sampled every 60 s).
const sizeDays = 7

// writeWeek writes 7 days of samples as the watcher would, compacting
// every 5 minutes, and returns the number of samples. It reports how long
// the trend chart's query takes: every session series over the 7 days.
func writeWeek(ctx context.Context, b *testing.B, s store.Store) int {
	n := appendWeek(ctx, b, s)
	start := time.Now()
	h, err := s.QueryHistory(ctx, store.HistoryQuery{Site: "prod", Series: store.SeriesMatch{Metrics: []string{"sessions"}},
		From: t0, To: t0.Add(sizeDays * 24 * time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "query_7d_ms")
	if len(h.Series) != storetest.HistoryProxies*storetest.HistoryNodes || h.Step != store.AggregateStep {
		b.Fatalf("7-day query: %d series, step %s", len(h.Series), h.Step)
	}
	return n
}

func appendWeek(ctx context.Context, tb testing.TB, s store.Store) int {
	n, err := storetest.WriteHistory(ctx, s, "prod", t0, sizeDays)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkHistory7d writes the 7 days of history for 100 virtual
// proxies on 4 nodes at a 60 s interval and reports the store's size:
// history_7d_mb is the bolt file (pages_mb of it hold pages, in use or
// free; the file grows in steps), or Redis's used_memory growth (with the
// keys' own MEMORY USAGE as keys_mb); query_7d_ms is the 7-day query of
// every session series a trend chart makes. Run it once:
//
//	go test ./store -run '^$' -bench History7d -benchtime 1x
func BenchmarkHistory7d(b *testing.B) {
	b.Run("bolt", func(b *testing.B) {
		for b.Loop() {
			path := filepath.Join(b.TempDir(), "state.db")
			s, err := store.OpenBolt(path)
			if err != nil {
				b.Fatal(err)
			}
			n := writeWeek(b.Context(), b, s)
			used, err := store.BoltUsed(s)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/(1<<20), "history_7d_mb")
			b.ReportMetric(float64(used)/(1<<20), "pages_mb")
			b.ReportMetric(float64(n), "samples")
		}
	})
	b.Run("redis", func(b *testing.B) {
		for b.Loop() {
			c := redis.NewClient(&redis.Options{Addr: storetest.StartRedis(b)})
			b.Cleanup(func() { _ = c.Close() })
			before := usedMemory(b, c)
			s, err := store.NewRedis(&redis.Options{Addr: c.Options().Addr})
			if err != nil {
				b.Fatal(err)
			}
			n := writeWeek(b.Context(), b, s)
			_ = s.Close()
			b.ReportMetric(float64(usedMemory(b, c)-before)/(1<<20), "history_7d_mb")
			b.ReportMetric(float64(keysMemory(b, c, store.DefaultKeyPrefix+"hist*"))/(1<<20), "keys_mb")
			b.ReportMetric(float64(n), "samples")
		}
	})
}

func usedMemory(tb testing.TB, c *redis.Client) int64 {
	info, err := c.Info(tb.Context(), "memory").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatal("INFO memory has no used_memory")
	return 0
}

// keysMemory sums MEMORY USAGE over the keys matching pattern.
func keysMemory(tb testing.TB, c *redis.Client, pattern string) int64 {
	keys, err := c.Keys(tb.Context(), pattern).Result()
	if err != nil {
		tb.Fatal(err)
	}
	var total int64
	for _, k := range keys {
		n, err := c.MemoryUsage(tb.Context(), k, 0).Result()
		if err != nil {
			tb.Fatal(err)
		}
		total += n
	}
	return total
}
