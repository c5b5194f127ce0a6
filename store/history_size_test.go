package store_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
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

// The site of the size figure: 100 virtual proxies on 4 nodes,
// sampled every 60 s for 7 days.
const (
	sizeProxies  = 100
	sizeNodes    = 4
	sizeInterval = 60 * time.Second
	sizeDays     = 7
)

// siteSampler makes the samples of a busy site: sessions per virtual proxy
// and node following a working day, users per proxy and at the limit,
// and the engine figures per node. Seeded, so every run writes the same.
type siteSampler struct {
	rng     *rand.Rand
	weight  []float64 // each proxy's share of the site's sessions
	proxies []string
	nodes   []string
}

func newSiteSampler() *siteSampler {
	s := &siteSampler{rng: rand.New(rand.NewPCG(14, 7))}
	for i := range sizeProxies {
		s.proxies = append(s.proxies, fmt.Sprintf("proxy-%03d", i))
		// A few busy proxies, many quiet ones.
		s.weight = append(s.weight, math.Pow(s.rng.Float64(), 3)*60)
	}
	for i := range sizeNodes {
		s.nodes = append(s.nodes, fmt.Sprintf("node%d", i+1))
	}
	return s
}

// sample returns the site's reading at t.
func (s *siteSampler) sample(t time.Time) store.Sample {
	hour := float64(t.Hour()) + float64(t.Minute())/60
	day := math.Max(0, math.Sin((hour-7)/12*math.Pi)) // 07:00 to 19:00
	vals := make(map[store.SeriesKey]float64, sizeProxies*(sizeNodes+2)+sizeNodes*7)
	perNode := make([]float64, sizeNodes)
	for i, p := range s.proxies {
		total := 0.0
		for n, node := range s.nodes {
			v := math.Round(s.weight[i] * day * (0.8 + 0.4*s.rng.Float64()) / sizeNodes)
			vals[store.SeriesKey{Metric: "sessions", Proxy: p, Node: node}] = v
			total += v
			perNode[n] += v
		}
		vals[store.SeriesKey{Metric: "users", Proxy: p}] = math.Round(total / 1.3)
		limit := 0.0
		if total > 20 && s.rng.IntN(50) == 0 {
			limit = 1
		}
		vals[store.SeriesKey{Metric: "users_at_limit", Proxy: p}] = limit
	}
	for n, node := range s.nodes {
		key := func(m string) store.SeriesKey { return store.SeriesKey{Metric: m, Node: node} }
		cpu := math.Round((5+60*day+10*s.rng.Float64())*10) / 10
		vals[key("engine_answering")] = 1
		vals[key("engine_cpu_pct")] = cpu
		vals[key("engine_mem_total_mb")] = 65536
		vals[key("engine_mem_free_mb")] = math.Round(65536 - 20000*day - 2000*s.rng.Float64())
		vals[key("engine_sessions")] = perNode[n]
		vals[key("engine_users")] = math.Round(perNode[n] / 1.3)
		vals[key("engine_saturated")] = 0
	}
	return store.Sample{Site: "prod", Time: t, Values: vals}
}

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
	if len(h.Series) != sizeProxies*sizeNodes || h.Step != store.AggregateStep {
		b.Fatalf("7-day query: %d series, step %s", len(h.Series), h.Step)
	}
	return n
}

func appendWeek(ctx context.Context, tb testing.TB, s store.Store) int {
	l, err := s.AcquireLease(ctx, store.WatchLease, "bench", 365*24*time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	sm := newSiteSampler()
	n := 0
	for t := t0; t.Before(t0.Add(sizeDays * 24 * time.Hour)); t = t.Add(sizeInterval) {
		if err := s.AppendSample(ctx, l, sm.sample(t)); err != nil {
			tb.Fatal(err)
		}
		n++
		if t.Sub(t0)%store.AggregateStep == 0 {
			if err := s.Compact(ctx, t); err != nil {
				tb.Fatal(err)
			}
		}
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
