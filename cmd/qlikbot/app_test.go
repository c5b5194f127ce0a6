package main

import (
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// TestSlackCommandNameInHelp: with Slack on, help and usage text teach the
// slash command the Slack app defines (QLIKBOT_SLACK_COMMAND), not /qlik.
func TestSlackCommandNameInHelp(t *testing.T) {
	t.Parallel()
	cfg := simConfig(t, startSim(t), "")
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SlackMode = "http"
	cfg.SlackCommand = "/qs"
	cfg.SlackBotToken = "xoxb-test"
	cfg.SlackSigningSecret = "test-signing-secret"
	a := startApp(t, cfg, nil)
	r := a.ask(t.Context(), "oncall", "help")
	text := bot.PlainText(r)
	if !strings.Contains(text, "/qs help COMMAND") || strings.Contains(text, "/qlik") {
		t.Errorf("help with QLIKBOT_SLACK_COMMAND=/qs:\n%s", text)
	}
}

// TestDeliverersWired: each chat platform that runs gets its adapter as
// the Deliverer of resumed jobs' outcomes (and its Fit), the console too;
// a platform that is off has none.
func TestDeliverersWired(t *testing.T) {
	t.Parallel()
	cfg := simConfig(t, startSim(t), "")
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SlackMode, cfg.SlackBotToken, cfg.SlackSigningSecret = "http", "xoxb-test", "test-signing-secret"
	cfg.TeamsAppID, cfg.TeamsAppPassword, cfg.TeamsTenantID = "9f2d7c1e-0000-4000-8000-00000000a001", "teams-secret", "contoso.onmicrosoft.com"
	cfg.TeamsOpenIDURL = "https://127.0.0.1:1/v1/.well-known/openidconfiguration"
	cfg.TeamsTokenURL = "https://127.0.0.1:1/tenant/oauth2/v2.0/token"
	chat := startApp(t, cfg, nil)
	for _, p := range []bot.Platform{bot.Slack, bot.Teams} {
		if chat.deliverers[p] == nil || chat.deliverers.FitFor(p) == nil {
			t.Errorf("%s: deliverer %v, fit %v; want the adapter's", p, chat.deliverers[p], chat.deliverers.FitFor(p) != nil)
		}
	}
	if _, ok := chat.deliverers[bot.Console]; ok {
		t.Error("a console deliverer without a console")
	}
	console := startApp(t, simConfig(t, startSim(t), ""), nil)
	if console.deliverers[bot.Console] == nil || len(console.deliverers) != 1 {
		t.Errorf("console app deliverers %v, want the console alone", console.deliverers)
	}
}
