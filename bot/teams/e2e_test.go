package teams

import (
	"encoding/json"
	"github.com/qlikbot/qlikbot/bot/bottest"
	"net/http"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// AAD object ids of the people in the end-to-end story.
const (
	aadRequester = "11111111-1111-4111-8111-111111111111"
	aadViewer    = "22222222-2222-4222-8222-222222222222"
	aadApprover  = "33333333-3333-4333-8333-333333333333"
)

const e2ePolicy = `
roles:
  viewer: [list]
  lead:   [list, delete, kick, logout, approve]
grants:
  - subjects: ["teams:` + aadViewer + `"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["teams:` + aadRequester + `", "teams:` + aadApprover + `"]
    roles: [lead]
    virtualProxies: ["finance"]
approval:
  required: [kick, logout]
  ttl: 30m
`

// newE2E wires the adapter to a real dispatcher running a real
// commands.Engine on the Qlik simulator (mutual TLS), a bolt store and a
// parsed policy.
func newE2E(t *testing.T) (*testEnv, *qliksim.Server) {
	t.Helper()
	site := bottest.NewSite(t, 0, e2ePolicy, 0, bottest.SeedLab(), bottest.WithDispatcher(bot.WithWorkers(4)))
	return newTestEnv(t, site.Dispatcher), site.Sim
}

func financeSessions(sim *qliksim.Server) []qliksim.Session {
	var out []qliksim.Session
	for _, h := range sim.Hosts() {
		out = append(out, sim.Sessions(h, "finance")...)
	}
	return out
}

func from(act map[string]any, aad, name string) map[string]any {
	act["from"] = map[string]any{"id": "29:" + aad, "name": name, "aadObjectId": aad}
	return act
}

func TestEndToEndListKickApprove(t *testing.T) {
	t.Parallel()
	e, sim := newE2E(t)
	before := financeSessions(sim)
	if len(before) == 0 {
		t.Fatal("the seed lab has no finance sessions")
	}

	// 1. A message gets a card with the sessions table.
	act := from(messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> sessions finance"), aadViewer, "Vic Viewer")
	if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
		t.Fatalf("message: status %d", rec.Code)
	}
	calls := e.conn.waitCalls(t, 1)
	card, _ := json.Marshal(calls[0].Activity)
	if calls[0].Method != http.MethodPost || !strings.Contains(string(card), `"type":"Table"`) {
		t.Fatalf("sessions reply = %s %s", calls[0].Method, card)
	}
	for _, s := range before {
		// Lists show a session's handle (its first 8 hex digits), never the id.
		if h := strings.ReplaceAll(s.ID, "-", "")[:8]; !strings.Contains(string(card), h) || strings.Contains(string(card), s.ID) {
			t.Fatalf("session %s missing from the card, or shown in full: %s", h, card)
		}
	}

	// 2. kick asks for an approval: a card with Approve / Reject.
	act = from(messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> kick finance"), aadRequester, "Rita Requester")
	act["id"] = "1700000000002"
	if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
		t.Fatalf("kick: status %d", rec.Code)
	}
	calls = e.conn.waitCalls(t, 2)
	pendingID := approveValue(t, calls[1].Activity)

	// 3. Action.Execute by a non-approver: refused, shown to them only,
	// nothing deleted.
	inv := from(invokeActivity(e.conn.serviceURL(), "qlik.approve", pendingID), aadViewer, "Vic Viewer")
	resp := decodeInvoke(t, e.post(t, e.validToken(t), inv))
	if msg, _ := resp.Value.(string); resp.Type != invokeMessageType || !strings.Contains(msg, "Not allowed") ||
		!strings.Contains(msg, "teams:"+aadViewer) {
		t.Fatalf("non-approver click answered with %+v, want a denial to the clicker", resp)
	}
	if got := financeSessions(sim); len(got) != len(before) {
		t.Fatalf("a refused approval deleted sessions: %d left of %d", len(got), len(before))
	}

	// 4. The requester cannot approve their own kick (two-person rule).
	inv = from(invokeActivity(e.conn.serviceURL(), "qlik.approve", pendingID), aadRequester, "Rita Requester")
	resp = decodeInvoke(t, e.post(t, e.validToken(t), inv))
	if msg, _ := resp.Value.(string); resp.Type != invokeMessageType || !strings.Contains(msg, "two-person rule") {
		t.Fatalf("self-approval answered with %+v", resp)
	}

	// 5. An approver's click runs the kick; the updated card comes back in
	// the invoke response and the sessions are gone.
	inv = from(invokeActivity(e.conn.serviceURL(), "qlik.approve", pendingID), aadApprover, "Alex Approver")
	resp = decodeInvoke(t, e.post(t, e.validToken(t), inv))
	val, _ := json.Marshal(resp.Value)
	if resp.StatusCode != 200 || resp.Type != cardContentType || !strings.Contains(string(val), "Approved") ||
		strings.Contains(string(val), "Action.Execute") {
		t.Fatalf("approver click answered with %s %s", resp.Type, val)
	}
	if got := financeSessions(sim); len(got) != 0 {
		t.Fatalf("%d finance sessions left after the approved kick", len(got))
	}
	if n := e.conn.tokenHits.Load(); n != 1 {
		t.Fatalf("connector token fetched %d times, want 1", n)
	}
}

// approveValue finds the Approve action of a posted card and returns its
// value (the pending id).
func approveValue(t *testing.T, act map[string]any) string {
	t.Helper()
	b, _ := json.Marshal(act)
	var parsed struct {
		Attachments []struct {
			Content card `json:"content"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(b, &parsed); err != nil || len(parsed.Attachments) != 1 {
		t.Fatalf("posted activity %s: %v", b, err)
	}
	for _, a := range parsed.Attachments[0].Content.Actions {
		if a.Type == "Action.ShowCard" && a.Card != nil && len(a.Card.Actions) == 1 {
			a = a.Card.Actions[0] // Approve asks first
		}
		data, _ := a.Data.(map[string]any)
		if v, _ := data["value"].(string); a.Verb == "qlik.approve" && data["action"] == "qlik.approve" && v != "" && a.Style == "positive" {
			return v
		}
	}
	t.Fatalf("no Approve action on the card %s", b)
	return ""
}

func TestEndToEndRejectBySubmitUpdatesTheCard(t *testing.T) {
	t.Parallel()
	e, sim := newE2E(t)
	before := len(financeSessions(sim))
	act := from(messageActivity(e.conn.serviceURL(), "kick finance"), aadRequester, "Rita Requester")
	if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
		t.Fatalf("kick: status %d", rec.Code)
	}
	calls := e.conn.waitCalls(t, 1)
	pendingID := approveValue(t, calls[0].Activity)

	// Old clients send the Action.Submit fallback: a message with value.
	click := from(messageActivity(e.conn.serviceURL(), ""), aadApprover, "Alex Approver")
	click["value"] = map[string]any{"action": "qlik.reject", "value": pendingID}
	click["replyToId"] = "act-1" // the id the fake connector gave the approval card
	if rec := e.post(t, e.validToken(t), click); rec.Code != http.StatusAccepted {
		t.Fatalf("click: status %d", rec.Code)
	}
	calls = e.conn.waitCalls(t, 2)
	body, _ := json.Marshal(calls[1].Activity)
	if calls[1].Method != http.MethodPut || calls[1].Path != "/v3/conversations/"+testConv+"/activities/act-1" ||
		!strings.Contains(string(body), "Rejected") || strings.Contains(string(body), "Action.Execute") {
		t.Fatalf("reject outcome = %s %s %s", calls[1].Method, calls[1].Path, body)
	}
	if got := len(financeSessions(sim)); got != before {
		t.Fatalf("a rejected kick changed the sessions: %d -> %d", before, got)
	}
}
