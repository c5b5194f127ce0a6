package storetest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// Series the history cases use.
var (
	finCentral = store.SeriesKey{Metric: "sessions", Proxy: "finance", Node: "Central"}
	finDev1    = store.SeriesKey{Metric: "sessions", Proxy: "finance", Node: "dev1"}
	hrCentral  = store.SeriesKey{Metric: "sessions", Proxy: "hr", Node: "Central"}
	cpuCentral = store.SeriesKey{Metric: "engine_cpu_pct", Node: "Central"}
	atLimit    = store.SeriesKey{Metric: "users_at_limit", Proxy: "finance"}
	memFree    = store.SeriesKey{Metric: "engine_mem_free_pct", Node: "Central"}
)

func sample(site string, at time.Time, vals map[store.SeriesKey]float64) store.Sample {
	return store.Sample{Site: site, Time: at, Values: vals}
}

func mustAppend(t *testing.T, s store.Store, l store.Lease, smp store.Sample) {
	t.Helper()
	if err := s.AppendSample(t.Context(), l, smp); err != nil {
		t.Fatalf("AppendSample(%s at %s): %v", smp.Site, smp.Time.Format(time.RFC3339), err)
	}
}

func mustQuery(t *testing.T, s store.Store, q store.HistoryQuery) store.History {
	t.Helper()
	h, err := s.QueryHistory(t.Context(), q)
	if err != nil {
		t.Fatalf("QueryHistory: %v", err)
	}
	if h.Skipped != 0 {
		t.Errorf("QueryHistory skipped %d records", h.Skipped)
	}
	return h
}

func mustCompact(t *testing.T, s store.Store, now time.Time) {
	t.Helper()
	if err := s.Compact(t.Context(), now); err != nil {
		t.Fatalf("Compact(%s): %v", now.Format(time.RFC3339), err)
	}
}

// raw is a raw point of value v at base+offset.
func raw(offset time.Duration, v float64) store.Point {
	return store.Point{Time: base.Add(offset), Min: v, Max: v, Avg: v, Last: v, N: 1}
}

