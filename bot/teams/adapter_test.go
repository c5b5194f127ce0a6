package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

const testConv = "19:ops@thread.tacv2;messageid=1700000000000"

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	d := &recordingDispatcher{}
	good := Config{AppID: testAppID, AppPassword: testSecret, TenantID: testTenant}
	tests := []struct {
		name string
		cfg  Config
		d    Dispatcher
		opts []Option
		ok   bool
	}{
		{"defaults", good, d, nil, true},
		{"no app id", Config{AppPassword: testSecret, TenantID: testTenant}, d, nil, false},
		{"no password", Config{AppID: testAppID, TenantID: testTenant}, d, nil, false},
		{"no tenant", Config{AppID: testAppID, AppPassword: testSecret}, d, nil, false},
		{"tenant with a slash", Config{AppID: testAppID, AppPassword: testSecret, TenantID: "a/b"}, d, nil, false},
		{"http token URL", Config{AppID: testAppID, AppPassword: testSecret, TenantID: testTenant, TokenURL: "http://x/token"}, d, nil, false},
		{"http metadata URL", Config{AppID: testAppID, AppPassword: testSecret, TenantID: testTenant, OpenIDMetadataURL: "http://x/"}, d, nil, false},
		{"nil dispatcher", good, nil, nil, false},
		{"nil logger", good, d, []Option{WithLogger(nil)}, false},
		{"zero invoke deadline", good, d, []Option{WithInvokeDeadline(0)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, err := New(tc.cfg, tc.d, tc.opts...)
			if (err == nil) != tc.ok {
				t.Fatalf("New: err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Fatal("the app password is in the error")
			}
			if tc.ok && (a.cfg.TokenURL != "https://login.microsoftonline.com/"+testTenant+"/oauth2/v2.0/token" ||
				a.cfg.OpenIDMetadataURL != DefaultOpenIDMetadataURL || a.cfg.Issuer != DefaultIssuer || a.Name() != bot.Teams) {
				t.Fatalf("defaults not applied: %+v", a.cfg)
			}
		})
	}
}

func TestMessageIsDispatchedAndAnsweredWithACard(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	rec := e.post(t, e.validToken(t), messageActivity(e.conn.serviceURL(), "<at>qlikbot</at>&nbsp;sessions finance\n"))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d", rec.Code)
	}
	submitted, _ := e.d.calls()
	if len(submitted) != 1 {
		t.Fatalf("submitted %d requests", len(submitted))
	}
	req := submitted[0]
	if req.Platform != bot.Teams || req.Subject() != "teams:"+testAAD || req.User.Name != "Ann Admin" ||
		req.Channel != "19:ops@thread.tacv2" || req.Text != "sessions finance" || req.Action != nil || req.ID == "" || !req.ReceivedAt.Equal(t0) {
		t.Fatalf("request = %+v", req)
	}
	if err := req.ReplyTo.Respond(t.Context(), goldenReplies()["sessions"]); err != nil {
		t.Fatal(err)
	}
	calls := e.conn.recorded()
	if len(calls) != 1 || calls[0].Method != http.MethodPost ||
		calls[0].Path != "/v3/conversations/"+testConv+"/activities/1700000000001" {
		t.Fatalf("connector calls = %+v", calls)
	}
	att := calls[0].Activity["attachments"].([]any)[0].(map[string]any)
	body, _ := json.Marshal(att["content"])
	if att["contentType"] != cardContentType || !strings.Contains(string(body), `"type":"Table"`) ||
		!strings.Contains(string(body), `LAB\\testuser_2`) {
		t.Fatalf("posted attachment = %s", body)
	}
}

