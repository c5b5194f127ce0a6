package teams

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/bot"
)

// Card size and content limits. Teams refuses bot messages over ~80 KB;
// we keep every card under 28 KB (the strictest Teams card limit) so a card
// fits any path, including an invoke answer and an update.
const (
	maxCardBytes    = 28 * 1024
	cardBudget      = maxCardBytes - 1024 // room for the activity envelope
	maxTitleRunes   = 200
	maxLineRunes    = 500
	maxCellRunes    = 120
	maxSummaryLines = 20
	maxWarnings     = 10
	maxColumns      = 10
	maxChartPoints  = 25
	maxActions      = 5 // buttons
	maxCardActions  = 6 // buttons and download links
	maxLabelRunes   = 40
	chartBarWidth   = 20
	noteReserve     = 400 // bytes kept for the "N more rows" note
)

// render is renderCard without download links.
func render(r bot.Reply) *card { return renderCard(r, nil) }

// renderCard turns a reply into an Adaptive Card 1.5. Buttons become
// Action.Execute with an Action.Submit fallback; links (the reply's files,
// already published) become Action.OpenUrl. It is pure: same reply and
// links, same card.
func renderCard(r bot.Reply, links []fileLink) *card {
	c := &card{Type: "AdaptiveCard", Schema: cardSchema, Version: cardVersion, MSTeams: &cardMSTeams{Width: "Full"}}
	if r.Title != "" {
		c.Body = append(c.Body, element{Type: "TextBlock", Text: clip(r.Title, maxTitleRunes), Size: "Large",
			Weight: "Bolder", Color: kindColor(r.Kind), Wrap: true})
	}
	c.Body = append(c.Body, summary(r.Summary)...)
	for i, w := range r.Warnings {
		if i == maxWarnings {
			c.Body = append(c.Body, textBlock(fmt.Sprintf("... and %d more warnings", len(r.Warnings)-i), "Attention"))
			break
		}
		c.Body = append(c.Body, textBlock("⚠ "+clip(w, maxLineRunes), "Attention"))
	}
	c.Body = append(c.Body, chart(r.Chart)...)
	for i, b := range r.Buttons {
		if i == maxActions {
			break
		}
		c.Actions = append(c.Actions, action(b))
	}
	// Teams shows at most six actions; a link that does not fit is left
	// out of the note too, which then says the file cannot be attached.
	links = links[:min(len(links), max(0, maxCardActions-len(c.Actions)))]
	for _, l := range links {
		c.Actions = append(c.Actions, cardAction{Type: "Action.OpenUrl", Title: clip("Download "+l.Name, maxLabelRunes), URL: l.URL})
	}
	if r.Table != nil && len(r.Table.Columns) > 0 {
		addTable(c, r.Table, r.Files, links)
	} else if n := csvNote(r.Files, links); n != "" {
		c.Body = append(c.Body, subtle(n))
	}
	if len(c.Body) == 0 {
		c.Body = append(c.Body, textBlock("(no content)", ""))
	}
	return fit(c)
}

// fit is the last guard of the size limit, for replies whose text alone
// is too big (many long lines of characters JSON escapes): keep the title
// and the buttons, say so.
func fit(c *card) *card {
	if cardSize(c) <= cardBudget {
		return c
	}
	body := []element{textBlock("This answer is too large to show in Teams: narrow the query (a prefix, --proxy or --user).", "Attention")}
	if len(c.Body) > 0 && c.Body[0].Size == "Large" {
		body = append([]element{c.Body[0]}, body...)
	}
	c.Body = body
	return c
}

func textBlock(s, color string) element {
	return element{Type: "TextBlock", Text: s, Color: color, Wrap: true}
}

func subtle(s string) element {
	return element{Type: "TextBlock", Text: s, IsSubtle: true, Size: "Small", Wrap: true}
}

func kindColor(k bot.Kind) string {
	switch k {
	case bot.Success:
		return "Good"
	case bot.Warning, bot.Pending:
		return "Warning"
	case bot.Error, bot.Denied:
		return "Attention"
	default:
		return "Default"
	}
}

// summary renders "Key: value" lines as a FactSet and anything else as
// text blocks.
func summary(lines []string) []element {
	if len(lines) > maxSummaryLines {
		lines = append(lines[:maxSummaryLines:maxSummaryLines], fmt.Sprintf("... %d more lines", len(lines)-maxSummaryLines))
	}
	var facts []fact
	for _, l := range lines {
		k, v, ok := strings.Cut(l, ": ")
		if !ok || k == "" || len(k) > 40 {
			facts = nil
			break
		}
		facts = append(facts, fact{Title: clip(k, 40), Value: clip(v, maxLineRunes)})
	}
	if facts != nil {
		return []element{{Type: "FactSet", Facts: facts}}
	}
	out := make([]element, 0, len(lines))
	for _, l := range lines {
		out = append(out, textBlock(clip(l, maxLineRunes), ""))
	}
	return out
}

