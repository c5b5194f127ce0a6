package slackbot

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// Slack's documented signing example (docs.slack.dev, "Verifying requests").
const (
	vecSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	vecTS     = "1531420618"
	vecBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	vecSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

var vecTime = time.Unix(1531420618, 0)

// recordingSubmitter records what reaches it; Submit is synchronous in the
// HTTP handler, so the test reads it after the handler returned.
type recordingSubmitter struct {
	mu   sync.Mutex
	reqs []bot.Request
	ch   chan bot.Request
}

func newRecorder() *recordingSubmitter { return &recordingSubmitter{ch: make(chan bot.Request, 16)} }

func (r *recordingSubmitter) Submit(_ context.Context, req bot.Request) error {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	select {
	case r.ch <- req:
	default:
	}
	return nil
}

func (r *recordingSubmitter) got() []bot.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Request(nil), r.reqs...)
}

// next waits, bounded, for the next submitted request.
func (r *recordingSubmitter) next(t *testing.T) bot.Request {
	t.Helper()
	select {
	case req := <-r.ch:
		return req
	case <-time.After(10 * time.Second):
		t.Fatal("no request submitted within 10s")
		return bot.Request{}
	}
}

func openBolt(t *testing.T, now func() time.Time) *store.Bolt {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "qlikbot.db"), store.WithClock(now))
	if err != nil {
		t.Fatalf("open bolt: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// sign computes Slack's v0 signature.
func sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// signedRequest builds a request as Slack sends it.
func signedRequest(path, secret string, at time.Time, body string) *http.Request {
	ts := strconv.FormatInt(at.Unix(), 10)
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", sign(secret, ts, []byte(body)))
	return r
}

func commandBody(user, channel, text, responseURL string) string {
	return url.Values{
		"command": {"/qlik"}, "text": {text}, "user_id": {user}, "user_name": {strings.ToLower(user)},
		"channel_id": {channel}, "team_id": {"T1"}, "response_url": {responseURL}, "trigger_id": {"1.2.3"},
	}.Encode()
}

// clickBody is a block_actions payload: user clicked actionID on the
// message channel/ts.
func clickBody(t *testing.T, user, channel, ts, actionID, value, responseURL string) string {
	t.Helper()
	payload := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user)},
		"channel":      map[string]any{"id": channel, "name": "oncall"},
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"message":      map[string]any{"ts": ts, "user": "UBOT", "text": "approval"},
		"response_url": responseURL,
		"trigger_id":   "1.2.3",
		"actions":      []any{map[string]any{"type": "button", "action_id": actionID, "block_id": "actions_0", "value": value, "action_ts": ts}},
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(raw)}}.Encode()
}
