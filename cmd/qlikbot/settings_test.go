package main

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// TestEveryVariableBadValue gives the real program each QLIKBOT_* variable
// with a value it must refuse, with whatever else makes that value matter,
// and checks the answer: exit 2, nothing run, and one line that names the
// variable and its value, or for a secret, never the value.
func TestEveryVariableBadValue(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	qlikEnv, dir := binaryEnv(t, sim)
	certs := func(name string) string { return filepath.Join(dir, name) }
	emptyPolicy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(emptyPolicy, []byte("grants: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const appID = "9f2d7c1e-0000-4000-8000-00000000a001"
	teams := []string{"QLIKBOT_TEAMS_APP_ID=" + appID, "QLIKBOT_TEAMS_APP_PASSWORD=pw-secret-value", "QLIKBOT_TEAMS_TENANT_ID=contoso.onmicrosoft.com"}

	type badCase struct {
		value string
		env   []string // what else must be set for the value to matter
		qlik  bool     // on top of a real Qlik configuration (the simulator's files)
	}
	cases := map[string]badCase{
		"QLIKBOT_QLIK_HOST":                 {value: "https://qlik.example.com", env: []string{"QLIKBOT_POLICY=" + emptyPolicy}},
		"QLIKBOT_QLIK_QRS_PORT":             {value: "70000"},
		"QLIKBOT_QLIK_QPS_PORT":             {value: "abc"},
		"QLIKBOT_QLIK_CERT":                 {value: "/nonexistent/client.pem", qlik: true},
		"QLIKBOT_QLIK_KEY":                  {value: certs("client.pem"), qlik: true}, // a certificate, not its key
		"QLIKBOT_QLIK_ROOT":                 {value: certs("client_key.pem"), qlik: true},
		"QLIKBOT_QLIK_INSECURE_SKIP_VERIFY": {value: "maybe"},
		"QLIKBOT_QLIK_USER":                 {value: "sa_api"},
		"QLIKBOT_QLIK_TIMEOUT":              {value: "0s"},
		"QLIKBOT_QLIK_CONCURRENCY":          {value: "0"},
		"QLIKBOT_QLIK_RPS":                  {value: "-1"},
		"QLIKBOT_QLIK_TOPOLOGY_TTL":         {value: "soon"},
		"QLIKBOT_QLIK_RESOLVE":              {value: "nohost"},
		"QLIKBOT_SITES":                     {value: "/nonexistent/sites.yaml", env: []string{"QLIKBOT_POLICY=" + emptyPolicy}},
		"QLIKBOT_QLIK_ENGINE_PORT":          {value: "70000"},
		"QLIKBOT_HEALTH_CPU_WARN":           {value: "0"},
		"QLIKBOT_HEALTH_MEM_FREE_WARN":      {value: "100"},
		"QLIKBOT_POLICY":                    {value: "/nonexistent/policy.yaml"},
		"QLIKBOT_STORE":                     {value: "mysql://db/qlikbot"},
		"QLIKBOT_STORE_CA":                  {value: "/nonexistent/ca.pem", env: []string{"QLIKBOT_STORE=rediss://127.0.0.1:1/0", "QLIKBOT_STATE_KEY=" + testStateKey}},
		"QLIKBOT_STATE_KEY":                 {value: "c2hvcnQta2V5LXNlY3JldA=="},
		"QLIKBOT_STATE_OLD_KEYS":            {value: testStateKey + ",c2hvcnQta2V5LXNlY3JldA=="},
		"QLIKBOT_SLACK_MODE":                {value: "rtm"},
		"QLIKBOT_SLACK_BOT_TOKEN":           {value: "not-a-bot-token-value", env: []string{"QLIKBOT_SLACK_MODE=http", "QLIKBOT_SLACK_SIGNING_SECRET=sign-value"}},
		"QLIKBOT_SLACK_APP_TOKEN":           {value: "not-an-app-token-value", env: []string{"QLIKBOT_SLACK_MODE=socket", "QLIKBOT_SLACK_BOT_TOKEN=xoxb-1"}},
		"QLIKBOT_SLACK_SIGNING_SECRET":      {value: "", env: []string{"QLIKBOT_SLACK_MODE=http", "QLIKBOT_SLACK_BOT_TOKEN=xoxb-1"}},
		"QLIKBOT_SLACK_API_URL":             {value: "ftp://slack.example.com"},
		"QLIKBOT_SLACK_COMMAND":             {value: "qlik"},
		"QLIKBOT_SLACK_EMAIL_CACHE":         {value: "-1h"},
		"QLIKBOT_TEAMS_APP_ID":              {value: "my-bot"},
		"QLIKBOT_TEAMS_APP_PASSWORD":        {value: "", env: teams[:1]},
		"QLIKBOT_TEAMS_TENANT_ID":           {value: "contoso/evil", env: teams[:2]},
		"QLIKBOT_TEAMS_OPENID_URL":          {value: "http://x", env: teams},
		"QLIKBOT_TEAMS_TOKEN_URL":           {value: "http://login.example.com/token", env: teams},
		"QLIKBOT_CONSOLE_USER":              {value: "bad user"},
		"QLIKBOT_PUBLIC_URL":                {value: "http://bot.example.com", env: teams},
		"QLIKBOT_FILE_TTL":                  {value: "0s"},
		"QLIKBOT_HTTP_ADDR":                 {value: "bad address"},
		"QLIKBOT_ADMIN_ADDR":                {value: "9090", env: []string{"QLIKBOT_HTTP_ADDR=127.0.0.1:0"}},
		"QLIKBOT_WORKERS":                   {value: "0"},
		"QLIKBOT_QUEUE_SIZE":                {value: "0"},
		"QLIKBOT_USER_RATE":                 {value: "0"},
		"QLIKBOT_USER_BURST":                {value: "-1"},
		"QLIKBOT_REQUEST_TIMEOUT":           {value: "0s"},
		"QLIKBOT_PAGE_SIZE":                 {value: "101"},
		"QLIKBOT_SHUTDOWN_TIMEOUT":          {value: "-1s"},
		"QLIKBOT_SHUTDOWN_DRAIN":            {value: "-1s"},
		"QLIKBOT_LOG_LEVEL":                 {value: "loud"},
		"QLIKBOT_LOG_FORMAT":                {value: "xml"},
		"QLIKBOT_WATCH_INTERVAL":            {value: "100ms"},
		"QLIKBOT_ALERTS":                    {value: "/nonexistent/alerts.yaml"},
		"QLIKBOT_HISTORY_RAW":               {value: "1m"},
		"QLIKBOT_HISTORY_KEEP":              {value: "1h"},
	}

	typ := reflect.TypeFor[Config]()
	fields := map[string]reflect.StructField{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		fields[f.Tag.Get("envconfig")] = f
	}
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if _, ok := cases[name]; !ok {
			t.Errorf("%s has no bad value in this test: add one", name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		tc := cases[name]
		f, ok := fields[name]
		if !ok {
			t.Errorf("%s is not a setting", name)
			continue
		}
		secret := f.Type == reflect.TypeFor[bot.Secret]()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// Listeners, if a mistake let one open, on free ports only.
			env := cleanEnv("QLIKBOT_HTTP_ADDR=", "QLIKBOT_ADMIN_ADDR=127.0.0.1:0")
			if tc.qlik {
				env = slices.Clone(qlikEnv)
			}
			env = append(append(env, tc.env...), name+"="+tc.value)
			res := runBinary(t, env, "/qlik whoami\n")
			if res.code != 2 || res.stdout != "" {
				t.Fatalf("%s=%q: exit %d, stdout %q; want exit 2 and nothing run\nstderr:\n%s", name, tc.value, res.code, res.stdout, res.stderr)
			}
			lines := nonLogLines(res.stderr)
			if len(lines) != 1 {
				t.Fatalf("%s=%q: want one line for the operator, got:\n%s", name, tc.value, res.stderr)
			}
			line := lines[0]
			if !strings.Contains(line, name) || !strings.Contains(line, "want ") {
				t.Errorf("%s=%q: the line does not name the variable and what it takes: %s", name, tc.value, line)
			}
			shown := tc.value
			if f.Type == reflect.TypeFor[time.Duration]() {
				if d, err := time.ParseDuration(tc.value); err == nil {
					shown = d.String() // "-1h" is written back as -1h0m0s
				}
			}
			switch {
			case secret && tc.value != "" && strings.Contains(res.stderr, tc.value):
				t.Errorf("%s is a secret and its value is repeated: %s", name, res.stderr)
			case !secret && !strings.Contains(line, `"`+shown+`"`):
				t.Errorf("%s=%q: the line does not show the value: %s", name, tc.value, line)
			}
		})
	}
}

// TestResolveForms: QLIKBOT_QLIK_RESOLVE takes host=address (as qliksim
// prints it) and host:address, mixed, IPv6 and address:port included.
func TestResolveForms(t *testing.T) {
	t.Setenv("QLIKBOT_QLIK_RESOLVE", "a.example=10.0.0.1, b.example:10.0.0.2:4243,c.example=::1,d.example:[::1]:4243")
	c, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := resolveMap{"a.example": "10.0.0.1", "b.example": "10.0.0.2:4243", "c.example": "::1", "d.example": "[::1]:4243"}
	if !maps.Equal(c.QlikResolve, want) {
		t.Errorf("QLIKBOT_QLIK_RESOLVE read as %v, want %v", c.QlikResolve, want)
	}
}

// TestNoChatPlatformAndNoInput: Qlik configured, no chat platform, and
// standard input at its end at once (a service missing its chat settings)
// is an error naming the variables that turn a platform on; a piped script
// and the demo still run.
func TestNoChatPlatformAndNoInput(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	env, _ := binaryEnv(t, sim)
	t.Run("qlik, no chat, no input", func(t *testing.T) {
		t.Parallel()
		res := runBinary(t, env, "")
		lines := nonLogLines(res.stderr)
		if res.code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "QLIKBOT_SLACK_MODE") || !strings.Contains(lines[0], "QLIKBOT_TEAMS_APP_ID") {
			t.Errorf("exit %d, want 2 and one line naming QLIKBOT_SLACK_MODE and QLIKBOT_TEAMS_APP_ID:\n%s", res.code, res.stderr)
		}
	})
	t.Run("qlik, no chat, a script", func(t *testing.T) {
		t.Parallel()
		res := runBinary(t, env, "/qlik whoami\n")
		if res.code != 0 || !strings.Contains(res.stdout, "Who you are") {
			t.Errorf("exit %d, want 0 and the answer\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
		}
	})
	t.Run("demo, no input", func(t *testing.T) {
		t.Parallel()
		if res := runBinary(t, cleanEnv(), ""); res.code != 0 {
			t.Errorf("the demo with no input: exit %d, want 0\n%s", res.code, res.stderr)
		}
	})
}

// TestPolicyWarnings: a policy that grants nothing, or lets approvals
// expire within a minute, starts with a warning naming the problem; a
// sound policy starts without one.
func TestPolicyWarnings(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	tests := []struct {
		name, policy string
		want         []string // in the warnings; none when empty
	}{
		{"sound", testPolicy, nil},
		{"no grants", "roles:\n  viewer: [list]\ngrants: []\n", []string{"grants nothing"}},
		{"short ttl", strings.Replace(testPolicy, "ttl: 30m", "ttl: 30s", 1), []string{"approval ttl 30s is under 1m0s"}},
		{"both", "grants: []\napproval:\n  ttl: 5s\n", []string{"grants nothing", "approval ttl 5s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := simConfig(t, sim, "")
			if err := os.WriteFile(cfg.Policy, []byte(tt.policy), 0o600); err != nil {
				t.Fatal(err)
			}
			logs := &syncBuffer{}
			a, err := newApp(t.Context(), cfg, newLogger(cfg, logs), strings.NewReader(""), io.Discard, logs)
			if err != nil {
				t.Fatalf("newApp: %v", err)
			}
			a.close()
			var warnings []string
			for line := range strings.Lines(logs.String()) {
				if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, `"policy":`) {
					warnings = append(warnings, line)
				}
			}
			if len(warnings) != len(tt.want) {
				t.Fatalf("%d policy warnings, want %d:\n%s", len(warnings), len(tt.want), logs.String())
			}
			for i, w := range tt.want {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d lacks %q: %s", i, w, warnings[i])
				}
			}
		})
	}
}
