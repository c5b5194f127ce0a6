package authz

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const alertsPolicyHead = `roles: {viewer: [list, subscribe]}
grants:
  - subjects: ["slack:U1"]
    roles: [viewer]
    virtualProxies: ["*"]
`

func TestAlertRulesParse(t *testing.T) {
	t.Parallel()
	src := alertsPolicyHead + `alerts:
  repeat: 2h
  rules:
    - name: Session-Limit
      type: user-sessions
      sites: [PROD]
      virtualProxies: [kiosk, default]
      post:
        slack: [C0OPS, C0OPS]
        teams:
          - serviceUrl: https://smba.trafficmanager.net/emea/
            conversation: "19:abc@thread.tacv2"
            tenant: contoso.onmicrosoft.com
        console: true
    - name: nodes
      type: node-down
      samples: 2
      repeat: 30m
    - name: busy
      type: engine
      cpuAbove: 80
    - name: engine-defaults
      type: engine
    - name: crowded
      type: proxy-sessions
      above: 100
      post: {subscribers: false, console: true}
`
	p, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []AlertRule{
		{Name: "session-limit", Type: AlertUserSessions, Sites: []string{"prod"}, VirtualProxies: []string{"kiosk", ""}, Sessions: 5, Repeat: 2 * time.Hour,
			Post: AlertPost{Slack: []string{"C0OPS"}, Console: true, Subscribers: true,
				Teams: []TeamsConversation{{ServiceURL: "https://smba.trafficmanager.net/emea/", Conversation: "19:abc@thread.tacv2", Tenant: "contoso.onmicrosoft.com"}}}},
		{Name: "nodes", Type: AlertNodeDown, Samples: 2, Repeat: 30 * time.Minute, Post: AlertPost{Subscribers: true}},
		{Name: "busy", Type: AlertEngine, CPUAbove: 80, Repeat: 2 * time.Hour, Post: AlertPost{Subscribers: true}},
		{Name: "engine-defaults", Type: AlertEngine, Saturated: true, CPUAbove: 90, MemFreeBelow: 10, Repeat: 2 * time.Hour, Post: AlertPost{Subscribers: true}},
		{Name: "crowded", Type: AlertProxySessions, Above: 100, Repeat: 2 * time.Hour, Post: AlertPost{Console: true}},
	}
	got := p.Alerts()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Alerts() =\n%+v\nwant\n%+v", got, want)
	}
	got[0].Sites[0] = "changed"
	if p.Alerts()[0].Sites[0] != "prod" {
		t.Error("Alerts returns the policy's own slices")
	}
	r := want[0]
	if !r.AppliesTo("Prod") || r.AppliesTo("test") || !r.WatchesProxy("KIOSK") || !r.WatchesProxy("") || r.WatchesProxy("finance") {
		t.Error("AppliesTo / WatchesProxy disagree with the rule's sites and virtual proxies")
	}
}

func TestAlertRulesDefaultAndNone(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(alertsPolicyHead))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Alerts(); !reflect.DeepEqual(got, DefaultAlertRules()) || len(got) != 3 {
		t.Errorf("a policy without alerts: %+v, want the default rules", got)
	}
	for _, r := range DefaultAlertRules() {
		if !r.Post.Subscribers || r.Post.Console || len(r.Post.Slack) > 0 {
			t.Errorf("default rule %s posts to %+v; want subscribers only", r.Name, r.Post)
		}
	}
	p, err = Parse([]byte(alertsPolicyHead + "alerts: {rules: []}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Alerts(); len(got) != 0 {
		t.Errorf("alerts: {rules: []} gives %d rules, want none", len(got))
	}
	if got := (*Policy)(nil).Alerts(); len(got) != 3 {
		t.Errorf("nil policy: %d rules, want the defaults", len(got))
	}
}

func TestAlertRulesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rules string
		want  []string // every one in the error
	}{
		{"bad name", "- {name: 'Bad Name', type: engine}", []string{"rule \"Bad Name\" (line 8)", "name:"}},
		{"no name", "- {type: engine}", []string{"rule 1", "name:"}},
		{"unknown type", "- {name: x, type: cpu}", []string{`rule "x"`, `type: "cpu"`, "user-sessions"}},
		{"duplicate", "- {name: x, type: engine}\n    - {name: X, type: node-down}", []string{`rule "X" (line 9)`, "another rule"}},
		{"sessions zero", "- {name: x, type: user-sessions, sessions: 0}", []string{`rule "x"`, "sessions: 0"}},
		{"field of another type", "- {name: x, type: node-down, sessions: 5}", []string{`rule "x"`, "sessions: not a field of type node-down"}},
		{"samples out of range", "- {name: x, type: node-down, samples: 5000}", []string{"samples: 5000"}},
		{"cpu over 100", "- {name: x, type: engine, cpuAbove: 120}", []string{"cpuAbove: 120"}},
		{"engine checks nothing", "- {name: x, type: engine, saturated: false}", []string{"checks nothing"}},
		{"proxy-sessions without above", "- {name: x, type: proxy-sessions}", []string{"above: missing"}},
		{"virtualProxies on engine", "- {name: x, type: engine, virtualProxies: [finance]}", []string{"virtualProxies: only for"}},
		{"bad site", "- {name: x, type: engine, sites: ['a b']}", []string{`rule "x"`, "sites:"}},
		{"slack name not id", "- {name: x, type: engine, post: {slack: ['#ops']}}", []string{`rule "x"`, `post: slack: "#ops"`, "channel id"}},
		{"teams http", "- {name: x, type: engine, post: {teams: [{serviceUrl: 'http://example.com/', conversation: c}]}}", []string{"post: teams 1: serviceUrl"}},
		{"teams no conversation", "- {name: x, type: engine, post: {teams: [{serviceUrl: 'https://example.com/'}]}}", []string{"post: teams 1: conversation"}},
		{"nowhere", "- {name: x, type: engine, post: {subscribers: false}}", []string{"post: nowhere to post"}},
		{"bad repeat", "- {name: x, type: engine, repeat: 10s}", []string{`rule "x"`, "repeat: 10s"}},
		{"unknown key", "- {name: x, type: engine, cpu: 90}", []string{"cpu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := alertsPolicyHead + "alerts:\n  rules:\n    " + tc.rules + "\n"
			_, err := Parse([]byte(src))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse: %v, want ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadAlertsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(good, []byte("alerts:\n  rules:\n    - {name: limit, type: user-sessions, sessions: 3}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := LoadAlertsFile(good)
	if err != nil || len(rules) != 1 || rules[0].Sessions != 3 || !rules[0].Post.Subscribers {
		t.Fatalf("LoadAlertsFile = %+v, %v", rules, err)
	}
	for name, body := range map[string]string{
		"empty.yaml":   "",
		"noalert.yaml": "rules: []\n",
		"bad.yaml":     "alerts:\n  rules:\n    - {name: limit, type: user-sessions, sessions: -1}\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadAlertsFile(p); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v, want ErrInvalid naming the file", name, err)
		}
	}
	if _, err := LoadAlertsFile(filepath.Join(dir, "missing.yaml")); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("a missing file: %v, want a read error", err)
	}
}

func TestCheckRuleName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"session-limit": true, "a": true, "rule_2": true, strings.Repeat("a", 40): true,
		"": false, "-x": false, "Bad": false, "a b": false, strings.Repeat("a", 41): false,
	} {
		if err := CheckRuleName(name); (err == nil) != ok {
			t.Errorf("CheckRuleName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
