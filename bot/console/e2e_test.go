package console

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot/bottest"
)

const e2ePolicy = `
roles:
  viewer: [list]
grants:
  - subjects: ["console:oncall"]
    roles: [viewer]
    virtualProxies: ["*"]
`

// replies is the console's output, one reply per Write (the console prints
// each reply with one write).
type replies chan string

func (r replies) Write(p []byte) (int, error) {
	r <- string(p)
	return len(p), nil
}

func (r replies) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-r:
		return s
	case <-time.After(2 * time.Minute): // a hang guard, not a measurement
		t.Fatal("no reply")
		return ""
	}
}

var (
	nextButton = regexp.MustCompile(`\[(\d+)\] Next page`)
	attached   = regexp.MustCompile(`attached \w+\.csv: (\S+) \(`)
)

// TestEveryRowOnceThroughNext lists a generated site of 10,000 sessions
// (2,000 under the race detector) on the console, page by page through the
// Next button, and checks that the pages show every session exactly once,
// each identified by its whole row.
func TestEveryRowOnceThroughNext(t *testing.T) {
	t.Parallel()
	sessions := bottest.E2ESessions()
	site := bottest.NewSite(t, sessions, e2ePolicy, 100)
	say := converse(t, site.Dispatcher)
	whole, pages := walk(t, say, say("/qlik sessions"), "", sessions)
	if err := bottest.EveryRowOnce(whole, tables(t, pages)); err != nil {
		t.Fatal(err)
	}
	if got := site.Sim.AllSessions(); strings.Count(string(whole), "\n") != got+1 {
		t.Fatalf("the CSV has %d lines for %d sessions", strings.Count(string(whole), "\n"), got)
	}
	t.Logf("%d sessions in %d pages", sessions, len(pages))
}

// walk reads the CSV attached to first and clicks Next from first to the
// last page, as user (the console's own when ""), and returns the CSV and
// every page, first included.
func walk(t *testing.T, say func(string) string, first, user string, most int) (whole []byte, pages []string) {
	t.Helper()
	m := attached.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("the first page has no CSV of the whole list:\n%s", first)
	}
	whole, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	as := ""
	if user != "" {
		as = "--as " + user + " "
	}
	for page := first; ; {
		pages = append(pages, page)
		b := nextButton.FindStringSubmatch(page)
		if b == nil {
			return whole, pages
		}
		if len(pages) > most {
			t.Fatal("paging does not end")
		}
		page = say(as + b[1])
	}
}

// tables reads the table of every page.
func tables(t *testing.T, pages []string) []bottest.Shown {
	t.Helper()
	out := make([]bottest.Shown, len(pages))
	for i, p := range pages {
		out[i] = parseTable(t, p)
	}
	return out
}

// converse runs a console on sub until the test ends and returns say,
// which types one line and returns the console's next reply.
func converse(t *testing.T, sub Submitter) (say func(line string) string) {
	t.Helper()
	in, feed := io.Pipe()
	out := make(replies, 4)
	c, err := New(sub, in, out, WithFileDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Start(t.Context()) }()
	t.Cleanup(func() {
		_ = feed.Close()
		<-done
	})
	return func(line string) string {
		t.Helper()
		if _, err := fmt.Fprintln(feed, line); err != nil {
			t.Fatal(err)
		}
		return out.next(t)
	}
}

// parseTable reads the aligned table of a console reply: the header line,
// the dashes line under it (which gives each column's start) and the rows
// up to the "Rows a–b of n" line.
func parseTable(t *testing.T, reply string) bottest.Shown {
	t.Helper()
	lines := strings.Split(reply, "\n")
	for i := 1; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "-") || strings.Trim(lines[i], "- ") != "" {
			continue
		}
		var starts []int
		dashes := []rune(lines[i])
		for j, r := range dashes {
			if r == '-' && (j == 0 || dashes[j-1] == ' ') {
				starts = append(starts, j)
			}
		}
		cut := func(line string) []string {
			rs := []rune(line)
			cells := make([]string, len(starts))
			for k, s := range starts {
				end := len(rs)
				if k+1 < len(starts) {
					end = min(starts[k+1], len(rs))
				}
				if s < len(rs) {
					cells[k] = strings.TrimSpace(string(rs[s:end]))
				}
			}
			return cells
		}
		shown := bottest.Shown{Columns: cut(lines[i-1])}
		for _, l := range lines[i+1:] {
			if l == "" || strings.HasPrefix(l, "Rows ") {
				break
			}
			shown.Rows = append(shown.Rows, cut(l))
		}
		return shown
	}
	t.Fatalf("no table in the reply:\n%s", reply)
	return bottest.Shown{}
}

// TestEveryRowOnceByPageNumber: on a 400-session site, pages 1..N typed
// with --page list every session exactly once, and the page after the last
// says how many pages there are.
func TestEveryRowOnceByPageNumber(t *testing.T) {
	t.Parallel()
	site := bottest.NewSite(t, 400, e2ePolicy, 50)
	var script strings.Builder
	for n := 1; n <= 9; n++ {
		fmt.Fprintf(&script, "/qlik sessions --page %d\n", n)
	}
	var out strings.Builder
	c, err := New(site.Dispatcher, strings.NewReader(script.String()), &out, WithFileDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	replies := strings.Split(out.String(), "[console:oncall] ")[1:]
	if len(replies) != 9 {
		t.Fatalf("%d replies, want 9", len(replies))
	}
	m := attached.FindStringSubmatch(replies[0])
	if m == nil {
		t.Fatalf("no CSV: %s", replies[0])
	}
	whole, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	var pages []bottest.Shown
	for _, r := range replies[:8] {
		pages = append(pages, parseTable(t, r))
	}
	if err := bottest.EveryRowOnce(whole, pages); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(replies[8], "There are only 8 pages of 50 rows; showing the last.") {
		t.Errorf("page 9 of 8:\n%s", replies[8])
	}
}
