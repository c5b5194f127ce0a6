package watch_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
	"github.com/qlikbot/qlikbot/watch"
)

// lostAnswerStore writes the first alert it is given, then answers with
// an error, as a dropped connection or a timeout after the write would.
type lostAnswerStore struct {
	watch.Store
	once sync.Once
}

func (l *lostAnswerStore) PutAlert(ctx context.Context, lease store.Lease, a store.Alert) (store.Alert, error) {
	got, err := l.Store.PutAlert(ctx, lease, a)
	lost := false
	l.once.Do(func() { lost = true })
	if lost && err == nil {
		return store.Alert{}, errors.New("i/o timeout")
	}
	return got, err
}

// TestAlertClaimAnswerLost: when the answer to the write that claims a
// notification is lost, the watcher reads the alert back, finds its
// claim, and posts at once (not an hour later, at the repeat interval).
func TestAlertClaimAnswerLost(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, st watch.Store, clk *testkit.Clock) {
		r := newRig(t, &lostAnswerStore{Store: st}, clk)
		addUser(t, r.sim, "win", "kiosk", 5)
		w := r.watcher(t, "a")
		if !w.Step(t.Context()) {
			t.Fatal("no sample")
		}
		if n := len(r.chat.newPosts()); n != 1 {
			t.Fatalf("%d posts after a lost answer to the claim, want 1", n)
		}
		as, err := st.ListAlerts(t.Context())
		if err != nil || len(as) != 1 || len(as[0].Messages) != 1 || len(as[0].Messages[0].Dest) == 0 {
			t.Fatalf("stored alert: %+v, %v; want its message recorded", as, err)
		}
	})
}

// TestAlertDamagedRecord: an alert record that does not decode (left out
// of ListAlerts, so the watcher takes the alert for new) is written over;
// the alert is posted, not blocked for ever by a conflict.
func TestAlertDamagedRecord(t *testing.T) {
	t.Parallel()
	addr := storetest.StartRedis(t)
	st, err := store.NewRedis(&redis.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.HSet(t.Context(), store.DefaultKeyPrefix+"alerts", "session-limit\x00prod\x00", "00000000000000000004{damaged").Err(); err != nil {
		t.Fatal(err)
	}
	clk := testkit.NewClock(t0)
	r := newRig(t, st, clk)
	addUser(t, r.sim, "win", "kiosk", 5)
	w := r.watcher(t, "a")
	if !w.Step(t.Context()) {
		t.Fatal("no sample")
	}
	if n := len(r.chat.newPosts()); n != 1 {
		t.Fatalf("%d posts with a damaged alert record, want 1", n)
	}
	as, err := st.ListAlerts(t.Context())
	if err != nil || len(as) != 1 || as[0].Version != 6 {
		t.Fatalf("alerts: %+v, %v; want the alert written over version 4 (claim, then messages)", as, err)
	}
}
