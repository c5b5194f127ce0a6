package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

func progressReply() bot.Reply {
	return bot.Reply{Kind: bot.Pending, Title: "Ending 250 sessions on finance: 100 done",
		Summary: []string{"So far: deleted 100, already gone 0, failed 0; 150 to go"}, Visibility: bot.InChannel, ReplaceOriginal: true}
}

// TestInvokeProgress: progress replies (ReplaceOriginal, through ReplyTo)
// sent while an Action.Execute invoke is still open are dropped, since the
// answer in the body shows the outcome to the clicker only and an update
// for everyone would stay behind; other replies pass. Once the invoke was
// answered "working on it", progress updates the card and the outcome
// follows as the last update.
func TestInvokeProgress(t *testing.T) {
	t.Parallel()
	card := "/v3/conversations/" + testConv + "/activities/card-9"
	tests := []struct {
		name      string
		deadline  time.Duration
		slow      bool
		wantBody  string
		wantCalls []struct{ method, text string }
	}{
		{"fast: progress dropped, outcome in the body", 10 * time.Second, false, "Approved by Bob Boss",
			[]struct{ method, text string }{{http.MethodPost, "You may not approve this"}}},
		{"slow: progress then outcome update the card", 20 * time.Millisecond, true, "Working on it",
			[]struct{ method, text string }{{http.MethodPost, "You may not approve this"}, {http.MethodPut, "100 done"}, {http.MethodPut, "Approved by Bob Boss"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			d := &recordingDispatcher{doHook: func(ctx context.Context, req bot.Request) bot.Reply {
				if tc.slow {
					select {
					case <-release:
					case <-ctx.Done():
						return bot.Reply{}
					}
				}
				if err := req.ReplyTo.Respond(ctx, goldenReplies()["denied"]); err != nil {
					t.Errorf("plain reply: %v", err)
				}
				if err := req.ReplyTo.Respond(ctx, progressReply()); err != nil {
					t.Errorf("progress reply: %v", err)
				}
				return goldenReplies()["outcome"]
			}}
			e := newTestEnv(t, d, WithInvokeDeadline(tc.deadline))
			resp := decodeInvoke(t, e.post(t, e.validToken(t), invokeActivity(e.conn.serviceURL(), "qlik.approve", "p-42")))
			val, _ := json.Marshal(resp.Value)
			if resp.Type != cardContentType || !strings.Contains(string(val), tc.wantBody) {
				t.Fatalf("invoke response = %s", val)
			}
			close(release)
			calls := e.conn.waitCalls(t, len(tc.wantCalls))
			if len(calls) != len(tc.wantCalls) {
				t.Fatalf("connector calls = %+v", calls)
			}
			for i, w := range tc.wantCalls {
				body, _ := json.Marshal(calls[i].Activity)
				if calls[i].Method != w.method || calls[i].Path != card || !strings.Contains(string(body), w.text) {
					t.Errorf("call %d = %s %s %s, want %s with %q", i, calls[i].Method, calls[i].Path, body, w.method, w.text)
				}
			}
		})
	}
}
