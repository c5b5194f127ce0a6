package bot

import (
	"bytes"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// NewRequestID returns a short random id (12 hex digits) for logs and the
// audit trail.
func NewRequestID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

var (
	// A leading Slack mention (<@U123> or <@U123|name>) or Teams mention
	// (<at>qlikbot</at>, possibly with attributes).
	leadingMention = regexp.MustCompile(`^(?:<@[A-Za-z0-9._-]+(?:\|[^>]*)?>|(?i:<at(?:\s[^>]*)?>.*?</at>))\s*`)
	// A leading "/qlik" or "qlik" as a whole word.
	leadingQlik = regexp.MustCompile(`^(?i:/?qlik)(?:\s+|$)`)
	// Spaces chat clients put in that strings.Fields does not split on,
	// or that should not be there at all.
	oddSpaces = strings.NewReplacer("\u00a0", " ", "&nbsp;", " ", "\u202f", " ", "\u2007", " ",
		"\u200b", "", "\ufeff", "")
)

// TrimCommand reduces what a user typed to the command text: it strips
// leading mentions of the bot ("<@U123>", "<at>qlikbot</at>"), a leading
// "/qlik" or "qlik", non-breaking spaces and surrounding space.
// "<at>qlikbot</at>&nbsp;sessions finance" gives "sessions finance".
func TrimCommand(text string) string {
	s := strings.TrimSpace(oddSpaces.Replace(text))
	for {
		loc := leadingMention.FindStringIndex(s)
		if loc == nil {
			break
		}
		s = s[loc[1]:]
	}
	if loc := leadingQlik.FindStringIndex(s); loc != nil {
		s = s[loc[1]:]
	}
	return strings.TrimSpace(s)
}

// PlainText renders r as plain text: the title, the summary lines, an
// aligned table with a paging line, warnings prefixed "! ", the chart as a
// bar list and the buttons as "[1] Approve  [2] Reject". Files are not
// listed. It is the console's rendering and the Slack/Teams fallback text.
func PlainText(r Reply) string {
	var parts []string
	var head []string
	if r.Title != "" {
		head = append(head, oneLine(r.Title))
	}
	for _, s := range r.Summary {
		head = append(head, oneLine(s))
	}
	if len(head) > 0 {
		parts = append(parts, strings.Join(head, "\n"))
	}
	if r.Table != nil {
		parts = append(parts, plainTable(r.Table))
	}
	if len(r.Warnings) > 0 {
		w := make([]string, len(r.Warnings))
		for i, s := range r.Warnings {
			w[i] = "! " + oneLine(s)
		}
		parts = append(parts, strings.Join(w, "\n"))
	}
	if r.Chart != nil && (r.Chart.Title != "" || len(r.Chart.Points) > 0) {
		parts = append(parts, plainChart(r.Chart))
	}
	if len(r.Buttons) > 0 {
		b := make([]string, len(r.Buttons))
		for i, btn := range r.Buttons {
			b[i] = fmt.Sprintf("[%d] %s", i+1, oneLine(btn.Label))
		}
		parts = append(parts, strings.Join(b, "  "))
	}
	return strings.Join(parts, "\n\n")
}

// oneLine keeps a cell or line from breaking the layout.
var oneLine = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace

func plainTable(t *Table) string {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	if len(t.Columns) > 0 {
		row(tw, t.Columns)
		dashes := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			dashes[i] = strings.Repeat("-", max(1, utf8.RuneCountInString(oneLine(c))))
		}
		row(tw, dashes)
	}
	for _, r := range t.Rows {
		row(tw, r)
	}
	_ = tw.Flush() // writes to a bytes.Buffer cannot fail
	out := strings.TrimRight(buf.String(), "\n")
	if len(t.Rows) == 0 {
		out = strings.TrimLeft(out+"\n(no rows)", "\n")
	}
	if t.Pages > 0 {
		out += fmt.Sprintf("\nPage %d of %d, %d rows in all", t.Page, t.Pages, t.TotalRows)
	}
	return out
}

func row(tw *tabwriter.Writer, cells []string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = oneLine(c)
	}
	// No tab after the last cell: tabwriter leaves it unpadded, so lines
	// carry no trailing spaces.
	line := strings.Join(clean, "\t") + "\n"
	_, _ = tw.Write([]byte(line))
}

const barWidth = 30

func plainChart(c *Chart) string {
	var lines []string
	if c.Title != "" {
		lines = append(lines, oneLine(c.Title))
	}
	labelW, top := 0, 0.0
	for _, p := range c.Points {
		labelW = max(labelW, utf8.RuneCountInString(oneLine(p.Label)))
		if v := p.Value; v > top && !math.IsInf(v, 0) && !math.IsNaN(v) {
			top = v
		}
	}
	for _, p := range c.Points {
		n := 0
		if v := p.Value; top > 0 && v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
			n = max(1, int(math.Round(v/top*barWidth)))
		}
		label := oneLine(p.Label)
		pad := strings.Repeat(" ", labelW-utf8.RuneCountInString(label))
		lines = append(lines, strings.TrimRight(fmt.Sprintf("%s%s  %s %s", label, pad,
			strings.Repeat("#", n), strconv.FormatFloat(p.Value, 'f', -1, 64)), " "))
	}
	return strings.Join(lines, "\n")
}

// TableCSV renders t (columns, then rows) as CSV. Cells that a spreadsheet
// would run as a formula (starting with = + - @, tab or CR) and that are
// not plain numbers get a leading apostrophe, since user and proxy names
// come from outside. A nil table gives nil.
func TableCSV(t *Table) []byte {
	if t == nil {
		return nil
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if len(t.Columns) > 0 {
		_ = w.Write(csvSafe(t.Columns)) // writes to a bytes.Buffer cannot fail
	}
	for _, r := range t.Rows {
		_ = w.Write(csvSafe(r))
	}
	w.Flush()
	return buf.Bytes()
}

func csvSafe(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = c
		if c == "" || !strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			continue
		}
		if _, err := strconv.ParseFloat(c, 64); err == nil {
			continue
		}
		out[i] = "'" + c
	}
	return out
}
