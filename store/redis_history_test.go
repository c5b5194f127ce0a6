package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// TestRedisCompactRace: a sample that comes in between Compact's read and
// its write makes the write retry, so the sample is rolled up rather than
// left behind a watermark that already passed it.
func TestRedisCompactRace(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	ctx := t.Context()
	r := srv.open(t, store.WithKeyPrefix(srv.nextPrefix()))
	l, err := r.AcquireLease(ctx, store.WatchLease, "replica-a", time.Minute)
	if err != nil {
		t.Fatalf("AcquireLease: %v", err)
	}
	key := store.SeriesKey{Metric: "sessions", Proxy: "finance", Node: "Central"}
	appendAt := func(at time.Time, v float64) error {
		return r.AppendSample(ctx, l, store.Sample{Site: "prod", Time: at, Values: map[store.SeriesKey]float64{key: v}})
	}
	if err := appendAt(t0, 1); err != nil {
		t.Fatalf("AppendSample: %v", err)
	}
	var once sync.Once
	store.SetCompactHook(r, func() {
		once.Do(func() {
			// The bucket of the newest sample is being closed (its raw
			// samples pass the retention) while another sample joins it.
			if err := appendAt(t0.Add(time.Minute), 2); err != nil {
				t.Errorf("AppendSample in the hook: %v", err)
			}
		})
	})
	if err := r.Compact(ctx, t0.Add(25*time.Hour)); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	h, err := r.QueryHistory(ctx, store.HistoryQuery{Site: "prod", From: t0, To: t0.Add(time.Hour), Aggregate: true})
	if err != nil {
		t.Fatalf("QueryHistory: %v", err)
	}
	if len(h.Series) != 1 || len(h.Series[0].Points) != 1 {
		t.Fatalf("history = %+v, want one bucket", h.Series)
	}
	if p := h.Series[0].Points[0]; p.N != 2 || p.Min != 1 || p.Max != 2 {
		t.Errorf("bucket = %+v, want both samples (n 2, 1 to 2)", p)
	}
}

// TestRedisCompactCollision: a dictionary collision found by Compact
// (another dictionary stored under the id of an aggregate's) writes
// nothing, not the buckets before it.
func TestRedisCompactCollision(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	ctx := t.Context()
	prefix := srv.nextPrefix()
	r := srv.open(t, store.WithKeyPrefix(prefix))
	l, err := r.AcquireLease(ctx, store.WatchLease, "replica-a", time.Minute)
	if err != nil {
		t.Fatalf("AcquireLease: %v", err)
	}
	a := store.SeriesKey{Metric: "sessions", Proxy: "a"}
	b := store.SeriesKey{Metric: "sessions", Proxy: "b"}
	c := store.SeriesKey{Metric: "sessions", Proxy: "c"}
	// Bucket 0 holds a and b, bucket 1 a and c: each aggregate has a
	// dictionary no raw sample has.
	for i, keys := range [][]store.SeriesKey{{a}, {b}, {}, {}, {}, {a}, {c}, {}, {}, {}, {a}} {
		if len(keys) == 0 {
			continue
		}
		if err := r.AppendSample(ctx, l, store.Sample{Site: "prod", Time: t0.Add(time.Duration(i) * time.Minute),
			Values: map[store.SeriesKey]float64{keys[0]: 1}}); err != nil {
			t.Fatalf("AppendSample: %v", err)
		}
	}
	c2 := srv.client(t)
	if err := c2.HSet(ctx, prefix+"hist:prod:dict", store.RollupDictID(a, c), "another dictionary").Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Compact(ctx, t0.Add(time.Hour)); err == nil {
		t.Fatal("Compact over a colliding dictionary: no error")
	}
	if n, err := c2.ZCard(ctx, prefix+"hist:prod:agg").Result(); err != nil || n != 0 {
		t.Errorf("%d aggregates written by a compaction that failed (%v), want none", n, err)
	}
	if wm, err := c2.HGet(ctx, prefix+"hist:prod:meta", "wm").Result(); err == nil {
		t.Errorf("watermark %q moved by a compaction that failed", wm)
	}
}
