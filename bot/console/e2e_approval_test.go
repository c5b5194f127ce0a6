package console

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot/bottest"
)

const approvalPolicy = `
roles:
  viewer: [list]
  admin:  [list, kick, approve]
grants:
  - subjects: ["console:lead", "console:admin"]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: ["console:viewer"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["console:fin"]
    roles: [viewer]
    virtualProxies: ["finance"]
`

var (
	approvalIDRE  = regexp.MustCompile(`approve ([0-9a-f]{32})`)
	attachedCSV   = regexp.MustCompile(`attached (?:sessions|outcome)\.csv: (\S+) \(`)
	approveButton = regexp.MustCompile(`\[\d+\] Approve`)
)

// TestApprovalEveryRowOnceThroughNext: on a generated site whose vp2
// holds 400 sessions, "kick vp2" asks for an approval whose request pages
// through Next (clicked by someone else who may list) with every target
// exactly once, Approve and Reject on the request only; once approved,
// its outcome pages the same way. --page past the end says how many
// pages there are, and someone who may not list vp2 is refused.
func TestApprovalEveryRowOnceThroughNext(t *testing.T) {
	t.Parallel()
	site := bottest.NewSite(t, 1600, approvalPolicy, 100) // 4 virtual proxies: 400 sessions each
	in, feed := io.Pipe()
	out := make(replies, 16)
	c, err := New(site.Dispatcher, in, out, WithFileDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Start(t.Context()) }()
	t.Cleanup(func() {
		_ = feed.Close()
		<-done
	})
	say := func(line string) string {
		t.Helper()
		if _, err := fmt.Fprintln(feed, line); err != nil {
			t.Fatal(err)
		}
		return out.next(t)
	}
	// walk pages from first through Next, clicked as viewer.
	walk := func(first string) (whole []byte, pages []bottest.Shown) {
		t.Helper()
		m := attachedCSV.FindStringSubmatch(first)
		if m == nil {
			t.Fatalf("the first page has no CSV of the whole list:\n%s", first)
		}
		whole, err := os.ReadFile(m[1])
		if err != nil {
			t.Fatal(err)
		}
		for page := first; ; {
			pages = append(pages, parseTable(t, page))
			b := nextButton.FindStringSubmatch(page)
			if b == nil {
				return whole, pages
			}
			if len(pages) > 1 && approveButton.MatchString(page) {
				t.Errorf("page %d has an Approve button: it stays on the request\n%s", len(pages), page)
			}
			if len(pages) > 400 {
				t.Fatal("paging does not end")
			}
			page = say("--as viewer " + b[1])
		}
	}

	request := say("--as lead /qlik kick vp2")
	m := approvalIDRE.FindStringSubmatch(request)
	if m == nil || !strings.Contains(request, "[1] Approve  [2] Reject  [3] Next page") {
		t.Fatalf("the request has no id, or not Approve, Reject and Next:\n%s", request)
	}
	id := m[1]
	whole, pages := walk(request)
	if err := bottest.EveryRowOnce(whole, pages); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(whole), "\n") - 1; n != 400 || len(pages) != 4 {
		t.Fatalf("%d targets in %d pages, want 400 in 4", n, len(pages))
	}
	if r := say("--as viewer /qlik approval " + id + " --page 5"); !strings.Contains(r, "There are only 4 pages of 100 rows; showing the last.") {
		t.Errorf("request --page 5 of 4:\n%.600s", r)
	}
	if r := say("--as fin /qlik approval " + id); !strings.Contains(r, "Not allowed") || !strings.Contains(r, "console:fin") || strings.Contains(r, "SIM\\") {
		t.Errorf("a finance viewer sees a vp2 approval:\n%.600s", r)
	}

	outcome := say("--as admin /qlik approve " + id)
	if !strings.Contains(outcome, "Approved: end 400 sessions on vp2") || !strings.Contains(outcome, "Deleted 400, already gone 0, failed 0") {
		t.Fatalf("approve:\n%.800s", outcome)
	}
	outs, outPages := walk(outcome)
	if err := bottest.EveryRowOnce(outs, outPages); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(outs), ",deleted\n"); n != 400 || len(outPages) != 4 {
		t.Errorf("%d deleted in the outcome's CSV, %d pages; want 400 in 4", n, len(outPages))
	}
	if r := say("--as viewer /qlik approval " + id + " --page 9"); !strings.Contains(r, "There are only 4 pages of 100 rows; showing the last.") ||
		!strings.Contains(r, "Approved: end 400 sessions on vp2") {
		t.Errorf("outcome --page 9 of 4:\n%.600s", r)
	}
}
