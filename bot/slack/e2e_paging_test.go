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
	s := newE2ESlack(t, bottest.NewSite(t, sessions, pagingPolicy, 100))
	first, skipped := s.command(t, "UVIEWER", "sessions")
	if first.JSON["response_type"] != "in_channel" {
		t.Fatalf("the list is not in the channel: %v", first.JSON["response_type"])
	}
	whole := s.uploaded(t, skipped)
	pages := s.walk(t, "UVIEWER", first, sessions)
	checkEveryRowOnce(t, whole, pages, sessions)
	t.Logf("%d sessions in %d pages", sessions, len(pages))
}

// e2eSlack serves a site through this adapter's HTTP handler and slack-go
// against the fake Slack. Its methods are for the test's goroutine.
type e2eSlack struct {
	fake  *fakeSlack
	clock *testkit.Clock
	url   string
	hooks int // response_urls handed out so far
}

func newE2ESlack(t *testing.T, site *bottest.Site) *e2eSlack {
	t.Helper()
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
	return &e2eSlack{fake: fake, clock: clock, url: srv.URL}
}

// post sends a signed request, as Slack does.
func (s *e2eSlack) post(t *testing.T, path, body string) {
	t.Helper()
	s.clock.Advance(time.Second) // a new signature each time: the replay guard must not refuse it
	req := signedRequest(path, vecSecret, s.clock.Now(), body)
	out, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url+path, req.Body)
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

// hook hands out a new response_url, by its path.
func (s *e2eSlack) hook() string {
	s.hooks++
	return fmt.Sprintf("p%d", s.hooks)
}

// command runs a slash command as user in C0OPS and returns its reply,
// with the calls made before it.
func (s *e2eSlack) command(t *testing.T, user, text string) (apiCall, []apiCall) {
	t.Helper()
	h := s.hook()
	s.post(t, "/slack/commands", commandBody(user, "C0OPS", text, s.fake.hookURL(h)))
	return s.fake.nextPathWithin(t, "/hooks/"+h, time.Minute)
}

// click clicks the button labelled label of msg as user, and returns
// the first reply to it for which done holds, with the calls before it.
func (s *e2eSlack) click(t *testing.T, user string, msg apiCall, ephemeral bool, label string, done func(apiCall) bool) (apiCall, []apiCall) {
	t.Helper()
	blocks := msg.blocksJSON(t)
	id, value, ok := findButton(blocks, label)
	if !ok {
		t.Fatalf("no %q button", label)
	}
	h := s.hook()
	s.post(t, "/slack/interactions", pageClick(t, user, "C0OPS", id, value, s.fake.hookURL(h), blocks, ephemeral))
	var skipped []apiCall
	for {
		c, before := s.fake.nextPathWithin(t, "/hooks/"+h, time.Minute)
		skipped = append(append(skipped, before...), c)
		if done(c) {
			return c, skipped[:len(skipped)-1]
		}
	}
}

// uploaded waits for the file uploaded with a reply (skipped: the calls
// seen before the reply) and returns it.
func (s *e2eSlack) uploaded(t *testing.T, skipped []apiCall) string {
	t.Helper()
	for {
		for _, c := range skipped {
			if strings.HasPrefix(c.Path, "/upload/") {
				return c.File
			}
		}
		skipped = []apiCall{s.fake.next(t)}
	}
}

// walk clicks Next as user from first (a message in the channel) to the
// last page and returns every page, first included; the others must be
// shown to the clicker only.
func (s *e2eSlack) walk(t *testing.T, user string, first apiCall, most int) []apiCall {
	t.Helper()
	pages := []apiCall{first}
	for {
		page := pages[len(pages)-1]
		if _, _, ok := findButton(page.blocksJSON(t), nextLabel); !ok {
			return pages
		}
		if len(pages) > most {
			t.Fatal("paging does not end")
		}
		next, _ := s.click(t, user, page, len(pages) > 1, nextLabel, func(apiCall) bool { return true })
		if next.JSON["response_type"] != "ephemeral" {
			t.Fatalf("page %d is not shown to the clicker only: %v", len(pages)+1, next.JSON["response_type"])
		}
		pages = append(pages, next)
	}
}

const nextLabel = "Next page"

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
