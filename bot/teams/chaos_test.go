package teams

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/internal/testkit"
)

// TestChaosHugeActivity: a 10 MB POST to /api/messages is refused with
// 413 or 401 after reading little more than the cap, with or without a
// valid token, and nothing reaches the dispatcher.
func TestChaosHugeActivity(t *testing.T) {
	t.Parallel()
	const size = 10 << 20
	tests := []struct {
		name  string
		token bool
	}{
		{"valid token", true},
		{"no token", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			body := &testkit.CountingReader{R: io.LimitReader(testkit.Repeat('['), size)}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/messages", body)
			req.ContentLength = size
			req.Header.Set("Content-Type", "application/json")
			if tc.token {
				req.Header.Set("Authorization", "Bearer "+e.validToken(t))
			}
			rec := httptest.NewRecorder()
			e.a.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge && rec.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 413 or 401", rec.Code)
			}
			if body.N > maxBodyBytes+4096 {
				t.Errorf("read %d bytes of a %d byte body; the cap is %d", body.N, size, maxBodyBytes)
			}
			if sub, done := e.d.calls(); len(sub)+len(done) != 0 {
				t.Errorf("reached the dispatcher: %d submitted, %d run", len(sub), len(done))
			}
		})
	}
}

// TestChaosMalformedActivity: authenticated activities that are deeply
// nested or broken JSON, or carry a malformed card action, are refused
// with 400 without a panic, and nothing reaches the dispatcher. The
// same bodies without a token get 401.
func TestChaosMalformedActivity(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	svc := e.conn.serviceURL()
	routing := `"channelId":"msteams","serviceUrl":"` + svc + `","conversation":{"id":"19:c"},"from":{"id":"29:1","aadObjectId":"` + testAAD + `"},"channelData":{"tenant":{"id":"` + testTenant + `"}}`
	tests := []struct {
		name, body string
	}{
		{"100k nested arrays", strings.Repeat("[", 100000)},
		{"nested objects", strings.Repeat(`{"a":`, 50000)},
		{"deep value in a message", `{"type":"message",` + routing + `,"value":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`},
		{"deep value in an invoke", `{"type":"invoke","name":"adaptiveCard/action",` + routing + `,"value":` + strings.Repeat(`{"a":`, 20000) + `1` + strings.Repeat("}", 20000) + `}`},
		{"truncated", `{"type":"message",` + routing + `,"text":"sessions fin`},
		{"wrong types", `{"type":"message","channelId":7,"serviceUrl":["x"],"conversation":"c","from":{"aadObjectId":1}}`},
		{"no routing fields", `{"type":"message","text":"sessions"}`},
		{"JSON null", `null`},
		{"not JSON", `sessions finance`},
		{"invalid UTF-8", "{\"type\":\"message\",\"text\":\"\xff\xfe\"," + `"channelId":"msteams"`},
		{"invoke value not an object", `{"type":"invoke","name":"adaptiveCard/action",` + routing + `,"value":"approve"}`},
		{"invoke verb not a string", `{"type":"invoke","name":"adaptiveCard/action",` + routing + `,"value":{"action":{"type":"Action.Execute","verb":1}}}`},
		{"invoke data not an object", `{"type":"invoke","name":"adaptiveCard/action",` + routing + `,"value":{"action":{"type":"Action.Execute","data":[1,2]}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, withToken := range []bool{true, false} {
				req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/messages", strings.NewReader(tc.body))
				req.Header.Set("Content-Type", "application/json")
				if withToken {
					req.Header.Set("Authorization", "Bearer "+e.validToken(t))
				}
				rec := httptest.NewRecorder()
				e.a.Handler().ServeHTTP(rec, req)
				switch {
				case !withToken && rec.Code != http.StatusUnauthorized:
					t.Errorf("without a token: status %d, want 401", rec.Code)
				case withToken && rec.Code != http.StatusBadRequest:
					t.Errorf("with a token: status %d, want 400", rec.Code)
				}
			}
		})
	}
	if sub, done := e.d.calls(); len(sub)+len(done) != 0 {
		t.Errorf("reached the dispatcher: %+v %+v", sub, done)
	}
}
