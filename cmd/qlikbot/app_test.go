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
