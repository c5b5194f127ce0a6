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
	a1, _ := e.a.conn.limiter(conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: "a:1"})
	a1again, _ := e.a.conn.limiter(conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: "a:1"})
	a2, _ := e.a.conn.limiter(conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: "a:2"})
	if a1 == nil || a1 != a1again || a1 == a2 {
		t.Fatalf("limiters: a1=%p again=%p a2=%p; want one per conversation", a1, a1again, a2)
	}
	// Threads of a channel share the channel's limit: Teams counts them together.
	ch, _ := e.a.conn.limiter(conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: "19:ops@thread.tacv2"})
	thread, _ := e.a.conn.limiter(conversationRef{ServiceURL: e.conn.serviceURL(), ConversationID: "19:ops@thread.tacv2;messageid=17"})
	if ch == nil || ch != thread {
		t.Fatalf("a thread got its own limiter (%p, channel %p)", thread, ch)
	}
}
