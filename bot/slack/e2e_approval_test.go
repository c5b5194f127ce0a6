package slackbot

import (
	"regexp"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot/bottest"
)

var approvalIDRE = regexp.MustCompile(`approve ([0-9a-f]{32})`)

// TestApprovalEveryRowOnceThroughNext: on a generated site whose vp2
// holds 400 sessions, "kick vp2" in Slack posts an approval request with
// Approve, Reject and Next; someone else who may list pages through Next
// (shown to them only) and sees every target exactly once, with Approve
// and Reject on the request only. Approve on the request replaces it with
// the outcome, which pages the same way. --page past the end says how
// many pages there are; someone who may not list vp2 is refused.
func TestApprovalEveryRowOnceThroughNext(t *testing.T) {
	t.Parallel()
	policy := bottest.ApprovalPolicy([]string{"slack:ULEAD", "slack:UADMIN"}, "slack:UVIEWER", "slack:UFIN")
	s := newE2ESlack(t, bottest.NewSite(t, 1600, policy, 100)) // 4 virtual proxies: 400 sessions each
	request, skipped := s.command(t, "ULEAD", "kick vp2")
	m := approvalIDRE.FindStringSubmatch(request.text())
	if request.JSON["response_type"] != "in_channel" || m == nil {
		t.Fatalf("the request is not in the channel, or has no id: %.600s", request.text())
	}
	id := m[1]
	for _, label := range []string{"Approve", "Reject", nextLabel} {
		if _, _, ok := findButton(request.blocksJSON(t), label); !ok {
			t.Fatalf("the request has no %q button", label)
		}
	}
	whole := s.uploaded(t, skipped)
	pages := s.walk(t, "UVIEWER", request, 400)
	checkEveryRowOnce(t, whole, pages, 400)
	for i, p := range pages[1:] {
		if _, _, ok := findButton(p.blocksJSON(t), "Approve"); ok {
			t.Errorf("page %d has an Approve button: it stays on the request", i+2)
		}
	}
	if r, _ := s.command(t, "UVIEWER", "approval "+id+" --page 5"); !strings.Contains(r.text(), "There are only 4 pages of 100 rows; showing the last.") {
		t.Errorf("request --page 5 of 4: %.600s", r.text())
	}
	if r, _ := s.command(t, "UFIN", "approval "+id); !strings.Contains(r.text(), "Not allowed") || !strings.Contains(r.text(), "slack:UFIN") ||
		r.JSON["response_type"] != "ephemeral" || strings.Contains(r.text(), `SIM\\`) {
		t.Errorf("a finance viewer sees a vp2 approval: %.600s", r.text())
	}

	outcome, skipped := s.click(t, "UADMIN", request, false, "Approve", func(c apiCall) bool {
		return strings.Contains(c.text(), "Approved: end 400 sessions on vp2")
	})
	if outcome.JSON["replace_original"] != true || !strings.Contains(outcome.text(), "Deleted 400, already gone 0, failed 0") {
		t.Fatalf("approve: %.600s", outcome.text())
	}
	outs := s.uploaded(t, skipped)
	outPages := s.walk(t, "UVIEWER", outcome, 400)
	checkEveryRowOnce(t, outs, outPages, 400)
	if n := strings.Count(outs, ",deleted\n"); n != 400 {
		t.Errorf("%d deleted in the outcome's CSV, want 400", n)
	}
}

// checkEveryRowOnce checks that pages together show every row of the CSV
// whole, of rows rows, once, in pages of 99 rows.
func checkEveryRowOnce(t *testing.T, whole string, pages []apiCall, rows int) {
	t.Helper()
	var shown []bottest.Shown
	for _, p := range pages {
		shown = append(shown, shownTable(t, p.blocksJSON(t)))
	}
	if err := bottest.EveryRowOnce([]byte(whole), shown); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(whole, "\n") - 1; n != rows || len(pages) != (rows+98)/99 {
		t.Errorf("%d rows in %d pages, want %d in pages of 99", n, len(pages), rows)
	}
}
