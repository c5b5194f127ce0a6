package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
	"github.com/slack-go/slack/socketmode"
)

const (
	readyBotToken = "xoxb-111-222-readysecretbot"
	readyAppToken = "xapp-1-A111-333-readysecretapp"
)

// waitFor polls cond until it holds or 10 s pass (async state: no sleeps
// as waits, a bounded poll).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// notReady asserts Ready fails, says want and leaks no token.
func notReady(t *testing.T, a *Adapter, want string) {
	t.Helper()
	err := a.Ready(t.Context())
	if err == nil {
		t.Fatalf("Ready = nil, want an error saying %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Ready = %q, want it to say %q", err, want)
	}
	noSecrets(t, err.Error())
}

func noSecrets(t *testing.T, s string) {
	t.Helper()
	for _, secret := range []string{readyBotToken, readyAppToken, "xoxb-", "xapp-", "readysecret", "TICKETSECRET"} {
		if strings.Contains(s, secret) {
			t.Errorf("%q leaks %q", s, secret)
		}
	}
}

// TestReadySocketMode runs the real socket-mode client against slacktest's
// WebSocket: not ready until Slack's hello, ready after it, not ready once
// the server drops the connection until the reconnected socket's hello.
func TestReadySocketMode(t *testing.T) {
	t.Parallel()
	hello1, drop, hello2, done := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	var conns atomic.Int32
	f := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/ws", slacktest.Websocket(func(conn *websocket.Conn) {
			first := conns.Add(1) == 1
			say := hello2
			if first {
				say = hello1
			}
			select {
			case <-say:
			case <-done:
				return
			}
			if conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1}) != nil {
				return
			}
			if first {
				select {
				case <-drop: // returning closes the TCP connection without a close frame
				case <-done:
				}
				return
			}
			for { // until the client goes away
				if _, _, err := conn.ReadMessage(); err != nil {
					return
				}
			}
		}))
	})
	t.Cleanup(func() { close(done) }) // runs before the server stops

	a, err := New(Config{BotToken: readyBotToken, AppToken: readyAppToken, APIURL: f.GetAPIURL()}, newRecorder(), nil)
	if err != nil {
		t.Fatal(err)
	}
	notReady(t, a, "slack socket mode: not connected (last: not started)")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- a.Start(ctx) }()

	waitFor(t, "the first WebSocket", func() bool { return conns.Load() >= 1 })
	notReady(t, a, "not connected") // socket open, no hello yet

	close(hello1)
	waitFor(t, "ready after hello", func() bool { return a.Ready(t.Context()) == nil })

	close(drop)
	waitFor(t, "not ready after the drop", func() bool { return a.Ready(t.Context()) != nil })
	notReady(t, a, "not connected")
	waitFor(t, "the reconnect", func() bool { return conns.Load() >= 2 })
	notReady(t, a, "not connected") // reconnected socket, no hello yet

	close(hello2)
	waitFor(t, "ready after the new hello", func() bool { return a.Ready(t.Context()) == nil })

	cancel()
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return within 10s of cancel")
	}
	notReady(t, a, "(last: stopped)")
}

// TestReadySocketEvents drives the event handler with the socket-mode
// client's connection events, including those slacktest cannot produce
// (connection errors, Slack's disconnect request, bad auth).
func TestReadySocketEvents(t *testing.T) {
	t.Parallel()
	ev := func(typ socketmode.EventType, data any) socketmode.Event {
		return socketmode.Event{Type: typ, Data: data}
	}
	var (
		connecting = ev(socketmode.EventTypeConnecting, &slack.ConnectingEvent{Attempt: 1})
		connected  = ev(socketmode.EventTypeConnected, &socketmode.ConnectedEvent{})
		hello      = ev(socketmode.EventTypeHello, nil)
		dialErr    = ev(socketmode.EventTypeConnectionError, &slack.ConnectionErrorEvent{Attempt: 1, ErrorObj: fmt.Errorf(
			"dial wss://wss-primary.slack.com/link/?ticket=TICKETSECRET&app_id=A1 with %s: connection refused", readyAppToken)})
	)
	tests := []struct {
		name   string
		events []socketmode.Event
		want   string // "" = ready
	}{
		{"nothing yet", nil, "(last: not started)"},
		{"connecting", []socketmode.Event{connecting}, "(last: connecting)"},
		{"connected without hello", []socketmode.Event{connecting, connected}, "waiting for Slack's hello"},
		{"hello", []socketmode.Event{connecting, connected, hello}, ""},
		{"connecting again after hello", []socketmode.Event{connecting, connected, hello, connecting}, "connection lost; reconnecting"},
		{"Slack asks to reconnect", []socketmode.Event{hello, ev(socketmode.EventTypeDisconnect, nil)}, "Slack asked to reconnect"},
		{"connection error keeps its reason while retrying", []socketmode.Event{hello, dialErr, connecting},
			"connection error: dial wss://wss-primary.slack.com/link/?[redacted] with [redacted]: connection refused"},
		{"read error", []socketmode.Event{hello, ev(socketmode.EventTypeIncomingError,
			&slack.IncomingEventError{ErrorObj: errors.New("read tcp 10.0.0.1:443: connection reset by peer")})}, "read failed: read tcp"},
		{"malformed message keeps the connection", []socketmode.Event{hello, ev(socketmode.EventTypeIncomingError,
			&slack.IncomingEventError{ErrorObj: &json.SyntaxError{Offset: 1}})}, ""},
		{"bad message keeps the connection", []socketmode.Event{hello, ev(socketmode.EventTypeErrorBadMessage,
			&socketmode.ErrorBadMessage{Cause: errors.New("bad")})}, ""},
		{"invalid auth", []socketmode.Event{connecting, ev(socketmode.EventTypeInvalidAuth, &slack.InvalidAuthEvent{})}, "invalid_auth"},
		{"ready again after a reconnect", []socketmode.Event{hello, dialErr, connecting, connected, hello}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := New(Config{BotToken: readyBotToken, AppToken: readyAppToken}, newRecorder(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tc.events {
				a.onSocketEvent(t.Context(), nil, e) // connection events carry no envelope: nothing to ack
			}
			if tc.want == "" {
				if err := a.Ready(t.Context()); err != nil {
					t.Fatalf("Ready = %v, want nil", err)
				}
				return
			}
			notReady(t, a, tc.want)
		})
	}
}

// TestReadyHTTPMode: with no connection to watch, HTTP mode is ready
// while Start runs, and asks Slack nothing for it.
func TestReadyHTTPMode(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	f := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/", func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			http.NotFound(w, r)
		})
	})
	a, err := New(Config{Mode: ModeHTTP, BotToken: readyBotToken, SigningSecret: vecSecret, APIURL: f.GetAPIURL()},
		newRecorder(), neverSeen{})
	if err != nil {
		t.Fatal(err)
	}
	notReady(t, a, "slack HTTP mode: not serving (last: not started)")
	ctx, cancel := context.WithCancel(t.Context())
	res := make(chan error, 1)
	go func() { res <- a.Start(ctx) }()
	waitFor(t, "ready", func() bool { return a.Ready(t.Context()) == nil })
	cancel()
	if err := <-res; err != nil {
		t.Fatalf("Start: %v", err)
	}
	notReady(t, a, "slack HTTP mode: not serving (last: stopped)")
	if n := calls.Load(); n != 0 {
		t.Errorf("%d calls to Slack for readiness, want none", n)
	}
}
