package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// testHistoryClockAhead: a replica whose clock runs ahead neither blocks
// the history nor wipes it. A sample dated past MaxSampleAhead of the
// store's clock (the real one here: Redis's TIME, bolt's default) is
// refused and later samples go on; a compaction dated a month ahead cuts
// by the store's clock and keeps what was sampled.
func testHistoryClockAhead(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Hour)
	now := time.Now().Truncate(time.Second)
	mustAppend(t, s, l, sample("prod", now.Add(-10*time.Minute), map[store.SeriesKey]float64{finCentral: 1}))
	err := s.AppendSample(ctx, l, sample("prod", now.Add(time.Hour), map[store.SeriesKey]float64{finCentral: 99}))
	if !errors.Is(err, store.ErrSampleAhead) {
		t.Fatalf("a sample an hour ahead: %v, want ErrSampleAhead", err)
	}
	mustAppend(t, s, l, sample("prod", now.Add(-5*time.Minute), map[store.SeriesKey]float64{finCentral: 2}))
	mustCompact(t, s, now.Add(30*24*time.Hour))
	for _, aggregate := range []bool{false, true} {
		h := mustQuery(t, s, store.HistoryQuery{Site: "prod", From: now.Add(-time.Hour), To: now.Add(time.Hour), Aggregate: aggregate})
		n := 0
		for _, sr := range h.Series {
			for _, p := range sr.Points {
				n += max(p.N, 1)
			}
		}
		if n != 2 {
			t.Errorf("aggregate=%v: %d samples after a compaction dated a month ahead, want 2: %s", aggregate, n, series(h))
		}
	}
}
