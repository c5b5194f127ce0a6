package slackbot

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/bottest"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

const pagingPolicy = `
roles:
  viewer: [list]
grants:
  - subjects: ["slack:UVIEWER"]
    roles: [viewer]
    virtualProxies: ["*"]
`

// TestEveryRowOnceThroughNext lists a generated site of 10,000 sessions
// (2,000 under the race detector) in Slack, page by page through the Next
// button, through this adapter's HTTP handler and slack-go against the
// fake Slack: every session appears exactly once, identified by its whole
// row. The clicks carry the message they were made on, as Slack sends
// them, so a page of 99 rows must fit the request size cap too.
func TestEveryRowOnceThroughNext(t *testing.T) {
	t.Parallel()
	sessions := bottest.E2ESessions()
	site := bottest.NewSite(t, sessions, pagingPolicy, 100)
	fake := newFakeSlack(t)
	clock := testkit.NewClock(time.Now().Truncate(time.Second))
	st := openBolt(t, clock.Now)
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-e2e", SigningSecret: vecSecret, APIURL: fake.GetAPIURL()},
		site.Dispatcher, st, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	a.post.channels = bot.NewLimiters[string](rate.Inf, 0, maxLimiters) // hundreds of pages to one channel: pacing is tested elsewhere
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	post := func(path, body string) {
		t.Helper()
		clock.Advance(time.Second) // a new signature each time: the replay guard must not refuse it
		req := signedRequest(path, vecSecret, clock.Now(), body)
		out, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+path, req.Body)
		if err != nil {
			t.Fatal(err)
		}
		out.Header = req.Header
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: status %d (body %d bytes)", path, resp.StatusCode, len(body))
		}
	}

	post("/slack/commands", commandBody("UVIEWER", "C0OPS", "sessions", fake.hookURL("p1")))
	first, skipped := fake.nextPathWithin(t, "/hooks/p1", time.Minute)
	if first.JSON["response_type"] != "in_channel" {
		t.Fatalf("the list is not in the channel: %v", first.JSON["response_type"])
	}
	var whole string
	for len(whole) == 0 {
		for _, c := range skipped {
			if strings.HasPrefix(c.Path, "/upload/") {
				whole = c.File
			}
		}
		if whole == "" {
			c := fake.next(t)
			skipped = []apiCall{c}
		}
	}

	var pages []bottest.Shown
	page, ephemeral := first, false
	for n := 2; ; n++ {
		blocks := page.blocksJSON(t)
		pages = append(pages, shownTable(t, blocks))
		id, value, ok := findButton(blocks, "Next page")
		if !ok {
			break
		}
		if len(pages) > sessions {
			t.Fatal("paging does not end")
		}
		hook := fmt.Sprintf("p%d", n)
		body := pageClick(t, "UVIEWER", "C0OPS", id, value, fake.hookURL(hook), blocks, ephemeral)
		post("/slack/interactions", body)
		page, _ = fake.nextPathWithin(t, "/hooks/"+hook, time.Minute)
		if page.JSON["response_type"] != "ephemeral" {
			t.Fatalf("page %d is not shown to the clicker only: %v", n, page.JSON["response_type"])
		}
		ephemeral = true
	}
	if err := bottest.EveryRowOnce([]byte(whole), pages); err != nil {
		t.Fatal(err)
	}
	if want := (sessions + 98) / 99; len(pages) != want {
		t.Errorf("%d pages, want %d of 99 rows", len(pages), want)
	}
	t.Logf("%d sessions in %d pages", sessions, len(pages))
}

// shownTable reads the table block of a message.
func shownTable(t *testing.T, blocks []map[string]any) bottest.Shown {
	t.Helper()
	for _, b := range blocks {
		if b["type"] != "table" {
			continue
		}
		var s bottest.Shown
		for i, row := range b["rows"].([]any) {
			var cells []string
			for _, c := range row.([]any) {
				cells = append(cells, c.(map[string]any)["text"].(string))
			}
			if i == 0 {
				s.Columns = cells
			} else {
				s.Rows = append(s.Rows, cells)
			}
		}
		return s
	}
	t.Fatalf("no table in %v", blocks)
	return bottest.Shown{}
}

// findButton finds a button by its label.
func findButton(blocks []map[string]any, label string) (id, value string, ok bool) {
	for _, b := range blocks {
		els, _ := b["elements"].([]any)
		for _, el := range els {
			m, _ := el.(map[string]any)
			text, _ := m["text"].(map[string]any)
			if m["type"] == "button" && text["text"] == label {
				id, _ = m["action_id"].(string)
				value, _ = m["value"].(string)
				return id, value, true
			}
		}
	}
	return "", "", false
}

// pageClick is the block_actions payload of a click on a message with
// blocks: Slack sends the message along, except for an ephemeral one.
func pageClick(t *testing.T, user, channel, actionID, value, responseURL string, blocks []map[string]any, ephemeral bool) string {
	t.Helper()
	const ts = "1700000000.000100"
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user)},
		"channel":      map[string]any{"id": channel, "name": "oncall"},
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral},
		"response_url": responseURL,
		"trigger_id":   "1.2.3",
		"actions":      []any{map[string]any{"type": "button", "action_id": actionID, "block_id": "actions_0", "value": value, "action_ts": ts}},
	}
	if !ephemeral {
		payload["message"] = map[string]any{"type": "message", "ts": ts, "user": "UBOT", "text": "Sessions", "blocks": blocks}
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(raw)}}.Encode()
}

// Keep the import of commands: the Next button is the engine's qlik.run.
var _ = commands.ActionRun

// TestClickUnderAFullPageIsAccepted: Next under a full page of long rows
// (the audit trail's) arrives with that whole message in the payload; the
// request size cap must let it through.
func TestClickUnderAFullPageIsAccepted(t *testing.T) {
	t.Parallel()
	l := bottest.Lists(400)[3]
	first, last := 0, Fit(l.Page(0, 100))
	blocks, _ := render(l.Page(first, last))
	raw, _ := json.Marshal(blocks)
	var generic []map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	id, value, ok := findButton(generic, "Next page")
	if !ok {
		t.Fatal("no Next button")
	}
	body := pageClick(t, "UVIEWER", "C0OPS", id, value, "https://hooks.slack.com/actions/T1/1/x", generic, false)
	if len(body) < 64<<10 {
		t.Fatalf("the click is only %d bytes: not the case this test is for", len(body))
	}
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	sub := newRecorder()
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-test", SigningSecret: vecSecret}, sub, neverSeen{}, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, signedRequest("/slack/interactions", vecSecret, now, body))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d for a %d byte click", rec.Code, len(body))
	}
	if req := sub.next(t); req.Action == nil || req.Action.Value != value {
		t.Fatalf("request %+v", req)
	}
}
