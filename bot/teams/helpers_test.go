package teams

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

const (
	testAppID  = "9f2d7c1e-0000-4000-8000-00000000a001"
	testTenant = "5f3c1b2a-7d4e-4f60-9a1b-2c3d4e5f6a7b" // the Directory (tenant) ID
	testSecret = "s3cr3t-app-password-never-logged"
	testAAD    = "0b8d1c7e-1111-4222-8333-444455556666"
	// testToken is shaped like an Entra access token: its payload names
	// testTenant as "tid" (see tokenTenant).
	testToken = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2FwaS5ib3RmcmFtZXdvcmsuY29tIiwidGlkIjoiNWYzYzFiMmEtN2Q0ZS00ZjYwLTlhMWItMmMzZDRlNWY2YTdiIiwibm90ZSI6ImNvbm5lY3Rvci1hY2Nlc3MtdG9rZW4tbmV2ZXItbG9nZ2VkIn0.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"
)

// t0 is the injected "now" of every test.
var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// Generating RSA keys is slow under -race: share two across tests. They
// are never written after creation.
var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

// publishedKey is one key the fake identity provider serves.
type publishedKey struct {
	kid          string
	pub          *rsa.PublicKey
	endorsements []string
}

// fakeIdP serves OpenID metadata and a JWKS with endorsements over TLS
// and counts hits.
type fakeIdP struct {
	srv       *httptest.Server
	metaHits  atomic.Int64
	keysHits  atomic.Int64
	mu        sync.Mutex
	published []publishedKey
	gate      chan struct{} // when set, key set requests wait for it to close
}

func newFakeIdP(t testing.TB, keys ...publishedKey) *fakeIdP {
	t.Helper()
	f := &fakeIdP{published: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", func(w http.ResponseWriter, r *http.Request) {
		f.metaHits.Add(1)
		writeJSON(w, map[string]any{
			"issuer":                                "https://api.botframework.com",
			"jwks_uri":                              f.srv.URL + "/v1/.well-known/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /v1/.well-known/keys", func(w http.ResponseWriter, r *http.Request) {
		f.keysHits.Add(1)
		f.mu.Lock()
		gate := f.gate
		f.mu.Unlock()
		if gate != nil {
			<-gate
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		var ks []map[string]any
		for _, k := range f.published {
			ks = append(ks, map[string]any{
				"kty": "RSA", "use": "sig", "kid": k.kid,
				"n":            base64.RawURLEncoding.EncodeToString(k.pub.N.Bytes()),
				"e":            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.pub.E)).Bytes()),
				"endorsements": k.endorsements,
			})
		}
		writeJSON(w, map[string]any{"keys": ks})
	})
	f.srv = startTLS(t, mux)
	return f
}

// startTLS starts an httptest TLS server whose handshake noise (clients
// dropping idle connections at cleanup) stays out of the test output.
func startTLS(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeIdP) publish(k publishedKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, k)
}

// unpublish takes the key with kid out of the key set, as Microsoft does
// when it retires a key.
func (f *fakeIdP) unpublish(kid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = slices.DeleteFunc(f.published, func(k publishedKey) bool { return k.kid == kid })
}

// hold makes key set requests wait until the returned func is called.
func (f *fakeIdP) hold() (release func()) {
	gate := make(chan struct{})
	f.mu.Lock()
	f.gate = gate
	f.mu.Unlock()
	return sync.OnceFunc(func() { close(gate) })
}

func (f *fakeIdP) metadataURL() string { return f.srv.URL + "/v1/.well-known/openidconfiguration" }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// tokenClaims builds Bot Framework claims valid at t0.
func tokenClaims(serviceURL string) jwt.MapClaims { return tokenClaimsAt(serviceURL, t0) }

// tokenClaimsAt builds Bot Framework claims valid at now.
func tokenClaimsAt(serviceURL string, t0 time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":        "https://api.botframework.com",
		"aud":        testAppID,
		"exp":        t0.Add(time.Hour).Unix(),
		"nbf":        t0.Add(-time.Minute).Unix(),
		"serviceurl": serviceURL,
	}
}

func sign(t testing.TB, key *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}

