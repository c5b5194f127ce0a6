package slackbot

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// replyFixtures is one reply of each kind the commands package sends.
func replyFixtures() map[string]bot.Reply {
	return map[string]bot.Reply{
		"sessions": {
			Kind:  bot.Info,
			Title: "Sessions",
			Facts: []bot.Fact{{Label: "Total sessions", Value: "3"}, {Label: "Central (pro2-win1.lab.ptarmiganlabs.net)", Value: "2"},
				{Label: "Users", Value: "5, sessions: 5"}, {Label: "dev1 <!channel>", Value: "1"}},
			Table: &bot.Table{
				Columns: []string{"Virtual proxy", "Node", "User", "User name", "Session ID"},
				Rows: [][]string{
					{"finance", "pro2-win1", `LAB\testuser_1`, "Test User 1", "2734806e-0c21-4d2b-9a4c-5a0c3a4e1b11"},
					{"finance", "pro2-win2", `LAB\testuser_2`, "", "5f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"},
					{"(default)", "pro2-win1", `LAB\goran`, "Göran <admin>", "9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4"},
				},
				TotalRows: 53,
			},
			Chart:    &bot.Chart{Title: "Sessions per virtual proxy", Points: []bot.Point{{Label: "finance", Value: 2}, {Label: "(default)", Value: 1}, {Label: "win`s", Value: 0}}},
			Warnings: []string{`Virtual proxy "mobile" is not linked to any proxy (cookie X-Qlik-Session-mobile)`},
			Menus: []bot.Menu{{Label: "Kick a user", ActionID: "qlik.run", Options: []bot.Option{
				{Label: `LAB\testuser_1 (5 sessions)`, Value: `kick --user LAB\testuser_1`},
				{Label: `LAB\testuser_2 (1 session)`, Value: `kick --user LAB\testuser_2`},
			}}},
			Buttons: []bot.Button{
				{Label: "Next page", ActionID: "qlik.run", Value: "sessions finance --from 4"},
			},
			Files:      []bot.File{{Name: "sessions.csv", Type: "text/csv", Data: []byte("a,b\n")}},
			Visibility: bot.InChannel,
		},
		"pending": {
			Kind:    bot.Pending,
			Title:   "Approval needed: end 2 sessions on finance",
			Summary: []string{"Requested by slack:U2CERLKJA (roadrunner)", "Expires in 30m"},
			Table: &bot.Table{Columns: []string{"Node", "User", "Session ID"}, Rows: [][]string{
				{"pro2-win1", `LAB\testuser_1`, "2734806e-0c21-4d2b-9a4c-5a0c3a4e1b11"},
			}},
			Buttons: []bot.Button{
				{Label: "Approve", ActionID: "qlik.approve", Value: "p-123", Style: bot.Primary, Confirm: "End 2 sessions on finance?"},
				{Label: "Reject", ActionID: "qlik.reject", Value: "p-123", Style: bot.Danger},
			},
			Visibility: bot.InChannel,
		},
		"approved": {
			Kind: bot.Success, Title: "Approved by slack:U0LEAD; requested by slack:U2CERLKJA",
			Table:           &bot.Table{Columns: []string{"Session ID", "Outcome"}, Rows: [][]string{{"2734806e", "deleted"}, {"5f1e2d3c", "already gone"}}},
			Visibility:      bot.InChannel,
			ReplaceOriginal: true,
		},
		"denied": {
			Kind: bot.Denied, Title: "Not allowed",
			Summary: []string{"Not allowed: kick on finance. Your id: slack:U2CERLKJA, ask an admin to grant it."},
		},
		"usage":   {Kind: bot.Usage, Title: "Unknown command \"sesions\"", Summary: []string{"Usage: /qlik sessions [PREFIX ...] [--proxy HOST ...]"}},
		"error":   {Kind: bot.Error, Title: "Qlik did not answer", Summary: []string{"pro2-win1: connection refused"}, Warnings: []string{"check the QPS port"}},
		"warning": {Kind: bot.Warning, Title: "Partial result", Warnings: []string{"node pro2-win2 did not answer", "virtual proxy hdr exists twice"}},
		"empty":   {},
	}
}

