package watch_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
	"github.com/qlikbot/qlikbot/watch"
)

// TestAlertLifecycle follows one alert from firing to resolved and firing
// again, on bolt and on Redis: posted once, updated in place when what
// fires changes, posted to a channel that subscribes meanwhile, re-posted
// after the repeat interval, held by a silence, resolved in place.
func TestAlertLifecycle(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, st watch.Store, clk *testkit.Clock) {
		ctx := t.Context()
		r := newRig(t, st, clk)
		w := r.watcher(t, "a")
		key := store.AlertKey{Rule: "session-limit", Site: "prod"}
		step := func(what string) {
			t.Helper()
			clk.Advance(time.Minute)
			if !w.Step(ctx) {
				t.Fatalf("%s: the watcher did not sample", what)
			}
		}
		alert := func() store.Alert {
			t.Helper()
			as, err := st.ListAlerts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				if a.Key == key {
					return a
				}
			}
			t.Fatalf("no alert %s in %+v", key, as)
			return store.Alert{}
		}

		step("nothing at the limit")
		if p := r.chat.all(); len(p) != 0 {
			t.Fatalf("posts with nobody at the limit: %+v", p)
		}

		kiosk := addUser(t, r.sim, "win", "kiosk", 5)
		step("kiosk at the limit")
		posts := r.chat.all()
		if len(posts) != 1 || posts[0].dst != (bot.Destination{Platform: bot.Slack, Channel: "C0OPS"}) || posts[0].reply.ReplaceOriginal ||
			!strings.HasPrefix(posts[0].reply.Title, "firing: 1 user at or above 5 sessions on site prod") || posts[0].reply.Summary[0] != `LAB\kiosk` {
			t.Fatalf("first post: %+v", posts)
		}
		a := alert()
		if a.State != store.AlertFiring || a.Notifications != 1 || len(a.Messages) != 1 || len(a.Messages[0].Dest) == 0 {
			t.Fatalf("stored alert after the first post: %+v", a)
		}

		step("still the same")
		if n := len(r.chat.all()); n != 1 {
			t.Fatalf("%d posts after an unchanged sample, want still 1", n)
		}

		second := addUser(t, r.sim, "finance", "clerk", 5)
		step("a second user")
		posts = r.chat.all()
		if len(posts) != 2 || !posts[1].reply.ReplaceOriginal || posts[1].dst.Message != "m1" || posts[1].reply.Summary[0] != `LAB\clerk,LAB\kiosk` {
			t.Fatalf("the change is not an update of m1 in place: %+v", posts)
		}

		// A channel subscribes while it fires; a forged subscription is
		// never posted to.
		sub := bot.Destination{Platform: bot.Slack, Channel: "C0NEW"}
		if err := st.(store.Store).PutSubscription(ctx, store.Subscription{Platform: "slack", Channel: "C0NEW",
			Dest: watch.SealDestination(r.sealer, watch.SubscriptionID("slack", "C0NEW"), sub), At: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		evil := bot.Destination{Platform: bot.Slack, Channel: "C0EVIL"}
		if err := st.(store.Store).PutSubscription(ctx, store.Subscription{Platform: "slack", Channel: "C0EVIL",
			Dest: watch.SealDestination(seal.Random(), watch.SubscriptionID("slack", "C0EVIL"), evil), At: clk.Now()}); err != nil {
			t.Fatal(err)
		}
		step("a subscriber")
		fresh := r.chat.newPosts()
		if len(fresh) != 2 || fresh[1].dst.Channel != "C0NEW" {
			t.Fatalf("new posts after a subscription: %+v; want one to C0NEW", fresh)
		}
		step("nothing new")
		if n := len(r.chat.all()); n != 3 {
			t.Fatalf("%d posts, want 3 (the subscriber is posted to once)", n)
		}

		clk.Advance(time.Hour)
		step("the repeat interval")
		fresh = r.chat.newPosts()
		if len(fresh) != 4 || fresh[2].dst.Channel != "C0OPS" || fresh[3].dst.Channel != "C0NEW" {
			t.Fatalf("after the repeat interval: %+v; want a new post to each channel", fresh)
		}
		if a := alert(); a.Notifications != 2 {
			t.Errorf("notifications = %d, want 2", a.Notifications)
		}

		// Silenced until resolved: its messages say so, nothing repeats.
		sil := store.Silence{ID: "s1", Rule: "session-limit", Site: "prod", UntilResolved: true, By: "slack:U0ONCALL", CreatedAt: clk.Now()}
		if err := st.(store.Store).PutSilence(ctx, sil); err != nil {
			t.Fatal(err)
		}
		before := len(r.chat.all())
		step("silenced")
		posts = r.chat.all()[before:]
		if len(posts) != 2 || !posts[0].reply.ReplaceOriginal || !slices.Contains(posts[0].reply.Summary, "silenced by slack:U0ONCALL") {
			t.Fatalf("silencing: %+v; want both messages updated to say so", posts)
		}
		clk.Advance(2 * time.Hour)
		step("silenced past the repeat interval")
		if n := len(r.chat.all()); n != before+2 {
			t.Fatalf("%d posts under a silence, want none", n-before-2)
		}

		endSessions(t, r.client, "win", kiosk)
		endSessions(t, r.client, "finance", second)
		step("resolved")
		posts = r.chat.all()[before+2:]
		if len(posts) != 2 || !posts[0].reply.ReplaceOriginal || !strings.HasPrefix(posts[0].reply.Title, "resolved") {
			t.Fatalf("resolving: %+v; want both messages updated to resolved", posts)
		}
		if a := alert(); a.State != store.AlertResolved || !a.Since.Equal(clk.Now()) {
			t.Errorf("stored alert: %s since %v", a.State, a.Since)
		}
		if ss, _ := st.ListSilences(ctx, clk.Now()); len(ss) != 0 {
			t.Errorf("the until-resolved silence outlived the alert: %+v", ss)
		}
		evs, _ := st.(store.Store).RecentAudit(ctx, 10)
		if len(evs) == 0 || evs[0].Action != "unsilence" || evs[0].Subject != "watcher" || evs[0].Pending != "s1" {
			t.Errorf("the silence's end is not audited: %+v", evs)
		}

		addUser(t, r.sim, "win", "kiosk", 5)
		before = len(r.chat.all())
		step("fires again")
		fresh = r.chat.all()[before:]
		if len(fresh) != 2 || fresh[0].reply.ReplaceOriginal || !strings.HasPrefix(fresh[0].reply.Title, "firing") {
			t.Fatalf("firing again: %+v; want a new post to each channel", fresh)
		}
		for _, p := range r.chat.all() {
			if p.dst.Channel == "C0EVIL" {
				t.Fatalf("posted to a forged subscription: %+v", p)
			}
		}
	})
}

