package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
	"github.com/slack-go/slack/socketmode"

	"github.com/qlikbot/qlikbot/bot"
)

func TestSocketMode(t *testing.T) {
	t.Parallel()
	acks := make(chan map[string]any, 8)
	var f *fakeSlack
	envelopes := func(apiURL string) []map[string]any {
		return []map[string]any{
			{"type": "slash_commands", "envelope_id": "env-cmd", "accepts_response_payload": true, "payload": map[string]any{
				"command": "/qlik", "text": "sessions finance", "user_id": "U1", "user_name": "ann", "channel_id": "C1",
				"response_url": apiURL + "hooks/cmd",
			}},
			{"type": "slash_commands", "envelope_id": "env-cmd", "retry_attempt": 1, "payload": map[string]any{
				"command": "/qlik", "text": "sessions finance", "user_id": "U1", "channel_id": "C1",
				"response_url": apiURL + "hooks/cmd",
			}},
			{"type": "slash_commands", "envelope_id": "env-other", "payload": map[string]any{
				"command": "/other", "text": "x", "user_id": "U1", "channel_id": "C1",
			}},
			{"type": "interactive", "envelope_id": "env-click", "payload": map[string]any{
				"type": "block_actions", "user": map[string]any{"id": "U2", "name": "bob"}, "channel": map[string]any{"id": "C1"},
				"container":    map[string]any{"type": "message", "message_ts": "1.5", "channel_id": "C1"},
				"response_url": apiURL + "hooks/click",
				"actions":      []any{map[string]any{"type": "button", "block_id": "actions_0", "action_id": "qlik.run#1", "value": "sessions finance --page 2"}},
			}},
			{"type": "events_api", "envelope_id": "env-event", "payload": map[string]any{"type": "event_callback", "event": map[string]any{"type": "app_mention"}}},
		}
	}
	// The server must exist before its URL can go into the envelopes, so the
	// /ws handler reads them through a channel.
	envCh := make(chan []map[string]any, 1)
	f = newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/ws", slacktest.Websocket(func(conn *websocket.Conn) {
			wsServe(conn, <-envCh, acks)
		}))
	})
	envCh <- envelopes(f.GetAPIURL())

	d, err := bot.NewDispatcher(bot.HandlerFunc(func(_ context.Context, req bot.Request) bot.Reply {
		if req.Action != nil {
			return bot.Reply{Title: "page 2 for " + req.User.ID, ReplaceOriginal: true, Visibility: bot.InChannel}
		}
		return bot.Reply{Title: "answer to " + req.Text, Visibility: bot.InChannel}
	}))
	if err != nil {
		t.Fatal(err)
	}
	counted := &countingSubmitter{inner: d}
	a, err := New(Config{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: f.GetAPIURL()}, counted, openBolt(t, time.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	dispDone := make(chan error, 1)
	go func() { dispDone <- d.Run(ctx) }()
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()

	got := map[string]map[string]any{}
	for n := 0; n < 5; n++ { // env-cmd twice: a redelivery is acked too
		select {
		case m := <-acks:
			id, _ := m["envelope_id"].(string)
			got[id] = m
		case err := <-done:
			t.Fatalf("Start returned early: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatalf("acks so far: %v", got)
		}
	}
	for _, id := range []string{"env-cmd", "env-other", "env-click", "env-event"} {
		if _, ok := got[id]; !ok {
			t.Errorf("envelope %s not acked", id)
		}
	}
	if p, _ := json.Marshal(got["env-other"]["payload"]); !strings.Contains(string(p), "answers /qlik only") {
		t.Errorf("unknown command ack payload %s", p)
	}
	answers := map[string]apiCall{}
	for len(answers) < 2 {
		c := f.next(t)
		answers[c.Path] = c
	}
	if c := answers["/hooks/cmd"]; !strings.Contains(c.text(), "answer to sessions finance") || c.JSON["response_type"] != "in_channel" {
		t.Errorf("command answer %v", c.JSON)
	}
	if c := answers["/hooks/click"]; !strings.Contains(c.text(), "page 2 for U2") || c.JSON["replace_original"] != true {
		t.Errorf("click answer %v", c.JSON)
	}
	// Envelopes are handled in order, so once the click (sent after the
	// redelivery) was submitted, the redelivery has been dealt with.
	if n := counted.n.Load(); n != 2 {
		t.Errorf("%d requests submitted, want 2 (the redelivered command dropped)", n)
	}
	cancel()
	for _, ch := range []chan error{done, dispDone} {
		select {
		case err := <-ch:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("stopped with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("did not stop within 10s of cancel")
		}
	}
	// Start has returned, so every envelope's dedupe is done: the
	// redelivery never ran.
	if n := counted.n.Load(); n != 2 {
		t.Errorf("%d requests submitted after the stop, want 2", n)
	}
}

func wsServe(conn *websocket.Conn, envelopes []map[string]any, acks chan<- map[string]any) {
	if err := conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1}); err != nil {
		return
	}
	for _, e := range envelopes {
		if err := conn.WriteJSON(e); err != nil {
			return
		}
	}
	for {
		var m map[string]any
		if err := conn.ReadJSON(&m); err != nil {
			return
		}
		acks <- m
	}
}

type countingSubmitter struct {
	inner Submitter
	n     atomic.Int32
}

func (c *countingSubmitter) Submit(ctx context.Context, r bot.Request) error {
	c.n.Add(1)
	return c.inner.Submit(ctx, r)
}

// TestSocketRestartNotice: an envelope is acked before the dispatcher is
// asked, so when it refuses (shutting down) the user is told through the
// responder, even though the socket's ctx is ending too.
func TestSocketRestartNotice(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	a, err := New(Config{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: f.GetAPIURL()},
		refusingSubmitter{bot.ErrClosed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a.onSocketEvent(ctx, nil, socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: slack.SlashCommand{
		Command: "/qlik", Text: "sessions", UserID: "U1", ChannelID: "C1", ResponseURL: f.hookURL("cmd"),
	}})
	a.submits.Wait()
	if c := f.next(t); c.Path != "/hooks/cmd" || !strings.Contains(c.text(), "restarting") {
		t.Errorf("notice %s %s", c.Path, c.text())
	}
}

// eventLog records acks and submissions in the order they happen.
type eventLog struct {
	mu  sync.Mutex
	evs []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, s)
}

func (l *eventLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.evs...)
}

