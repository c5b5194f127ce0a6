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