// TestAlertNoDoublePost: a restarted watcher, a second watcher on the
// same store, and a stale watcher whose lease was taken never post an
// alert already posted.
func TestAlertNoDoublePost(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	st := boltStore(t, clk)
	r := newRig(t, st, clk)
	addUser(t, r.sim, "win", "kiosk", 5)
	a := r.watcher(t, "a")
	b := r.watcher(t, "b")
	if !a.Step(t.Context()) {
		t.Fatal("a did not take the lease")
	}
	if b.Step(t.Context()) {
		t.Fatal("b sampled while a holds the lease")
	}
	if n := len(r.chat.all()); n != 1 {
		t.Fatalf("%d posts, want 1", n)
	}
	// a stops answering: its lease lapses, b takes over and goes on
	// without posting the firing alert again.
	clk.Advance(2 * time.Minute)
	if !b.Step(t.Context()) {
		t.Fatal("b did not take over a lapsed lease")
	}
	clk.Advance(time.Minute)
	b.Step(t.Context())
	// a wakes up: its lease is gone, it writes nothing and posts nothing.
	addUser(t, r.sim, "finance", "clerk", 5)
	clk.Advance(10 * time.Second)
	if a.Step(t.Context()) {
		t.Fatal("the stale watcher sampled")
	}
	if n := len(r.chat.all()); n != 1 {
		t.Fatalf("%d posts after a takeover, want still 1: %+v", n, r.chat.all())
	}
	// A restart (a new watcher, once b is gone) posts nothing either.
	clk.Advance(2 * time.Minute)
	c := r.watcher(t, "c")
	if !c.Step(t.Context()) {
		t.Fatal("c did not take over")
	}
	posts := r.chat.all()
	if len(r.chat.newPosts()) != 1 || len(posts) != 2 || !posts[1].reply.ReplaceOriginal {
		t.Fatalf("after a restart: %+v; want the first post and one update (clerk joined)", posts)
	}
}

// TestAlertPostFailsOnce: a failed post is not retried before the repeat
// interval (it may have reached the channel), and a later update goes
// only to the messages that were posted.
func TestAlertPostFailsOnce(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	r := newRig(t, boltStore(t, clk), clk)
	addUser(t, r.sim, "win", "kiosk", 5)
	w := r.watcher(t, "a")
	r.chat.fail = true
	w.Step(t.Context())
	r.chat.fail = false
	clk.Advance(time.Minute)
	w.Step(t.Context())
	if n := len(r.chat.all()); n != 0 {
		t.Fatalf("%d posts after a failed one, want none before the repeat interval", n)
	}
	clk.Advance(time.Hour)
	w.Step(t.Context())
	if n := len(r.chat.newPosts()); n != 1 {
		t.Fatalf("%d posts after the repeat interval, want 1", n)
	}
}

// hookStore runs hook once, right after the first ListAlerts: between a
// watcher's reading of the alerts and its writes.
type hookStore struct {
	watch.Store
	once sync.Once
	hook func()
}

func (h *hookStore) ListAlerts(ctx context.Context) ([]store.Alert, error) {
	as, err := h.Store.ListAlerts(ctx)
	h.once.Do(h.hook)
	return as, err
}

// TestAlertFencedMidRound: a watcher whose lease is taken over between
// its samples and its alert writes (paused, partitioned) is refused by the
// store and posts nothing; the new holder posts the alert once.
func TestAlertFencedMidRound(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	st := boltStore(t, clk)
	r := newRig(t, st, clk)
	addUser(t, r.sim, "win", "kiosk", 5)
	b := r.watcher(t, "b")
	hs := &hookStore{Store: st}
	r.st = hs
	a := r.watcher(t, "a")
	hs.hook = func() {
		clk.Advance(2 * time.Minute) // a's lease lapses
		if !b.Step(t.Context()) {
			t.Error("b did not take over")
		}
	}
	a.Step(t.Context())
	if a.Holding() {
		t.Error("a still believes it holds the lease")
	}
	posts := r.chat.all()
	if len(posts) != 1 {
		t.Fatalf("%d posts, want exactly 1 (b's): %+v", len(posts), posts)
	}
}
