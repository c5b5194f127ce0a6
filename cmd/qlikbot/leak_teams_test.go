package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// The Teams side of the leak tests: AAD object ids of the people, the bot
// registration, and the tenant.
const (
	aadOncall       = "0a0a0a0a-0000-4000-8000-00000000000a"
	aadLead         = "0b0b0b0b-0000-4000-8000-00000000000b"
	aadAdmin        = "0c0c0c0c-0000-4000-8000-00000000000c"
	leakTeamsApp    = "9f2d7c1e-0000-4000-8000-00000000a001"
	leakTeamsPass   = "teams-app-password-for-the-leak-test"
	leakTeamsTenant = "5f3c1b2a-7d4e-4f60-9a1b-2c3d4e5f6a7b"
)

// fakeTeams is Microsoft's side of a Teams bot, over TLS: the Bot
// Framework's OpenID metadata and signing keys (a key the test made), the
// tenant's token endpoint, and the Bot Connector, which records every
// activity qlikbot posts or updates and answers roster lookups.
type fakeTeams struct {
	srv *httptest.Server
	key *rsa.PrivateKey

	mu    sync.Mutex
	sent  []string // "METHOD path body" of every activity posted or updated
	nextN int
}

func newFakeTeams(t *testing.T) *fakeTeams {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTeams{key: key}
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"issuer": "https://api.botframework.com", "jwks_uri": f.srv.URL + "/v1/.well-known/keys",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /v1/.well-known/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"keys": []map[string]any{{
			"kty": "RSA", "use": "sig", "kid": "k1", "endorsements": []string{"msteams"},
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("POST /tenant/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil || r.PostForm.Get("client_id") != leakTeamsApp || r.PostForm.Get("client_secret") != leakTeamsPass {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "connector-token"})
	})
	mux.HandleFunc("GET /amer/v3/conversations/{conv}/members/{user}", func(w http.ResponseWriter, r *http.Request) {
		aad := strings.TrimPrefix(r.PathValue("user"), "29:")
		writeJSON(w, map[string]any{"id": r.PathValue("user"), "aadObjectId": aad, "userRole": "user",
			"email": aad[:8] + "@example.com"})
	})
	mux.HandleFunc("/amer/v3/conversations/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.sent = append(f.sent, r.Method+" "+r.URL.Path+" "+string(body))
		f.nextN++
		n := f.nextN
		f.mu.Unlock()
		writeJSON(w, map[string]string{"id": "act-" + strconv.Itoa(n)})
	})
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // clients dropping idle connections at the end
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTeams) serviceURL() string { return f.srv.URL + "/amer/" }

func (f *fakeTeams) activities() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

