package slackbot

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// Block Kit limits (docs.slack.dev, Block Kit reference). Slack rejects a
// whole message with invalid_blocks when one is exceeded, so render keeps
// every one of them.
const (
	maxBlocks        = 50
	maxHeaderText    = 150
	maxSectionText   = 3000
	maxContextElems  = 10
	maxTableRows     = 100 // including the header row
	maxTableCols     = 20
	maxCellText      = 3000 // not documented; kept at the section limit
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxActionID      = 255
	maxActionsElems  = 25
	maxConfirmTitle  = 100
	maxConfirmText   = 300
	maxConfirmLabel  = 30
	maxMessageText   = 40000
	maxSummaryBlocks = 10
	maxFactBlocks    = 3
	maxSectionFields = 10
	maxFieldText     = 2000
	maxWarnBlocks    = 3
	maxActionBlocks  = 2
	maxChartPoints   = 25
	chartBarWidth    = 20
	// maxTableJSON caps the JSON of a table's rows. A click on a button
	// under the table (Next) sends the whole message back, form-encoded
	// (up to 3 bytes a byte), and maxInteractionBody must hold it.
	maxTableJSON = 200 << 10
)

// Fit is bot.Request.Fit for Slack: a message holds one table block of at
// most 100 rows including its header, and the rows' JSON is kept under
// maxTableJSON. Every other part of a reply has its own cap below, so the
// blocks stay under 50 whatever the table holds.
func Fit(r bot.Reply) int {
	if r.Table == nil {
		return 0
	}
	t := bot.Compact(r.Table)
	cols := min(len(t.Columns), maxTableCols)
	n := min(len(t.Rows), maxTableRows-1)
	size := tableRowJSON(t.Columns[:cols])
	for i, row := range t.Rows[:n] {
		size += tableRowJSON(row[:cols])
		if size > maxTableJSON {
			return i
		}
	}
	return n
}

// kindEmoji prefixes the header so a reply's nature shows at a glance.
var kindEmoji = map[bot.Kind]string{
	bot.Success: ":white_check_mark: ",
	bot.Warning: ":warning: ",
	bot.Error:   ":x: ",
	bot.Denied:  ":no_entry: ",
	bot.Usage:   ":grey_question: ",
	bot.Pending: ":hourglass_flowing_sand: ",
}

// render turns a neutral reply into Block Kit blocks plus the fallback text
// Slack shows in notifications. It is pure: same reply, same blocks.
func render(r bot.Reply) ([]slack.Block, string) {
	var blocks []slack.Block
	if r.Title != "" {
		blocks = append(blocks, slack.NewHeaderBlock(
			plain(bot.Clip(kindEmoji[r.Kind]+r.Title, maxHeaderText)), slack.HeaderBlockOptionBlockID("title")))
	}
	blocks = append(blocks, summaryBlocks(r.Summary)...)
	blocks = append(blocks, factBlocks(r.Facts)...)
	if r.Table != nil {
		blocks = append(blocks, tableBlocks(r.Table, bot.HasCSV(r.Files))...)
	}
	if r.Chart != nil && len(r.Chart.Points) > 0 {
		blocks = append(blocks, chartBlock(r.Chart))
	}
	blocks = append(blocks, warningBlocks(r.Warnings)...)
	actions, notes := actionBlocks(r.Menus, r.Buttons)
	if len(notes) > 0 {
		elems := make([]slack.MixedElement, 0, len(notes))
		for _, n := range notes[:min(len(notes), maxContextElems)] {
			elems = append(elems, plain(bot.Clip(n, maxSectionText)))
		}
		blocks = append(blocks, slack.NewContextBlock("actions_notes", elems...))
	}
	blocks = append(blocks, actions...)
	if len(blocks) > maxBlocks { // cannot happen with the per-part caps; kept as the last line of defence
		blocks = blocks[:maxBlocks]
	}
	return blocks, fallbackText(r)
}

// fallbackText is the message's text field: what notifications and
// clients without Block Kit show. The blocks carry the table, chart and
// buttons, so it is the title, summary and warnings only; rendering a
// 10,000-row table as text just to cut it to 40,000 characters dominated
// the cost of large replies.
func fallbackText(r bot.Reply) string {
	r.Table, r.Chart, r.Menus, r.Buttons = nil, nil, nil, nil
	return bot.Clip(bot.PlainText(r), maxMessageText)
}

