package storetest

import (
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// agg is an aggregate point at base+offset.
func agg(offset time.Duration, minV, maxV, avg, last float64, n int) store.Point {
	return store.Point{Time: base.Add(offset), Min: minV, Max: maxV, Avg: avg, Last: last, N: n}
}

// testHistoryCompact walks the retention with the compaction time
// injected: roll-up, raw past 24 h, aggregates past 7 days, the site
// forgotten once empty.
func testHistoryCompact(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Hour)
	nan := math.NaN()
	// Bucket 0 (base to +5m): five samples. Bucket 1: two, with a node
	// that appears (a new series dictionary) and a series that is gone.
	for i, v := range []struct{ fin, cpu float64 }{{1, 10}, {2, nan}, {3, 30}, {4, 40.5}, {5, 50}} {
		mustAppend(t, s, l, sample("prod", base.Add(time.Duration(i)*time.Minute), map[store.SeriesKey]float64{
			finCentral: v.fin, cpuCentral: v.cpu, atLimit: 0, memFree: 0.007}))
	}
	for i, v := range []float64{6, 7} {
		mustAppend(t, s, l, sample("prod", base.Add(time.Duration(5+i)*time.Minute), map[store.SeriesKey]float64{
			finCentral: v, finDev1: 1, cpuCentral: 60 + 10*float64(i)}))
	}
	day0 := want(store.AggregateStep, map[store.SeriesKey][]store.Point{
		cpuCentral: {agg(0, 10, 50, 32.625, 50, 4), agg(5*time.Minute, 60, 70, 65, 70, 2)},
		finCentral: {agg(0, 1, 5, 3, 5, 5), agg(5*time.Minute, 6, 7, 6.5, 7, 2)},
		finDev1:    {agg(5*time.Minute, 1, 1, 1, 1, 2)},
		atLimit:    {agg(0, 0, 0, 0, 0, 5)},
		// A constant averages to itself, not to a sum's rounding.
		memFree: {agg(0, 0.007, 0.007, 0.007, 0.007, 5)},
	}, cpuCentral, memFree, finCentral, finDev1, atLimit)
	day := store.HistoryQuery{Site: "prod", From: base, To: base.Add(time.Hour), Aggregate: true}

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"aggregates before any compaction", func(t *testing.T) {
			checkHistory(t, mustQuery(t, s, day), day0)
		}},
		{"rolled up: the same answer, raw samples kept", func(t *testing.T) {
			mustCompact(t, s, base.Add(10*time.Minute))
			checkHistory(t, mustQuery(t, s, day), day0)
			h := mustQuery(t, s, store.HistoryQuery{Site: "prod", Series: store.SeriesMatch{Proxies: []string{"finance"}, Nodes: []string{"Central"}},
				From: base, To: base.Add(time.Hour)})
			checkHistory(t, h, want(0, map[store.SeriesKey][]store.Point{finCentral: {
				raw(0, 1), raw(time.Minute, 2), raw(2*time.Minute, 3), raw(3*time.Minute, 4), raw(4*time.Minute, 5),
				raw(5*time.Minute, 6), raw(6*time.Minute, 7)}}, finCentral))
			// Compacting again changes nothing.
			mustCompact(t, s, base.Add(10*time.Minute))
			checkHistory(t, mustQuery(t, s, day), day0)
		}},
		{"raw past 24 h dropped, aggregates answer", func(t *testing.T) {
			mustAppend(t, s, l, sample("prod", base.Add(25*time.Hour), map[store.SeriesKey]float64{finCentral: 9}))
			mustCompact(t, s, base.Add(25*time.Hour))
			// A range within the raw retention: raw, and only what is left.
			recent := mustQuery(t, s, store.HistoryQuery{Site: "prod", From: base.Add(2 * time.Hour), To: base.Add(26 * time.Hour)})
			checkHistory(t, recent, want(0, map[store.SeriesKey][]store.Point{finCentral: {raw(25*time.Hour, 9)}}, finCentral))
			// Older than the raw retention: aggregates, the newest bucket
			// rolled up for the answer.
			all := mustQuery(t, s, store.HistoryQuery{Site: "prod", Series: store.SeriesMatch{Metrics: []string{"sessions"}},
				From: base, To: base.Add(26 * time.Hour)})
			checkHistory(t, all, want(store.AggregateStep, map[store.SeriesKey][]store.Point{
				finCentral: {agg(0, 1, 5, 3, 5, 5), agg(5*time.Minute, 6, 7, 6.5, 7, 2), agg(25*time.Hour, 9, 9, 9, 9, 1)},
				finDev1:    {agg(5*time.Minute, 1, 1, 1, 1, 2)},
			}, finCentral, finDev1))
		}},
		{"a stopped watcher's last bucket is rolled up before its raw goes", func(t *testing.T) {
			mustCompact(t, s, base.Add(49*time.Hour+time.Minute))
			h := mustQuery(t, s, store.HistoryQuery{Site: "prod", Series: store.SeriesMatch{Metrics: []string{"sessions"}},
				From: base.Add(24 * time.Hour), To: base.Add(26 * time.Hour)})
			checkHistory(t, h, want(store.AggregateStep, map[store.SeriesKey][]store.Point{
				finCentral: {agg(25*time.Hour, 9, 9, 9, 9, 1)}}, finCentral))
			// That bucket is closed: a sample inside it is refused.
			late := sample("prod", base.Add(25*time.Hour+2*time.Minute), map[store.SeriesKey]float64{finCentral: 1})
			if err := s.AppendSample(ctx, l, late); !errors.Is(err, store.ErrSampleOrder) {
				t.Errorf("AppendSample into a rolled-up bucket = %v, want ErrSampleOrder", err)
			}
			mustAppend(t, s, l, sample("prod", base.Add(25*time.Hour+5*time.Minute), map[store.SeriesKey]float64{finCentral: 2}))
		}},
		{"aggregates past 7 days dropped", func(t *testing.T) {
			mustCompact(t, s, base.Add(8*24*time.Hour))
			h := mustQuery(t, s, store.HistoryQuery{Site: "prod", Series: store.SeriesMatch{Metrics: []string{"sessions"}},
				From: base.Add(-time.Hour), To: base.Add(9 * 24 * time.Hour)})
			checkHistory(t, h, want(store.AggregateStep, map[store.SeriesKey][]store.Point{
				finCentral: {agg(25*time.Hour, 9, 9, 9, 9, 1), agg(25*time.Hour+5*time.Minute, 2, 2, 2, 2, 1)}}, finCentral))
		}},
		{"nothing left: the site is forgotten", func(t *testing.T) {
			mustCompact(t, s, base.Add(20*24*time.Hour))
			h := mustQuery(t, s, store.HistoryQuery{Site: "prod", From: base.Add(-time.Hour), To: base.Add(30 * 24 * time.Hour), Aggregate: true})
			if len(h.Series) != 0 {
				t.Errorf("history after every retention passed: %s", series(h))
			}
		}},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			return
		}
	}
}

