package slackbot

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack/slacktest"
	"gopkg.in/yaml.v3"
)

// TestManifest keeps deploy/slack/manifest.yaml in step with the adapter:
// the command it registers, the paths Handler serves, the scopes it uses.
func TestManifest(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../deploy/slack/manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			SlashCommands []struct{ Command, URL string } `yaml:"slash_commands"`
			AppHome       struct {
				Home     bool `yaml:"home_tab_enabled"`
				Messages bool `yaml:"messages_tab_enabled"`
				ReadOnly bool `yaml:"messages_tab_read_only_enabled"`
			} `yaml:"app_home"`
		}
		OAuthConfig struct {
			Scopes struct{ Bot []string }
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				RequestURL string   `yaml:"request_url"`
				BotEvents  []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				IsEnabled  bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			}
			SocketModeEnabled bool `yaml:"socket_mode_enabled"`
		}
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/qlik" ||
		!strings.HasSuffix(m.Features.SlashCommands[0].URL, "/slack/commands") {
		t.Errorf("slash commands %+v", m.Features.SlashCommands)
	}
	if !m.Settings.Interactivity.IsEnabled || !strings.HasSuffix(m.Settings.Interactivity.RequestURL, "/slack/interactions") {
		t.Errorf("interactivity %+v", m.Settings.Interactivity)
	}
	if h := m.Features.AppHome; !h.Home || !h.Messages || h.ReadOnly {
		t.Errorf("app home %+v: want the Home tab and a writable messages tab", h)
	}
	if e := m.Settings.Events; !strings.HasSuffix(e.RequestURL, "/slack/events") || !slices.Contains(e.BotEvents, "app_home_opened") {
		t.Errorf("event subscriptions %+v", e)
	}
	if !m.Settings.SocketModeEnabled {
		t.Errorf("socket mode should be the default")
	}
	for _, s := range []string{"commands", "chat:write", "files:write", "users:read"} {
		if !slices.Contains(m.OAuthConfig.Scopes.Bot, s) {
			t.Errorf("scope %s missing", s)
		}
	}
}

func TestStart(t *testing.T) {
	t.Parallel()
	t.Run("http mode waits for ctx", func(t *testing.T) {
		t.Parallel()
		a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-1", SigningSecret: "s"}, newRecorder(), neverSeen{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := a.Start(ctx); err != nil {
			t.Errorf("Start: %v", err)
		}
	})
	t.Run("socket mode with a revoked app token fails", func(t *testing.T) {
		t.Parallel()
		f := newFakeSlack(t, func(c slacktest.Customize) {
			c.Handle("/apps.connections.open", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"ok":false,"error":"invalid_auth"}`)
			})
		})
		a, err := New(Config{BotToken: "xoxb-1", AppToken: "xapp-secret-value", APIURL: f.GetAPIURL()}, newRecorder(), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = a.Start(t.Context())
		if err == nil || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "secret-value") {
			t.Errorf("Start: %v", err)
		}
	})
}