// series renders a history as "key: points" lines, for comparing whole
// answers with one diff.
func series(h store.History) string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %s\n", h.Step)
	for _, sh := range h.Series {
		fmt.Fprintf(&b, "%s:", sh.Key)
		for _, p := range sh.Points {
			fmt.Fprintf(&b, " [%s %v/%v/%v/%v n%d]", p.Time.UTC().Format("01-02T15:04:05"), p.Min, p.Max, p.Avg, p.Last, p.N)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func want(step time.Duration, rows map[store.SeriesKey][]store.Point, order ...store.SeriesKey) string {
	h := store.History{Step: step}
	for _, k := range order {
		h.Series = append(h.Series, store.SeriesHistory{Key: k, Points: rows[k]})
	}
	return series(h)
}

func checkHistory(t *testing.T, got store.History, want string) {
	t.Helper()
	if g := series(got); g != want {
		t.Errorf("history:\n%s\nwant:\n%s", g, want)
	}
}

// testHistoryRoundTrip: values come back exactly, selected, in order.
func testHistoryRoundTrip(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	exotic := []float64{0, 5, -3, 12.5, 0.001, 1e-9, 123456789012, -0.25, math.MaxFloat64}
	for i, v := range exotic {
		mustAppend(t, s, l, sample("prod", base.Add(time.Duration(i)*time.Minute), map[store.SeriesKey]float64{
			finCentral: v,
			cpuCentral: float64(i) + 0.5,
			atLimit:    math.NaN(), // not measured: no point
		}))
	}
	// Another site's samples stay apart.
	mustAppend(t, s, l, sample("test", base, map[store.SeriesKey]float64{finCentral: 99}))

	h := mustQuery(t, s, store.HistoryQuery{Site: "prod", From: base, To: base.Add(time.Hour)})
	if h.Site != "prod" || h.Step != 0 {
		t.Errorf("Site %q, Step %s; want prod, raw", h.Site, h.Step)
	}
	rows := map[store.SeriesKey][]store.Point{}
	for i, v := range exotic {
		at := time.Duration(i) * time.Minute
		rows[finCentral] = append(rows[finCentral], raw(at, v))
		rows[cpuCentral] = append(rows[cpuCentral], raw(at, float64(i)+0.5))
	}
	checkHistory(t, h, want(0, rows, cpuCentral, finCentral))

	tests := []struct {
		name  string
		match store.SeriesMatch
		from  time.Duration
		to    time.Duration
		want  []store.SeriesKey
		count int
	}{
		{"by metric", store.SeriesMatch{Metrics: []string{"engine_cpu_pct"}}, 0, time.Hour, []store.SeriesKey{cpuCentral}, len(exotic)},
		{"by proxy", store.SeriesMatch{Proxies: []string{"finance"}}, 0, time.Hour, []store.SeriesKey{finCentral}, len(exotic)},
		{"by node and metric", store.SeriesMatch{Metrics: []string{"sessions"}, Nodes: []string{"Central"}}, 0, time.Hour, []store.SeriesKey{finCentral}, len(exotic)},
		{"no such node", store.SeriesMatch{Nodes: []string{"dev1"}}, 0, time.Hour, nil, 0},
		{"from inclusive, to exclusive", store.SeriesMatch{Metrics: []string{"sessions"}}, 2 * time.Minute, 5 * time.Minute, []store.SeriesKey{finCentral}, 3},
		{"before the first", store.SeriesMatch{}, -time.Hour, 0, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustQuery(t, s, store.HistoryQuery{Site: "prod", Series: tt.match, From: base.Add(tt.from), To: base.Add(tt.to)})
			if len(h.Series) != len(tt.want) {
				t.Fatalf("%d series %s, want %v", len(h.Series), series(h), tt.want)
			}
			for i, k := range tt.want {
				if h.Series[i].Key != k || len(h.Series[i].Points) != tt.count {
					t.Errorf("series %d = %s with %d points, want %s with %d", i, h.Series[i].Key, len(h.Series[i].Points), k, tt.count)
				}
			}
			if tt.count > 0 && !h.Series[0].Points[0].Time.Equal(base.Add(max(tt.from, 0))) {
				t.Errorf("first point at %s, want %s", h.Series[0].Points[0].Time, base.Add(tt.from))
			}
		})
	}
	other := mustQuery(t, s, store.HistoryQuery{Site: "test", From: base, To: base.Add(time.Hour)})
	checkHistory(t, other, want(0, map[store.SeriesKey][]store.Point{finCentral: {raw(0, 99)}}, finCentral))
	none := mustQuery(t, s, store.HistoryQuery{Site: "nosuch", From: base, To: base.Add(time.Hour)})
	if none.Series == nil || len(none.Series) != 0 {
		t.Errorf("unknown site: %#v, want an empty, non-nil Series", none.Series)
	}
}

// testHistoryFencing: a stale lease's samples are refused and leave
// nothing behind; the lease named in the call is what counts.
func testHistoryFencing(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	a := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	mustAppend(t, s, a, sample("prod", base, map[store.SeriesKey]float64{finCentral: 1}))
	if err := s.ReleaseLease(ctx, a); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	b := mustAcquire(t, s, store.WatchLease, "replica-b", time.Minute)
	if err := s.AppendSample(ctx, a, sample("prod", base.Add(time.Minute), map[store.SeriesKey]float64{finCentral: 2})); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("AppendSample with a released lease = %v, want ErrLeaseLost", err)
	}
	forged := b
	forged.Holder = "replica-a"
	if err := s.AppendSample(ctx, forged, sample("prod", base.Add(2*time.Minute), map[store.SeriesKey]float64{finCentral: 3})); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("AppendSample with b's token under another holder = %v, want ErrLeaseLost", err)
	}
	stale := b
	stale.Token = a.Token
	if err := s.AppendSample(ctx, stale, sample("prod", base.Add(3*time.Minute), map[store.SeriesKey]float64{finCentral: 4})); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("AppendSample with an older token = %v, want ErrLeaseLost", err)
	}
	// An expired lease is lost too.
	if err := s.ReleaseLease(ctx, b); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	short := mustAcquire(t, s, store.WatchLease, "replica-a", time.Millisecond)
	c := awaitLease(t, s, store.WatchLease, "replica-c", time.Minute)
	if err := s.AppendSample(ctx, short, sample("prod", base.Add(4*time.Minute), map[store.SeriesKey]float64{finCentral: 5})); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("AppendSample with an expired lease = %v, want ErrLeaseLost", err)
	}
	mustAppend(t, s, c, sample("prod", base.Add(5*time.Minute), map[store.SeriesKey]float64{finCentral: 6}))
	h := mustQuery(t, s, store.HistoryQuery{Site: "prod", From: base, To: base.Add(time.Hour)})
	checkHistory(t, h, want(0, map[store.SeriesKey][]store.Point{finCentral: {raw(0, 1), raw(5*time.Minute, 6)}}, finCentral))
}

