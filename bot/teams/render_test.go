package teams

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/bot"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func sessionsTable(n, pageRows int) *bot.Table {
	t := &bot.Table{Columns: []string{"Proxy", "Node", "User", "Name", "Session"}, TotalRows: n}
	for i := range min(n, pageRows) {
		t.Rows = append(t.Rows, []string{"finance", "pro2-win1.lab.ptarmiganlabs.net", fmt.Sprintf(`LAB\testuser_%d`, i),
			fmt.Sprintf("Test User %d", i), fmt.Sprintf("2734806e-4ad6-4c4e-9a3b-%012d", i)})
	}
	return t
}

func goldenReplies() map[string]bot.Reply {
	return map[string]bot.Reply{
		"sessions": {
			Kind: bot.Info, Title: "Sessions on finance", Visibility: bot.InChannel,
			Summary:  []string{"Total sessions: 3", "Users: 3"},
			Table:    sessionsTable(3, 100),
			Warnings: []string{`Virtual proxy "hdr" (X-Qlik-Session-hdr2) is not linked to any proxy`},
			Chart:    &bot.Chart{Title: "Sessions per virtual proxy", Points: []bot.Point{{Label: "finance", Value: 3}, {Label: "(default)", Value: 12}, {Label: "hdr", Value: 0}}},
		},
		"approval": {
			Kind: bot.Pending, Title: "Approval needed: end 12 sessions on finance",
			Summary: []string{"Ann Admin asked to end every session on virtual proxy finance (2 nodes).", "Expires in 15 minutes."},
			Buttons: []bot.Button{
				{Label: "Approve", ActionID: "qlik.approve", Value: "p-42", Style: bot.Primary},
				{Label: "Reject", ActionID: "qlik.reject", Value: "p-42", Style: bot.Danger},
			},
		},
		"outcome": {
			Kind: bot.Success, Title: "Approved by Bob Boss: 12 sessions ended", ReplaceOriginal: true,
			Summary: []string{"Deleted: 11", "Already gone: 1", "Failed: 0"},
		},
		"denied": {Kind: bot.Denied, Title: "You may not approve this", Summary: []string{"Approving needs the approver role on finance."}},
		"paged with csv": {
			Kind: bot.Info, Title: "Sessions", Table: sessionsTable(250, 2),
			Files: []bot.File{{Name: "sessions.csv", Type: "text/csv", Data: []byte("a,b\n")}},
		},
		"empty": {},
	}
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for name, rep := range goldenReplies() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := json.MarshalIndent(render(rep), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("card differs from %s (run with -update after checking):\n%s", path, got)
			}
		})
	}
}

// TestRenderShedsAroundTheTable: a card over the size budget gives up
// its chart and trims its text, never the rows of a fitted page; only a
// table that was never fitted is cut, with a note.
func TestRenderShedsAroundTheTable(t *testing.T) {
	t.Parallel()
	escapes := strings.Repeat("<&>", 160)
	tests := []struct {
		name     string
		rep      bot.Reply
		wantRows int    // -1: fewer than the table holds, with a note
		wantText string // in the card
		noText   string // not in the card
	}{
		{"10000 sessions never fitted", bot.Reply{Title: "Sessions", Table: sessionsTable(10000, 10000),
			Files: []bot.File{{Name: "sessions.csv"}}}, -1, "Only ", ""},
		{"huge cells and many columns", hugeReply(), -1, "Only ", ""},
		{"text over the limit", bot.Reply{Title: "Escapes", Summary: slices.Repeat([]string{escapes}, 40),
			Warnings: slices.Repeat([]string{escapes}, 20), Table: sessionsTable(50, 20),
			Chart: &bot.Chart{Title: "Chart", Points: []bot.Point{{Label: "a", Value: 1}}}}, 20, "The chart is left out", "Only "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := render(tc.rep)
			checkCard(t, c)
			rows := len(tableRows(t, c))
			raw, _ := json.Marshal(c)
			switch {
			case tc.wantRows < 0 && (rows == 0 || rows >= len(tc.rep.Table.Rows)):
				t.Fatalf("table shows %d rows of %d, want a cut", rows, len(tc.rep.Table.Rows))
			case tc.wantRows >= 0 && rows != tc.wantRows:
				t.Fatalf("table shows %d rows, want %d", rows, tc.wantRows)
			case !strings.Contains(string(raw), tc.wantText):
				t.Fatalf("card lacks %q", tc.wantText)
			case tc.noText != "" && strings.Contains(string(raw), tc.noText):
				t.Fatalf("card has %q", tc.noText)
			}
		})
	}
}

