package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// The history size figure (store's BenchmarkHistory7d, qlikbench's
// history_7d_mb): a busy site of 100 virtual proxies on 4 nodes sampled
// every 60 s, as the watcher samples it, for a number of days.
const (
	HistoryProxies  = 100
	HistoryNodes    = 4
	HistoryInterval = 60 * time.Second
)

// SiteSampler makes the samples of that site: sessions per virtual proxy
// and node following a working day, users per proxy and at the limit,
// and the engine figures per node. Seeded, so every run writes the same.
type SiteSampler struct {
	rng     *rand.Rand
	weight  []float64 // each proxy's share of the site's sessions
	proxies []string
	nodes   []string
}

// NewSiteSampler returns the sampler of the history size figure's site.
func NewSiteSampler() *SiteSampler {
	s := &SiteSampler{rng: rand.New(rand.NewPCG(14, 7))}
	for i := range HistoryProxies {
		s.proxies = append(s.proxies, fmt.Sprintf("proxy-%03d", i))
		// A few busy proxies, many quiet ones.
		s.weight = append(s.weight, math.Pow(s.rng.Float64(), 3)*60)
	}
	for i := range HistoryNodes {
		s.nodes = append(s.nodes, fmt.Sprintf("node%d", i+1))
	}
	return s
}

// Sample returns the site's reading at t, for site.
func (s *SiteSampler) Sample(site string, t time.Time) store.Sample {
	hour := float64(t.Hour()) + float64(t.Minute())/60
	day := math.Max(0, math.Sin((hour-7)/12*math.Pi)) // 07:00 to 19:00
	vals := make(map[store.SeriesKey]float64, HistoryProxies*(HistoryNodes+2)+HistoryNodes*7)
	perNode := make([]float64, HistoryNodes)
	for i, p := range s.proxies {
		total := 0.0
		for n, node := range s.nodes {
			v := math.Round(s.weight[i] * day * (0.8 + 0.4*s.rng.Float64()) / HistoryNodes)
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
	return store.Sample{Site: site, Time: t, Values: vals}
}

// WriteHistory appends days of the site's samples from t0 on, as the
// watcher would (under a lease, compacting every 5 minutes), and returns
// how many it wrote.
func WriteHistory(ctx context.Context, s store.Store, site string, t0 time.Time, days int) (int, error) {
	l, err := s.AcquireLease(ctx, store.WatchLease, "history-writer", 365*24*time.Hour)
	if err != nil {
		return 0, err
	}
	sm := NewSiteSampler()
	n := 0
	for t := t0; t.Before(t0.Add(time.Duration(days) * 24 * time.Hour)); t = t.Add(HistoryInterval) {
		if err := s.AppendSample(ctx, l, sm.Sample(site, t)); err != nil {
			return n, err
		}
		n++
		if t.Sub(t0)%store.AggregateStep == 0 {
			if err := s.Compact(ctx, t); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}
