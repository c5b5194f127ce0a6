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