// summaryBlocks packs summary lines into as few sections as the 3000-char
// limit allows, splitting only at line breaks.
func summaryBlocks(lines []string) []slack.Block {
	var out []slack.Block
	var cur strings.Builder
	curLen := 0
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, section(fmt.Sprintf("summary_%d", len(out)), cur.String()))
			cur.Reset()
			curLen = 0
		}
	}
	for i, line := range lines {
		line = bot.Clip(line, maxSectionText)
		n := runeLen(line)
		if curLen > 0 && curLen+1+n > maxSectionText {
			if len(out) == maxSummaryBlocks-2 { // room for this block and a note
				flush()
				return append(out, section("summary_more", fmt.Sprintf("… %d more line(s) not shown", len(lines)-i)))
			}
			flush()
		}
		if curLen > 0 {
			cur.WriteByte('\n')
			curLen++
		}
		cur.WriteString(line)
		curLen += n
	}
	flush()
	return out
}

// chartBlock draws the series as a short text bar list in a code block,
// which keeps the bars aligned in every Slack client.
func chartBlock(c *bot.Chart) slack.Block {
	pts := c.Points[:min(len(c.Points), maxChartPoints)]
	maxVal, width := 0.0, 0
	for _, p := range pts {
		maxVal = math.Max(maxVal, p.Value)
		width = max(width, runeLen(chartLabel(p.Label)))
	}
	var b strings.Builder
	if c.Title != "" {
		b.WriteString("*" + escapeClip(bot.OneLine(c.Title), 200) + "*\n")
	}
	b.WriteString("```\n")
	for _, p := range pts {
		n := 0
		if maxVal > 0 && p.Value > 0 {
			n = max(1, int(math.Round(p.Value/maxVal*chartBarWidth)))
		}
		label := chartLabel(p.Label)
		b.WriteString(label + strings.Repeat(" ", width-runeLen(label)) + " " +
			strings.Repeat("█", n) + " " + chartValue(p.Value) + "\n")
	}
	if len(c.Points) > len(pts) {
		fmt.Fprintf(&b, "… %d more\n", len(c.Points)-len(pts))
	}
	b.WriteString("```")
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, b.String(), false, true),
		nil, nil, slack.SectionBlockOptionBlockID("chart"))
}

// chartLabel keeps a label on one line, short (escaped included), and
// unable to end the code block it sits in.
func chartLabel(s string) string {
	return escapeClip(strings.ReplaceAll(bot.OneLine(s), "`", "'"), 40)
}

