package teams

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// readyErr returns Ready's error text ("" when ready) and fails the test
// if it carries a secret.
func readyErr(t *testing.T, a *Adapter) string {
	t.Helper()
	err := a.Ready(t.Context())
	if err == nil {
		return ""
	}
	for _, secret := range []string{testSecret, testToken, "AADSTS"} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("Ready error %q leaks %q", err, secret)
		}
	}
	return err.Error()
}

// startAdapter runs Start until the test ends and checks it returns nil.
func startAdapter(t *testing.T, a *Adapter) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	res := make(chan error, 1)
	go func() { res <- a.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-res; err != nil {
			t.Errorf("Start returned %v after cancel, want nil", err)
		}
	})
}

func TestReadySigningKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, e *testEnv)
	}{
		{"not ready before keys", func(t *testing.T, e *testEnv) {
			if got := readyErr(t, e.a); got != "teams: signing keys not loaded (last: not fetched yet)" {
				t.Fatalf("Ready = %q", got)
			}
		}},
		{"ready after a valid inbound request", func(t *testing.T, e *testEnv) {
			if rec := e.post(t, e.validToken(t), messageActivity(e.conn.serviceURL(), "help")); rec.Code != http.StatusAccepted {
				t.Fatalf("status %d", rec.Code)
			}
			if got := readyErr(t, e.a); got != "" {
				t.Fatalf("Ready = %q, want nil", got)
			}
			if n := e.conn.tokenHits.Load(); n != 0 {
				t.Fatalf("%d token fetches: an accepted activity alone needs none", n)
			}
		}},
		{"an unauthenticated request loads no keys", func(t *testing.T, e *testEnv) {
			if rec := e.post(t, "", messageActivity(e.conn.serviceURL(), "help")); rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d", rec.Code)
			}
			if got := readyErr(t, e.a); !strings.Contains(got, "signing keys not loaded") {
				t.Fatalf("Ready = %q", got)
			}
		}},
		{"ready after Start loads keys and token", func(t *testing.T, e *testEnv) {
			startAdapter(t, e.a)
			// Keys first, then the token: ready after the keys, token issued soon after.
			waitFor(t, "ready", func() bool { return e.a.Ready(t.Context()) == nil })
			waitFor(t, "a token", func() bool { return e.a.conn.tokens.health.state().ok })
			if got := readyErr(t, e.a); got != "" || e.idp.keysHits.Load() != 1 || e.conn.tokenHits.Load() != 1 {
				t.Fatalf("Ready = %q; keys fetched %d times, token %d times; want nil, 1, 1",
					got, e.idp.keysHits.Load(), e.conn.tokenHits.Load())
			}
		}},
		{"key endpoint failing, then back", func(t *testing.T, e *testEnv) {
			good := e.a.keys.metadataURL
			e.a.keys.metadataURL = e.idp.srv.URL + "/missing"
			startAdapter(t, e.a)
			waitFor(t, "the failed fetch", func() bool { return strings.Contains(readyErr(t, e.a), "status 404") })
			if got := readyErr(t, e.a); !strings.HasPrefix(got, "teams: signing keys not loaded (last: fetch OpenID metadata: GET ") {
				t.Fatalf("Ready = %q", got)
			}
			e.a.keys.mu.Lock() // Start's retries read it under this lock
			e.a.keys.metadataURL = good
			e.a.keys.mu.Unlock()
			waitFor(t, "ready after Start's retry", func() bool { return readyErr(t, e.a) == "" })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			e.a.warmRetry = 5 * time.Millisecond
			tc.run(t, e)
		})
	}
}

// fakeTokenEndpoint answers client-credentials requests, refusing them
// the way Entra ID does while refuse is set.
func fakeTokenEndpoint(t *testing.T, refuse *atomic.Bool) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			writeJSON(w, map[string]string{"error": "invalid_client",
				"error_description": "AADSTS7000215: Invalid client secret provided: " + testSecret})
			return
		}
		writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": testToken})
	})
	return startTLS(t, mux).URL + "/token"
}

func TestReadyConnectorToken(t *testing.T) {
	t.Parallel()
	const refused = "teams: connector token: last fetch failed: status 401 (invalid_client)"
	tests := []struct {
		name string
		run  func(t *testing.T, e *testEnv, refuse *atomic.Bool)
	}{
		{"refused at Start, ready once it is issued", func(t *testing.T, e *testEnv, refuse *atomic.Bool) {
			refuse.Store(true)
			startAdapter(t, e.a)
			waitFor(t, "the refusal", func() bool { return readyErr(t, e.a) == refused })
			refuse.Store(false)
			waitFor(t, "ready after Start's retry", func() bool { return readyErr(t, e.a) == "" })
		}},
		{"refused on the reply path", func(t *testing.T, e *testEnv, refuse *atomic.Bool) {
			if rec := e.post(t, e.validToken(t), messageActivity(e.conn.serviceURL(), "help")); rec.Code != http.StatusAccepted {
				t.Fatalf("status %d", rec.Code)
			}
			if _, err := e.a.conn.tokens.get(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := readyErr(t, e.a); got != "" {
				t.Fatalf("Ready = %q after a token was issued", got)
			}
			refuse.Store(true)
			e.a.conn.tokens.invalidate(testToken) // as after a connector 401
			if _, err := e.a.conn.tokens.get(t.Context()); err == nil {
				t.Fatal("token issued while refusing")
			}
			if got := readyErr(t, e.a); got != refused {
				t.Fatalf("Ready = %q, want %q", got, refused)
			}
		}},
		{"a caller giving up is no failure", func(t *testing.T, e *testEnv, refuse *atomic.Bool) {
			if rec := e.post(t, e.validToken(t), messageActivity(e.conn.serviceURL(), "help")); rec.Code != http.StatusAccepted {
				t.Fatalf("status %d", rec.Code)
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if _, err := e.a.conn.tokens.get(ctx); err == nil {
				t.Fatal("token fetched with a cancelled context")
			}
			if got := readyErr(t, e.a); got != "" {
				t.Fatalf("Ready = %q, want nil", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			e.a.warmRetry = 5 * time.Millisecond
			refuse := &atomic.Bool{}
			e.a.conn.tokens.url = fakeTokenEndpoint(t, refuse)
			tc.run(t, e, refuse)
		})
	}
}

func TestTokenFailureReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"status with code", &tokenStatusError{status: 400, code: "invalid_request", body: "AADSTS900144 long text"}, "status 400 (invalid_request)"},
		{"status without code", &tokenStatusError{status: 503, body: "<html>"}, "status 503"},
		{"transport", fmt.Errorf("get connector token: %w", context.DeadlineExceeded), "get connector token: context deadline exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tokenFailure(tc.err); got != tc.want {
				t.Fatalf("tokenFailure = %q, want %q", got, tc.want)
			}
		})
	}
}