// testHistoryCompactConcurrent: replicas compact at once while samples
// come in; every sample is in exactly one aggregate.
func testHistoryCompactConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Hour)
	const n = 60 // one a minute: twelve buckets
	var (
		wg   sync.WaitGroup
		errs = make(chan error, 4*n)
		last = make(chan time.Time, n)
	)
	wg.Go(func() {
		defer close(last)
		for i := range n {
			at := base.Add(time.Duration(i) * time.Minute)
			if err := s.AppendSample(ctx, l, sample("prod", at, map[store.SeriesKey]float64{finCentral: float64(i)})); err != nil {
				errs <- err
			}
			last <- at
		}
	})
	for range 4 {
		wg.Go(func() {
			for at := range last {
				if err := s.Compact(ctx, at); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	together(racers, func(int) {
		if err := s.Compact(ctx, base.Add(n*time.Minute)); err != nil {
			t.Error(err)
		}
	})
	h := mustQuery(t, s, store.HistoryQuery{Site: "prod", From: base, To: base.Add(2 * time.Hour), Aggregate: true})
	if len(h.Series) != 1 {
		t.Fatalf("history: %s", series(h))
	}
	pts := h.Series[0].Points
	if len(pts) != n/5 {
		t.Fatalf("%d buckets, want %d: %s", len(pts), n/5, series(h))
	}
	for i, p := range pts {
		first := float64(5 * i)
		if w := agg(time.Duration(5*i)*time.Minute, first, first+4, first+2, first+4, 5); !p.Time.Equal(w.Time) || p.Min != w.Min ||
			p.Max != w.Max || p.Avg != w.Avg || p.Last != w.Last || p.N != w.N {
			t.Errorf("bucket %d = %+v, want %+v", i, p, w)
		}
	}
}
