package slackbot

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/bot"
)

// FuzzInbound feeds arbitrary form bodies to both parsers and the request
// builders: they never panic, and whatever becomes a request carries
// Slack-shaped ids only.
func FuzzInbound(f *testing.F) {
	f.Add(vecBody)
	f.Add(commandBody("U1", "C1", "sessions finance", "https://hooks.slack.com/x"))
	f.Add("payload=" + url.QueryEscape(`{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"actions":[{"action_id":"qlik.run#1","value":"sessions"}]}`))
	f.Add("payload=" + url.QueryEscape(`{"type":"block_actions","user":{"id":"U1"},"actions":[null]}`))
	f.Add("payload=%7B%22type%22%3A1%7D")
	f.Add("%zz&&==;")
	f.Add("")
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-1", SigningSecret: "s"}, newRecorder(), neverSeen{})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, body string) {
		if cmd, err := parseCommandForm([]byte(body)); err == nil {
			if req, err := a.fromCommand(cmd, now); err == nil {
				checkRequest(t, req)
				if req.Action != nil {
					t.Errorf("a slash command became a click")
				}
			}
		}
		if cb, err := parseInteractionForm([]byte(body)); err == nil {
			if req, err := a.fromInteraction(cb, now); err == nil {
				checkRequest(t, req)
				if req.Action == nil || req.Action.ID == "" || looksSuffixed(req.Action.ID) && !strings.Contains(cb.ActionCallback.BlockActions[0].ActionID, req.Action.ID+"#") {
					t.Errorf("click action %+v", req.Action)
				}
			}
		}
	})
}

func checkRequest(t *testing.T, req bot.Request) {
	t.Helper()
	if !validID(req.User.ID) || (req.Channel != "" && !validID(req.Channel)) || req.Platform != bot.Slack || req.ReplyTo == nil {
		t.Errorf("request %+v", req)
	}
}

// FuzzRender: any text in any field renders within Slack's limits.
func FuzzRender(f *testing.F) {
	f.Add("Sessions", "Total: 5", "finance", "qlik.run", "sessions --page 2", 3)
	f.Add(strings.Repeat("🙂", 160), "é\n\tö", "a\xffb", "x#1", "<!channel>", 120)
	f.Fuzz(func(t *testing.T, title, line, cell, actionID, value string, n int) {
		n = max(0, min(n, 200))
		rows := make([][]string, n)
		for i := range rows {
			rows[i] = []string{cell, line}
		}
		r := bot.Reply{
			Title: title, Summary: []string{line, line}, Warnings: []string{line},
			Table:   &bot.Table{Columns: []string{cell, title}, Rows: rows},
			Chart:   &bot.Chart{Title: title, Points: []bot.Point{{Label: cell, Value: float64(n)}}},
			Buttons: []bot.Button{{Label: title, ActionID: actionID, Value: value, Confirm: line}, {Label: cell, ActionID: actionID, Value: value}},
		}
		blocks, text := render(r)
		checkLimits(t, blocks)
		if !utf8.ValidString(text) || utf8.RuneCountInString(text) > maxMessageText {
			t.Errorf("fallback text invalid or too long")
		}
	})
}
