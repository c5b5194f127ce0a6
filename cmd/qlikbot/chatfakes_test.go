package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSlack stands in for Slack's Web API (file uploads included) and
// response_url hooks and records what qlikbot sends there (its replies).
type fakeSlack struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []string // "path body"
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		// Web API calls such as users.info authenticate with the bot token
		// as a form field: sent to Slack itself, it is no leak, and is not
		// kept with what qlikbot said.
		if form, err := url.ParseQuery(string(body)); err == nil && form.Has("token") &&
			r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
			form.Del("token")
			body = []byte(form.Encode())
		}
		f.mu.Lock()
		f.hits = append(f.hits, r.URL.Path+" "+string(body))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/files.getUploadURLExternal": // the v2 upload: the file goes to upload_url
			io.WriteString(w, `{"ok":true,"upload_url":"`+f.srv.URL+`/upload/F1","file_id":"F1"}`)
		case "/api/files.completeUploadExternal":
			io.WriteString(w, `{"ok":true,"files":[{"id":"F1","title":"x"}]}`)
		default:
			io.WriteString(w, `{"ok":true,"channel":"C0OPS","ts":"1700000000.000100"}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) posts(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, h := range f.hits {
		if strings.HasPrefix(h, prefix) {
			out = append(out, h)
		}
	}
	return out
}

func (f *fakeSlack) all() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.hits, "\n")
}

// slashCommand posts a slash command signed with secret and returns the
// status and body of the acknowledgement.
func slashCommand(t *testing.T, base, secret, user, text, responseURL string) (int, string) {
	t.Helper()
	form := url.Values{
		"command": {"/qlik"}, "text": {text}, "user_id": {user}, "user_name": {strings.ToLower(user)},
		"channel_id": {"C0OPS"}, "team_id": {"T0TEAM"}, "response_url": {responseURL},
		"trigger_id": {"1.2.3"}, "token": {"deprecated-verification-token"},
	}
	body := form.Encode()
	return postSigned(t, base+"/slack/commands", secret, body)
}

// slackButton digs the button with this action id out of a Block Kit
// message qlikbot posted ("path body" as recorded).
func slackButton(t *testing.T, hit, actionID string) (id, value string) {
	t.Helper()
	_, body, _ := strings.Cut(hit, " ")
	var msg struct {
		Blocks []struct {
			Elements []struct {
				Type     string `json:"type"`
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(body), &msg); err != nil {
		t.Fatalf("decode the Slack message: %v\n%s", err, body)
	}
	for _, b := range msg.Blocks {
		for _, e := range b.Elements {
			if e.Type == "button" && strings.HasPrefix(e.ActionID, actionID) {
				return e.ActionID, e.Value
			}
		}
	}
	t.Fatalf("no %s button in the Slack message:\n%s", actionID, body)
	return "", ""
}

// slackClick posts a signed block_actions interaction: user clicks the
// button (actionID, value) of the message at ts.
func slackClick(t *testing.T, base, secret, user, actionID, value, responseURL string) (int, string) {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "name": strings.ToLower(user)},
		"channel":      map[string]any{"id": "C0OPS"},
		"container":    map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0OPS"},
		"actions":      []map[string]any{{"type": "button", "action_id": actionID, "value": value, "block_id": "b1"}},
		"response_url": responseURL, "trigger_id": "1.2.3", "team": map[string]any{"id": "T0TEAM"},
	})
	body := url.Values{"payload": {string(payload)}}.Encode()
	return postSigned(t, base+"/slack/interactions", secret, body)
}

// postSigned posts a form body signed the way Slack signs requests.
func postSigned(t *testing.T, target, secret, body string) (int, string) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, "v0:"+ts+":"+body)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return send(t, req)
}

func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// teamsActivity posts a Teams message activity with the given bearer token.
func teamsActivity(t *testing.T, base, token string) (int, string) {
	t.Helper()
	act, _ := json.Marshal(map[string]any{
		"type": "message", "id": "1700000000001", "channelId": "msteams", "serviceUrl": "https://smba.trafficmanager.net/amer/",
		"from":         map[string]any{"id": "29:1abc", "name": "Ann", "aadObjectId": "0b8d1c7e-1111-4222-8333-444455556666"},
		"recipient":    map[string]any{"id": "28:app", "name": "qlikbot"},
		"conversation": map[string]any{"id": "19:ops@thread.tacv2", "conversationType": "channel"},
		"text":         "sessions finance",
	})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/api/messages", strings.NewReader(string(act)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return send(t, req)
}
