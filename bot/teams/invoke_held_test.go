package teams

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// TestInvokeHeldNotice: a handler that answers an Action.Execute click
// only through ReplyTo (a job interrupted by a shutdown says so on its
// card and returns nothing) within the invoke deadline gets its last
// card-replacing reply as the invoke's answer, not a bare "Done", and the
// card is updated with it for the whole conversation; when it comes after
// the "working on it" card, or before it while the handler returns after
// it, it replaces that card and nothing more is sent over it (the job's
// outcome follows from wherever it resumes).
func TestInvokeHeldNotice(t *testing.T) {
	t.Parallel()
	notice := bot.Reply{Kind: bot.Pending, Title: "Ending 250 sessions on finance: 100 done", ReplaceOriginal: true, Visibility: bot.InChannel,
		Summary: []string{"Interrupted: qlikbot is restarting."}}
	cases := []struct {
		name     string
		deadline time.Duration
		slow     bool // the notice comes after the deadline
		late     bool // the handler returns after the deadline
		wantBody string
		wantPuts int // updates of the card
	}{
		{"within the deadline", 10 * time.Second, false, false, "Interrupted: qlikbot is restarting.", 1},
		{"after the working card", 20 * time.Millisecond, true, true, "Working on it", 1},
		{"notice before the deadline, return after it", 20 * time.Millisecond, false, true, "Working on it", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			releaseNotice, releaseReturn := make(chan struct{}), make(chan struct{})
			d := &recordingDispatcher{doHook: func(ctx context.Context, req bot.Request) bot.Reply {
				if tc.slow {
					<-releaseNotice
				}
				if err := req.ReplyTo.Respond(ctx, notice); err != nil {
					t.Errorf("notice: %v", err)
				}
				if tc.late {
					<-releaseReturn
				}
				return bot.Reply{} // answered through ReplyTo
			}}
			e := newTestEnv(t, d, WithInvokeDeadline(tc.deadline))
			resp := decodeInvoke(t, e.post(t, e.validToken(t), invokeActivity(e.conn.serviceURL(), "qlik.approve", "p-42")))
			val, _ := json.Marshal(resp.Value)
			if resp.Type != cardContentType || !strings.Contains(string(val), tc.wantBody) {
				t.Fatalf("invoke response %s %s, want a card with %q", resp.Type, val, tc.wantBody)
			}
			close(releaseNotice)
			// The notice is on the card while the handler still runs.
			e.conn.waitCalls(t, tc.wantPuts)
			close(releaseReturn)
			waitFor(t, "the click's work to end", func() bool {
				_, done := d.calls()
				return len(done) == 1
			})
			puts := cardPuts(e, "card-9")
			if len(puts) != tc.wantPuts || (tc.wantPuts > 0 && !strings.Contains(puts[0], "Interrupted")) {
				t.Errorf("card updates %v, want %d (the notice alone)", puts, tc.wantPuts)
			}
		})
	}
}