// recordingDispatcher records what reaches it and answers Do with a fixed
// reply.
type recordingDispatcher struct {
	mu        sync.Mutex
	submitted []bot.Request
	done      []bot.Request
	reply     bot.Reply
	doHook    func(ctx context.Context, req bot.Request) bot.Reply
}

func (d *recordingDispatcher) Submit(_ context.Context, req bot.Request) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.submitted = append(d.submitted, req)
	return nil
}

func (d *recordingDispatcher) Do(ctx context.Context, req bot.Request) bot.Reply {
	d.mu.Lock()
	d.done = append(d.done, req)
	hook, rep := d.doHook, d.reply
	d.mu.Unlock()
	if hook != nil {
		return hook(ctx, req)
	}
	return rep
}

func (d *recordingDispatcher) calls() (submitted, done []bot.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]bot.Request(nil), d.submitted...), append([]bot.Request(nil), d.done...)
}

// testEnv is an adapter wired to a fake IdP and a fake connector.
type testEnv struct {
	a    *Adapter
	idp  *fakeIdP
	conn *fakeConnector
	d    *recordingDispatcher
	key  *rsa.PrivateKey
	now  *fakeClock
	logs *syncWriter
}

// fakeClock is a clock tests move by hand.
type fakeClock = testkit.Clock

// syncWriter is a log sink safe for concurrent writes.
type syncWriter = testkit.Buffer

func newTestEnv(t testing.TB, d Dispatcher, opts ...Option) *testEnv {
	t.Helper()
	key := testKeys()[0]
	idp := newFakeIdP(t, publishedKey{kid: "k1", pub: &key.PublicKey, endorsements: []string{"msteams"}})
	conn := newFakeConnector(t)
	connHost := strings.TrimPrefix(conn.srv.URL, "https://")
	clock := testkit.NewClock(t0)
	logs := &syncWriter{}
	rd, _ := d.(*recordingDispatcher)
	if d == nil {
		rd = &recordingDispatcher{}
		d = rd
	}
	base := []Option{
		WithHTTPClient(idp.srv.Client()), // httptest TLS servers share one certificate
		WithClock(clock.Now),
		WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		// Roster lookups are on by default; tests of them turn them on
		// again, the others count connector calls and tokens without them.
		WithUserEmails(0),
		// Proactive messages may go to the fake connector, and only there.
		WithServiceURLCheck(func(u *url.URL) bool { return u.Scheme == "https" && u.Host == connHost }),
	}
	a, err := New(Config{
		AppID: testAppID, AppPassword: testSecret, TenantID: testTenant,
		OpenIDMetadataURL: idp.metadataURL(), TokenURL: conn.tokenURL(),
	}, d, append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	a.conn.sleep = func(context.Context, time.Duration) error { return nil }
	return &testEnv{a: a, idp: idp, conn: conn, d: rd, key: key, now: clock, logs: logs}
}

// post sends an activity to the adapter's handler with the given token.
func (e *testEnv) post(t *testing.T, token string, act map[string]any) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	e.a.Handler().ServeHTTP(rec, postRequest(t, token, act))
	return rec
}

// postRequest is the connector's POST of act to the messaging endpoint.
func postRequest(t *testing.T, token string, act map[string]any) *http.Request {
	t.Helper()
	body, err := json.Marshal(act)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/messages", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// validToken signs a token for the fake connector's serviceUrl.
func (e *testEnv) validToken(t *testing.T) string {
	return sign(t, e.key, "k1", tokenClaimsAt(e.conn.serviceURL(), e.now.Now()))
}

func messageActivity(serviceURL, text string) map[string]any {
	return map[string]any{
		"type": "message", "id": "1700000000001", "channelId": "msteams", "serviceUrl": serviceURL,
		"from":         map[string]any{"id": "29:1abc", "name": "Ann Admin", "aadObjectId": testAAD},
		"recipient":    map[string]any{"id": "28:" + testAppID, "name": "qlikbot"},
		"conversation": map[string]any{"id": "19:ops@thread.tacv2;messageid=1700000000000", "conversationType": "channel", "tenantId": testTenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": testTenant}, "channel": map[string]any{"id": "19:ops@thread.tacv2"}},
		"text":         text,
	}
}
