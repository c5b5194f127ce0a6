package teams

import (
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeConnector is a token endpoint plus the Bot Connector's activity
// endpoints. It records every activity and can answer with scripted
// statuses first.
type fakeConnector struct {
	srv       *httptest.Server
	tokenHits atomic.Int64
	issue     atomic.Pointer[string] // the access token handed out, when not testToken
	// memberHits counts roster lookups; members answers them, by
	// "conversation id|user id".
	memberHits atomic.Int64
	mu         sync.Mutex
	members    map[string]map[string]any
	calls      []connectorCall
	script     []scripted // consumed one per activity call
	nextID     int
}

type scripted struct {
	status     int
	retryAfter string
}

type connectorCall struct {
	Method   string
	Path     string // unescaped
	Auth     string
	Activity map[string]any
	Status   int
}

func newFakeConnector(t testing.TB) *fakeConnector {
	t.Helper()
	f := &fakeConnector{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tenant/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		f.tokenHits.Add(1)
		if r.ParseForm() != nil || r.PostForm.Get("client_secret") != testSecret ||
			r.PostForm.Get("client_id") != testAppID || r.PostForm.Get("grant_type") != "client_credentials" ||
			r.PostForm.Get("scope") != "https://api.botframework.com/.default" {
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, map[string]string{"error": "invalid_client"})
			return
		}
		tok := testToken
		if p := f.issue.Load(); p != nil {
			tok = *p
		}
		writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": tok})
	})
	mux.HandleFunc("GET /amer/v3/conversations/{conv}/members/{user}", func(w http.ResponseWriter, r *http.Request) {
		f.memberHits.Add(1)
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		m, ok := f.members[r.PathValue("conv")+"|"+r.PathValue("user")]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			writeJSON(w, map[string]any{"error": map[string]string{"code": "MemberNotFoundInConversation"}})
			return
		}
		writeJSON(w, m)
	})
	mux.HandleFunc("/amer/v3/conversations/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var act map[string]any
		_ = json.Unmarshal(body, &act)
		path, _ := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/amer"))
		f.mu.Lock()
		defer f.mu.Unlock()
		call := connectorCall{Method: r.Method, Path: path, Auth: r.Header.Get("Authorization"), Activity: act, Status: http.StatusOK}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			call.Status = http.StatusUnauthorized
		} else if len(f.script) > 0 {
			s := f.script[0]
			f.script = f.script[1:]
			call.Status = s.status
			if s.retryAfter != "" {
				w.Header().Set("Retry-After", s.retryAfter)
			}
		}
		f.calls = append(f.calls, call)
		if call.Status != http.StatusOK {
			w.WriteHeader(call.Status)
			writeJSON(w, map[string]any{"error": map[string]string{"code": "Throttled", "message": "slow down"}})
			return
		}
		f.nextID++
		writeJSON(w, map[string]string{"id": "act-" + itoa(f.nextID)})
	})
	f.srv = startTLS(t, mux)
	return f
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

func (f *fakeConnector) tokenURL() string   { return f.srv.URL + "/tenant/oauth2/v2.0/token" }
func (f *fakeConnector) serviceURL() string { return f.srv.URL + "/amer/" }

// setMember puts a roster entry for user in the conversation.
func (f *fakeConnector) setMember(conv, user string, m map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.members == nil {
		f.members = map[string]map[string]any{}
	}
	f.members[conv+"|"+user] = m
}

func (f *fakeConnector) setScript(s ...scripted) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = s
}

func (f *fakeConnector) recorded() []connectorCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]connectorCall(nil), f.calls...)
}

// waitFor polls cond until it holds or 10 s pass: async work is awaited
// with a bounded poll, never a fixed sleep.
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

// waitCalls waits until the connector has seen n calls and returns them.
func (f *fakeConnector) waitCalls(t *testing.T, n int) []connectorCall {
	t.Helper()
	var calls []connectorCall
	waitFor(t, fmt.Sprintf("%d connector calls", n), func() bool {
		calls = f.recorded()
		return len(calls) >= n
	})
	return calls
}
