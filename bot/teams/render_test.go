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

	"github.com/qlikbot/qlikbot/bot"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func sessionsTable(n, pageRows int) *bot.Table {
	t := &bot.Table{Columns: []string{"Proxy", "Node", "User", "Name", "Session"}, TotalRows: n}
	for i := range min(n, pageRows) {
		t.Rows = append(t.Rows, []string{"finance", "pro2-win1.lab.ptarmiganlabs.net", fmt.Sprintf(`LAB\testuser_%d`, i),
			fmt.Sprintf("Test User %d", i), fmt.Sprintf("2734806e-4ad6-4c4e-9a3b-%012d", i)})
	}
	if pageRows < n {
		t.Page, t.Pages = 1, (n+pageRows-1)/pageRows
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

func TestRenderStaysUnderSizeLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rep  bot.Reply
		// wantRowsAtLeast guards against a renderer that meets the limit
		// by dropping the table.
		wantRowsAtLeast int
	}{
		{"10000 sessions unpaged", bot.Reply{Title: "Sessions", Table: sessionsTable(10000, 10000),
			Files: []bot.File{{Name: "sessions.csv"}}}, 20},
		{"10000 sessions, page of 100", bot.Reply{Title: "Sessions", Table: sessionsTable(10000, 100)}, 20},
		{"huge cells and many columns", hugeReply(), 1},
		{"text alone over the limit", bot.Reply{Title: "Escapes", Summary: slices.Repeat([]string{strings.Repeat("<&>", 300)}, 40),
			Warnings: slices.Repeat([]string{strings.Repeat("<&>", 300)}, 20), Table: sessionsTable(50, 50)}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := render(tc.rep)
			act, err := json.Marshal(cardActivity(c, tc.rep.Title))
			if err != nil {
				t.Fatal(err)
			}
			if len(act) > maxCardBytes {
				t.Fatalf("activity is %d bytes, limit %d", len(act), maxCardBytes)
			}
			inv, _ := json.Marshal(invokeResponse{StatusCode: 200, Type: cardContentType, Value: c})
			if len(inv) > maxCardBytes {
				t.Fatalf("invoke response is %d bytes, limit %d", len(inv), maxCardBytes)
			}
			rows := -1
			var note string
			for _, el := range c.Body {
				if el.Type == "Table" {
					rows = len(el.Rows) - 1 // minus the header
				}
				if strings.Contains(el.Text, "more rows not shown") {
					note = el.Text
				}
			}
			if tc.wantRowsAtLeast < 0 { // the fallback card
				if rows != -1 || !strings.Contains(string(act), "too large to show in Teams") {
					t.Fatalf("want the too-large notice instead of the table, got %s", act)
				}
				return
			}
			if rows < tc.wantRowsAtLeast {
				t.Fatalf("table shows %d rows, want at least %d", rows, tc.wantRowsAtLeast)
			}
			if note == "" {
				t.Fatal("no note saying how many rows are not shown")
			}
		})
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
			a.Data != (clickData{Action: want.verb, Value: "p-42"}) {
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
