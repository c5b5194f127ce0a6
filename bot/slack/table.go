package slackbot

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// tableBlocks renders the table block (one per message, Slack's rule)
// without the columns empty on every row, and a note with the rows' place
// in the whole list. It shows every row it is given; a table longer than a
// Slack table holds (a reply that was not fitted, see Fit) is cut with a
// note rather than have Slack refuse the whole message.
//
// hasCSV says whether the reply carries a CSV, the only place a cut row
// can be read.
func tableBlocks(t *bot.Table, hasCSV bool) []slack.Block {
	if len(t.Columns) == 0 {
		return nil
	}
	t = bot.Compact(t)
	cols := min(len(t.Columns), maxTableCols)
	tb := slack.NewTableBlock("table")
	header := make([]slack.TableCell, cols)
	for i := range cols {
		header[i] = slack.NewTableRawTextCell(bot.Clip(t.Columns[i], maxCellText))
	}
	tb.AddRow(header...)
	rows := min(len(t.Rows), maxTableRows-1)
	for _, row := range t.Rows[:rows] {
		cells := make([]slack.TableCell, cols)
		for i := range cols {
			cells[i] = slack.NewTableRawTextCell(bot.Clip(row[i], maxCellText)) // numbers as text: raw_number was once rejected
		}
		tb.AddRow(cells...)
	}
	out := []slack.Block{tb}
	var notes []string
	if rt := bot.RangeText(t); rt != "" {
		notes = append(notes, rt+".")
	}
	if len(t.Rows) > rows {
		note := fmt.Sprintf("Only %d of these %d rows fit a Slack table.", rows, len(t.Rows))
		if hasCSV {
			note += " The attached CSV has them all."
		}
		notes = append(notes, note)
	}
	if len(t.Columns) > cols {
		notes = append(notes, fmt.Sprintf("Showing %d of %d columns.", cols, len(t.Columns)))
	}
	if len(notes) > 0 {
		out = append(out, slack.NewContextBlock("table_notes", plain(strings.Join(notes, " "))))
	}
	return out
}

// tableRowJSON is the JSON size of a row as tableBlocks renders it.
func tableRowJSON(row []string) int {
	cells := make([]slack.TableCell, len(row))
	for i, c := range row {
		cells[i] = slack.NewTableRawTextCell(bot.Clip(c, maxCellText))
	}
	b, _ := json.Marshal(cells) // strings always encode
	return len(b)
}

// factBlocks shows facts as section fields, label in bold over its value,
// ten to a section; each label and value is kept whole (up to Slack's
// field limit).
func factBlocks(fs []bot.Fact) []slack.Block {
	var out []slack.Block
	for start := 0; start < len(fs); start += maxSectionFields {
		if len(out) == maxFactBlocks {
			out = append(out, slack.NewContextBlock("facts_more", plain(fmt.Sprintf("… %d more fact(s) not shown", len(fs)-start))))
			break
		}
		var fields []*slack.TextBlockObject
		for _, f := range fs[start:min(start+maxSectionFields, len(fs))] {
			label := escapeClip(bot.OneLine(f.Label), 200)
			text := "*" + label + "*\n" + escapeClip(f.Value, maxFieldText-runeLen(label)-3)
			fields = append(fields, slack.NewTextBlockObject(slack.MarkdownType, text, false, true))
		}
		out = append(out, slack.NewSectionBlock(nil, fields, nil, slack.SectionBlockOptionBlockID(fmt.Sprintf("facts_%d", len(out)))))
	}
	return out
}