// chart draws the series as monospace text bars.
func chart(ch *bot.Chart) []element {
	if ch == nil || len(ch.Points) == 0 {
		return nil
	}
	var out []element
	if ch.Title != "" {
		out = append(out, element{Type: "TextBlock", Text: clip(ch.Title, maxTitleRunes), Weight: "Bolder", Wrap: true})
	}
	pts := ch.Points
	if len(pts) > maxChartPoints {
		pts = pts[:maxChartPoints]
	}
	var maxV float64
	width := 0
	for _, p := range pts {
		maxV = max(maxV, p.Value)
		width = max(width, utf8.RuneCountInString(clip(p.Label, 24)))
	}
	for _, p := range pts {
		n := 0
		if maxV > 0 && p.Value > 0 {
			n = max(1, int(p.Value/maxV*chartBarWidth+0.5))
		}
		label := clip(p.Label, 24)
		line := label + strings.Repeat(" ", width-utf8.RuneCountInString(label)) + " " +
			strings.Repeat("█", n) + " " + formatValue(p.Value)
		out = append(out, element{Type: "TextBlock", Text: line, FontType: "Monospace", Spacing: "None"})
	}
	if len(ch.Points) > len(pts) {
		out = append(out, subtle(fmt.Sprintf("... %d more", len(ch.Points)-len(pts))))
	}
	return out
}

func formatValue(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.2f", v)
}

func action(b bot.Button) cardAction {
	style := ""
	switch b.Style {
	case bot.Primary:
		style = "positive"
	case bot.Danger:
		style = "destructive"
	}
	data := clickData{Action: b.ActionID, Value: b.Value}
	title := clip(b.Label, maxLabelRunes)
	return cardAction{Type: "Action.Execute", Title: title, Verb: b.ActionID, Data: data, Style: style,
		Fallback: &cardAction{Type: "Action.Submit", Title: title, Data: data, Style: style}}
}

// addTable appends the table with as many rows as fit the size budget and
// a note saying what is not shown.
func addTable(c *card, t *bot.Table, files []bot.File, links []fileLink) {
	cols := t.Columns
	if len(cols) > maxColumns {
		cols = cols[:maxColumns]
	}
	tbl := element{Type: "Table", FirstRowAsHeader: true, GridStyle: "accent"}
	for range cols {
		tbl.Columns = append(tbl.Columns, tableColumn{Width: 1})
	}
	header := tableRow{Type: "TableRow", Style: "accent"}
	for _, h := range cols {
		header.Cells = append(header.Cells, cell(element{Type: "TextBlock", Text: clip(h, maxCellRunes), Weight: "Bolder", Wrap: true}))
	}
	tbl.Rows = []tableRow{header}
	c.Body = append(c.Body, tbl)
	idx := len(c.Body) - 1
	size := cardSize(c) + noteReserve
	shown := 0
	for _, r := range t.Rows {
		row := tableRow{Type: "TableRow"}
		for i := range cols {
			v := ""
			if i < len(r) {
				v = r[i]
			}
			row.Cells = append(row.Cells, cell(element{Type: "TextBlock", Text: clip(v, maxCellRunes), Wrap: true}))
		}
		b, _ := json.Marshal(row)
		if size+len(b)+1 > cardBudget {
			break
		}
		size += len(b) + 1
		c.Body[idx].Rows = append(c.Body[idx].Rows, row)
		shown++
	}
	if note := tableNote(t, shown, files, links); note != "" {
		c.Body = append(c.Body, subtle(note))
	}
}

func cell(e element) tableCell { return tableCell{Type: "TableCell", Items: []element{e}} }

// tableNote says which rows the card shows and where the rest are.
func tableNote(t *bot.Table, shown int, files []bot.File, links []fileLink) string {
	total := max(t.TotalRows, len(t.Rows))
	var parts []string
	if t.Pages > 1 {
		parts = append(parts, fmt.Sprintf("Page %d of %d.", t.Page, t.Pages))
	}
	if shown < total {
		parts = append(parts, fmt.Sprintf("Showing %d of %d rows; %d more rows not shown.", shown, total, total-shown))
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
		down = append(down, l.Name)
	}
	var missing []string
	for _, f := range files {
		if !linked[f.Name] {
			missing = append(missing, f.Name)
		}
	}
	var parts []string
	if len(down) > 0 {
		parts = append(parts, fmt.Sprintf("Download the full list (%s) with the button below; the link expires.",
			clip(strings.Join(down, ", "), 100)))
	}
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("The full list (%s) cannot be attached in Teams: narrow the query with a prefix, --proxy or --user.",
			clip(strings.Join(missing, ", "), 100)))
	}
	return strings.Join(parts, " ")
}

func cardSize(c *card) int {
	b, _ := json.Marshal(c)
	return len(b)
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
