package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/slacktest"
	"github.com/slack-go/slack/socketmode"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/bottest"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

const homePolicy = `
roles:
  lead:  [list, kick, approve]
grants:
  - subjects: ["slack:ULEAD", "slack:UADMIN"]
    roles: [lead]
    virtualProxies: ["*"]
approval:
  required: [kick]
  ttl: 30m
`

// TestAppHome: opening the Home tab publishes the person's view, built
// with their rights by the real engine; Approve on it runs the approval,
// answers in the person's direct message and refreshes Home.
func TestAppHome(t *testing.T) {
	t.Parallel()
	site := bottest.NewSite(t, 40, homePolicy, 50)
	views := make(chan map[string]any, 8)
	fake := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/views.publish", func(w http.ResponseWriter, r *http.Request) {
			var v map[string]any
			b, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(b, &v)
			views <- v
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true,"view":{"id":"V1"}}`)
		})
	})
	clock := testkit.NewClock(time.Now().Truncate(time.Second))
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-e2e", SigningSecret: vecSecret, APIURL: fake.GetAPIURL()},
		site.Dispatcher, openBolt(t, clock.Now), WithClock(clock.Now), WithHome(site.Engine.Home))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	post := func(path, body string) (int, string) {
		t.Helper()
		clock.Advance(time.Second)
		req := signedRequest(path, vecSecret, clock.Now(), body)
		out, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+path, req.Body)
		out.Header = req.Header
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	nextView := func() (string, string) {
		t.Helper()
		select {
		case v := <-views:
			b, _ := json.Marshal(v["view"])
			user, _ := v["user_id"].(string)
			return user, string(b)
		case <-time.After(30 * time.Second):
			t.Fatal("no views.publish")
			return "", ""
		}
	}
	opened := func(user string) string {
		return fmt.Sprintf(`{"type":"event_callback","team_id":"T1","api_app_id":"A1","event_id":"Ev%d","event_time":1,`+
			`"event":{"type":"app_home_opened","user":%q,"channel":"D1","tab":"home","event_ts":"1.1"}}`, clock.Now().UnixNano(), user)
	}

	if status, body := post("/slack/events", `{"token":"x","challenge":"ch-123","type":"url_verification"}`); status != 200 || body != "ch-123" {
		t.Fatalf("url_verification: %d %q", status, body)
	}
	kick := site.Engine.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "ULEAD"}, Channel: "C1", Text: "kick vp2"})
	if kick.Kind != bot.Pending {
		t.Fatalf("kick: %v %s", kick.Kind, kick.Title)
	}
	if status, _ := post("/slack/events", opened("UADMIN")); status != 200 {
		t.Fatalf("app_home_opened: %d", status)
	}
	user, view := nextView()
	if user != "UADMIN" || !strings.Contains(view, `"type":"home"`) || !strings.Contains(view, "Approvals you may decide") ||
		!strings.Contains(view, "Sessions you may see") || !strings.Contains(view, `"action_id":"qlik.approve`) {
		t.Fatalf("home of %s: %s", user, view)
	}
	var blocks []map[string]any
	var parsed map[string]any
	_ = json.Unmarshal([]byte(view), &parsed)
	raw, _ := json.Marshal(parsed["blocks"])
	_ = json.Unmarshal(raw, &blocks)
	approveID, pending := button(t, blocks, "qlik.approve")

	click := map[string]any{
		"type": "block_actions", "user": map[string]any{"id": "UADMIN", "name": "admin"},
		"container": map[string]any{"type": "view", "view_id": "V1"},
		"view":      map[string]any{"id": "V1", "type": "home"},
		"actions":   []any{map[string]any{"type": "button", "action_id": approveID, "block_id": "actions_0", "value": pending, "action_ts": "1.2"}},
	}
	rawClick, _ := json.Marshal(click)
	if status, _ := post("/slack/interactions", url.Values{"payload": {string(rawClick)}}.Encode()); status != 200 {
		t.Fatalf("click on home: %d", status)
	}
	dm, _ := fake.nextPathWithin(t, "/chat.postMessage", 30*time.Second)
	if dm.Form.Get("channel") != "UADMIN" || !strings.Contains(dm.text(), "Approved") {
		t.Fatalf("answer to the click: channel %q %s", dm.Form.Get("channel"), dm.text())
	}
	if n := len(site.Sim.Sessions(site.Sim.Hosts()[0], "vp2")) + len(site.Sim.Sessions(site.Sim.Hosts()[1], "vp2")); n != 0 {
		t.Errorf("%d vp2 sessions left after the approval", n)
	}
	user, view = nextView()
	if user != "UADMIN" || strings.Contains(view, `"action_id":"qlik.approve`) {
		t.Fatalf("home after the approval still offers it: %s", view)
	}
}

