package teams

import (
	"net/http"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// TestTypedInThreadReplacesNothing: a command typed as a reply in a
// channel thread carries the thread's root as replyToId. That is no card
// of ours: the request's Origin names no message (a job it starts reports
// in new messages) and a reply meant to replace a clicked card is posted
// in the thread, never sent as an update of the root. A click's replyToId
// is its card, as before.
func TestTypedInThreadReplacesNothing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	typed := messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> approve p-42")
	typed["replyToId"] = "root-1"
	click := messageActivity(e.conn.serviceURL(), "")
	click["replyToId"] = "card-9"
	click["value"] = map[string]any{"action": "qlik.approve", "value": "p-42"}
	for _, act := range []map[string]any{typed, click} {
		if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
			t.Fatalf("status %d", rec.Code)
		}
	}
	submitted, _ := e.d.calls()
	if len(submitted) != 2 {
		t.Fatalf("%d requests submitted", len(submitted))
	}
	if got := submitted[0].Origin.Message; got != "" {
		t.Errorf("typed in a thread: Origin.Message = %q, want none", got)
	}
	if got := submitted[1].Origin.Message; got != "card-9" {
		t.Errorf("a click: Origin.Message = %q, want its card", got)
	}
	outcome := bot.Reply{Kind: bot.Info, Title: "Approved", Visibility: bot.InChannel, ReplaceOriginal: true}
	for _, req := range submitted {
		if err := req.ReplyTo.Respond(t.Context(), outcome); err != nil {
			t.Fatalf("Respond: %v", err)
		}
	}
	calls := e.conn.waitCalls(t, 2)
	if calls[0].Method != http.MethodPost || calls[0].Path != "/v3/conversations/"+testConv+"/activities/root-1" {
		t.Errorf("typed in a thread: %s %s, want a POST in the thread", calls[0].Method, calls[0].Path)
	}
	if calls[1].Method != http.MethodPut || calls[1].Path != "/v3/conversations/"+testConv+"/activities/card-9" {
		t.Errorf("a click: %s %s, want its card updated", calls[1].Method, calls[1].Path)
	}
}
