package teams

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/bot"
)

// addTable appends the table without the columns empty on every row,
// with column widths fitted to their content, every row it is given that
// fits in the size budget (all of them, for a fitted reply), and a note
// saying where the page sits in the whole list and where the rest is,
// keeping reserve bytes free for what follows it. It returns how many
// rows it shows.
func addTable(c *card, t *bot.Table, files []bot.File, links []fileLink, reserve int) int {
	t = bot.Compact(t)
	cols := t.Columns
	if len(cols) > maxColumns {
		cols = cols[:maxColumns]
	}
	tbl := element{Type: "Table", FirstRowAsHeader: true, GridStyle: "accent", Columns: columnWidths(t, len(cols))}
	header := tableRow{Type: "TableRow", Style: "accent"}
	for _, h := range cols {
		header.Cells = append(header.Cells, cell(element{Type: "TextBlock", Text: bot.Clip(h, maxCellRunes), Weight: "Bolder", Wrap: true}))
	}
	tbl.Rows = make([]tableRow, 1, len(t.Rows)+1)
	tbl.Rows[0] = header
	c.Body = append(c.Body, tbl)
	idx := len(c.Body) - 1
	size := cardSize(c) + noteReserve + reserve
	shown := 0
	for _, r := range t.Rows {
		row := tableRowOf(r[:len(cols)])
		n := rowSize(r[:len(cols)])
		if size+n+1 > cardBudget {
			break
		}
		size += n + 1
		c.Body[idx].Rows = append(c.Body[idx].Rows, row)
		shown++
	}
	if note := tableNote(t, shown, files, links); note != "" {
		c.Body = append(c.Body, subtle(note))
	}
	return shown
}

func tableRowOf(cells []string) tableRow {
	row := tableRow{Type: "TableRow", Cells: make([]tableCell, len(cells))}
	for i, v := range cells {
		row.Cells[i] = cell(element{Type: "TextBlock", Text: cellText(v), Wrap: true})
	}
	return row
}

// rowSize is the JSON size of a row as addTable renders it.
func rowSize(cells []string) int {
	b, _ := json.Marshal(tableRowOf(cells[:min(len(cells), maxColumns)]))
	return len(b)
}

// Column weights: a column gets room in proportion to its longest cell (or
// the longest word of its header), so ids and DOMAIN\user names do not wrap
// in a narrow column while a short one takes a third of the card.
const (
	minColumnWeight = 4
	maxColumnWeight = 40
)

func columnWidths(t *bot.Table, n int) []tableColumn {
	out := make([]tableColumn, n)
	for i := range n {
		w := 0
		for _, word := range strings.Fields(t.Columns[i]) {
			w = max(w, utf8.RuneCountInString(word))
		}
		for _, r := range t.Rows {
			w = max(w, min(utf8.RuneCountInString(r[i]), maxCellRunes))
		}
		out[i] = tableColumn{Width: min(max(w, minColumnWeight), maxColumnWeight)}
	}
	return out
}

// cellText is a cell's text: clipped, and never empty, since a TextBlock
// must have text (an empty cell shows a no-break space).
func cellText(v string) string {
	if v == "" {
		return nbsp
	}
	return bot.Clip(v, maxCellRunes)
}

func cell(e element) tableCell { return tableCell{Type: "TableCell", Items: []element{e}} }

// tableNote says where the page sits in the whole list, anything not
// shown, and where the whole list is.
func tableNote(t *bot.Table, shown int, files []bot.File, links []fileLink) string {
	var parts []string
	if rt := bot.RangeText(t); rt != "" {
		parts = append(parts, rt+".")
	}
	if shown < len(t.Rows) {
		note := fmt.Sprintf("Only %d of these %d rows fit in a Teams card.", shown, len(t.Rows))
		if !bot.HasCSV(files) {
			note += " Narrow the query to see the rest."
		}
		parts = append(parts, note)
	}
	if len(t.Columns) > maxColumns {
		parts = append(parts, fmt.Sprintf("%d more columns not shown.", len(t.Columns)-maxColumns))
	}
	if n := csvNote(files, links); n != "" && len(parts) > 0 {
		parts = append(parts, n)
	}
	return strings.Join(parts, " ")
}

// csvNote explains the files the reply carries: a published one is behind
// its download button; the others cannot be attached (Teams lets a bot
// send files only through a consent card in personal chat), so the card
// says how to narrow the query instead.
func csvNote(files []bot.File, links []fileLink) string {
	linked := make(map[string]bool, len(links))
	var down []string
	for _, l := range links {
		linked[l.Name] = true
		if !l.Image {
			down = append(down, l.Name)
		}
	}
	var missing []string
	var parts []string
	for _, f := range files {
		switch {
		case linked[f.Name]:
		case isImage(f):
			parts = append(parts, fmt.Sprintf("The chart (%s) cannot be shown in this card; the table holds its figures.", bot.Clip(f.Name, 100)))
		default:
			missing = append(missing, f.Name)
		}
	}
	if len(down) > 0 {
		parts = append(parts, fmt.Sprintf("Download the full list (%s) with the button below; the link expires.",
			bot.Clip(strings.Join(down, ", "), 100)))
	}
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("The full list (%s) cannot be attached in Teams: narrow the query with a prefix, --proxy or --user.",
			bot.Clip(strings.Join(missing, ", "), 100)))
	}
	return strings.Join(parts, " ")
}