// TestFittedReplyRendersEveryRow: whatever surrounds the table, a page cut
// by fitRows renders every one of its rows.
func TestFittedReplyRendersEveryRow(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("é<>&", 120)
	for _, rep := range []bot.Reply{
		{Title: "Sessions", Table: sessionsTable(10000, 300)},
		{Title: big, Summary: slices.Repeat([]string{big}, 30), Facts: slices.Repeat([]bot.Fact{{Label: "x", Value: big}}, 30),
			Warnings: slices.Repeat([]string{big}, 30), Table: sessionsTable(5000, 300), Files: []bot.File{{Name: "a.csv"}},
			Chart: &bot.Chart{Points: slices.Repeat([]bot.Point{{Label: big, Value: 3}}, 40)}},
		hugeReply(),
	} {
		n := fitRows(rep, nil)
		if n < 1 || n >= len(rep.Table.Rows) {
			t.Fatalf("Fit = %d of %d rows", n, len(rep.Table.Rows))
		}
		rep.Table.Rows = rep.Table.Rows[:n]
		c := render(rep)
		checkCard(t, c)
		if got := len(tableRows(t, c)); got != n {
			t.Errorf("fitted to %d rows, the card shows %d", n, got)
		}
	}
}

func TestRenderButtonsCarryOnlyActionAndValue(t *testing.T) {
	t.Parallel()
	c := render(goldenReplies()["approval"])
	if len(c.Actions) != 2 {
		t.Fatalf("got %d actions, want 2", len(c.Actions))
	}
	for i, want := range []struct{ verb, style string }{{"qlik.approve", "positive"}, {"qlik.reject", "destructive"}} {
		a := c.Actions[i]
		if a.Type != "Action.Execute" || a.Verb != want.verb || a.Style != want.style ||
			a.Data != any(clickData{Action: want.verb, Value: "p-42"}) {
			t.Fatalf("action %d = %+v", i, a)
		}
		if a.Fallback == nil || a.Fallback.Type != "Action.Submit" || a.Fallback.Data != a.Data {
			t.Fatalf("action %d has no Action.Submit fallback with the same data: %+v", i, a.Fallback)
		}
	}
}

// hugeReply has every field far over its limit.
func hugeReply() bot.Reply {
	long := strings.Repeat("x", 5000)
	return bot.Reply{Title: long, Summary: []string{long, long},
		Warnings: []string{long, long, long, long, long, long, long, long, long, long, long, long},
		Table: func() *bot.Table {
			t := &bot.Table{TotalRows: 500}
			for i := range 30 {
				t.Columns = append(t.Columns, fmt.Sprintf("c%d", i))
			}
			for range 500 {
				row := make([]string, 30)
				for j := range row {
					row[j] = long
				}
				t.Rows = append(t.Rows, row)
			}
			return t
		}(),
		Chart:   &bot.Chart{Points: make([]bot.Point, 1000)},
		Buttons: make([]bot.Button, 50)}
}

// TestTablesReadWell: columns empty on every row are left out, widths
// follow content, facts keep their text whole, chart bars line up.
func TestTablesReadWell(t *testing.T) {
	t.Parallel()
	rep := bot.Reply{
		Title: "Users by session count",
		Facts: []bot.Fact{{Label: "Users", Value: "5, sessions: 5"}, {Label: "At the access-pass limit of 5 sessions", Value: "1"}},
		Table: &bot.Table{Columns: []string{"Virtual proxy", "User", "User name", "Attributes", "Session ID"}, Rows: [][]string{
			{"finance", `LAB\testuser_1`, "", "", "55142b14-8d2d-43b3-a522-4b2fb46b2798"},
			{"win", `LAB\goran`, "", "", "a906ee6b-a8da-4c66-9700-48036c96de7b"},
		}},
		Chart: &bot.Chart{Title: "Sessions per virtual proxy", Points: []bot.Point{{Label: "finance", Value: 2}, {Label: "(default)", Value: 10}, {Label: "a b", Value: 1}}},
	}
	c := render(rep)
	checkCard(t, c)
	var table, facts *element
	var bars []string
	for i, el := range c.Body {
		switch {
		case el.Type == "Table":
			table = &c.Body[i]
		case el.Type == "FactSet":
			facts = &c.Body[i]
		case el.FontType == "Monospace":
			bars = append(bars, el.Text)
		}
	}
	if table == nil || len(table.Columns) != 3 {
		t.Fatalf("table %+v: want the 3 columns that hold text", table)
	}
	if got := table.Rows[0].Cells[1].Items[0].Text; got != "User" {
		t.Errorf("second column %q, want User (User name and Attributes are empty)", got)
	}
	w := table.Columns
	if !(w[2].Width > w[1].Width && w[1].Width > w[0].Width) || w[2].Width != 36 || w[0].Width != len("finance") {
		t.Errorf("widths %+v: want them to follow the longest cell (7, 14, 36)", w)
	}
	if facts == nil || facts.Facts[0] != (fact{Title: "Users", Value: "5, sessions: 5"}) || facts.Facts[1].Title != "At the access-pass limit of 5 sessions" {
		t.Errorf("facts %+v", facts)
	}
	if len(bars) != 3 {
		t.Fatalf("chart lines %q", bars)
	}
	col := -1
	for _, b := range bars {
		if strings.Contains(b, "  ") {
			t.Errorf("chart line %q has runs of spaces Teams collapses", b)
		}
		i := strings.Index(b, "█")
		r := utf8.RuneCountInString(b[:i])
		if col >= 0 && r != col {
			t.Errorf("bars start at rune %d and %d: %q", col, r, bars)
		}
		col = r
	}
}
