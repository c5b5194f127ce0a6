package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the README's configuration reference")

const (
	refBegin = "<!-- config-reference:begin (generated from cmd/qlikbot/config.go; TestREADMEConfigReference keeps it true) -->\n"
	refEnd   = "<!-- config-reference:end -->"
)

// TestREADMEConfigReference keeps the README's table of QLIKBOT_* variables
// identical to the Config struct. Run with -update to regenerate it.
func TestREADMEConfigReference(t *testing.T) {
	var want bytes.Buffer
	if err := markdownReference(&want); err != nil {
		t.Fatal(err)
	}
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(readme), refBegin)
	got, after, ok2 := strings.Cut(rest, refEnd)
	if !ok1 || !ok2 {
		t.Fatalf("README.md lacks the config-reference markers")
	}
	if got == want.String() {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(before+refBegin+want.String()+refEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md configuration reference is stale; run: go test ./cmd/qlikbot -run TestREADMEConfigReference -update\nwant:\n%s", want.String())
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	base := func() Config { return defaultConfig(t) }
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{"demo defaults", func(*Config) {}, ""},
		{"qlik host without policy", func(c *Config) { c.QlikHost = "qlik.example" }, "QLIKBOT_POLICY"},
		{"qlik host with policy", func(c *Config) { c.QlikHost = "qlik.example"; c.Policy = "p.yaml" }, ""},
		{"bad port", func(c *Config) { c.QlikQPSPort = 70000 }, "QLIKBOT_QLIK_QPS_PORT"},
		{"bad user", func(c *Config) { c.QlikUser = "sa_api" }, "QLIKBOT_QLIK_USER"},
		{"bad slack mode", func(c *Config) { c.SlackMode = "rtm" }, "QLIKBOT_SLACK_MODE"},
		{"bad page size", func(c *Config) { c.PageSize = 101 }, "QLIKBOT_PAGE_SIZE"},
		{"negative topology ttl", func(c *Config) { c.QlikTopologyTTL = -time.Second }, "QLIKBOT_QLIK_TOPOLOGY_TTL"},
		{"topology ttl 0: no cache", func(c *Config) { c.QlikTopologyTTL = 0 }, ""},
		{"negative shutdown drain", func(c *Config) { c.ShutdownDrain = -time.Second }, "QLIKBOT_SHUTDOWN_DRAIN"},
		{"bad log level", func(c *Config) { c.LogLevel = "loud" }, "QLIKBOT_LOG_LEVEL"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, "QLIKBOT_LOG_FORMAT"},
		{"public url", func(c *Config) { c.PublicURL, c.FileTTL = "https://bot.example.com", 1 }, ""},
		{"public url not absolute", func(c *Config) { c.PublicURL, c.FileTTL = "bot.example.com", 1 }, "QLIKBOT_PUBLIC_URL"},
		{"public url not http", func(c *Config) { c.PublicURL, c.FileTTL = "file:///tmp", 1 }, "QLIKBOT_PUBLIC_URL"},
		{"file ttl zero with public url", func(c *Config) { c.PublicURL, c.FileTTL = "https://bot.example.com", 0 }, "QLIKBOT_FILE_TTL"},
		{"public url http", func(c *Config) { c.PublicURL = "http://bot.example.com" }, "QLIKBOT_PUBLIC_URL"},
		{"public url http loopback", func(c *Config) { c.PublicURL = "http://127.0.0.1:8080" }, ""},
		{"redis without state key", func(c *Config) { c.Store = "redis://127.0.0.1:6379/0" }, "QLIKBOT_STATE_KEY"},
		{"redis with state key", func(c *Config) { c.Store, c.StateKey = "redis://127.0.0.1:6379/0", testStateKey }, ""},
		{"bolt without state key", func(c *Config) { c.Store = "bolt:///var/lib/qlikbot/state.db" }, ""},
		{"store ca without tls", func(c *Config) { c.Store, c.StateKey, c.StoreCA = "redis://r:6379/0", testStateKey, "/ca.pem" }, "QLIKBOT_STORE_CA"},
		{"store ca with tls", func(c *Config) { c.Store, c.StateKey, c.StoreCA = "rediss://r:6380/0", testStateKey, "/ca.pem" }, ""},
		{"admin same as http", func(c *Config) { c.HTTPAddr, c.AdminAddr = ":8080", ":8080" }, "QLIKBOT_ADMIN_ADDR"},
		{"admin off", func(c *Config) { c.HTTPAddr, c.AdminAddr = ":8080", "off" }, ""},
		{"admin not an address", func(c *Config) { c.AdminAddr = "9090" }, "QLIKBOT_ADMIN_ADDR"},
		{"teams app id alone", func(c *Config) { c.TeamsAppID = "9f2d7c1e-0000-4000-8000-00000000a001" }, "QLIKBOT_TEAMS_APP_PASSWORD"},
		{"console user with a space", func(c *Config) { c.ConsoleUser = "bad user" }, "QLIKBOT_CONSOLE_USER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := base()
			tt.mutate(&c)
			err := c.validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errConfig) {
				t.Fatalf("validate = %v, want a configuration error naming %s", err, tt.want)
			}
		})
	}
}

// TestLoadConfigUnreadableValues: a value of the wrong type is one line
// naming the variable, the value and what it should look like.
func TestLoadConfigUnreadableValues(t *testing.T) {
	tests := []struct{ env, value, want string }{
		{"QLIKBOT_QLIK_QPS_PORT", "abc", `QLIKBOT_QLIK_QPS_PORT="abc": cannot read it; want a whole number`},
		{"QLIKBOT_QLIK_TIMEOUT", "10", `QLIKBOT_QLIK_TIMEOUT="10": cannot read it; want a duration like 30s or 5m`},
		{"QLIKBOT_QLIK_INSECURE_SKIP_VERIFY", "maybe", `QLIKBOT_QLIK_INSECURE_SKIP_VERIFY="maybe": cannot read it; want true or false`},
		{"QLIKBOT_QLIK_RESOLVE", "nohost", `QLIKBOT_QLIK_RESOLVE="nohost": cannot read it; want a list like host=address,host2=address2 (host:address works too)`},
		{"QLIKBOT_QLIK_RESOLVE", "a=1.2.3.4,=5.6.7.8", `QLIKBOT_QLIK_RESOLVE="a=1.2.3.4,=5.6.7.8": cannot read it; want a list like host=address,host2=address2 (host:address works too)`},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			_, err := loadConfig()
			if err == nil || !errors.Is(err, errConfig) || !strings.HasSuffix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("loadConfig = %v, want one configuration line ending %q", err, tt.want)
			}
		})
	}
}
