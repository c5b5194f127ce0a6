package console

import (
	"regexp"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot/bottest"
)

var (
	approvalIDRE  = regexp.MustCompile(`approve ([0-9a-f]{32})`)
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
	policy := bottest.ApprovalPolicy([]string{"console:lead", "console:admin"}, "console:viewer", "console:fin")
	say := converse(t, bottest.NewSite(t, 1600, policy, 100).Dispatcher) // 4 virtual proxies: 400 sessions each
	// check pages every row once, 400 in 4 pages, Approve on the first only.
	check := func(what string, whole []byte, pages []string) {
		t.Helper()
		if err := bottest.EveryRowOnce(whole, tables(t, pages)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := strings.Count(string(whole), "\n") - 1; n != 400 || len(pages) != 4 {
			t.Fatalf("%s: %d rows in %d pages, want 400 in 4", what, n, len(pages))
		}
		for i, p := range pages[1:] {
			if approveButton.MatchString(p) {
				t.Errorf("%s: page %d has an Approve button: it stays on the request\n%s", what, i+2, p)
			}
		}
	}

	request := say("--as lead /qlik kick vp2")
	m := approvalIDRE.FindStringSubmatch(request)
	if m == nil || !strings.Contains(request, "[1] Approve  [2] Reject  [3] Next page") {
		t.Fatalf("the request has no id, or not Approve, Reject and Next:\n%s", request)
	}
	id := m[1]
	whole, pages := walk(t, say, request, "viewer", 400)
	check("request", whole, pages)
	if r := say("--as viewer /qlik approval " + id + " --page 5"); !strings.Contains(r, "There are only 4 pages of 100 rows; showing the last.") {
		t.Errorf("request --page 5 of 4:\n%.600s", r)
	}
	if r := say("--as fin /qlik approval " + id); !strings.Contains(r, "Not allowed") || !strings.Contains(r, "console:fin") || strings.Contains(r, `SIM\`) {
		t.Errorf("a finance viewer sees a vp2 approval:\n%.600s", r)
	}

	outcome := say("--as admin /qlik approve " + id)
	if !strings.Contains(outcome, "Approved: end 400 sessions on vp2") || !strings.Contains(outcome, "Deleted 400, already gone 0, failed 0") {
		t.Fatalf("approve:\n%.800s", outcome)
	}
	outs, outPages := walk(t, say, outcome, "viewer", 400)
	check("outcome", outs, outPages)
	if n := strings.Count(string(outs), ",deleted\n"); n != 400 {
		t.Errorf("%d deleted in the outcome's CSV, want 400", n)
	}
	if r := say("--as viewer /qlik approval " + id + " --page 9"); !strings.Contains(r, "There are only 4 pages of 100 rows; showing the last.") ||
		!strings.Contains(r, "Approved: end 400 sessions on vp2") {
		t.Errorf("outcome --page 9 of 4:\n%.600s", r)
	}
}
