package slackbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

func TestUserEmails(t *testing.T) {
	t.Parallel()
	var lookups atomic.Int32
	f := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/users.info", func(w http.ResponseWriter, r *http.Request) {
			lookups.Add(1)
			_ = r.ParseForm()
			id := r.PostForm.Get("user")
			w.Header().Set("Content-Type", "application/json")
			switch id {
			case "UBOT":
				fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"is_bot":true,"profile":{"email":"bot@example.com"}}}`, id)
			case "UGONE":
				fmt.Fprint(w, `{"ok":false,"error":"user_not_found"}`)
			case "UGUEST":
				fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":"T1","is_restricted":true,"profile":{"email":"boss@example.com"}}}`, id)
			case "UULTRA":
				fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":"T1","is_ultra_restricted":true,"profile":{"email":"boss@example.com"}}}`, id)
			case "USTRANGER":
				fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":"T1","is_stranger":true,"profile":{"email":"boss@example.com"}}}`, id)
			case "UOTHER": // another workspace, e.g. through a shared channel
				fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":"T2","profile":{"email":"boss@example.com"}}}`, id)
			case "UOTHERGRID":
				fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":"T2","enterprise_user":{"enterprise_id":"E2","teams":["T2"]},"profile":{"email":"boss@example.com"}}}`, id)
			case "UGRID": // an Enterprise Grid member whose home workspace is another
				fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":"T9","enterprise_user":{"enterprise_id":"E1","teams":["T9","T1"]},"profile":{"email":"ugrid@example.com"}}}`, id)
			default:
				fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":"T1","profile":{"email":" %s@Example.com "}}}`, id, strings.ToLower(id))
			}
		})
	})
	clock := testkit.NewClock(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
	sub := newRecorder()
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-1", SigningSecret: vecSecret, APIURL: f.GetAPIURL()},
		sub, openBolt(t, clock.Now), WithClock(clock.Now), WithUserEmails(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler()
	send := func(user string) string {
		t.Helper()
		clock.Advance(time.Second) // a new timestamp: not a replay
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, signedRequest("/slack/commands", vecSecret, clock.Now(), commandBody(user, "C1", "whoami", "")))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		return sub.next(t).User.Email
	}
	steps := []struct {
		user, email string
		lookups     int32
	}{
		{"U1", "u1@example.com", 1},
		{"U1", "u1@example.com", 1}, // cached
		{"U2", "u2@example.com", 2},
		{"UBOT", "", 3},
		{"UGONE", "", 4}, // failed lookup: no e-mail, the request still goes on
		{"UGONE", "", 5}, // failures are not cached
		// Guests and people of other organisations set their own address.
		{"UGUEST", "", 6},
		{"UULTRA", "", 7},
		{"USTRANGER", "", 8},
		{"UOTHER", "", 9},
		{"UOTHERGRID", "", 10},
		{"UGRID", "ugrid@example.com", 11},
	}
	for i, s := range steps {
		if got := send(s.user); got != s.email || lookups.Load() != s.lookups {
			t.Errorf("step %d (%s): email %q after %d lookups, want %q after %d", i, s.user, got, lookups.Load(), s.email, s.lookups)
		}
	}
	clock.Advance(2 * time.Hour)
	if got := send("U1"); got != "u1@example.com" || lookups.Load() != 12 {
		t.Errorf("after the ttl: %q with %d lookups", got, lookups.Load())
	}
}

