package slackbot

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
)

// longTable is a table of n rows, never fitted.
func longTable(n int) *bot.Table {
	t := &bot.Table{Columns: []string{"User", "Node"}}
	for i := range n {
		t.Rows = append(t.Rows, []string{fmt.Sprintf("DOMAIN\\user%03d", i), "node1"})
	}
	t.TotalRows = n
	return t
}

// tableRows counts the data rows of the table block among blocks.
func tableRows(t *testing.T, blocks []map[string]any) int {
	t.Helper()
	for _, b := range blocks {
		if b["type"] == "table" {
			rows, _ := b["rows"].([]any)
			return len(rows) - 1
		}
	}
	t.Fatal("no table block")
	return 0
}

// TestDeliverFitsTable: a delivered reply that was never fitted (an
// alert with 150 sessions) shows the rows one Slack table holds, and the
// whole table is uploaded as a CSV the message names.
func TestDeliverFitsTable(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	a, _ := fakeAdapter(t, f, testkit.NewClock(time.Now()))
	alert := bot.Reply{Kind: bot.Warning, Title: "Firing: too many sessions", Table: longTable(150), Visibility: bot.InChannel}
	if _, err := a.Deliver(t.Context(), bot.Destination{Platform: bot.Slack, Channel: "C1"}, alert); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	c := f.next(t)
	if n := tableRows(t, c.blocksJSON(t)); n != maxTableRows-1 {
		t.Errorf("%d rows in the table, want %d", n, maxTableRows-1)
	}
	if !strings.Contains(c.text(), "rows.csv holds all 150") || !strings.Contains(c.text(), "Rows 1–99 of 150") {
		t.Errorf("the message does not say where the other rows are: %.2000s", c.text())
	}
	up, _ := f.nextPath(t, "/upload/")
	if got := strings.Count(up.File, "\n"); got != 151 || !strings.Contains(up.File, "DOMAIN\\user149") {
		t.Errorf("uploaded %d lines, want the header and 150 rows", got)
	}
}

// TestTableNoteNamesCSVOnlyWhenAttached: a table cut by the renderer says
// "the attached CSV has them all" only when a CSV is attached.
func TestTableNoteNamesCSVOnlyWhenAttached(t *testing.T) {
	t.Parallel()
	for _, withCSV := range []bool{false, true} {
		r := bot.Reply{Title: "Sessions", Table: longTable(150)}
		if withCSV {
			r.Files = []bot.File{{Name: "sessions.csv", Type: "text/csv", Data: bot.TableCSV(r.Table)}}
		}
		blocks, _ := render(r)
		b, _ := json.Marshal(blocks)
		if !strings.Contains(string(b), "Only 99 of these 150 rows fit a Slack table.") ||
			strings.Contains(string(b), "attached CSV") != withCSV {
			t.Errorf("with a CSV %v: %.3000s", withCSV, b)
		}
	}
}

// TestFitCapsTableJSON: rows of long cells are fitted by size, so a click
// under the table sends back a payload maxInteractionBody holds, even
// when one row is all a message can show.
func TestFitCapsTableJSON(t *testing.T) {
	t.Parallel()
	table := func(cell string) *bot.Table {
		tb := &bot.Table{}
		for i := range maxTableCols {
			tb.Columns = append(tb.Columns, fmt.Sprintf("c%d", i))
		}
		for range 99 {
			row := make([]string, maxTableCols)
			for i := range row {
				row[i] = cell
			}
			tb.Rows = append(tb.Rows, row)
		}
		return tb
	}
	cases := []struct {
		name     string
		cell     string
		min, max int // rows Fit may answer
	}{
		{"long cells", strings.Repeat("<&>\"", 150), 1, 20},
		{"cells at Slack's limit", strings.Repeat("<&>", maxCellText/3), 0, 0},
		{"short cells", "DOMAIN\\user", maxTableRows - 1, maxTableRows - 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := bot.Reply{Title: "Long", Table: table(tc.cell), Buttons: []bot.Button{{Label: "Next", ActionID: "qlik.run", Value: "sessions --page 2"}}}
			n := Fit(r)
			if n < tc.min || n > tc.max {
				t.Fatalf("Fit = %d, want %d to %d", n, tc.min, tc.max)
			}
			r.Table.Rows = r.Table.Rows[:max(n, 1)] // FitRows shows one row at least
			blocks, _ := render(r)
			b, _ := json.Marshal(map[string]any{"type": "block_actions", "message": map[string]any{"blocks": blocks}})
			if size := len(url.Values{"payload": {string(b)}}.Encode()); size > maxInteractionBody {
				t.Errorf("%d rows: a click payload of %d bytes, over %d", max(n, 1), size, maxInteractionBody)
			}
		})
	}
}

// TestDeliverToHomeClicker: the origin of a click on App Home is the
// clicker's user id; Deliver posts to it, shares files and returns the
// direct message's D… channel, so the next Deliver can update the message.
func TestDeliverToHomeClicker(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	a, _ := fakeAdapter(t, f, testkit.NewClock(time.Now()))
	r := bot.Reply{Kind: bot.Success, Title: "Approved", ReplaceOriginal: true,
		Files: []bot.File{{Name: "outcome.csv", Type: "text/csv", Data: []byte("a\n1\n")}}}
	got, err := a.Deliver(t.Context(), bot.Destination{Platform: bot.Slack, Channel: "U2"}, r)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if c := f.next(t); c.Path != "/chat.postMessage" || c.Form.Get("channel") != "U2" {
		t.Fatalf("call %s to %q", c.Path, c.Form.Get("channel"))
	}
	if got.Channel != "D2" || !tsRE.MatchString(got.Message) {
		t.Fatalf("returned %+v, want the direct message D2 and the ts", got)
	}
	done, skipped := f.nextPath(t, "/files.completeUploadExternal")
	if done.Form.Get("channel_id") != "D2" {
		t.Errorf("file shared to %q (after %d calls), want D2", done.Form.Get("channel_id"), len(skipped))
	}
	if _, err := a.Deliver(t.Context(), got, r); err != nil {
		t.Fatalf("Deliver again: %v", err)
	}
	if c, _ := f.nextPath(t, "/chat.update"); c.Form.Get("channel") != "D2" || c.Form.Get("ts") != got.Message {
		t.Errorf("update of %s/%s, want D2/%s", c.Form.Get("channel"), c.Form.Get("ts"), got.Message)
	}
}