// caFile writes the fake's TLS certificate where SSL_CERT_FILE can name
// it: the real program then trusts it like Microsoft's.
func (f *fakeTeams) caFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(path, p, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// token is a Bot Framework token for the fake's serviceUrl, signed by its key.
func (f *fakeTeams) token(t *testing.T) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "https://api.botframework.com", "aud": leakTeamsApp, "serviceurl": f.serviceURL(),
		"exp": time.Now().Add(time.Hour).Unix(), "nbf": time.Now().Add(-time.Minute).Unix(),
	})
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(f.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// activity is a Teams activity from aad in the ops channel of our tenant.
func (f *fakeTeams) activity(aad, typ string, n int) map[string]any {
	return map[string]any{
		"type": typ, "id": "17000000000" + strconv.Itoa(n), "channelId": "msteams", "serviceUrl": f.serviceURL(),
		"from":         map[string]any{"id": "29:" + aad, "name": "User " + aad[:4], "aadObjectId": aad},
		"recipient":    map[string]any{"id": "28:" + leakTeamsApp, "name": "qlikbot"},
		"conversation": map[string]any{"id": "19:ops@thread.tacv2;messageid=1700000000000", "conversationType": "channel", "tenantId": leakTeamsTenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": leakTeamsTenant}, "channel": map[string]any{"id": "19:ops@thread.tacv2"}},
	}
}

// post sends an activity to qlikbot with a valid token and returns the
// status and body of the answer.
func (f *fakeTeams) post(t *testing.T, base string, act map[string]any) (int, string) {
	t.Helper()
	body, _ := json.Marshal(act)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/api/messages", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.token(t))
	return send(t, req)
}

// approveRE finds the Approve action's data on a posted card.
var approveRE = regexp.MustCompile(`"action":"qlik\.approve","value":"([0-9a-f]{32})"`)

// startTeamsBot runs the real program as a Teams bot against the fake Bot
// Framework teams (its OpenID keys, its token endpoint, its CA), with
// policy, a bolt store and the download links at its own public listener,
// plus the extra settings; it returns once that listener answers.
func startTeamsBot(t *testing.T, teams *fakeTeams, policy string, extra ...string) (bot *botProc, base, dir string) {
	t.Helper()
	dir = t.TempDir()
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base = "http://" + addr
	env := cleanEnv(append([]string{
		"QLIKBOT_STORE=bolt://" + filepath.Join(dir, "state.db"),
		"QLIKBOT_POLICY=" + policyFile,
		"QLIKBOT_HTTP_ADDR=" + addr, "QLIKBOT_ADMIN_ADDR=off",
		"QLIKBOT_PUBLIC_URL=" + base,
		"QLIKBOT_TEAMS_APP_ID=" + leakTeamsApp, "QLIKBOT_TEAMS_APP_PASSWORD=" + leakTeamsPass,
		"QLIKBOT_TEAMS_TENANT_ID=" + leakTeamsTenant,
		"QLIKBOT_TEAMS_OPENID_URL=" + teams.srv.URL + "/v1/.well-known/openidconfiguration",
		"QLIKBOT_TEAMS_TOKEN_URL=" + teams.srv.URL + "/tenant/oauth2/v2.0/token",
		"SSL_CERT_FILE=" + teams.caFile(t),
	}, extra...)...)
	bot = startBot(t, env, dir)
	waitFor(t, 60*time.Second, "qlikbot's public listener", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return bot, base, dir
}

// TestNoSessionIDLeaksTeams runs the real program (the demo's built-in
// simulators, debug log) as a Teams bot: real JWTs checked against the
// fake's OpenID keys, replies to the fake connector, the CSV of long lists
// fetched through the download links at QLIKBOT_PUBLIC_URL. Then it looks
// for every session id of the demo's labs in every activity, invoke
// answer, downloaded file, log line and the bolt store.
func TestNoSessionIDLeaksTeams(t *testing.T) {
	t.Parallel()
	teams := newFakeTeams(t)
	bot, base, dir := startTeamsBot(t, teams, leakPolicy,
		"QLIKBOT_LOG_LEVEL=debug", "QLIKBOT_LOG_FORMAT=json",
		"QLIKBOT_PAGE_SIZE=1",
		"QLIKBOT_USER_RATE=1000", "QLIKBOT_USER_BURST=1000",
	)

	// The demo's prod site is the seed lab: the finance sessions are
	// kicked, one session elsewhere is ended by its pasted full id.
	var finance []string
	var win qliksim.LabSession
	for _, s := range qliksim.SeedLab().Sessions {
		switch s.Prefix {
		case "finance":
			finance = append(finance, s.Session.ID)
		case "win":
			win = s
		}
	}
	if len(finance) != 2 || win.Session.ID == "" {
		t.Fatalf("the seed lab has %d finance sessions and win session %q; the story needs 2 and one", len(finance), win.Session.ID)
	}

	var scan leakScan
	n := 0
	say := func(aad, text string) string {
		t.Helper()
		n++
		before := len(teams.activities())
		act := teams.activity(aad, "message", n)
		act["text"] = "<at>qlikbot</at> " + text
		code, body := teams.post(t, base, act)
		if code != http.StatusAccepted && code != http.StatusOK {
			t.Fatalf("%s: %d %s", text, code, body)
		}
		scan.add("the answer to the activity "+text, body)
		var got []string
		waitFor(t, 20*time.Second, "the card answering "+text, func() bool {
			got = teams.activities()
			return len(got) > before
		})
		return got[before]
	}
	say(aadOncall, "sessions finance")
	say(aadOncall, "users")
	if got := say(aadAdmin, "delete win "+strings.ToUpper(win.Session.ID)); !strings.Contains(got, "Deleted 1") {
		t.Fatalf("the pasted delete: %s", got)
	}
	kickCard := "act-" + strconv.Itoa(len(teams.activities())+1) // the connector's id of the next activity
	m := approveRE.FindStringSubmatch(say(aadLead, "kick finance"))
	if m == nil {
		t.Fatalf("no Approve action on the approval card:\n%s", teams.activities())
	}
	n++
	inv := teams.activity(aadAdmin, "invoke", n)
	inv["name"], inv["replyToId"] = "adaptiveCard/action", kickCard
	inv["value"] = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": "qlik.approve",
		"data": map[string]any{"action": "qlik.approve", "value": m[1]}}}
	code, outcome := teams.post(t, base, inv)
	if code != http.StatusOK || !strings.Contains(outcome, "Approved") {
		t.Fatalf("the approve click: %d %s", code, outcome)
	}
	scan.add("the answer to the approve click", outcome)
	say(aadAdmin, "audit 100")
	say(aadOncall, "sessions finance")

	// The CSV of every long list, downloaded as a Teams user would.
	rendered := strings.Join(teams.activities(), "\n") + "\n" + outcome
	links := regexp.MustCompile(regexp.QuoteMeta(base)+`/files/[0-9a-f]{32}/[^"\s\\]+`).FindAllString(rendered, -1)
	var files strings.Builder
	for _, link := range links {
		resp, err := http.Get(link)
		if err != nil {
			t.Fatalf("download %s: %v", link, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("download %s: %d %s", link, resp.StatusCode, b)
		}
		u, _ := url.Parse(link)
		scan.add("the download "+u.Path[len(u.Path)-min(len(u.Path), 20):], string(b))
		files.Write(b)
	}
	if len(links) < 4 {
		t.Errorf("%d download links, want the CSV of the list, users, the approval and the outcome at least:\n%s", len(links), rendered)
	}
	bot.terminate(t)

	scan.add("the Teams activities and invoke answers", rendered)
	scan.add("the log", bot.stderr.String())
	scan.add("standard output", bot.stdout.String())
	scan.addBolt(t, filepath.Join(dir, "state.db"))
	// A card shows one row; the downloaded CSV every row.
	wantHandles(t, "the Teams cards", rendered, []string{finance[0], win.Session.ID})
	wantHandles(t, "the downloaded CSV files", files.String(), finance)
	wantHandles(t, "the stored audit trail", scan.text("the bolt store, bucket audit"), append(finance, win.Session.ID))
	if !strings.Contains(bot.stderr.String(), `"level":"DEBUG"`) {
		t.Error("nothing was logged at debug level")
	}
	ids := heldIDs{}
	for _, lab := range []qliksim.Lab{qliksim.SeedLab(), demoTestLab()} {
		for _, s := range lab.Sessions {
			ids.add(s.Session.ID)
		}
	}
	scan.check(t, ids)
}
