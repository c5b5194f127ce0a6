package slackbot

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

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
			default:
				fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"profile":{"email":" %s@Example.com "}}}`, id, strings.ToLower(id))
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
	}
	for i, s := range steps {
		if got := send(s.user); got != s.email || lookups.Load() != s.lookups {
			t.Errorf("step %d (%s): email %q after %d lookups, want %q after %d", i, s.user, got, lookups.Load(), s.email, s.lookups)
		}
	}
	clock.Advance(2 * time.Hour)
	if got := send("U1"); got != "u1@example.com" || lookups.Load() != 6 {
		t.Errorf("after the ttl: %q with %d lookups", got, lookups.Load())
	}
}
