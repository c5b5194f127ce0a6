package teams

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestInboundAuthMatrix(t *testing.T) {
	t.Parallel()
	other := testKeys()[1]
	tests := []struct {
		name string
		// token builds the Authorization token; "" sends no header.
		token      func(t *testing.T, e *testEnv) string
		activity   func(e *testEnv) map[string]any
		wantStatus int
	}{
		{
			name:       "valid",
			token:      func(t *testing.T, e *testEnv) string { return e.validToken(t) },
			wantStatus: http.StatusAccepted,
		},
		{
			name: "expired within the 5 min skew",
			token: func(t *testing.T, e *testEnv) string {
				c := tokenClaims(e.conn.serviceURL())
				c["exp"] = t0.Add(-4 * time.Minute).Unix()
				return sign(t, e.key, "k1", c)
			},
			wantStatus: http.StatusAccepted,
		},
		{
			name:       "missing header",
			token:      func(*testing.T, *testEnv) string { return "" },
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong issuer",
			token: func(t *testing.T, e *testEnv) string {
				c := tokenClaims(e.conn.serviceURL())
				c["iss"] = "https://sts.windows.net/evil/"
				return sign(t, e.key, "k1", c)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "wrong audience",
			token: func(t *testing.T, e *testEnv) string {
				c := tokenClaims(e.conn.serviceURL())
				c["aud"] = "some-other-bot"
				return sign(t, e.key, "k1", c)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "expired beyond skew",
			token: func(t *testing.T, e *testEnv) string {
				c := tokenClaims(e.conn.serviceURL())
				c["exp"] = t0.Add(-6 * time.Minute).Unix()
				return sign(t, e.key, "k1", c)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "no exp",
			token: func(t *testing.T, e *testEnv) string {
				c := tokenClaims(e.conn.serviceURL())
				delete(c, "exp")
				return sign(t, e.key, "k1", c)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "not yet valid beyond skew",
			token: func(t *testing.T, e *testEnv) string {
				c := tokenClaims(e.conn.serviceURL())
				c["nbf"] = t0.Add(6 * time.Minute).Unix()
				return sign(t, e.key, "k1", c)
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "alg none",
			token: func(t *testing.T, e *testEnv) string {
				tok := jwt.NewWithClaims(jwt.SigningMethodNone, tokenClaims(e.conn.serviceURL()))
				tok.Header["kid"] = "k1"
				s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "HS256 signed with the public key",
			token: func(t *testing.T, e *testEnv) string {
				der, err := x509.MarshalPKIXPublicKey(&e.key.PublicKey)
				if err != nil {
					t.Fatal(err)
				}
				pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
				tok := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims(e.conn.serviceURL()))
				tok.Header["kid"] = "k1"
				s, err := tok.SignedString(pemKey)
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "unknown kid",
			token: func(t *testing.T, e *testEnv) string {
				return sign(t, e.key, "k-unknown", tokenClaims(e.conn.serviceURL()))
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name:       "signed by another key under a known kid",
			token:      func(t *testing.T, e *testEnv) string { return sign(t, other, "k1", tokenClaims(e.conn.serviceURL())) },
			wantStatus: http.StatusUnauthorized,
		},
		{
			name: "tampered payload",
			token: func(t *testing.T, e *testEnv) string {
				parts := strings.Split(e.validToken(t), ".")
				c := tokenClaims(e.conn.serviceURL())
				c["aud"] = testAppID
				c["serviceurl"] = "https://evil.example/"
				payload, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SigningString()
				parts[1] = strings.Split(payload, ".")[1]
				return strings.Join(parts, ".")
			},
			wantStatus: http.StatusUnauthorized,
		},
		{
			name:  "serviceUrl mismatch",
			token: func(t *testing.T, e *testEnv) string { return e.validToken(t) },
			activity: func(e *testEnv) map[string]any {
				return messageActivity("https://smba.evil.example/amer/", "sessions finance")
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "key not endorsed for msteams",
			token: func(t *testing.T, e *testEnv) string {
				e.idp.publish(publishedKey{kid: "k-skype", pub: &other.PublicKey, endorsements: []string{"skype", "webchat"}})
				return sign(t, other, "k-skype", tokenClaims(e.conn.serviceURL()))
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name: "channel other than msteams, key endorsed for it",
			token: func(t *testing.T, e *testEnv) string {
				e.idp.publish(publishedKey{kid: "k-web", pub: &other.PublicKey, endorsements: []string{"msteams", "webchat"}})
				return sign(t, other, "k-web", tokenClaims(e.conn.serviceURL()))
			},
			activity: func(e *testEnv) map[string]any {
				act := messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> sessions finance")
				act["channelId"] = "webchat"
				return act
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name:  "another tenant",
			token: func(t *testing.T, e *testEnv) string { return e.validToken(t) },
			activity: func(e *testEnv) map[string]any {
				act := messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> sessions finance")
				act["channelData"] = map[string]any{"tenant": map[string]any{"id": "0e0e0e0e-0000-4000-8000-000000000bad"}}
				return act
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name:  "our tenant in conversation.tenantId only",
			token: func(t *testing.T, e *testEnv) string { return e.validToken(t) },
			activity: func(e *testEnv) map[string]any {
				act := messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> sessions finance")
				delete(act, "channelData")
				return act
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name:  "channelData not an object",
			token: func(t *testing.T, e *testEnv) string { return e.validToken(t) },
			activity: func(e *testEnv) map[string]any {
				act := messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> sessions finance")
				act["channelData"] = testTenant
				return act
			},
			wantStatus: http.StatusForbidden,
		},
		{
			name:  "our tenant in upper case",
			token: func(t *testing.T, e *testEnv) string { return e.validToken(t) },
			activity: func(e *testEnv) map[string]any {
				act := messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> sessions finance")
				act["channelData"] = map[string]any{"tenant": map[string]any{"id": strings.ToUpper(testTenant)}}
				return act
			},
			wantStatus: http.StatusAccepted,
		},
		{
			name:       "garbage bearer",
			token:      func(*testing.T, *testEnv) string { return "not.a.jwt" },
			wantStatus: http.StatusUnauthorized,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			act := messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> sessions finance")
			if tc.activity != nil {
				act = tc.activity(e)
			}
			rec := e.post(t, tc.token(t, e), act)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", rec.Code, tc.wantStatus, rec.Body.String())
			}
			submitted, done := e.d.calls()
			if tc.wantStatus/100 == 2 {
				if len(submitted) != 1 || submitted[0].Text != "sessions finance" {
					t.Fatalf("submitted = %+v, want one request for %q", submitted, "sessions finance")
				}
				// Grants and rate limits see the channel, not the thread.
				if got := submitted[0].Channel; got != "19:ops@thread.tacv2" {
					t.Fatalf("request channel = %q, want the conversation id without ;messageid=", got)
				}
				return
			}
			if len(submitted)+len(done) != 0 {
				t.Fatalf("refused activity reached the dispatcher: %+v %+v", submitted, done)
			}
			if calls := e.conn.recorded(); len(calls) != 0 {
				t.Fatalf("refused activity caused connector calls: %+v", calls)
			}
			if strings.Contains(e.logs.String(), testSecret) {
				t.Fatal("app password leaked into the logs")
			}
		})
	}
}

func TestKeysFetchedOnceAcrossManyRequests(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	act := messageActivity(e.conn.serviceURL(), "sessions")
	for i := range 100 {
		if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
			t.Fatalf("request %d: status %d", i, rec.Code)
		}
		e.now.Advance(time.Minute) // 100 min pass: still inside the cache lifetime
	}
	if m, k := e.idp.metaHits.Load(), e.idp.keysHits.Load(); m != 1 || k != 1 {
		t.Fatalf("metadata fetched %d times, keys %d times; want 1 and 1", m, k)
	}
	if submitted, _ := e.d.calls(); len(submitted) != 100 {
		t.Fatalf("submitted %d requests, want 100", len(submitted))
	}
}

func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	act := messageActivity(e.conn.serviceURL(), "sessions")
	steps := []struct {
		name      string
		kid       string
		advance   time.Duration
		want      int
		wantFetch int64
	}{
		{"valid fills the cache", "k1", 0, http.StatusAccepted, 1},
		{"unknown kid refetches once", "k2", 0, http.StatusUnauthorized, 2},
		{"unknown kid again within 5 min: no refetch", "k2", time.Minute, http.StatusUnauthorized, 2},
		{"rolled-over key after the gap is fetched and accepted", "k2", 5 * time.Minute, http.StatusAccepted, 3},
		{"known key: no fetch", "k1", time.Minute, http.StatusAccepted, 3},
	}
	second := testKeys()[1]
	for i, s := range steps {
		e.now.Advance(s.advance)
		if i == 3 {
			e.idp.publish(publishedKey{kid: "k2", pub: &second.PublicKey, endorsements: []string{"msteams"}})
		}
		key := e.key
		if s.kid == "k2" {
			key = second
		}
		rec := e.post(t, sign(t, key, s.kid, tokenClaimsAt(e.conn.serviceURL(), e.now.Now())), act)
		if rec.Code != s.want {
			t.Fatalf("%s: status %d, want %d", s.name, rec.Code, s.want)
		}
		if got := e.idp.keysHits.Load(); got != s.wantFetch {
			t.Fatalf("%s: key set fetched %d times, want %d", s.name, got, s.wantFetch)
		}
	}
}

// TestKnownKeyDoesNotWaitForRefetch: while an unknown kid's refetch hangs
// on a slow key endpoint, a token signed with a cached key is still
// checked at once rather than queued behind the fetch.
func TestKnownKeyDoesNotWaitForRefetch(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	act := messageActivity(e.conn.serviceURL(), "sessions")
	if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
		t.Fatalf("first request: status %d", rec.Code)
	}
	release := e.idp.hold()
	t.Cleanup(release)
	body, err := json.Marshal(act)
	if err != nil {
		t.Fatal(err)
	}
	forged := sign(t, testKeys()[1], "k-unknown", tokenClaimsAt(e.conn.serviceURL(), e.now.Now()))
	refetched := make(chan int, 1)
	go func() {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+forged)
		rec := httptest.NewRecorder()
		e.a.Handler().ServeHTTP(rec, req)
		refetched <- rec.Code
	}()
	waitFor(t, "the unknown kid's refetch to reach the key endpoint", func() bool { return e.idp.keysHits.Load() == 2 })

	if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
		t.Fatalf("known key during a refetch: status %d", rec.Code)
	}
	// The refetch must still be in flight: the known key did not wait for it.
	if e.a.keys.mu.TryLock() {
		e.a.keys.mu.Unlock()
		t.Fatal("the known-key request completed only after the refetch ended")
	}
	release()
	if code := <-refetched; code != http.StatusUnauthorized {
		t.Fatalf("unknown kid: status %d, want 401", code)
	}
}

func TestJWKSKeyParsingSkipsBadKeys(t *testing.T) {
	t.Parallel()
	good := testKeys()[0].PublicKey
	n := base64.RawURLEncoding.EncodeToString(good.N.Bytes())
	set := jwkSet{Keys: []jwk{
		{Kty: "RSA", Kid: "good", N: n, E: "AQAB", Endorsements: []string{"msteams"}},
		{Kty: "RSA", Kid: "short", N: "AQAB", E: "AQAB"},
	}}
	keys := set.rsaKeys()
	if _, ok := keys["short"]; ok {
		t.Fatal("a key under 2048 bits was accepted")
	}
	k, ok := keys["good"]
	if !ok || k.pub.E != 65537 || k.pub.N.Cmp(good.N) != 0 || !k.endorses("msteams") || k.endorses("") {
		t.Fatalf("good key parsed wrong: %+v", k)
	}
}