func goldenPath(t *testing.T) string {
	return filepath.Join("testdata", strings.ReplaceAll(t.Name(), "/", "_")+".golden.json")
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for name, r := range replyFixtures() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			blocks, text := render(r)
			got, err := json.MarshalIndent(map[string]any{"blocks": blocks}, "", "  ")
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			got = append(got, '\n')
			path := goldenPath(t)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run with -update): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("blocks differ from %s (run with -update after checking):\n%s", path, got)
			}
			if r.Title != "" && !strings.Contains(text, r.Title) {
				t.Errorf("fallback text %q lacks the title", text)
			}
			checkLimits(t, blocks)
		})
	}
}

// checkLimits asserts every Block Kit limit on rendered blocks, through
// their JSON, the way Slack sees them.
func checkLimits(t *testing.T, blocks []slack.Block) {
	t.Helper()
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks > %d", len(blocks), maxBlocks)
	}
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(raw) {
		t.Errorf("blocks are not valid UTF-8")
	}
	var bs []map[string]any
	if err := json.Unmarshal(raw, &bs); err != nil {
		t.Fatal(err)
	}
	tables, actionIDs := 0, map[string]bool{}
	textLen := func(v any) int {
		m, _ := v.(map[string]any)
		s, _ := m["text"].(string)
		return utf8.RuneCountInString(s)
	}
	for _, b := range bs {
		if id, _ := b["block_id"].(string); len(id) > 255 {
			t.Errorf("block_id too long: %d", len(id))
		}
		switch b["type"] {
		case "header":
			if n := textLen(b["text"]); n > maxHeaderText {
				t.Errorf("header %d chars", n)
			}
		case "section":
			if n := textLen(b["text"]); n > maxSectionText {
				t.Errorf("section %d chars", n)
			}
			fields, _ := b["fields"].([]any)
			if len(fields) > maxSectionFields {
				t.Errorf("section with %d fields", len(fields))
			}
			for _, f := range fields {
				if n := textLen(f); n > maxFieldText {
					t.Errorf("field %d chars", n)
				}
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) > maxContextElems {
				t.Errorf("context with %d elements", len(els))
			}
			for _, e := range els {
				if n := textLen(e); n > maxSectionText {
					t.Errorf("context element %d chars", n)
				}
			}
		case "table":
			tables++
			rows, _ := b["rows"].([]any)
			if len(rows) > maxTableRows {
				t.Errorf("table with %d rows", len(rows))
			}
			for _, row := range rows {
				cells, _ := row.([]any)
				if len(cells) > maxTableCols {
					t.Errorf("row with %d cells", len(cells))
				}
				for _, c := range cells {
					if m, _ := c.(map[string]any); m["type"] != "raw_text" {
						t.Errorf("cell type %v, want raw_text", m["type"])
					}
				}
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) > maxActionsElems {
				t.Errorf("actions with %d elements", len(els))
			}
			for _, e := range els {
				m, _ := e.(map[string]any)
				id, _ := m["action_id"].(string)
				val, _ := m["value"].(string)
				if len(id) > maxActionID || actionIDs[id] {
					t.Errorf("action_id %q too long or repeated", id)
				}
				actionIDs[id] = true
				if m["type"] == "static_select" {
					checkSelect(t, m)
					continue
				}
				if len(val) > maxButtonValue {
					t.Errorf("button value %d bytes", len(val))
				}
				if n := textLen(m["text"]); n > maxButtonText {
					t.Errorf("button text %d chars", n)
				}
				if c, ok := m["confirm"].(map[string]any); ok {
					for _, k := range []string{"confirm", "deny"} {
						if n := textLen(c[k]); n > maxConfirmLabel {
							t.Errorf("confirm %s label %d chars", k, n)
						}
					}
					if n := textLen(c["title"]); n > maxConfirmTitle {
						t.Errorf("confirm title %d chars", n)
					}
					if n := textLen(c["text"]); n > maxConfirmText {
						t.Errorf("confirm text %d chars", n)
					}
				}
			}
		}
	}
	if tables > 1 {
		t.Errorf("%d table blocks; Slack allows one per message", tables)
	}
}

