package teams

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
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
	terseRunes      = 100 // a line of a card over budget
)

// render is renderCard without download links.
func render(r bot.Reply) *card { return renderCard(r, nil) }

// renderCard turns a reply into an Adaptive Card 1.5. Buttons become
// Action.Execute with an Action.Submit fallback; menus become a filtered
// Input.ChoiceSet with one such button; links (the reply's files, already
// published) become Action.OpenUrl. It is pure: same reply and links, same
// card.
//
// It shows every table row it is given: a page is cut to fit before it
// gets here (Fit). When the card is still over the size budget, the parts
// around the table give way first: the chart, then long summaries and
// warnings, then the download links. Only a table that was never fitted
// and cannot fit even then is cut, with a note.
func renderCard(r bot.Reply, links []fileLink) *card {
	var c, trimmed *card
	for lvl := full; lvl <= noLinks; lvl++ {
		var whole bool
		c, whole = build(r, links, lvl)
		if whole && cardSize(c) <= cardBudget {
			return c
		}
		if lvl == terse {
			trimmed = c
		}
		if whole && lvl == noLinks {
			return c // every row, over the budget by text alone: Teams takes up to ~80 KB
		}
	}
	// A table that was never fitted: as many rows as fit, with a note, and
	// the download link that has them all.
	return trimmed
}

// shed is how much a card leaves out to stay under the size budget.
type shed int

const (
	full    shed = iota
	noChart      // the chart left out
	terse        // and summaries, facts and warnings cut to a few short lines
	noLinks      // and the download links
)

// build renders r leaving out what lvl says; whole is false when table
// rows were left out for size.
func build(r bot.Reply, links []fileLink, lvl shed) (c *card, whole bool) {
	c = &card{Type: "AdaptiveCard", Schema: cardSchema, Version: cardVersion, MSTeams: &cardMSTeams{Width: "Full"}}
	whole = true
	if r.Title != "" {
		c.Body = append(c.Body, element{Type: "TextBlock", Text: bot.Clip(r.Title, maxTitleRunes), Size: "Large",
			Weight: "Bolder", Color: kindColor(r.Kind), Wrap: true})
	}
	lines, warns, runes := maxSummaryLines, maxWarnings, maxLineRunes
	if lvl >= terse {
		lines, warns, runes = 3, 3, terseRunes
	}
	c.Body = append(c.Body, summary(r.Summary, lines, runes)...)
	c.Body = append(c.Body, facts(r.Facts, lines, runes)...)
	for i, w := range r.Warnings {
		if i == warns {
			c.Body = append(c.Body, textBlock(fmt.Sprintf("... and %d more warnings", len(r.Warnings)-i), "Attention"))
			break
		}
		c.Body = append(c.Body, textBlock("⚠ "+bot.Clip(w, runes), "Attention"))
	}
	if lvl < noChart {
		c.Body = append(c.Body, chart(r.Chart)...)
	} else if r.Chart != nil && len(r.Chart.Points) > 0 {
		c.Body = append(c.Body, subtle("The chart is left out: it does not fit in a Teams card with this table."))
	}
	dropped := 0
	for _, b := range r.Buttons {
		switch {
		case b.ActionID == "": // a button that sends nothing is no button
		case len(c.Actions) == maxActions:
			dropped++
		default:
			c.Actions = append(c.Actions, action(b))
		}
	}
	if dropped > 0 {
		c.Body = append(c.Body, subtle(fmt.Sprintf("%d more button(s) left out: a Teams card holds %d. Type the command instead.", dropped, maxActions)))
	}
	// Teams shows at most six actions: buttons first (Approve, paging),
	// then one button per menu, then the download links. A link that does
	// not fit is left out of the note too, which then says the file cannot
	// be attached.
	menus := r.Menus[:min(len(r.Menus), max(0, maxCardActions-len(c.Actions)))]
	if lvl >= noLinks {
		links = nil
	}
	// An image (a trend chart) is shown in the card; other files get a
	// download button.
	var downloads []fileLink
	for _, l := range links {
		if l.Image {
			c.Body = append(c.Body, element{Type: "Image", URL: l.URL, AltText: bot.Clip(l.Name, maxLabelRunes)})
		} else {
			downloads = append(downloads, l)
		}
	}
	downloads = downloads[:min(len(downloads), max(0, maxCardActions-len(c.Actions)-len(menus)))]
	for _, l := range downloads {
		c.Actions = append(c.Actions, cardAction{Type: "Action.OpenUrl", Title: bot.Clip("Download "+l.Name, maxLabelRunes), URL: l.URL})
	}
	links = append(downloads, imageLinks(links)...)
	// The menus go under the table: rendered first, so the table leaves
	// room for them (a kick menu of 100 choices is several KB).
	trailing := menuElements(menus)
	if len(menus) < len(r.Menus) {
		trailing = append(trailing, subtle(fmt.Sprintf("%d more menu(s) left out: a Teams card holds %d actions. Type the command instead.", len(r.Menus)-len(menus), maxCardActions)))
	}
	if r.Table != nil && len(r.Table.Columns) > 0 {
		whole = addTable(c, r.Table, r.Files, links, elementsSize(trailing)) == len(r.Table.Rows)
	} else if n := csvNote(r.Files, links); n != "" {
		c.Body = append(c.Body, subtle(n))
	}
	c.Body = append(c.Body, trailing...)
	if len(c.Body) == 0 {
		c.Body = append(c.Body, textBlock("(no content)", ""))
	}
	return c, whole
}

