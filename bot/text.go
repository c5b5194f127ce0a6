package bot

import (
	"bytes"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
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

// PlainText renders r as plain text: the title, the summary lines, the
// facts as "Label: value" lines, an aligned table (columns empty on every
// row left out) with its row range, warnings prefixed "! ", the chart as a
// bar list, menus as numbered lists and the buttons as "[3] Approve
// [4] Reject", numbered on from the menus' options as Reply.Choices lists
// them. Files are not listed. It is the console's rendering and the
// Slack/Teams fallback text.
func PlainText(r Reply) string {
	var parts []string
	var head []string
	if r.Title != "" {
		head = append(head, OneLine(r.Title))
	}
	for _, s := range r.Summary {
		head = append(head, OneLine(s))
	}
	for _, f := range r.Facts {
		head = append(head, OneLine(f.Label)+": "+OneLine(f.Value))
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
			w[i] = "! " + OneLine(s)
		}
		parts = append(parts, strings.Join(w, "\n"))
	}
	if r.Chart != nil && (r.Chart.Title != "" || len(r.Chart.Points) > 0) {
		parts = append(parts, plainChart(r.Chart))
	}
	n := 0
	for _, m := range r.Menus {
		lines := []string{OneLine(m.Label) + ":"}
		for _, o := range m.Options {
			n++
			lines = append(lines, fmt.Sprintf("  [%d] %s", n, OneLine(o.Label)))
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	if len(r.Buttons) > 0 {
		b := make([]string, len(r.Buttons))
		for i, btn := range r.Buttons {
			n++
			b[i] = fmt.Sprintf("[%d] %s", n, OneLine(btn.Label))
		}
		parts = append(parts, strings.Join(b, "  "))
	}
	return strings.Join(parts, "\n\n")
}

// OneLine keeps a cell, label or line from breaking the layout: every
// run of white space (line breaks, tabs) becomes one space, none at the
// ends.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Clip cuts s to at most n characters, ending with "…" when cut. It counts
// runes and never splits one; invalid UTF-8 is replaced first, so no
// platform receives a broken sequence.
func Clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for j := range s {
		if count == n-1 {
			i = j
			break
		}
		count++
	}
	return s[:i] + "…"
}

// ShownColumns returns the indexes of t's columns that hold text on at
// least one row: a column empty on every row of the page says nothing and
// takes room. A table without rows keeps every column, so its header still
// says what the list would hold.
func ShownColumns(t *Table) []int {
	idx := make([]int, 0, len(t.Columns))
	for i := range t.Columns {
		if len(t.Rows) == 0 || slices.ContainsFunc(t.Rows, func(r []string) bool { return i < len(r) && r[i] != "" }) {
			idx = append(idx, i)
		}
	}
	return idx
}

// Compact returns t without the columns ShownColumns leaves out (t itself
// when it shows them all). Rows shorter than the header are padded, so
// every row of the result has one cell per column.
func Compact(t *Table) *Table {
	idx := ShownColumns(t)
	if len(idx) == len(t.Columns) && !slices.ContainsFunc(t.Rows, func(r []string) bool { return len(r) != len(t.Columns) }) {
		return t
	}
	out := &Table{Columns: make([]string, len(idx)), Rows: make([][]string, len(t.Rows)), Offset: t.Offset, TotalRows: t.TotalRows}
	for j, i := range idx {
		out.Columns[j] = t.Columns[i]
	}
	for k, r := range t.Rows {
		row := make([]string, len(idx))
		for j, i := range idx {
			if i < len(r) {
				row[j] = r[i]
			}
		}
		out.Rows[k] = row
	}
	return out
}

// RangeText says which rows of the whole list a page holds: "Rows 51–93
// of 400". It is "" for a table that is not paged.
func RangeText(t *Table) string {
	if !t.Paged() {
		return ""
	}
	total := max(t.TotalRows, t.Offset+len(t.Rows))
	if len(t.Rows) == 0 {
		return fmt.Sprintf("No rows here; %d rows in all", total)
	}
	return fmt.Sprintf("Rows %d–%d of %d", t.Offset+1, t.Offset+len(t.Rows), total)
}

func plainTable(t *Table) string {
	t = Compact(t)
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	if len(t.Columns) > 0 {
		row(tw, t.Columns)
		dashes := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			dashes[i] = strings.Repeat("-", max(1, utf8.RuneCountInString(OneLine(c))))
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
	if rt := RangeText(t); rt != "" {
		out += "\n" + rt
	}
	return out
}

func row(tw *tabwriter.Writer, cells []string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = OneLine(c)
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
		lines = append(lines, OneLine(c.Title))
	}
	labelW, top := 0, 0.0
	for _, p := range c.Points {
		labelW = max(labelW, utf8.RuneCountInString(OneLine(p.Label)))
		if v := p.Value; v > top && !math.IsInf(v, 0) && !math.IsNaN(v) {
			top = v
		}
	}
	for _, p := range c.Points {
		n := 0
		if v := p.Value; top > 0 && v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
			n = max(1, int(math.Round(v/top*barWidth)))
		}
		label := OneLine(p.Label)
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