// checkSelect asserts the limits of a static_select: at most 100 options,
// option text 75 characters, value 150 bytes, placeholder 150.
func checkSelect(t *testing.T, m map[string]any) {
	t.Helper()
	opts, _ := m["options"].([]any)
	if len(opts) == 0 || len(opts) > maxSelectOptions {
		t.Errorf("select with %d options", len(opts))
	}
	for _, o := range opts {
		om, _ := o.(map[string]any)
		v, _ := om["value"].(string)
		if n := utf8.RuneCountInString(om["text"].(map[string]any)["text"].(string)); n > maxOptionText || n == 0 {
			t.Errorf("option text %d chars", n)
		}
		if len(v) > maxOptionValue || v == "" {
			t.Errorf("option value %d bytes", len(v))
		}
	}
	ph, _ := m["placeholder"].(map[string]any)
	if n := utf8.RuneCountInString(ph["text"].(string)); n > maxPlaceholder {
		t.Errorf("placeholder %d chars", n)
	}
}

func TestRenderLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é🙂", 2000) // multi-byte runes at every cut
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	bigRows := make([][]string, 150)
	for i := range bigRows {
		bigRows[i] = many(25, func(j int) string { return fmt.Sprintf("%d", i*j) })
	}
	buttons := make([]bot.Button, 60)
	for i := range buttons {
		buttons[i] = bot.Button{Label: long, ActionID: "qlik.run", Value: fmt.Sprintf("sessions --page %d", i)}
	}
	tests := []struct {
		name  string
		reply bot.Reply
		check func(t *testing.T, blocks []slack.Block)
	}{
		{"long title", bot.Reply{Kind: bot.Error, Title: long}, func(t *testing.T, b []slack.Block) {
			h := b[0].(*slack.HeaderBlock)
			if n := utf8.RuneCountInString(h.Text.Text); n != maxHeaderText || !strings.HasSuffix(h.Text.Text, "…") {
				t.Errorf("header is %d runes %q…", n, h.Text.Text[:20])
			}
		}},
		{"many long summary lines", bot.Reply{Summary: many(200, func(int) string { return long })}, func(t *testing.T, b []slack.Block) {
			if len(b) != maxSummaryBlocks {
				t.Errorf("%d summary blocks, want %d", len(b), maxSummaryBlocks)
			}
			last := b[len(b)-1].(*slack.SectionBlock)
			if !strings.Contains(last.Text.Text, "more line(s) not shown") {
				t.Errorf("last summary block %q does not say lines were left out", last.Text.Text)
			}
		}},
		{"big table", bot.Reply{Table: &bot.Table{Columns: many(25, func(i int) string { return fmt.Sprint("c", i) }), Rows: bigRows}}, func(t *testing.T, b []slack.Block) {
			tb := b[0].(*slack.TableBlock)
			if len(tb.Rows) != maxTableRows || len(tb.Rows[0]) != maxTableCols {
				t.Errorf("table %dx%d, want %dx%d", len(tb.Rows), len(tb.Rows[0]), maxTableRows, maxTableCols)
			}
			if c := tb.Rows[2][3].(*slack.TableRawTextCell); c.Text != "3" { // row 1 x column 3, a number sent as text
				t.Errorf("cell = %q, want 3", c.Text)
			}
			note := b[1].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject).Text
			if !strings.Contains(note, "99 of these 150 rows") || !strings.Contains(note, "20 of 25 columns") {
				t.Errorf("note %q", note)
			}
		}},
		{"ragged rows", bot.Reply{Table: &bot.Table{Columns: []string{"a", "b"}, Rows: [][]string{{"1"}, {"1", "2", "3"}}}}, func(t *testing.T, b []slack.Block) {
			tb := b[0].(*slack.TableBlock)
			for i, row := range tb.Rows {
				if len(row) != 2 {
					t.Errorf("row %d has %d cells", i, len(row))
				}
			}
		}},
		{"many warnings", bot.Reply{Warnings: many(40, func(i int) string { return long })}, func(t *testing.T, b []slack.Block) {
			if len(b) != maxWarnBlocks {
				t.Errorf("%d warning blocks, want %d", len(b), maxWarnBlocks)
			}
		}},
		{"many buttons", bot.Reply{Buttons: buttons}, func(t *testing.T, b []slack.Block) {
			// 50 fit in two actions blocks; 10 are left out and said so.
			note := b[0].(*slack.ContextBlock).ContextElements.Elements[0].(*slack.TextBlockObject).Text
			if !strings.HasPrefix(note, "10 button(s) left out") {
				t.Errorf("note %q", note)
			}
			first := b[1].(*slack.ActionBlock).Elements.ElementSet[0].(*slack.ButtonBlockElement)
			if parseActionID(first.ActionID) != "qlik.run" || first.ActionID == "qlik.run" {
				t.Errorf("duplicate action id not made unique: %q", first.ActionID)
			}
		}},
		{"oversized value dropped, not cut", bot.Reply{Buttons: []bot.Button{
			{Label: "Run", ActionID: "qlik.run", Value: strings.Repeat("x", maxButtonValue+1)},
			{Label: "Ok", ActionID: strings.Repeat("a", maxActionID+1), Value: "v"},
			{Label: "Fine", ActionID: "qlik.approve", Value: strings.Repeat("x", maxButtonValue)},
		}}, func(t *testing.T, b []slack.Block) {
			els := b[1].(*slack.ActionBlock).Elements.ElementSet
			if len(els) != 1 || els[0].(*slack.ButtonBlockElement).ActionID != "qlik.approve" {
				t.Errorf("kept %d buttons, want only the one within limits", len(els))
			}
		}},
		{"confirm labels", bot.Reply{Buttons: []bot.Button{{Label: strings.Repeat("Å", 40), ActionID: "qlik.approve", Value: "p", Style: bot.Primary, Confirm: long}}}, func(t *testing.T, b []slack.Block) {
			c := b[0].(*slack.ActionBlock).Elements.ElementSet[0].(*slack.ButtonBlockElement).Confirm
			if n := utf8.RuneCountInString(c.Confirm.Text); n != maxConfirmLabel {
				t.Errorf("confirm label %d runes", n)
			}
		}},
		{"chart with many points", bot.Reply{Chart: &bot.Chart{Title: "x", Points: func() []bot.Point {
			p := make([]bot.Point, 40)
			for i := range p {
				p[i] = bot.Point{Label: long, Value: float64(i)}
			}
			return p
		}()}}, func(t *testing.T, b []slack.Block) {
			txt := b[0].(*slack.SectionBlock).Text.Text
			if !strings.Contains(txt, "… 15 more") || strings.Count(txt, "```") != 2 {
				t.Errorf("chart text %q", txt)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			blocks, text := render(tc.reply)
			checkLimits(t, blocks)
			if utf8.RuneCountInString(text) > maxMessageText || !utf8.ValidString(text) {
				t.Errorf("fallback text %d runes or invalid", utf8.RuneCountInString(text))
			}
			tc.check(t, blocks)
		})
	}
}

func TestParseActionID(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"qlik.run", "qlik.run"},
		{"qlik.run#3", "qlik.run"},
		{"qlik.run#x", "qlik.run#x"},
		{"qlik.run#", "qlik.run#"},
		{"a#1#2", "a#1"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := parseActionID(tc.in); got != tc.want {
				t.Errorf("parseActionID(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