// fitReserve is room kept free by Fit for what may be added to a reply
// after it was fitted (an approval's buttons, a longer download URL).
const fitReserve = 2048

// fitRows counts how many leading rows of r.Table fit in one card with
// everything else r holds (links: the download buttons its files will
// get), within the size budget less fitReserve.
func fitRows(r bot.Reply, links []fileLink) int {
	if r.Table == nil || len(r.Table.Columns) == 0 {
		return 0
	}
	t := bot.Compact(r.Table)
	empty := r
	empty.Table = &bot.Table{Columns: t.Columns, Offset: t.Offset, TotalRows: max(t.TotalRows, t.Offset+len(t.Rows)+1)}
	size := cardSize(renderCard(empty, links))
	n := 0
	for _, row := range t.Rows {
		size += rowSize(row) + 1
		if size > cardBudget-fitReserve {
			break
		}
		n++
	}
	return n
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

// summary renders each line whole, as a text block of its own.
func summary(lines []string, most, runes int) []element {
	out := make([]element, 0, min(len(lines), most+1))
	for i, l := range lines {
		if i == most {
			out = append(out, subtle(fmt.Sprintf("... %d more lines", len(lines)-most)))
			break
		}
		out = append(out, textBlock(cellText(bot.Clip(l, runes)), ""))
	}
	return out
}

// facts renders labelled values as a FactSet, each label and value whole
// (up to the card's line limit).
func facts(fs []bot.Fact, most, runes int) []element {
	if len(fs) == 0 {
		return nil
	}
	set := element{Type: "FactSet"}
	for i, f := range fs {
		if i == most {
			set.Facts = append(set.Facts, fact{Title: "…", Value: fmt.Sprintf("%d more", len(fs)-most)})
			break
		}
		set.Facts = append(set.Facts, fact{Title: bot.Clip(f.Label, maxLabelRunes*2), Value: bot.Clip(f.Value, runes)})
	}
	return []element{set}
}

// chart draws the series as monospace text bars, one line each. The
// padding is no-break spaces, which Teams does not collapse the way it
// collapses runs of spaces, so the bars line up.
func chart(ch *bot.Chart) []element {
	if ch == nil || len(ch.Points) == 0 {
		return nil
	}
	var out []element
	if ch.Title != "" {
		out = append(out, element{Type: "TextBlock", Text: bot.Clip(ch.Title, maxTitleRunes), Weight: "Bolder", Wrap: true})
	}
	pts := ch.Points
	if len(pts) > maxChartPoints {
		pts = pts[:maxChartPoints]
	}
	var maxV float64
	width := 0
	for _, p := range pts {
		maxV = max(maxV, p.Value)
		width = max(width, utf8.RuneCountInString(chartLabel(p.Label)))
	}
	for _, p := range pts {
		n := 0
		if maxV > 0 && p.Value > 0 {
			n = max(1, int(p.Value/maxV*chartBarWidth+0.5))
		}
		label := chartLabel(p.Label)
		line := label + strings.Repeat(nbsp, width-utf8.RuneCountInString(label)+1) +
			strings.Repeat("█", n) + nbsp + formatValue(p.Value)
		out = append(out, element{Type: "TextBlock", Text: line, FontType: "Monospace", Spacing: "None"})
	}
	if len(ch.Points) > len(pts) {
		out = append(out, subtle(fmt.Sprintf("... %d more", len(ch.Points)-len(pts))))
	}
	return out
}

const nbsp = "\u00a0"

// chartLabel keeps a label short, on one line, with no-break spaces.
func chartLabel(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(bot.Clip(s, 24)), " "), " ", nbsp)
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
	title := b.Label
	if title == "" {
		title = b.ActionID
	}
	title = bot.Clip(title, maxLabelRunes)
	return confirmed(cardAction{Type: "Action.Execute", Title: title, Verb: b.ActionID, Data: data, Style: style,
		Fallback: &cardAction{Type: "Action.Submit", Title: title, Data: data, Style: style}}, b.Confirm)
}

// confirmed asks before act runs when confirm is set, as Slack's confirm
// dialog and the console's question do: a ShowCard button of the same
// title opens the question under it, with act as its only button. It
// counts as one action of the card; inputs of the card around it (a
// menu's choice) are sent with act.
func confirmed(act cardAction, confirm string) cardAction {
	if confirm == "" {
		return act
	}
	yes := act
	yes.Title = bot.Clip("Yes, "+lowerFirst(act.Title), maxLabelRunes)
	if yes.Fallback != nil {
		fb := *yes.Fallback
		fb.Title = yes.Title
		yes.Fallback = &fb
	}
	return cardAction{Type: "Action.ShowCard", Title: act.Title, Style: act.Style, Card: &card{
		Type: "AdaptiveCard", Body: []element{{Type: "TextBlock", Text: bot.Clip(confirm, maxLineRunes), Wrap: true}},
		Actions: []cardAction{yes},
	}}
}

// lowerFirst lowers the first letter of s, of any width ("" stays "").
func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// elementsSize is the JSON size of els as part of a card's body.
func elementsSize(els []element) int {
	if len(els) == 0 {
		return 0
	}
	b, _ := json.Marshal(els)
	return len(b)
}

func cardSize(c *card) int {
	b, _ := json.Marshal(c)
	return len(b)
}
