package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// Known secret values; each is long enough that a partial base64 of it is
// still distinctive.
const (
	slackSigningSecret = "sign-4f0c7e1b9a2d4c55aa6e3d21"
	slackBotToken      = "xoxb-1111-2222-botTokenSecretValue"
	slackAppToken      = "xapp-1-A0-appTokenSecretValue9"
	teamsAppPassword   = "teams~Pw.secretValue_1234567"
	redisPassword      = "redisPassw0rdSecretValue77"
)

// leakForms are the spellings of secret that must appear nowhere: the
// value, URL-escaped, and its base64 (standard and URL alphabets) at each
// of the three alignments it can take inside a longer encoded string, e.g.
// HTTP Basic auth "user:secret".
func leakForms(secret string) []string {
	forms := []string{secret, url.QueryEscape(secret)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for off := range 3 {
			s := enc.EncodeToString(append(make([]byte, off), secret...))
			if off > 0 {
				s = s[4:] // the block holding the prefix
			}
			forms = append(forms, s[:len(s)-4]) // the block depending on what follows
		}
	}
	return forms
}

// pemForms are the base64 lines of a PEM file's body: any one of them in a
// log is a piece of the key.
func pemForms(t *testing.T, data []byte) []string {
	t.Helper()
	var forms []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			forms = append(forms, line)
		}
	}
	if blk, _ := pem.Decode(data); blk == nil || len(forms) == 0 {
		t.Fatalf("the key file is not PEM")
	}
	return forms
}

type secretSet map[string][]string // name -> forms

// check reports every secret found in text, which came from where.
func (ss secretSet) check(t *testing.T, where, text string) {
	t.Helper()
	if text == "" {
		return
	}
	for name, forms := range ss {
		for _, f := range forms {
			if strings.Contains(text, f) {
				i := strings.Index(text, f)
				t.Errorf("%s contains the %s (as %q) near: %q", where, name, f, text[max(0, i-80):min(len(text), i+len(f)+40)])
				break
			}
		}
	}
}

