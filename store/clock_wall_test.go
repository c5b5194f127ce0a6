package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
)

// TestBoltSamplesFollowTheWallClock: Bolt's steady clock (leases) stays
// where the wall clock was when it opened; the wall clock, which the
// watcher dates its samples by, steps on (NTP after a VM resumed, a boot
// clock corrected). The samples dated by the wall clock are taken, and a
// compaction at the wall clock's now keeps them: a guard on the steady
// clock would refuse every sample until the process restarts.
func TestBoltSamplesFollowTheWallClock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	wall := time.Now().Truncate(time.Second)
	lagging := func() time.Time { return wall.Add(-2 * time.Hour) } // the wall clock stepped 2h on since
	b := openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithLeaseClock(lagging))
	l, err := b.AcquireLease(ctx, store.WatchLease, "w", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key := store.SeriesKey{Metric: "sessions"}
	for i, at := range []time.Time{wall.Add(-time.Minute), wall} {
		if err := b.AppendSample(ctx, l, store.Sample{Site: "prod", Time: at, Values: map[store.SeriesKey]float64{key: float64(i)}}); err != nil {
			t.Fatalf("sample at the wall clock's %s: %v", at, err)
		}
	}
	if err := b.Compact(ctx, wall); err != nil {
		t.Fatal(err)
	}
	h, err := b.QueryHistory(ctx, store.HistoryQuery{Site: "prod", From: wall.Add(-time.Hour), To: wall.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range h.Series {
		n += len(s.Points)
	}
	if n != 2 {
		t.Errorf("%d points after the compaction, want 2: %+v", n, h)
	}
}

// TestBoltReplayKeysFollowTheWallClock: a replay key outlasts the window
// of the signature timestamps it guards, which is on the wall clock: after
// the wall clock stepped back, a key is still seen until the wall clock
// passes its time, however long the process has run meanwhile.
func TestBoltReplayKeysFollowTheWallClock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	wall, steady := testkit.NewClock(t0), testkit.NewClock(t0)
	b := openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithClock(wall.Now), store.WithLeaseClock(steady.Now))
	if seen, err := b.SeenBefore(ctx, "slack:req:1", 10*time.Minute); err != nil || seen {
		t.Fatalf("first: seen=%v err=%v", seen, err)
	}
	steady.Advance(11 * time.Minute)
	wall.Advance(time.Minute) // stepped back 10 minutes meanwhile
	if seen, err := b.SeenBefore(ctx, "slack:req:1", 10*time.Minute); err != nil || !seen {
		t.Fatalf("replayed 1 minute on, by the wall clock: seen=%v err=%v; want seen", seen, err)
	}
}

// TestBoltLeaseExpiresOnTheWallClock: the wall clock stepped an hour on
// since the store opened (its lease clock did not): a lease taken or
// renewed for 15 s says it expires 15 s from the wall clock's now, which is
// what its holder checks with time.Until, not an hour ago.
func TestBoltLeaseExpiresOnTheWallClock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	wall, steady := testkit.NewClock(t0.Add(time.Hour)), testkit.NewClock(t0)
	b := openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithClock(wall.Now), store.WithLeaseClock(steady.Now))
	const ttl = 15 * time.Second
	l, err := b.AcquireLease(ctx, store.JobLease("j1"), "a", ttl)
	if err != nil || !l.Expires.Equal(wall.Now().Add(ttl)) {
		t.Fatalf("AcquireLease = %+v, %v; want it to expire at the wall clock's now+15s", l, err)
	}
	held, err := b.AcquireLease(ctx, store.JobLease("j1"), "b", ttl)
	if !errors.Is(err, store.ErrLeaseHeld) || !held.Expires.Equal(wall.Now().Add(ttl)) {
		t.Errorf("AcquireLease of a held lease = %+v, %v; want its expiry on the wall clock", held, err)
	}
	wall.Advance(5 * time.Second)
	steady.Advance(5 * time.Second)
	if l, err = b.RenewLease(ctx, l, ttl); err != nil || !l.Expires.Equal(wall.Now().Add(ttl)) {
		t.Errorf("RenewLease = %+v, %v; want it to expire at the wall clock's now+15s", l, err)
	}
	steady.Advance(ttl + time.Second)
	if _, err := b.RenewLease(ctx, l, ttl); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease past the ttl on the lease clock = %v, want ErrLeaseLost: the store fences by its own clock", err)
	}
}
