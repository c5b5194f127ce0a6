package slackbot

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// TestVerifierAgreesWithSlackGo cross-checks the injected-clock verifier
// with slack.NewSecretsVerifier on fresh requests (it reads the real clock).
func TestVerifierAgreesWithSlackGo(t *testing.T) {
	t.Parallel()
	now := time.Now()
	body := []byte(commandBody("U1", "C1", "sessions finance", ""))
	tests := []struct {
		name   string
		secret string
		body   []byte
		at     time.Time
		ok     bool
	}{
		{"good", "s3cret", body, now, true},
		{"wrong secret", "other", body, now, false},
		{"old", "s3cret", body, now.Add(-10 * time.Minute), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := strconv.FormatInt(tc.at.Unix(), 10)
			h := http.Header{}
			h.Set("X-Slack-Request-Timestamp", ts)
			h.Set("X-Slack-Signature", sign(tc.secret, ts, tc.body))
			theirs := func() error {
				sv, err := slack.NewSecretsVerifier(h, "s3cret")
				if err != nil {
					return err
				}
				_, _ = sv.Write(tc.body)
				return sv.Ensure()
			}()
			_, ours := verifier{secret: []byte("s3cret")}.check(h, tc.body, now)
			if (theirs == nil) != tc.ok || (ours == nil) != tc.ok {
				t.Errorf("slack-go: %v, ours: %v; want ok=%v", theirs, ours, tc.ok)
			}
		})
	}
}

// TestEmptySecretRefused: a verifier without a signing secret (socket
// mode has none) refuses everything, including a request signed with the
// empty key, which anyone can compute.
func TestEmptySecretRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	body := []byte(commandBody("U1", "C1", "sessions finance", ""))
	ts := strconv.FormatInt(now.Unix(), 10)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", sign("", ts, body))
	for _, secret := range [][]byte{nil, {}} {
		if _, err := (verifier{secret: secret}).check(h, body, now); !errors.Is(err, ErrNoSecret) {
			t.Errorf("secret %q: err = %v, want ErrNoSecret", secret, err)
		}
	}

	// The same through a socket-mode adapter's handler, were it mounted.
	sub := newRecorder()
	a, err := New(Config{BotToken: "xoxb-1", AppToken: "xapp-1"}, sub, neverSeen{}, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/slack/commands", "/slack/interactions", "/slack/events"} {
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, signedRequest(path, "", now, string(body)))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("%s signed with the empty key: status %d, want 401", path, rec.Code)
		}
	}
	if got := sub.got(); len(got) != 0 {
		t.Errorf("%d requests reached the dispatcher", len(got))
	}
}
