package watch_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
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
		r.fireOnce(t)
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
	st, c := redisRaw(t)
	if err := c.HSet(t.Context(), store.DefaultKeyPrefix+"alerts", "session-limit\x00prod\x00", "00000000000000000004{damaged").Err(); err != nil {
		t.Fatal(err)
	}
	clk := testkit.NewClock(t0)
	r := newRig(t, st, clk)
	r.fireOnce(t)
	if n := len(r.chat.newPosts()); n != 1 {
		t.Fatalf("%d posts with a damaged alert record, want 1", n)
	}
	as, err := st.ListAlerts(t.Context())
	if err != nil || len(as) != 1 || as[0].Version != 6 {
		t.Fatalf("alerts: %+v, %v; want the alert written over version 4 (claim, then messages)", as, err)
	}
}

// subscribe subscribes n Slack channels to every rule in st.
func subscribe(t *testing.T, r *rig, st store.Store, n int) {
	t.Helper()
	for i := range n {
		ch := fmt.Sprintf("C%08d", i)
		dst := bot.Destination{Platform: bot.Slack, Channel: ch}
		if err := st.PutSubscription(t.Context(), store.Subscription{Platform: "slack", Channel: ch,
			Dest: watch.SealDestination(r.sealer, watch.SubscriptionID("slack", ch), dst), At: t0}); err != nil {
			t.Fatal(err)
		}
	}
}

// fillRecord runs rounds of w while they post: each posts to the targets
// that fit (counting a long message id for each), until the alert's
// record is full; every post is recorded. It returns the alert as stored.
func fillRecord(t *testing.T, r *rig, w *watch.Watcher, subs int) store.Alert {
	t.Helper()
	var alert store.Alert
	for round := range 10 {
		before := len(r.chat.newPosts())
		r.clk.Advance(time.Minute)
		if !w.Step(t.Context()) {
			t.Fatal("no sample")
		}
		posts := len(r.chat.newPosts())
		as, err := r.st.ListAlerts(t.Context())
		if err != nil || len(as) != 1 {
			t.Fatalf("alerts: %d, %v", len(as), err)
		}
		recorded := 0
		for _, m := range as[0].Messages {
			if len(m.Dest) > 0 {
				recorded++
			}
		}
		if recorded != posts || posts > subs {
			t.Fatalf("round %d: %d posts, %d recorded, of %d targets; want each post recorded", round, posts, recorded, subs+1)
		}
		if round > 0 && posts == before {
			if posts < 100 {
				t.Errorf("%d targets posted to; want as many as a record holds (more than 100 Slack channels)", posts)
			}
			if as[0].Version != alert.Version {
				t.Errorf("a round with nothing to post wrote the alert: version %d, then %d", alert.Version, as[0].Version)
			}
			return as[0]
		}
		alert = as[0]
	}
	t.Fatal("still posting to more targets after 10 rounds")
	return store.Alert{}
}

// TestAlertTargetsFitRecord: an alert with more subscribers than its
// record can hold the messages of posts to those that fit, records every
// message it posts (so each can be updated), and does not rewrite the
// alert every round for the rest (fillRecord). When more users then reach
// the limit, the messages are still updated (with the users that fit, the
// summary counting them all), once: the next round, with nothing new,
// writes nothing.
func TestAlertTargetsFitRecord(t *testing.T) {
	t.Parallel()
	st := redisStore(t)
	clk := testkit.NewClock(t0)
	r := newRig(t, st, clk)
	const subs = 400
	subscribe(t, r, st, subs)
	addUser(t, r.sim, "win", "kiosk", 5)
	w := r.watcher(t, "a")
	full := fillRecord(t, r, w, subs)
	for i := range 50 {
		addUser(t, r.sim, "win", fmt.Sprintf("user-%02d-%s", i, strings.Repeat("x", 80)), 5)
	}
	before := len(r.chat.all())
	clk.Advance(time.Minute)
	if !w.Step(t.Context()) {
		t.Fatal("no sample")
	}
	updated := 0
	for _, p := range r.chat.all()[before:] {
		if !p.reply.ReplaceOriginal || !strings.HasPrefix(p.reply.Title, "firing: 51 users") {
			t.Fatalf("post after more users fired: %+v; want an update of a message saying 51 users", p.reply)
		}
		updated++
	}
	as, err := st.ListAlerts(t.Context())
	if err != nil || len(as) != 1 {
		t.Fatalf("alerts: %+v, %v", as, err)
	}
	if updated != len(full.Messages) || as[0].Version != full.Version+1 {
		t.Fatalf("%d of %d messages updated, alert at version %d after %d; want each updated", updated, len(full.Messages), as[0].Version, full.Version)
	}
	d, err := watch.OpenDetail(r.sealer, as[0])
	if err != nil || len(d.Items) == 0 || len(d.Items) >= 51 || !strings.HasPrefix(d.Summary, "51 users") {
		t.Errorf("stored detail: %q with %d items, %v; want the users that fit, counted all", d.Summary, len(d.Items), err)
	}
	clk.Advance(time.Minute)
	if !w.Step(t.Context()) {
		t.Fatal("no sample")
	}
	if again, _ := st.ListAlerts(t.Context()); len(again) != 1 || again[0].Version != as[0].Version {
		t.Errorf("a round with nothing new wrote the alert again: %+v", again)
	}
}