// testHistoryOrder: history is append-only; a sample at or before the
// newest is refused, and two writers of the same moment: one wins.
func testHistoryOrder(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	mustAppend(t, s, l, sample("prod", base.Add(time.Minute), map[store.SeriesKey]float64{finCentral: 1}))
	for _, at := range []time.Duration{time.Minute, 0, -time.Hour} {
		err := s.AppendSample(ctx, l, sample("prod", base.Add(at), map[store.SeriesKey]float64{finCentral: 7}))
		if !errors.Is(err, store.ErrSampleOrder) {
			t.Errorf("AppendSample at +%s after +1m = %v, want ErrSampleOrder", at, err)
		}
	}
	errs := make([]error, racers)
	together(racers, func(i int) {
		errs[i] = s.AppendSample(ctx, l, sample("prod", base.Add(2*time.Minute), map[store.SeriesKey]float64{finCentral: float64(10 + i)}))
	})
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("racers %d and %d both appended the same moment", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, store.ErrSampleOrder):
			t.Errorf("racer %d: %v, want ErrSampleOrder", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no racer appended")
	}
	h := mustQuery(t, s, store.HistoryQuery{Site: "prod", From: base, To: base.Add(time.Hour)})
	checkHistory(t, h, want(0, map[store.SeriesKey][]store.Point{finCentral: {raw(time.Minute, 1), raw(2*time.Minute, float64(10+won))}}, finCentral))
}

func testHistoryInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	ok := map[store.SeriesKey]float64{finCentral: 1}
	long := strings.Repeat("x", 300)
	tests := []struct {
		name string
		l    store.Lease
		s    store.Sample
	}{
		{"no lease", store.Lease{}, sample("prod", base, ok)},
		{"empty site", l, sample("", base, ok)},
		{"site with a colon", l, sample("prod:raw", base, ok)},
		{"long site", l, sample(strings.Repeat("s", 65), base, ok)},
		{"no time", l, sample("prod", time.Time{}, ok)},
		{"no values", l, sample("prod", base, nil)},
		{"infinite", l, sample("prod", base, map[store.SeriesKey]float64{finCentral: math.Inf(1)})},
		{"empty metric", l, sample("prod", base, map[store.SeriesKey]float64{{Proxy: "finance"}: 1})},
		{"long proxy", l, sample("prod", base, map[store.SeriesKey]float64{{Metric: "sessions", Proxy: long}: 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.AppendSample(ctx, tt.l, tt.s)
			if err == nil || errors.Is(err, store.ErrLeaseLost) || errors.Is(err, store.ErrSampleOrder) {
				t.Fatalf("AppendSample = %v, want an input error", err)
			}
		})
	}
	for name, q := range map[string]store.HistoryQuery{
		"empty range":    {Site: "prod", From: base, To: base},
		"reversed range": {Site: "prod", From: base, To: base.Add(-time.Minute)},
		"no start":       {Site: "prod", To: base},
		"bad site":       {Site: "a b", From: base, To: base.Add(time.Minute)},
	} {
		if _, err := s.QueryHistory(ctx, q); err == nil {
			t.Errorf("%s: QueryHistory succeeded", name)
		}
	}
	// Nothing was written by the refused calls: the first real sample can
	// be at the earliest time used above.
	mustAppend(t, s, l, sample("prod", base, ok))
	h := mustQuery(t, s, store.HistoryQuery{Site: "prod", From: base.Add(-time.Hour), To: base.Add(time.Hour)})
	checkHistory(t, h, want(0, map[store.SeriesKey][]store.Point{finCentral: {raw(0, 1)}}, finCentral))
}