// fakeSlack stands in for Slack's Web API and response_url hooks and
// records what qlikbot sends there (its replies).
type fakeSlack struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []string // "path body"
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hits = append(f.hits, r.URL.Path+" "+string(body))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"channel":"C0OPS","ts":"1700000000.000100"}`)
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
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, "v0:"+ts+":"+body)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/slack/commands", strings.NewReader(body))
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

// TestNoSecretsInLogsOrReplies configures every secret qlikbot takes, runs
// flows that touch each of them at debug level, and looks for the secrets in
// every log line and every reply.
func TestNoSecretsInLogsOrReplies(t *testing.T) {
	t.Parallel()
	began := time.Now()
	sim := startSim(t, qliksim.WithLab(qliksim.SeedLab()))
	redisAddr := startRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	if err := rc.ConfigSet(t.Context(), "requirepass", redisPassword).Err(); err != nil {
		t.Fatalf("set the redis password: %v", err)
	}
	rc.Close()
	storeURL := "redis://:" + redisPassword + "@" + redisAddr + "/0"

	slack := newFakeSlack(t)
	cfg := simConfig(t, sim, storeURL)
	keyPEM, err := os.ReadFile(cfg.QlikKey)
	if err != nil {
		t.Fatal(err)
	}
	secrets := secretSet{
		"Slack signing secret": leakForms(slackSigningSecret),
		"Slack bot token":      leakForms(slackBotToken),
		"Slack app token":      leakForms(slackAppToken),
		"Teams app password":   leakForms(teamsAppPassword),
		"Redis password":       leakForms(redisPassword),
		"Qlik client key":      pemForms(t, keyPEM),
	}
	cfg.LogLevel = "debug"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SlackMode = "http"
	cfg.SlackSigningSecret = slackSigningSecret
	cfg.SlackBotToken = slackBotToken
	cfg.SlackAppToken = slackAppToken
	cfg.SlackAPIURL = slack.srv.URL + "/api/"
	cfg.TeamsAppID = "9f2d7c1e-0000-4000-8000-00000000a001"
	cfg.TeamsAppPassword = teamsAppPassword
	cfg.TeamsTenantID = "contoso.onmicrosoft.com"
	// Unreachable on purpose: fetching keys fails and is logged; the
	// requests below carry bad tokens anyway.
	cfg.TeamsOpenIDURL = "https://127.0.0.1:1/v1/.well-known/openidconfiguration"
	cfg.TeamsTokenURL = "https://127.0.0.1:1/tenant/oauth2/v2.0/token"

	logs := &syncBuffer{}
	chat := startApp(t, cfg, logs)
	base := "http://" + chat.listener.Addr().String()
	var replies []string // every answer qlikbot gave, besides Slack posts

	// Slack: a correctly signed list, a wrongly signed one, a Qlik failure.
	code, ack := slashCommand(t, base, slackSigningSecret, "U0ADMIN", "sessions finance", slack.srv.URL+"/response/1")
	if code != http.StatusOK {
		t.Fatalf("signed slash command: %d %s", code, ack)
	}
	replies = append(replies, ack)
	waitFor(t, 10*time.Second, "the reply on response_url 1", func() bool { return len(slack.posts("/response/1")) > 0 })
	if !strings.Contains(slack.posts("/response/1")[0], "Total sessions") {
		t.Errorf("the Slack reply is not the session list: %s", slack.posts("/response/1")[0])
	}
	code, ack = slashCommand(t, base, "not-"+slackSigningSecret, "U0ADMIN", "sessions", slack.srv.URL+"/response/2")
	if code != http.StatusUnauthorized {
		t.Errorf("wrongly signed slash command: %d, want 401", code)
	}
	replies = append(replies, ack)
	sim.SetFaultAll(qliksim.Fault{ErrorRate: 1})
	code, ack = slashCommand(t, base, slackSigningSecret, "U0ADMIN", "sessions finance", slack.srv.URL+"/response/3")
	if code != http.StatusOK {
		t.Fatalf("signed slash command: %d %s", code, ack)
	}
	replies = append(replies, ack)
	waitFor(t, 20*time.Second, "the reply on response_url 3", func() bool { return len(slack.posts("/response/3")) > 0 })
	sim.SetFaultAll(qliksim.Fault{})

	// Teams: a token that is not a JWT, and one signed by a stranger's key.
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "https://api.botframework.com", "aud": cfg.TeamsAppID, "serviceurl": "https://smba.trafficmanager.net/amer/",
		"exp": time.Now().Add(time.Hour).Unix(), "nbf": time.Now().Add(-time.Minute).Unix(),
	})
	tok.Header["kid"] = "stranger"
	forged, err := tok.SignedString(stranger)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"not-a-jwt", forged} {
		code, body := teamsActivity(t, base, bad)
		if code/100 == 2 {
			t.Errorf("Teams activity with a bad token answered %d %s", code, body)
		}
		replies = append(replies, body)
	}

	// Console: the same secrets configured, chat platforms off.
	ccfg := cfg
	ccfg.SlackMode, ccfg.TeamsAppID, ccfg.HTTPAddr = "", "", ""
	con := startApp(t, ccfg, logs)
	for _, line := range []string{
		"/qlik sessions finance",
		"--as lead /qlik kick finance",
		"--as admin /click 1", "y",
		"--as admin /qlik audit",
		"/qlik whoami",
		"/qlik delete finance not-a-session-id",
	} {
		if _, err := io.WriteString(con.in, line+"\n"); err != nil {
			t.Fatalf("console input: %v", err)
		}
	}
	waitFor(t, 20*time.Second, "the console's answers", func() bool {
		return strings.Count(con.out.String(), "[console:") >= 6
	})
	// A Qlik failure on the console too, and the store's answers.
	sim.SetFaultAll(qliksim.Fault{ErrorRate: 1})
	if r := con.ask(t.Context(), "admin", "sessions finance"); r.Kind != bot.Error && r.Kind != bot.Warning {
		t.Errorf("sessions with every Qlik call failing: %v %q", r.Kind, r.Title)
	} else {
		replies = append(replies, bot.PlainText(r))
	}
	sim.SetFaultAll(qliksim.Fault{})

	t.Logf("in-process flows: %v", time.Since(began))
	chat.shutdown(t)
	con.shutdown(t)

	// The program's own front door: -h and configuration errors, with
	// every secret in the environment.
	env := cleanEnv(
		"QLIKBOT_SLACK_SIGNING_SECRET="+slackSigningSecret,
		"QLIKBOT_SLACK_BOT_TOKEN="+slackBotToken,
		"QLIKBOT_SLACK_APP_TOKEN="+slackAppToken,
		"QLIKBOT_TEAMS_APP_PASSWORD="+teamsAppPassword,
		"QLIKBOT_LOG_LEVEL=debug",
	)
	runs := []struct {
		name  string
		env   []string
		stdin string
		args  []string
	}{
		{"help", nil, "", []string{"-h"}},
		{"slack mode rtm", []string{"QLIKBOT_SLACK_MODE=rtm"}, "", nil},
		{"teams without tenant", []string{"QLIKBOT_TEAMS_APP_ID=app", "QLIKBOT_QLIK_HOST=", "QLIKBOT_STORE=" + storeURL}, "", nil},
		{"redis url with a bad port", []string{"QLIKBOT_STORE=redis://:" + redisPassword + "@127.0.0.1:notaport/0"}, "", nil},
		{"redis wrong password", []string{"QLIKBOT_STORE=redis://:x" + redisPassword + "@" + redisAddr + "/0"}, "--as admin /qlik audit\n", nil},
	}
	for _, r := range runs {
		start := time.Now()
		res := runBinary(t, append(slicesClone(env), r.env...), r.stdin, r.args...)
		if r.name != "help" && r.name != "redis wrong password" && res.code != 2 {
			t.Errorf("%s: exit %d, want 2 (stderr %q)", r.name, res.code, res.stderr)
		}
		t.Logf("%s: %v", r.name, time.Since(start))
		if r.name == "redis wrong password" && !strings.Contains(res.stderr, "WRONGPASS") {
			t.Errorf("%s: the store error did not reach the log:\n%s", r.name, res.stderr)
		}
		secrets.check(t, r.name+" stdout", res.stdout)
		secrets.check(t, r.name+" stderr", res.stderr)
	}

	// Everything qlikbot said, to people and to its log.
	secrets.check(t, "the log", logs.String())
	secrets.check(t, "the console", con.out.String())
	secrets.check(t, "the Slack posts", slack.all())
	for i, r := range replies {
		secrets.check(t, "reply "+strconv.Itoa(i), r)
	}
	// The flows above really ran and were logged at debug level.
	for _, want := range []string{`"level":"DEBUG"`, "slack request refused", "retrying Qlik call"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s: the flow did not run as intended", want)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s\nconsole:\n%s\nslack:\n%s", logs.String(), con.out.String(), slack.all())
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