// TestHomeCooldown: opening the tab again within the cooldown reuses the
// view; a click on it forces a fresh one.
func TestHomeCooldown(t *testing.T) {
	t.Parallel()
	h := &homeTab{last: map[string]time.Time{}}
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		user  string
		at    time.Duration
		force bool
		want  bool
	}{
		{"U1", 0, false, true},
		{"U1", homeCooldown - time.Second, false, false},
		{"U2", time.Second, false, true},
		{"U1", homeCooldown - time.Second, true, true},
		{"U1", 2*homeCooldown - time.Second, false, true},
	}
	for i, s := range steps {
		if got := h.due(s.user, t0.Add(s.at), s.force); got != s.want {
			t.Errorf("step %d (%s at %v, force %v): due = %v", i, s.user, s.at, s.force, got)
		}
	}
}

// TestSocketHomeOpened: in socket mode the event is acked first, then the
// view is built for the person who opened the tab and published.
func TestSocketHomeOpened(t *testing.T) {
	t.Parallel()
	published := make(chan string, 1)
	fake := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/views.publish", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			published <- string(b)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true}`)
		})
	})
	log := &eventLog{}
	built := make(chan bot.Request, 1)
	a, err := New(Config{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: fake.GetAPIURL()}, log, openBolt(t, time.Now),
		WithHome(func(_ context.Context, req bot.Request) bot.Reply {
			built <- req
			log.add("build " + req.User.ID)
			return bot.Reply{Title: "Home of " + req.User.ID}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ev := slackevents.EventsAPIEvent{Type: slackevents.CallbackEvent, InnerEvent: slackevents.EventsAPIInnerEvent{
		Type: "app_home_opened", Data: &slackevents.AppHomeOpenedEvent{Type: "app_home_opened", User: "U7", Tab: "home"}}}
	a.onSocketEvent(t.Context(), log, socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: ev, Request: &socketmode.Request{EnvelopeID: "env-home"}})
	if req := <-built; req.User.ID != "U7" || req.Platform != bot.Slack || req.Channel != "" || req.Text != "" {
		t.Fatalf("home built for %+v", req)
	}
	if body := <-published; !strings.Contains(body, `"user_id":"U7"`) || !strings.Contains(body, "Home of U7") {
		t.Fatalf("views.publish %s", body)
	}
	a.home.builds.Wait()
	if got := log.all(); len(got) != 2 || got[0] != "ack env-home" || got[1] != "build U7" {
		t.Fatalf("order %q: want the ack before the build", got)
	}
	// The messages tab opens the same event with tab "messages": no view.
	ev.InnerEvent.Data = &slackevents.AppHomeOpenedEvent{Type: "app_home_opened", User: "U7", Tab: "messages"}
	a.onSocketEvent(t.Context(), log, socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: ev, Request: &socketmode.Request{EnvelopeID: "env-msg"}})
	a.home.builds.Wait()
	if got := log.all(); len(got) != 3 || got[2] != "ack env-msg" {
		t.Fatalf("messages tab: %q", got)
	}
}
