package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
)

// TestAlertDamaged: a stored alert record that does not decode is left
// out of ListAlerts, and both backends agree on the version a write over
// it must give: 0 when it has no version prefix, else the prefix's, which
// a conflict returns. Written over at that version, the alert is whole
// again.
func TestAlertDamaged(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	backends := map[string]func(t *testing.T, clk *testkit.Clock) store.Store{
		"bolt": func(t *testing.T, clk *testkit.Clock) store.Store {
			return openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithClock(clk.Now))
		},
		"redis": func(t *testing.T, _ *testkit.Clock) store.Store {
			return srv.open(t, store.WithKeyPrefix(srv.nextPrefix()))
		},
	}
	for name, open := range backends {
		for _, c := range []struct {
			name    string
			raw     string
			version uint64
		}{
			{"no version", "garbage", 0},
			{"short", "0000012", 0},
			{"bad json", "00000000000000000007{not json", 7},
			{"wrong version inside", `00000000000000000003{"rule":"r","site":"prod","state":"firing","version":9}`, 3},
		} {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				clk := testkit.NewClock(t0)
				s := open(t, clk)
				k := store.AlertKey{Rule: "r", Site: "prod"}
				if err := store.PutRawAlert(s, k, []byte(c.raw)); err != nil {
					t.Fatal(err)
				}
				if as, err := s.ListAlerts(ctx); err != nil || len(as) != 0 {
					t.Fatalf("ListAlerts with a damaged record: %+v, %v", as, err)
				}
				l, err := s.AcquireLease(ctx, store.WatchLease, "w", time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				a := store.Alert{Key: k, State: store.AlertFiring, Since: t0, FiredAt: t0, LastNotified: t0, Notifications: 1}
				if c.version != 0 {
					got, err := s.PutAlert(ctx, l, a)
					if !errors.Is(err, store.ErrConflict) || got.Version != c.version || got.Key != (store.AlertKey{}) {
						t.Fatalf("write at version 0: %+v, %v; want ErrConflict at version %d, no key", got, err, c.version)
					}
				}
				a.Version = c.version
				got, err := s.PutAlert(ctx, l, a)
				if err != nil || got.Version != c.version+1 {
					t.Fatalf("write at version %d: %+v, %v", c.version, got, err)
				}
				if as, err := s.ListAlerts(ctx); err != nil || len(as) != 1 || as[0].Version != c.version+1 {
					t.Fatalf("ListAlerts once written over: %+v, %v", as, err)
				}
			})
		}
	}
}
