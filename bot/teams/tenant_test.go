package teams

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTenantConfiguredAsDomain: with a domain instead of the tenant GUID,
// the GUID activities are checked against is the "tid" of the bot's own
// connector token; without one, activities are answered 503 (nothing is
// dispatched) and Ready says what to configure.
func TestTenantConfiguredAsDomain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		token      string // issued by the token endpoint; "" = testToken (tid = testTenant)
		badSecret  bool   // the token endpoint refuses the app password
		tenant     string // channelData.tenant.id
		wantStatus int
		wantReady  string // part of Ready's error; "" = ready
	}{
		{name: "our tenant", tenant: testTenant, wantStatus: http.StatusAccepted},
		{name: "another tenant", tenant: "0e0e0e0e-0000-4000-8000-000000000bad", wantStatus: http.StatusForbidden},
		{name: "token names no tenant", token: "opaque-token-without-claims", tenant: testTenant,
			wantStatus: http.StatusServiceUnavailable, wantReady: "names no tenant GUID"},
		{name: "no token at all", badSecret: true, tenant: testTenant,
			wantStatus: http.StatusServiceUnavailable, wantReady: "connector token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			e.a.cfg.TenantID = "contoso.onmicrosoft.com"
			if tc.token != "" {
				e.conn.issue.Store(&tc.token)
			}
			if tc.badSecret {
				e.a.conn.tokens.secret = "wrong-password"
			}
			act := messageActivity(e.conn.serviceURL(), "sessions finance")
			act["channelData"] = map[string]any{"tenant": map[string]any{"id": tc.tenant}}
			if rec := e.post(t, e.validToken(t), act); rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.wantStatus, rec.Body)
			}
			submitted, _ := e.d.calls()
			if accepted := tc.wantStatus == http.StatusAccepted; len(submitted) != boolInt(accepted) {
				t.Fatalf("dispatched %d requests, want %d", len(submitted), boolInt(accepted))
			}
			err := e.a.Ready(t.Context())
			switch {
			case tc.wantReady == "" && err != nil:
				t.Fatalf("Ready: %v", err)
			case tc.wantReady != "" && (err == nil || !strings.Contains(err.Error(), tc.wantReady)):
				t.Fatalf("Ready = %v, want an error saying %q", err, tc.wantReady)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSigningKeysAgeAndRemoval: a key set older than its maximum age is
// fetched again on the next request, and a key Microsoft took out of the
// set is refused once the set has been fetched again (by age or by an
// unknown kid), even though it was cached before.
func TestSigningKeysAgeAndRemoval(t *testing.T) {
	t.Parallel()
	ks := testKeys()
	type step struct {
		name      string
		advance   time.Duration
		do        func(e *testEnv) // changes to the published set before the request
		kid       string           // k1 signs with ks[0], k2 and k3 with ks[1]
		want      int
		wantFetch int64 // key set fetches so far
	}
	kept := step{name: "a cached key is used without a fetch", kid: "k2", want: http.StatusAccepted, wantFetch: 1}
	retire := func(e *testEnv) { e.idp.unpublish("k2") }
	scenarios := []struct {
		name  string
		steps []step
	}{
		{"retired key used first after the maximum age", []step{
			kept,
			{name: "retired, but the cache is young: still accepted", advance: keyMaxAge - time.Hour, do: retire, kid: "k2", want: http.StatusAccepted, wantFetch: 1},
			{name: "past the maximum age the set is fetched and the retired key refused", advance: 2 * time.Hour, kid: "k2", want: http.StatusUnauthorized, wantFetch: 3},
			{name: "a key still published is accepted", advance: time.Minute, kid: "k1", want: http.StatusAccepted, wantFetch: 3},
		}},
		{"kept key used first after the maximum age", []step{
			kept,
			{name: "past the maximum age a kept key is accepted after a fetch", advance: keyMaxAge + time.Minute, do: retire, kid: "k1", want: http.StatusAccepted, wantFetch: 2},
			{name: "the retired key is refused", advance: time.Minute, kid: "k2", want: http.StatusUnauthorized, wantFetch: 3},
			{name: "and refused again without a fetch", advance: time.Minute, kid: "k2", want: http.StatusUnauthorized, wantFetch: 3},
		}},
		{"retired while a new key is rolled in", []step{
			kept,
			{name: "a new kid fetches the set, which lacks the retired key", advance: time.Hour, kid: "k3", want: http.StatusAccepted, wantFetch: 2,
				do: func(e *testEnv) {
					retire(e)
					e.idp.publish(publishedKey{kid: "k3", pub: &ks[1].PublicKey, endorsements: []string{"msteams"}})
				}},
			{name: "the retired key is refused within the refetch gap", advance: time.Minute, kid: "k2", want: http.StatusUnauthorized, wantFetch: 2},
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil)
			e.idp.publish(publishedKey{kid: "k2", pub: &ks[1].PublicKey, endorsements: []string{"msteams"}})
			act := messageActivity(e.conn.serviceURL(), "sessions")
			for _, s := range sc.steps {
				e.now.Advance(s.advance)
				if s.do != nil {
					s.do(e)
				}
				key := ks[1]
				if s.kid == "k1" {
					key = ks[0]
				}
				rec := e.post(t, sign(t, key, s.kid, tokenClaimsAt(e.conn.serviceURL(), e.now.Now())), act)
				if rec.Code != s.want {
					t.Fatalf("%s: status %d, want %d", s.name, rec.Code, s.want)
				}
				if got := e.idp.keysHits.Load(); got != s.wantFetch {
					t.Fatalf("%s: key set fetched %d times, want %d", s.name, got, s.wantFetch)
				}
			}
		})
	}
}