// TestUserEmailsWithoutScope: when the bot token lacks users:read.email
// (users.info answers missing_scope, or X-OAuth-Scopes does not list it)
// the adapter turns the lookups off by itself, from Start's probe before
// any user asks, logs it once, and Ready reports it as degraded (an error
// wrapping bot.ErrDegraded) while requests go on without e-mail. Once the
// scope shows up in a later answer, lookups are on again.
func TestUserEmailsWithoutScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		scopes    string // X-OAuth-Scopes; "" sends none
		missing   bool   // users.info answers missing_scope
		wantOff   bool
		wantEmail string
	}{
		{name: "missing_scope, no scope header", missing: true, wantOff: true},
		{name: "scope header without it", scopes: "commands,chat:write,users:read", wantOff: true},
		{name: "scope header with it", scopes: "commands, chat:write, users:read, users:read.email", wantEmail: "u1@example.com"},
		{name: "no scope header", wantEmail: "u1@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lookups atomic.Int32
			var scopes atomic.Pointer[string]
			scopes.Store(&tc.scopes)
			f := newFakeSlack(t, func(c slacktest.Customize) {
				c.Handle("/users.info", func(w http.ResponseWriter, r *http.Request) {
					lookups.Add(1)
					_ = r.ParseForm()
					id := r.PostForm.Get("user")
					if s := *scopes.Load(); s != "" {
						w.Header().Set("X-OAuth-Scopes", s)
					}
					w.Header().Set("Content-Type", "application/json")
					switch {
					case tc.missing && !strings.Contains(*scopes.Load(), "users:read.email"):
						fmt.Fprintf(w, `{"ok":false,"error":"missing_scope","needed":"users:read.email","provided":%q}`, *scopes.Load())
					case strings.Contains(*scopes.Load(), "users:read.email") || *scopes.Load() == "":
						fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":"T1","profile":{"email":"%s@example.com"}}}`, id, strings.ToLower(id))
					default: // users:read without the e-mail scope: no address
						fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"profile":{}}}`, id)
					}
				})
			})
			clock := testkit.NewClock(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC))
			logs := &testkit.Buffer{}
			sub := newRecorder()
			a, err := New(Config{Mode: ModeHTTP, BotToken: readyBotToken, SigningSecret: vecSecret, APIURL: f.GetAPIURL()},
				sub, openBolt(t, clock.Now), WithClock(clock.Now), WithUserEmails(time.Hour),
				WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			startAdapter(t, a)
			waitFor(t, "Start to serve", func() bool { up, _ := a.link.get(); return up })
			// Start's probe looks Slackbot up once.
			waitFor(t, "the scope probe", func() bool { return lookups.Load() == 1 })
			waitFor(t, "the probe's verdict", func() bool { return (a.users.disabled() != "") == tc.wantOff })

			readyErr := a.Ready(t.Context())
			switch {
			case tc.wantOff && (!errors.Is(readyErr, bot.ErrDegraded) || !strings.Contains(readyErr.Error(), "users:read.email")):
				t.Fatalf("Ready = %v, want a degraded note naming users:read.email", readyErr)
			case !tc.wantOff && readyErr != nil:
				t.Fatalf("Ready = %v, want nil", readyErr)
			}
			if readyErr != nil {
				noSecrets(t, readyErr.Error())
			}

			h := a.Handler()
			for _, user := range []string{"U1", "U2", "U1"} {
				clock.Advance(time.Second)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, signedRequest("/slack/commands", vecSecret, clock.Now(), commandBody(user, "C1", "whoami", "")))
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: requests must go on without e-mail", rec.Code)
				}
				if got := sub.next(t); user == "U1" && got.User.Email != tc.wantEmail {
					t.Fatalf("%s: e-mail %q, want %q", user, got.User.Email, tc.wantEmail)
				}
			}
			wantLookups := int32(3) // the probe, U1, U2 (U1 again is cached)
			if tc.wantOff {
				wantLookups = 1 // the probe only
			}
			if n := lookups.Load(); n != wantLookups {
				t.Fatalf("%d users.info calls, want %d", n, wantLookups)
			}
			if !tc.wantOff {
				return
			}
			// More answers without the scope: still one log line.
			for range 2 {
				_, _ = a.lookupEmail(t.Context(), "U3", "T1")
			}
			if n := strings.Count(logs.String(), "e-mail lookups turned off"); n != 1 {
				t.Fatalf("logged %d times that lookups are off, want once:\n%s", n, logs)
			}
			// Reinstalled with the scope: the next answer turns lookups on.
			withScope := "commands,users:read,users:read.email"
			scopes.Store(&withScope)
			if _, err := a.lookupEmail(t.Context(), "U3", "T1"); err != nil {
				t.Fatal(err)
			}
			if err := a.Ready(t.Context()); err != nil {
				t.Fatalf("Ready = %v after the scope came back", err)
			}
			clock.Advance(time.Second)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, signedRequest("/slack/commands", vecSecret, clock.Now(), commandBody("U4", "C1", "whoami", "")))
			if got := sub.next(t); got.User.Email != "u4@example.com" {
				t.Fatalf("after the scope came back: e-mail %q", got.User.Email)
			}
		})
	}
}

// startAdapter runs a's Start until the test ends.
func startAdapter(t *testing.T, a *Adapter) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	})
}

// TestAppTokenScopesIgnored: apps.connections.open, called with the
// app-level token at every socket-mode connect, answers with that token's
// scopes (connections:write): they do not turn the bot token's e-mail
// lookups off; a bot-token answer without the scope still does.
func TestAppTokenScopesIgnored(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t, func(c slacktest.Customize) {
		c.Handle("/apps.connections.open", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-OAuth-Scopes", "connections:write")
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true,"url":"wss://wss.example.invalid/link/?ticket=t"}`)
		})
		c.Handle("/users.info", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-OAuth-Scopes", "commands,chat:write,users:read")
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok":true,"user":{"id":"U1","team_id":"T1","profile":{}}}`)
		})
	})
	a, err := New(Config{BotToken: "xoxb-1", AppToken: "xapp-1", APIURL: f.GetAPIURL()}, newRecorder(), neverSeen{},
		WithUserEmails(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.api.StartSocketModeContext(t.Context()); err != nil {
		t.Fatalf("apps.connections.open: %v", err)
	}
	if why := a.users.disabled(); why != "" {
		t.Fatalf("lookups off after apps.connections.open: %s", why)
	}
	if _, err := a.lookupEmail(t.Context(), "U1", "T1"); err != nil {
		t.Fatal(err)
	}
	if a.users.disabled() == "" {
		t.Fatal("a bot-token answer without users:read.email left lookups on")
	}
}
