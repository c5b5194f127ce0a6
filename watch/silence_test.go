package watch_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
	"github.com/qlikbot/qlikbot/watch"
)

// lateHookStore runs its hook once, at the next ListSubscriptions: after
// a watcher read the round's alerts and silences, before its writes.
type lateHookStore struct {
	watch.Store
	mu   sync.Mutex
	hook func()
}

func (h *lateHookStore) set(hook func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hook = hook
}

func (h *lateHookStore) ListSubscriptions(ctx context.Context) ([]store.Subscription, error) {
	h.mu.Lock()
	hook := h.hook
	h.hook = nil
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	return h.Store.ListSubscriptions(ctx)
}

// TestSilenceSavedWhileResolving: an until-resolved silence saved after
// the watcher read the alerts of the round that resolves its alert
// (Silence clicked as it cleared) is ended at a later round, and never
// holds back the alert's next firing.
func TestSilenceSavedWhileResolving(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, st watch.Store, clk *testkit.Clock) {
		ctx := t.Context()
		hs := &lateHookStore{Store: st}
		r := newRig(t, hs, clk)
		w := r.watcher(t, "a")
		kiosk := addUser(t, r.sim, "win", "kiosk", 5)
		step := func(what string) {
			t.Helper()
			clk.Advance(time.Minute)
			if !w.Step(ctx) {
				t.Fatalf("%s: the watcher did not sample", what)
			}
		}
		step("fires")
		if n := len(r.chat.newPosts()); n != 1 {
			t.Fatalf("%d posts, want 1", n)
		}

		endSessions(t, r.client, "win", kiosk)
		sil := store.Silence{ID: "s1", Rule: "session-limit", Site: "prod", UntilResolved: true, By: "slack:U0ONCALL"}
		hs.set(func() {
			sil.CreatedAt = clk.Now()
			if err := st.(store.Store).PutSilence(ctx, sil); err != nil {
				t.Error(err)
			}
		})
		step("resolves while silenced")
		if as, _ := st.ListAlerts(ctx); len(as) != 1 || as[0].State != store.AlertResolved {
			t.Fatalf("alerts after resolving: %+v", as)
		}

		addUser(t, r.sim, "win", "kiosk", 5)
		step("fires again")
		fresh := r.chat.newPosts()
		if len(fresh) != 2 || !strings.HasPrefix(fresh[1].reply.Title, "firing") {
			t.Fatalf("posts: %+v; want the second firing posted anew", fresh)
		}
		if ss, _ := st.ListSilences(ctx, clk.Now()); len(ss) != 0 {
			t.Errorf("the until-resolved silence outlived its alert: %+v", ss)
		}
		evs, _ := st.(store.Store).RecentAudit(ctx, 10)
		if len(evs) == 0 || evs[0].Action != "unsilence" || evs[0].Pending != "s1" {
			t.Errorf("the silence's end is not audited: %+v", evs)
		}
	})
}

// TestSilenceHoldsItsFiringOnly: an until-resolved silence left over
// from an earlier firing (its end was never written) does not hold back
// a new one.
func TestSilenceHoldsItsFiringOnly(t *testing.T) {
	t.Parallel()
	k := store.AlertKey{Rule: "r", Site: "prod"}
	made := t0.Add(time.Hour)
	s := store.Silence{ID: "s1", Rule: "r", Site: "prod", UntilResolved: true, CreatedAt: made}
	for _, c := range []struct {
		name    string
		firedAt time.Time
		want    bool
	}{
		{"the firing it was made in", made.Add(-time.Minute), true},
		{"made as it fired", made, true},
		{"a later firing", made.Add(time.Minute), false},
	} {
		if got := s.Holds(k, c.firedAt, made.Add(time.Hour)); got != c.want {
			t.Errorf("%s: holds = %v, want %v", c.name, got, c.want)
		}
	}
	timed := store.Silence{ID: "s2", Rule: "r", Until: made.Add(time.Hour), CreatedAt: made}
	if !timed.Holds(k, made.Add(time.Minute), made.Add(30*time.Minute)) || timed.Holds(k, made, made.Add(time.Hour)) {
		t.Error("a silence with an end holds whatever fires until its end, and no longer")
	}
}

// TestAlertDetailVerified: a stored Detail is shown only when it verifies
// for its alert and firing: a forged one (a user to kick written by
// whoever can write to the store) or one copied from another alert shows
// nothing, and the watcher replaces it with what it reads.
func TestAlertDetailVerified(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	st := boltStore(t, clk)
	r := newRig(t, st, clk)
	w := r.fireOnce(t)
	as, err := st.ListAlerts(t.Context())
	if err != nil || len(as) != 1 {
		t.Fatalf("alerts: %+v, %v", as, err)
	}
	genuine := as[0]
	if n := watch.NoticeOf(r.sealer, genuine, nil, clk.Now()); len(n.Detail.Items) != 1 || n.Detail.Items[0].User != `LAB\kiosk` {
		t.Fatalf("genuine detail: %+v", n.Detail)
	}
	if _, err := watch.OpenDetail(seal.Random(), genuine); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("opened with another key: %v, want ErrTampered", err)
	}
	moved := genuine
	moved.Key.Site = "other"
	if _, err := watch.OpenDetail(r.sealer, moved); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("detail of another alert: %v, want ErrTampered", err)
	}
	refired := genuine
	refired.FiredAt = refired.FiredAt.Add(time.Hour)
	if _, err := watch.OpenDetail(r.sealer, refired); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("detail of another firing: %v, want ErrTampered", err)
	}

	// Whoever can write to the store names another user.
	forged, _ := json.Marshal(watch.Detail{Type: "user-sessions", Summary: "1 user", Items: []watch.Item{{Key: `LAB\admin`, User: `LAB\admin`}}})
	clk.Advance(2 * time.Minute) // the watcher's lease lapses
	evil, err := st.AcquireLease(t.Context(), store.WatchLease, "evil", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	bad := genuine
	bad.Detail = forged
	if bad, err = st.PutAlert(t.Context(), evil, bad); err != nil {
		t.Fatal(err)
	}
	if err := st.ReleaseLease(t.Context(), evil); err != nil {
		t.Fatal(err)
	}
	if n := watch.NoticeOf(r.sealer, bad, nil, clk.Now()); len(n.Detail.Items) != 0 || n.Detail.Summary != "" {
		t.Errorf("forged detail shown: %+v", n.Detail)
	}
	clk.Advance(time.Minute)
	if !w.Step(t.Context()) {
		t.Fatal("no sample")
	}
	for _, p := range r.chat.all() {
		if strings.Contains(strings.Join(p.reply.Summary, " "), "admin") {
			t.Fatalf("a forged detail reached a message: %+v", p)
		}
	}
	as, _ = st.ListAlerts(t.Context())
	if n := watch.NoticeOf(r.sealer, as[0], nil, clk.Now()); len(n.Detail.Items) != 1 || n.Detail.Items[0].User != `LAB\kiosk` {
		t.Errorf("the watcher did not replace the forged detail: %+v", n.Detail)
	}
}
