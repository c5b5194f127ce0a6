package slackbot

import (
	"encoding/json"
	"github.com/qlikbot/qlikbot/bot/bottest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

const e2ePolicy = `
roles:
  viewer: [list]
  lead:   [list, delete, kick, logout, approve]
grants:
  - subjects: ["slack:UVIEWER"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["slack:ULEAD", "slack:ULEAD2"]
    roles: [lead]
    virtualProxies: ["finance"]
approval:
  required: [kick, logout]
  ttl: 30m
`

// e2e is the whole Slack road with real parts: the Qlik simulator over
// mutual TLS, the Qlik client, a bolt store, a parsed policy, the commands
// engine, the dispatcher, this adapter's HTTP handler on a real HTTP
// server, and slack-go talking to slacktest.
type e2e struct {
	sim   *qliksim.Server
	slack *fakeSlack
	srv   *httptest.Server
	clock *testClock
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	e := &e2e{slack: newFakeSlack(t), clock: testkit.NewClock(time.Now().Truncate(time.Second))}
	site := bottest.NewSite(t, 0, e2ePolicy, 0, bottest.SeedLab(), bottest.WithStoreClock(e.clock.Now))
	e.sim = site.Sim
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-e2e", SigningSecret: vecSecret, APIURL: e.slack.GetAPIURL()},
		site.Dispatcher, site.Store, WithClock(e.clock.Now))
	if err != nil {
		t.Fatalf("adapter: %v", err)
	}
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// post sends a signed request as Slack would and returns the status and
// how long the ack took.
func (e *e2e) post(t *testing.T, path, body string) (int, time.Duration) {
	t.Helper()
	req := signedRequest(path, vecSecret, e.clock.Now(), body)
	out, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+path, req.Body)
	if err != nil {
		t.Fatal(err)
	}
	out.Header = req.Header
	start := time.Now()
	resp, err := http.DefaultClient.Do(out)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode, took
}

func (e *e2e) financeSessions() int {
	n := 0
	for _, h := range e.sim.Hosts() {
		n += len(e.sim.Sessions(h, "finance"))
	}
	return n
}

// button finds a rendered button by its (neutral) action id.
func button(t *testing.T, blocks []map[string]any, actionID string) (id, value string) {
	t.Helper()
	for _, b := range blocks {
		els, _ := b["elements"].([]any)
		for _, el := range els {
			m, _ := el.(map[string]any)
			if id, _ := m["action_id"].(string); m["type"] == "button" && parseActionID(id) == actionID {
				v, _ := m["value"].(string)
				return id, v
			}
		}
	}
	t.Fatalf("no %s button in %v", actionID, blocks)
	return "", ""
}

func hasTable(blocks []map[string]any, text string) bool {
	for _, b := range blocks {
		raw, _ := json.Marshal(b)
		if b["type"] == "table" && strings.Contains(string(raw), text) {
			return true
		}
	}
	return false
}

func TestEndToEnd(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	before := e.financeSessions()
	if before == 0 {
		t.Fatal("seed lab has no finance sessions")
	}

	// 1. A slow Qlik: the ack still comes at once, the table later. A
	// first quick list warms the client's topology cache, so only the
	// session calls pay the 5 s and the test stays short.
	if status, _ := e.post(t, "/slack/commands", commandBody("UVIEWER", "C0OPS", "proxies", e.slack.hookURL("warm"))); status != http.StatusOK {
		t.Fatalf("warm-up: status %d", status)
	}
	e.slack.nextPath(t, "/hooks/warm")
	e.clock.Advance(time.Second)
	e.sim.SetFaultAll(qliksim.Fault{Latency: 5 * time.Second})
	t0 := time.Now()
	status, took := e.post(t, "/slack/commands", commandBody("ULEAD", "C0OPS", "sessions finance", e.slack.hookURL("list")))
	if status != http.StatusOK {
		t.Fatalf("ack: status %d", status)
	}
	// The ack must not wait for the work: when it arrives, the answer
	// (held up 5 s by Qlik) has not been posted yet. An order, not a time.
	e.slack.none(t)
	list, _ := e.slack.nextPathWithin(t, "/hooks/list", 30*time.Second)
	e.sim.SetFaultAll(qliksim.Fault{})
	t.Logf("acked after %s; the list came %s after the command", took, time.Since(t0))
	if list.JSON["response_type"] != "in_channel" || !hasTable(list.blocksJSON(t), `LAB\\testuser_1`) {
		t.Fatalf("session list: %s", list.text())
	}

	// 2. kick -> an approval message with Approve / Reject.
	e.clock.Advance(time.Second)
	if status, _ := e.post(t, "/slack/commands", commandBody("ULEAD", "C0OPS", "kick finance", e.slack.hookURL("kick"))); status != http.StatusOK {
		t.Fatalf("kick: status %d", status)
	}
	approval, _ := e.slack.nextPath(t, "/hooks/kick")
	approveID, pendingID := button(t, approval.blocksJSON(t), commands.ActionApprove)
	button(t, approval.blocksJSON(t), commands.ActionReject)
	const msgTS = "1700000000.000777"

	// 3. A viewer clicks Approve: refused, privately, nothing deleted.
	e.clock.Advance(time.Second)
	if status, _ := e.post(t, "/slack/interactions", clickBody(t, "UVIEWER", "C0OPS", msgTS, approveID, pendingID, e.slack.hookURL("click-viewer"))); status != http.StatusOK {
		t.Fatalf("viewer click: status %d", status)
	}
	refusal, _ := e.slack.nextPath(t, "/hooks/click-viewer")
	if refusal.JSON["response_type"] != "ephemeral" || refusal.JSON["replace_original"] == true || !strings.Contains(refusal.text(), "slack:UVIEWER") {
		t.Errorf("refusal: %s", refusal.text())
	}
	if n := e.financeSessions(); n != before {
		t.Fatalf("a refused click deleted sessions: %d left of %d", n, before)
	}

	// 4. Another lead approves. Its response_url is dead, so the outcome
	// replaces the approval message with chat.update.
	e.clock.Advance(time.Second)
	e.slack.failHook("/hooks/click-lead2", http.StatusNotFound)
	if status, _ := e.post(t, "/slack/interactions", clickBody(t, "ULEAD2", "C0OPS", msgTS, approveID, pendingID, e.slack.hookURL("click-lead2"))); status != http.StatusOK {
		t.Fatalf("approver click: status %d", status)
	}
	upd, _ := e.slack.nextPath(t, "/chat.update")
	if upd.Form.Get("channel") != "C0OPS" || upd.Form.Get("ts") != msgTS || !strings.Contains(upd.text(), "Approved") {
		t.Errorf("chat.update: channel %q ts %q text %s", upd.Form.Get("channel"), upd.Form.Get("ts"), upd.text())
	}
	for _, b := range upd.blocksJSON(t) {
		if b["type"] == "actions" {
			t.Errorf("outcome still carries buttons: %v", b)
		}
	}
	if n := e.financeSessions(); n != 0 {
		t.Errorf("%d finance sessions left after the approved kick", n)
	}

	// 5. The same click again (a retry with a new signature): already decided.
	e.clock.Advance(time.Second)
	if status, _ := e.post(t, "/slack/interactions", clickBody(t, "ULEAD2", "C0OPS", msgTS, approveID, pendingID, e.slack.hookURL("click-again"))); status != http.StatusOK {
		t.Fatalf("second click: status %d", status)
	}
	again, _ := e.slack.nextPath(t, "/hooks/click-again")
	if again.JSON["response_type"] != "ephemeral" {
		t.Errorf("second approval answered %v", again.JSON)
	}
}
