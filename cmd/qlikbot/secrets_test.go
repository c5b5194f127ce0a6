package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store/storetest"
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

// TestNoSecretsInLogsOrReplies configures every secret qlikbot takes, runs
// flows that touch each of them at debug level, and looks for the secrets in
// every log line and every reply.
func TestNoSecretsInLogsOrReplies(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qliksim.WithLab(qliksim.SeedLab()))
	redisAddr := storetest.StartRedis(t)
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
		"state key":            leakForms(testStateKey),
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
	base := "http://" + chat.public.Addr().String()
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
	// A kick by the lead, approved with a click by the admin.
	code, ack = slashCommand(t, base, slackSigningSecret, "U0LEAD", "kick finance", slack.srv.URL+"/response/kick")
	if code != http.StatusOK {
		t.Fatalf("signed slash command: %d %s", code, ack)
	}
	replies = append(replies, ack)
	waitFor(t, 10*time.Second, "the approval request on Slack", func() bool { return len(slack.posts("/response/kick")) > 0 })
	actionID, value := slackButton(t, slack.posts("/response/kick")[0], "qlik.approve")
	code, ack = slackClick(t, base, slackSigningSecret, "U0ADMIN", actionID, value, slack.srv.URL+"/response/click")
	if code != http.StatusOK {
		t.Fatalf("signed click: %d %s", code, ack)
	}
	replies = append(replies, ack)
	waitFor(t, 10*time.Second, "the approval outcome on Slack", func() bool { return len(slack.posts("/response/click")) > 0 })
	if got := slack.posts("/response/click")[0]; !strings.Contains(got, "Approved") {
		t.Errorf("the click did not approve the kick: %s", got)
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
		if code != http.StatusUnauthorized {
			t.Errorf("Teams activity with a bad token answered %d %s, want 401", code, body)
		}
		replies = append(replies, body)
	}

	// Console: the same secrets configured, chat platforms off, and new
	// finance sessions (Slack's kick ended the others) to kick.
	for _, u := range []string{"ann", "bob"} {
		if _, err := sim.AddSession(sim.Hosts()[0], "finance", qliksim.Session{UserDirectory: "LAB", UserID: u}); err != nil {
			t.Fatal(err)
		}
	}
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
	if !strings.Contains(con.out.String(), "Approved: end 2 sessions on finance") {
		t.Errorf("the console's kick was not approved:\n%s", con.out.String())
	}
	// A Qlik failure on the console too, and the store's answers.
	sim.SetFaultAll(qliksim.Fault{ErrorRate: 1})
	if r := con.ask(t.Context(), "admin", "sessions finance"); r.Kind != bot.Error && r.Kind != bot.Warning {
		t.Errorf("sessions with every Qlik call failing: %v %q", r.Kind, r.Title)
	} else {
		replies = append(replies, bot.PlainText(r))
	}
	sim.SetFaultAll(qliksim.Fault{})

	chat.shutdown(t)
	con.shutdown(t)

	// The program's own front door: -h and configuration errors, with
	// every secret in the environment.
	env := cleanEnv(
		"QLIKBOT_SLACK_SIGNING_SECRET="+slackSigningSecret,
		"QLIKBOT_SLACK_BOT_TOKEN="+slackBotToken,
		"QLIKBOT_SLACK_APP_TOKEN="+slackAppToken,
		"QLIKBOT_TEAMS_APP_PASSWORD="+teamsAppPassword,
		"QLIKBOT_STATE_KEY="+testStateKey,
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
		{"teams without tenant", []string{"QLIKBOT_TEAMS_APP_ID=9f2d7c1e-0000-4000-8000-00000000a001", "QLIKBOT_QLIK_HOST=", "QLIKBOT_STORE=" + storeURL}, "", nil},
		{"redis url with a bad port", []string{"QLIKBOT_STORE=redis://:" + redisPassword + "@127.0.0.1:notaport/0"}, "", nil},
		{"state key too short", []string{"QLIKBOT_STATE_KEY=" + testStateKey[:20]}, "", nil},
		{"old state key not a key", []string{"QLIKBOT_STATE_OLD_KEYS=" + testStateKey + "," + testStateKey[:20]}, "", nil},
		{"redis wrong password", []string{"QLIKBOT_STORE=redis://:x" + redisPassword + "@" + redisAddr + "/0"}, "--as admin /qlik audit\n", nil},
	}
	for _, r := range runs {
		res := runBinary(t, append(slices.Clone(env), r.env...), r.stdin, r.args...)
		if r.name != "help" && r.name != "redis wrong password" && res.code != 2 {
			t.Errorf("%s: exit %d, want 2 (stderr %q)", r.name, res.code, res.stderr)
		}
		if r.name == "redis wrong password" && !strings.Contains(res.stderr, "WRONGPASS") {
			t.Errorf("%s: the store error did not reach the log:\n%s", r.name, res.stderr)
		}
		secrets.check(t, r.name+" stdout", res.stdout)
		secrets.check(t, r.name+" stderr", res.stderr)
		if strings.Contains(res.stdout+res.stderr, testStateKey[:20]) {
			t.Errorf("%s: the output repeats a state key it refused:\n%s", r.name, res.stderr)
		}
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

// TestLeakFormsFindEncodedSecrets shows the checker above can fail: a
// secret inside Basic auth, a URL or a JSON string is found.
func TestLeakFormsFindEncodedSecrets(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-but-longer-secret"
	tests := []struct {
		name string
		text string
	}{
		{"plain", `{"msg":"token=` + secret + `"}`},
		{"url escaped", "https://x/?p=" + url.QueryEscape(secret+"&")},
		{"basic auth, offset 0", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(secret+":x"))},
		{"basic auth, offset 1", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+secret))},
		{"basic auth, offset 2", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("us:"+secret))},
		{"url-safe base64", base64.RawURLEncoding.EncodeToString([]byte("xx" + secret + "yy"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			found := false
			for _, f := range leakForms(secret) {
				found = found || strings.Contains(tt.text, f)
			}
			if !found {
				t.Errorf("leakForms misses the secret in %q", tt.text)
			}
		})
	}
}
