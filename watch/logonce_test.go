package watch_test

import (
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
	"github.com/qlikbot/qlikbot/watch"
)

// TestLastingConditionsLoggedOnce: a site that does not answer, samples
// skipped (a clock ahead of the store's), a rule posting to Teams where
// Teams is not configured and a forged subscription are each logged once
// while they last, not every round; the end of the first two is logged.
func TestLastingConditionsLoggedOnce(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	st := boltStore(t, clk)
	r := newRig(t, st, clk)
	r.rules[0].Post.Teams = []authz.TeamsConversation{{ServiceURL: "https://smba.example", Conversation: "19:x", Tenant: "t"}}
	addUser(t, r.sim, "win", "kiosk", 5)
	evil := bot.Destination{Platform: bot.Slack, Channel: "C0EVIL"}
	if err := st.PutSubscription(t.Context(), store.Subscription{Platform: "slack", Channel: "C0EVIL",
		Dest: watch.SealDestination(seal.Random(), watch.SubscriptionID("slack", "C0EVIL"), evil), At: t0}); err != nil {
		t.Fatal(err)
	}
	gone := startSim(t)
	gone.Close()
	var ahead atomic.Int64
	ahead.Store(int64(time.Hour))
	logs := &testkit.Buffer{}
	w, err := watch.New([]watch.Site{{Name: "prod", Qlik: r.client}, {Name: "gone", Qlik: simClient(t, gone)}}, st, render,
		watch.WithClock(func() time.Time { return clk.Now().Add(time.Duration(ahead.Load())) }), watch.WithHolder("a"),
		watch.WithRules(func() []authz.AlertRule { return r.rules }), watch.WithDeliverer(r.chat), watch.WithSealer(r.sealer),
		watch.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clk.Advance(time.Minute)
		if !w.Step(t.Context()) {
			t.Fatal("no sample")
		}
	}
	for _, msg := range []string{"site did not answer", "samples skipped", "Teams is not configured", "subscription failed verification"} {
		if n := strings.Count(logs.String(), msg); n != 1 {
			t.Errorf("%q logged %d times in 3 rounds, want once", msg, n)
		}
	}
	ahead.Store(0)
	clk.Advance(time.Hour)
	w.Step(t.Context())
	if n := strings.Count(logs.String(), "samples stored again"); n != 1 {
		t.Errorf("the end of the skipped samples logged %d times, want once", n)
	}
}
