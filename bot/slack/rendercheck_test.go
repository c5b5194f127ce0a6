package slackbot

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/bottest"
)

// TestRenderChecks pages the sessions, users, proxies, audit, approval
// request and approval outcome lists of 5, 400 and 10,000 rows through
// Fit, Next by Next, at page size 100, as commands does, and checks every
// message: within Block Kit's limits, every row of its page in its one
// table, in order, and its buttons present (an approval's Approve and
// Reject next to Next). (That the pages of a real listing together show every row once
// is the end-to-end test's to show.)
func TestRenderChecks(t *testing.T) {
	t.Parallel()
	for _, n := range []int{5, 400, 10000} {
		for _, l := range bottest.Lists(n) {
			t.Run(fmt.Sprintf("%s %d", l.Name, n), func(t *testing.T) {
				t.Parallel()
				pages := l.Pages(Fit, 100)
				for _, p := range pages {
					blocks, _ := render(p.Reply)
					checkLimits(t, blocks)
					if got, want := tableCells(t, blocks), bot.Compact(p.Reply.Table).Rows; !slices.EqualFunc(got, want, slices.Equal) {
						t.Fatalf("page %d-%d: the table shows %d rows, want its %d rows in order", p.First, p.Last, len(got), len(want))
					}
					for _, b := range p.Reply.Buttons {
						if !strings.Contains(blocksJSON(t, blocks), fmt.Sprintf("%q", b.Value)) {
							t.Fatalf("page %d-%d: button %q missing", p.First, p.Last, b.Label)
						}
					}
				}
				if want := (n + 98) / 99; len(pages) != want {
					t.Errorf("%d pages for %d rows, want %d: a Slack table holds 99 rows", len(pages), n, want)
				}
			})
		}
	}
}

// tableCells reads the data rows (not the header) of the message's table.
func tableCells(t *testing.T, blocks []slack.Block) [][]string {
	t.Helper()
	for _, b := range blocks {
		tb, ok := b.(*slack.TableBlock)
		if !ok {
			continue
		}
		out := make([][]string, 0, len(tb.Rows)-1)
		for _, row := range tb.Rows[1:] {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = c.(*slack.TableRawTextCell).Text
			}
			out = append(out, cells)
		}
		return out
	}
	return nil
}

func blocksJSON(t *testing.T, blocks []slack.Block) string {
	t.Helper()
	b, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRenderMenus(t *testing.T) {
	t.Parallel()
	options := func(n int, value func(i int) string) []bot.Option {
		out := make([]bot.Option, n)
		for i := range out {
			out[i] = bot.Option{Label: fmt.Sprintf("vp%03d (%d sessions)", i, i), Value: value(i)}
		}
		return out
	}
	short := func(i int) string { return fmt.Sprintf("sessions vp%03d", i) }
	paging := []bot.Button{{Label: "Previous page", ActionID: "qlik.run", Value: "users --to 50"}, {Label: "Next page", ActionID: "qlik.run", Value: "users --from 150"}}
	tests := []struct {
		name        string
		reply       bot.Reply
		wantSelects []int // options per select, in order
		wantNote    string
	}{
		{"one select of 99", bot.Reply{Menus: []bot.Menu{{Label: "Kick a user", ActionID: "qlik.run", Options: options(99, short)}}, Buttons: paging},
			[]int{99}, ""},
		{"250 options in three selects", bot.Reply{Menus: []bot.Menu{{Label: "Show one virtual proxy", ActionID: "qlik.run", Options: options(250, short)}}, Buttons: paging},
			[]int{100, 100, 50}, ""},
		{"values too long for Slack", bot.Reply{Menus: []bot.Menu{{Label: "Kick a user", ActionID: "qlik.run", Options: options(3, func(i int) string {
			return strings.Repeat("x", maxOptionValue+i-1)
		})}}}, []int{2}, "1 choice(s) too long"},
		{"more than ten selects", bot.Reply{Menus: []bot.Menu{{Label: "Show one virtual proxy", ActionID: "qlik.run", Options: options(1234, short)}}, Buttons: paging},
			slices.Repeat([]int{100}, 10), "234 more choice(s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			blocks, _ := render(tc.reply)
			checkLimits(t, blocks)
			var selects []int
			var buttons []string
			for _, b := range blocks {
				ab, ok := b.(*slack.ActionBlock)
				if !ok {
					continue
				}
				for _, el := range ab.Elements.ElementSet {
					switch e := el.(type) {
					case *slack.SelectBlockElement:
						selects = append(selects, len(e.Options))
						if parseActionID(e.ActionID) != "qlik.run" {
							t.Errorf("select action id %q", e.ActionID)
						}
					case *slack.ButtonBlockElement:
						buttons = append(buttons, e.Value)
					}
				}
			}
			if !slices.Equal(selects, tc.wantSelects) {
				t.Errorf("selects of %v options, want %v", selects, tc.wantSelects)
			}
			for _, b := range tc.reply.Buttons {
				if !slices.Contains(buttons, b.Value) {
					t.Errorf("paging button %q pushed off by menus", b.Label)
				}
			}
			if js := blocksJSON(t, blocks); tc.wantNote != "" && !strings.Contains(js, tc.wantNote) {
				t.Errorf("no note %q in %s", tc.wantNote, js)
			}
		})
	}
}

// TestSelectChoiceArrivesAsAction: a block_actions payload of a static
// select carries the chosen option's value, which becomes the action value.
func TestSelectChoiceArrivesAsAction(t *testing.T) {
	t.Parallel()
	payload := `{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"container":{"type":"message","message_ts":"1.2","channel_id":"C1"},` +
		`"actions":[{"type":"static_select","action_id":"qlik.run#3","block_id":"actions_0","selected_option":{"text":{"type":"plain_text","text":"finance"},"value":"sessions finance"},"action_ts":"1.3"}]}`
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Mode: ModeHTTP, BotToken: "xoxb-x", SigningSecret: vecSecret}, newRecorder(), neverSeen{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := a.fromInteraction(cb, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if req.Action == nil || req.Action.ID != "qlik.run" || req.Action.Value != "sessions finance" {
		t.Fatalf("action %+v, want qlik.run with the chosen value", req.Action)
	}
}

func TestFactsKeepTheirText(t *testing.T) {
	t.Parallel()
	blocks, text := render(bot.Reply{Title: "Users", Facts: []bot.Fact{{Label: "Users", Value: "5, sessions: 5"}, {Label: "At the limit: of 5", Value: "1"}}})
	js := blocksJSON(t, blocks)
	for _, want := range []string{`*Users*\n5, sessions: 5`, `*At the limit: of 5*\n1`} {
		if !strings.Contains(js, want) {
			t.Errorf("blocks lack %q: %s", want, js)
		}
	}
	if !strings.Contains(text, "Users: 5, sessions: 5") {
		t.Errorf("fallback text %q", text)
	}
}
