package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// TestWatchLimits: alerts, subscriptions and silences stop at their limit
// with ErrLimit; what is there can still be rewritten.
func TestWatchLimits(t *testing.T) {
	t.Parallel()
	const limit = 3
	srv := newRedisServer(t)
	stores := map[string]store.Store{
		"bolt":  openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithWatchLimit(limit)),
		"redis": srv.open(t, store.WithKeyPrefix(srv.nextPrefix()), store.WithWatchLimit(limit)),
	}
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			l, err := s.AcquireLease(ctx, store.WatchLease, "replica-a", time.Minute)
			if err != nil {
				t.Fatalf("AcquireLease: %v", err)
			}
			alert := func(i int) store.Alert {
				return store.Alert{Key: store.AlertKey{Rule: "session-limit", Group: fmt.Sprint(i)}, State: store.AlertFiring, Since: t0}
			}
			sub := func(i int) store.Subscription {
				return store.Subscription{Platform: "slack", Channel: fmt.Sprint("C", i), At: t0}
			}
			silence := func(i int) store.Silence {
				return store.Silence{ID: fmt.Sprint("s", i), Rule: "cpu", Until: t0.Add(time.Hour), CreatedAt: t0}
			}
			var first store.Alert
			for i := range limit {
				a, err := s.PutAlert(ctx, l, alert(i))
				if err != nil {
					t.Fatalf("PutAlert %d: %v", i, err)
				}
				if i == 0 {
					first = a
				}
				if err := s.PutSubscription(ctx, sub(i)); err != nil {
					t.Fatalf("PutSubscription %d: %v", i, err)
				}
				if err := s.PutSilence(ctx, silence(i)); err != nil {
					t.Fatalf("PutSilence %d: %v", i, err)
				}
			}
			if _, err := s.PutAlert(ctx, l, alert(limit)); !errors.Is(err, store.ErrLimit) {
				t.Errorf("PutAlert past the limit = %v, want ErrLimit", err)
			}
			if err := s.PutSubscription(ctx, sub(limit)); !errors.Is(err, store.ErrLimit) {
				t.Errorf("PutSubscription past the limit = %v, want ErrLimit", err)
			}
			if err := s.PutSilence(ctx, silence(limit)); !errors.Is(err, store.ErrLimit) {
				t.Errorf("PutSilence past the limit = %v, want ErrLimit", err)
			}
			first.State = store.AlertResolved
			if _, err := s.PutAlert(ctx, l, first); err != nil {
				t.Errorf("PutAlert over a kept alert at the limit: %v", err)
			}
			if err := s.PutSubscription(ctx, sub(0)); err != nil {
				t.Errorf("PutSubscription over a kept one at the limit: %v", err)
			}
			if err := s.PutSilence(ctx, silence(0)); err != nil {
				t.Errorf("PutSilence over a kept one at the limit: %v", err)
			}
			alerts, err := s.ListAlerts(ctx)
			if err != nil || len(alerts) != limit {
				t.Errorf("ListAlerts = %d alerts, %v; want %d", len(alerts), err, limit)
			}
		})
	}
}

// TestBoltWatchCounts: bolt keeps the count its limits check by every
// put, delete, prune and reopen: a deleted or pruned record frees its
// place, a rewrite takes none, and the count survives a restart.
func TestBoltWatchCounts(t *testing.T) {
	t.Parallel()
	const limit = 3
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	b := openBolt(t, path, store.WithWatchLimit(limit))
	sub := func(i int) store.Subscription {
		return store.Subscription{Platform: "slack", Channel: fmt.Sprint("C", i), At: t0}
	}
	silence := func(i int) store.Silence {
		return store.Silence{ID: fmt.Sprint("s", i), Rule: "cpu", Until: t0.Add(time.Hour), CreatedAt: t0}
	}
	for i := range limit {
		if err := b.PutSubscription(ctx, sub(i)); err != nil {
			t.Fatal(err)
		}
		if err := b.PutSilence(ctx, silence(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.PutSubscription(ctx, sub(0)); err != nil {
		t.Fatalf("rewrite at the limit: %v", err)
	}
	if _, err := b.DeleteSubscription(ctx, "slack", "C1"); err != nil {
		t.Fatal(err)
	}
	if err := b.PutSubscription(ctx, sub(10)); err != nil {
		t.Fatalf("a subscription in a freed place: %v", err)
	}
	if err := b.PutSubscription(ctx, sub(11)); !errors.Is(err, store.ErrLimit) {
		t.Fatalf("past the limit after a delete and a put: %v, want ErrLimit", err)
	}
	if _, err := b.EndSilence(ctx, "s0"); err != nil {
		t.Fatal(err)
	}
	if err := b.Compact(ctx, t0.Add(2*time.Hour)); err != nil { // the others ended: pruned
		t.Fatal(err)
	}
	for i := range limit {
		if err := b.PutSilence(ctx, store.Silence{ID: fmt.Sprint("n", i), Rule: "cpu", Until: t0.Add(3 * time.Hour), CreatedAt: t0}); err != nil {
			t.Fatalf("silence %d after the others were pruned: %v", i, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = openBolt(t, path, store.WithWatchLimit(limit))
	if err := b.PutSubscription(ctx, sub(12)); !errors.Is(err, store.ErrLimit) {
		t.Errorf("subscription past the limit after a reopen: %v, want ErrLimit", err)
	}
	if err := b.PutSilence(ctx, silence(20)); !errors.Is(err, store.ErrLimit) {
		t.Errorf("silence past the limit after a reopen: %v, want ErrLimit", err)
	}
}