func TestSubmitClickReplacesTheCard(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	act := messageActivity(e.conn.serviceURL(), "")
	act["value"] = map[string]any{"action": "qlik.approve", "value": "p-42"}
	act["replyToId"] = "card-7"
	if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
		t.Fatalf("status %d", rec.Code)
	}
	submitted, _ := e.d.calls()
	if len(submitted) != 1 || submitted[0].Action == nil ||
		*submitted[0].Action != (bot.Action{ID: "qlik.approve", Value: "p-42", MessageRef: "card-7"}) || submitted[0].Text != "" {
		t.Fatalf("submitted = %+v", submitted)
	}
	if err := submitted[0].ReplyTo.Respond(t.Context(), goldenReplies()["outcome"]); err != nil {
		t.Fatal(err)
	}
	// A reply that does not replace goes next to the card.
	if err := submitted[0].ReplyTo.Respond(t.Context(), goldenReplies()["denied"]); err != nil {
		t.Fatal(err)
	}
	calls := e.conn.recorded()
	want := []struct{ method, path string }{
		{http.MethodPut, "/v3/conversations/" + testConv + "/activities/card-7"},
		{http.MethodPost, "/v3/conversations/" + testConv + "/activities/card-7"},
	}
	if len(calls) != len(want) {
		t.Fatalf("calls = %+v", calls)
	}
	for i, w := range want {
		if calls[i].Method != w.method || calls[i].Path != w.path {
			t.Fatalf("call %d = %s %s, want %s %s", i, calls[i].Method, calls[i].Path, w.method, w.path)
		}
	}
}

func invokeActivity(serviceURL, verb, value string) map[string]any {
	act := messageActivity(serviceURL, "")
	act["type"] = "invoke"
	act["name"] = "adaptiveCard/action"
	act["replyToId"] = "card-9"
	act["value"] = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": verb,
		"data": map[string]any{"action": verb, "value": value}}}
	return act
}

func decodeInvoke(t *testing.T, rec *httptest.ResponseRecorder) invokeResponse {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("invoke status %d: %s", rec.Code, rec.Body)
	}
	var resp invokeResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("invoke body %q: %v", rec.Body, err)
	}
	return resp
}

func TestExecuteInvokeAnswersInTheBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reply     bot.Reply
		wantType  string
		wantInVal string
	}{
		{"outcome replaces the card", goldenReplies()["outcome"], cardContentType, "Approved by Bob Boss"},
		{"denial goes to the clicker only", goldenReplies()["denied"], invokeMessageType, "You may not approve this"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &recordingDispatcher{reply: tc.reply}
			e := newTestEnv(t, d)
			resp := decodeInvoke(t, e.post(t, e.validToken(t), invokeActivity(e.conn.serviceURL(), "qlik.approve", "p-42")))
			val, _ := json.Marshal(resp.Value)
			if resp.StatusCode != 200 || resp.Type != tc.wantType || !strings.Contains(string(val), tc.wantInVal) {
				t.Fatalf("invoke response = %+v", resp)
			}
			_, done := d.calls()
			if len(done) != 1 || *done[0].Action != (bot.Action{ID: "qlik.approve", Value: "p-42", MessageRef: "card-9"}) {
				t.Fatalf("Do calls = %+v", done)
			}
			if calls := e.conn.recorded(); len(calls) != 0 {
				t.Fatalf("a fast invoke posted proactively: %+v", calls)
			}
		})
	}
}

func TestSlowInvokeAnswersWorkingThenUpdates(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	d := &recordingDispatcher{doHook: func(ctx context.Context, req bot.Request) bot.Reply {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return goldenReplies()["outcome"]
	}}
	e := newTestEnv(t, d, WithInvokeDeadline(20*time.Millisecond))
	resp := decodeInvoke(t, e.post(t, e.validToken(t), invokeActivity(e.conn.serviceURL(), "qlik.approve", "p-42")))
	val, _ := json.Marshal(resp.Value)
	if resp.Type != cardContentType || !strings.Contains(string(val), "Working on it") {
		t.Fatalf("invoke response = %s", val)
	}
	close(release)
	calls := e.conn.waitCalls(t, 1)
	body, _ := json.Marshal(calls[0].Activity)
	if calls[0].Method != http.MethodPut || calls[0].Path != "/v3/conversations/"+testConv+"/activities/card-9" ||
		!strings.Contains(string(body), "Approved by Bob Boss") {
		t.Fatalf("late update = %s %s %s", calls[0].Method, calls[0].Path, body)
	}
}

func TestConversationUpdateWelcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		added      string
		wantSubmit bool
	}{
		{"bot added", "28:" + testAppID, true},
		{"someone else added", "29:someone", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			act := messageActivity(e.conn.serviceURL(), "")
			act["type"] = "conversationUpdate"
			act["membersAdded"] = []any{map[string]any{"id": tc.added}}
			if rec := e.post(t, e.validToken(t), act); rec.Code/100 != 2 {
				t.Fatalf("status %d", rec.Code)
			}
			submitted, _ := e.d.calls()
			if !tc.wantSubmit {
				if len(submitted) != 0 {
					t.Fatalf("submitted %+v", submitted)
				}
				return
			}
			if len(submitted) != 1 || submitted[0].Text != "help" {
				t.Fatalf("submitted %+v", submitted)
			}
			if err := submitted[0].ReplyTo.Respond(t.Context(), bot.Reply{Title: "qlikbot help", Summary: []string{"sessions [PREFIX]"}}); err != nil {
				t.Fatal(err)
			}
			calls := e.conn.recorded()
			body, _ := json.Marshal(calls)
			if len(calls) != 1 || !strings.Contains(string(body), "Hi, I am qlikbot") || !strings.Contains(string(body), "sessions [PREFIX]") {
				t.Fatalf("welcome = %s", body)
			}
		})
	}
}

func TestBadInputIsRefusedAndRunsNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		body   func(e *testEnv) string
		want   int
	}{
		{"GET", http.MethodGet, func(*testEnv) string { return "" }, http.StatusMethodNotAllowed},
		{"not JSON", http.MethodPost, func(*testEnv) string { return "{not json" }, http.StatusBadRequest},
		{"too large", http.MethodPost, func(*testEnv) string { return `{"text":"` + strings.Repeat("a", maxBodyBytes) + `"}` }, http.StatusRequestEntityTooLarge},
		{"no aadObjectId", http.MethodPost, func(e *testEnv) string {
			act := messageActivity(e.conn.serviceURL(), "sessions")
			delete(act["from"].(map[string]any), "aadObjectId")
			return mustJSON(act)
		}, http.StatusBadRequest},
		{"no conversation", http.MethodPost, func(e *testEnv) string {
			act := messageActivity(e.conn.serviceURL(), "sessions")
			delete(act, "conversation")
			return mustJSON(act)
		}, http.StatusBadRequest},
		{"unknown invoke", http.MethodPost, func(e *testEnv) string {
			act := invokeActivity(e.conn.serviceURL(), "qlik.approve", "p")
			act["name"] = "task/fetch"
			return mustJSON(act)
		}, http.StatusNotImplemented},
		{"invoke without verb", http.MethodPost, func(e *testEnv) string {
			act := invokeActivity(e.conn.serviceURL(), "", "")
			return mustJSON(act)
		}, http.StatusBadRequest},
		{"invoke value not an object", http.MethodPost, func(e *testEnv) string {
			act := invokeActivity(e.conn.serviceURL(), "qlik.approve", "p")
			act["value"] = "x"
			return mustJSON(act)
		}, http.StatusBadRequest},
		{"typing is ignored", http.MethodPost, func(e *testEnv) string {
			act := messageActivity(e.conn.serviceURL(), "sessions")
			act["type"] = "typing"
			return mustJSON(act)
		}, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			req := httptest.NewRequestWithContext(t.Context(), tc.method, "/api/messages", strings.NewReader(tc.body(e)))
			req.Header.Set("Authorization", "Bearer "+e.validToken(t))
			rec := httptest.NewRecorder()
			e.a.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.want, rec.Body)
			}
			if s, d := e.d.calls(); len(s)+len(d) != 0 {
				t.Fatalf("bad input reached the dispatcher: %+v %+v", s, d)
			}
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestStartWarmsKeysAndStopsWithContext(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	res := make(chan error, 1)
	go func() { res <- e.a.Start(ctx) }()
	waitFor(t, "Start to fetch the signing keys", func() bool { return e.idp.keysHits.Load() > 0 })
	cancel()
	if err := <-res; err != nil {
		t.Fatalf("Start returned %v after cancel, want nil", err)
	}
	// The warm cache serves the first activity without another fetch.
	if rec := e.post(t, e.validToken(t), messageActivity(e.conn.serviceURL(), "help")); rec.Code != http.StatusAccepted {
		t.Fatalf("status %d", rec.Code)
	}
	if n := e.idp.metaHits.Load(); n != 1 {
		t.Fatalf("metadata fetched %d times, want 1", n)
	}
}