func (l *eventLog) AckCtx(_ context.Context, envelopeID string, _ any) error {
	l.add("ack " + envelopeID)
	return nil
}

func (l *eventLog) Submit(_ context.Context, r bot.Request) error {
	l.add("submit " + r.User.ID + " " + r.User.Email)
	return nil
}

// TestSocketSlowLookupHoldsNoAck: a users.info call that hangs must not
// hold up the ack of the next envelope; the request goes on once the
// lookup answers.
func TestSocketSlowLookupHoldsNoAck(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	f := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/users.info", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true,"user":{"id":"USLOW","profile":{"email":"slow@example.com"}}}`)
		})
	})
	var log eventLog
	a, err := New(Config{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: f.GetAPIURL()}, &log, nil,
		WithUserEmails(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cmd := func(env string) socketmode.Event {
		return socketmode.Event{Type: socketmode.EventTypeSlashCommand, Request: &socketmode.Request{EnvelopeID: env},
			Data: slack.SlashCommand{Command: "/qlik", Text: "whoami", UserID: "USLOW", ChannelID: "C1"}}
	}
	a.onSocketEvent(t.Context(), &log, cmd("env-1"))
	a.onSocketEvent(t.Context(), &log, cmd("env-2"))
	got := log.all()
	close(release)
	a.submits.Wait()
	if want := []string{"ack env-1", "ack env-2"}; !slices.Equal(got, want) {
		t.Errorf("before the lookup answered: %q, want %q", got, want)
	}
	if n := len(log.all()); n != 4 {
		t.Errorf("after it answered: %q, want both requests submitted", log.all())
	}
}