// chartValue writes a value short: plain digits up to 1e15, else with an
// exponent (1e300 in plain digits is 301 characters).
func chartValue(v float64) string {
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// warningBlocks puts warnings in context blocks: up to 10 elements each,
// each element within the text limit.
func warningBlocks(ws []string) []slack.Block {
	var out []slack.Block
	var elems []slack.MixedElement
	for i, w := range ws {
		if len(out) == maxWarnBlocks-1 && len(elems) == maxContextElems-1 && i < len(ws)-1 {
			elems = append(elems, plain(fmt.Sprintf("… %d more warning(s) not shown", len(ws)-i)))
			break
		}
		elems = append(elems, plain(bot.Clip("⚠ "+w, maxSectionText)))
		if len(elems) == maxContextElems {
			out = append(out, slack.NewContextBlock(fmt.Sprintf("warnings_%d", len(out)), elems...))
			elems = nil
		}
	}
	if len(elems) > 0 {
		out = append(out, slack.NewContextBlock(fmt.Sprintf("warnings_%d", len(out)), elems...))
	}
	return out
}

// actionBlocks renders menus as select menus and buttons, 25 elements to
// an actions block. Buttons come first for room: paging buttons must never
// be pushed off by menus. A button or option whose value or action id is
// too long (or not UTF-8: JSON would widen each bad byte to three) is left
// out rather than cut: both are opaque to us, and a cut value would mean
// something else. Duplicate action ids in one message are
// made unique with a "#n" suffix (Slack rejects duplicates) that
// parseActionID strips again. The notes say what was left out.
func actionBlocks(menus []bot.Menu, bs []bot.Button) ([]slack.Block, []string) {
	count := map[string]int{}
	for _, b := range bs {
		count[b.ActionID]++
	}
	for _, m := range menus {
		count[m.ActionID] += (len(m.Options) + maxSelectOptions - 1) / maxSelectOptions
	}
	seq := 0
	uniqueID := func(id string) string {
		seq++
		if count[id] > 1 || looksSuffixed(id) {
			return id + "#" + strconv.Itoa(seq-1)
		}
		return id
	}
	room := maxActionBlocks * maxActionsElems
	var buttons []slack.BlockElement
	var notes []string
	dropped := 0
	for _, b := range bs {
		id := uniqueID(b.ActionID)
		if b.ActionID == "" || len(id) > maxActionID || len(b.Value) > maxButtonValue ||
			len(buttons) == room || !utf8.ValidString(b.Value) || !utf8.ValidString(b.ActionID) {
			dropped++
			continue
		}
		buttons = append(buttons, buttonElement(id, b))
	}
	if dropped > 0 {
		notes = append(notes, fmt.Sprintf("%d button(s) left out: too many or too long for Slack.", dropped))
	}
	var selects []slack.BlockElement
	for _, m := range menus {
		els, note := selectMenus(m, uniqueID, room-len(buttons)-len(selects))
		selects = append(selects, els...)
		if note != "" {
			notes = append(notes, note)
		}
	}
	var out []slack.Block
	var elems []slack.BlockElement
	for _, el := range append(selects, buttons...) {
		elems = append(elems, el)
		if len(elems) == maxActionsElems {
			out = append(out, slack.NewActionBlock(fmt.Sprintf("actions_%d", len(out)), elems...))
			elems = nil
		}
	}
	if len(elems) > 0 {
		out = append(out, slack.NewActionBlock(fmt.Sprintf("actions_%d", len(out)), elems...))
	}
	return out, notes
}

func buttonElement(id string, b bot.Button) *slack.ButtonBlockElement {
	label := b.Label
	if label == "" {
		label = b.ActionID
	}
	btn := slack.NewButtonBlockElement(id, b.Value, plain(bot.Clip(bot.OneLine(label), maxButtonText)))
	switch b.Style {
	case bot.Primary:
		btn.WithStyle(slack.StylePrimary)
	case bot.Danger:
		btn.WithStyle(slack.StyleDanger)
	}
	if b.Confirm != "" {
		btn.WithConfirm(confirmFor(b))
	}
	return btn
}

func confirmFor(b bot.Button) *slack.ConfirmationBlockObject {
	label := bot.Clip(bot.OneLine(b.Label), maxConfirmLabel)
	if label == "" {
		label = "Yes"
	}
	c := slack.NewConfirmationBlockObject(
		plain(bot.Clip("Are you sure?", maxConfirmTitle)),
		plain(bot.Clip(b.Confirm, maxConfirmText)),
		plain(label),
		plain("Cancel"),
	)
	if b.Style == bot.Danger {
		c.WithStyle(slack.StyleDanger)
	} else {
		c.WithStyle(slack.StylePrimary)
	}
	return c
}

// parseActionID undoes the uniqueness suffix added by actionBlocks.
func parseActionID(id string) string {
	i := strings.LastIndexByte(id, '#')
	if i < 0 || !isDigits(id[i+1:]) {
		return id
	}
	return id[:i]
}

func looksSuffixed(id string) bool { return parseActionID(id) != id }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

// section uses plain_text: summary lines carry names from Qlik, which must
// not be able to mention @channel or forge links.
func section(id, text string) *slack.SectionBlock {
	return slack.NewSectionBlock(plain(text), nil, nil, slack.SectionBlockOptionBlockID(id))
}

// escapeClip escapes s for mrkdwn (& < >) and cuts the result to at most
// n characters, ending with "…" when cut, never inside an entity: Slack's
// limits count the escaped text.
func escapeClip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if n <= 0 {
		return ""
	}
	var b strings.Builder
	count := 0
	for i, r := range s {
		e := string(r)
		switch r {
		case '&':
			e = "&amp;"
		case '<':
			e = "&lt;"
		case '>':
			e = "&gt;"
		}
		w := utf8.RuneCountInString(e)
		// Room for "…" unless this is the end of s.
		if rest := s[i+utf8.RuneLen(r):]; count+w > n || (count+w == n && rest != "") {
			b.WriteString("…")
			return b.String()
		}
		b.WriteString(e)
		count += w
	}
	return b.String()
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
