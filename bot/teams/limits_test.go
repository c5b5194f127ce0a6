package teams

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestConversationLimiterWithinTeamsLimits drives the per-conversation
// limiter as fast as it allows, on simulated time, and checks every
// window Teams documents: 7 per 1 s, 8 per 2 s, 60 per 30 s.
func TestConversationLimiterWithinTeamsLimits(t *testing.T) {
	t.Parallel()
	lim := rate.NewLimiter(defaultConvRate, defaultConvBurst)
	var sent []time.Time
	for now := t0; now.Before(t0.Add(2 * time.Minute)); now = now.Add(10 * time.Millisecond) {
		for lim.AllowN(now, 1) {
			sent = append(sent, now)
		}
	}
	if len(sent) < 200 {
		t.Fatalf("only %d messages in 2 min: the limiter is needlessly strict", len(sent))
	}
	for _, w := range []struct {
		window time.Duration
		max    int
	}{{time.Second, 7}, {2 * time.Second, 8}, {30 * time.Second, 60}} {
		j := 0
		for i := range sent {
			for sent[i].Sub(sent[j]) >= w.window {
				j++
			}
			if n := i - j + 1; n > w.max {
				t.Fatalf("%d messages within %v (limit %d) ending at %v", n, w.window, w.max, sent[i].Sub(t0))
			}
		}
	}
}

func TestLimiterIsPerConversation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.a.conn.trust(e.conn.serviceURL())
	key := func(conv string) conversationRef {
		t.Helper()
		k, err := e.a.conn.paceKey(conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: conv})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if key("a:1") != key("a:1") || key("a:1") == key("a:2") {
		t.Fatalf("keys: a1=%v a2=%v; want one per conversation", key("a:1"), key("a:2"))
	}
	// Threads of a channel share the channel's limit: Teams counts them together.
	if ch, thread := key("19:ops@thread.tacv2"), key("19:ops@thread.tacv2;messageid=17"); ch != thread {
		t.Fatalf("a thread got its own key (%v, channel %v)", thread, ch)
	}
	if _, err := e.a.conn.paceKey(conversationRef{ServiceURL: "https://elsewhere.example.com/", ConversationID: "a:1"}); err == nil {
		t.Fatal("an untrusted service URL got a key")
	}
}
