package teams

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot/bottest"
)

// TestApprovalEveryRowOnceThroughNext: on a generated site whose vp2
// holds 400 sessions, "kick vp2" in Teams posts an approval card with
// Approve, Reject, Next and the CSV's download; someone else who may list
// pages through Next (each page in the invoke body, for the clicker only)
// and sees every target exactly once, with Approve and Reject on the
// request only. Approve on the card answers with the outcome, which
// pages the same way. Every card is valid and within Teams' limits;
// --page past the end says how many pages there are; someone who may not
// list vp2 is refused.
func TestApprovalEveryRowOnceThroughNext(t *testing.T) {
	t.Parallel()
	policy := bottest.ApprovalPolicy([]string{"teams:" + aadRequester, "teams:" + aadApprover}, "teams:"+aadViewer, "teams:"+testAAD)
	site := bottest.NewSite(t, 1600, policy, 100) // 4 virtual proxies: 400 sessions each
	pub := &fakePublisher{url: testLink}
	e := newTestEnv(t, site.Dispatcher, WithFileLinks(pub.publish), WithInvokeDeadline(time.Minute))
	csv := func(name string) []byte {
		t.Helper()
		for _, f := range pub.published() {
			if f.Name == name {
				return f.Data
			}
		}
		t.Fatalf("%s was not published", name)
		return nil
	}
	invoke := func(aad, verb, value string) invokeResponse {
		t.Helper()
		return decodeInvoke(t, e.post(t, e.validToken(t), from(invokeActivity(e.conn.serviceURL(), verb, value), aad, "Someone")))
	}

	if rec := e.post(t, e.validToken(t), from(messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> kick vp2"), aadRequester, "Rita Requester")); rec.Code != http.StatusAccepted {
		t.Fatalf("kick: status %d", rec.Code)
	}
	posted := e.conn.waitCalls(t, 1)[0]
	id := approveValue(t, posted.Activity)
	request := postedCard(t, posted.Activity)
	if got := actionTitles(request); !slices.Equal(got, []string{"Approve", "Reject", "Next page", "Download sessions.csv"}) {
		t.Fatalf("request actions %q", got)
	}
	pages := walkCards(t, e, request, aadViewer, 400)
	checkRowsOnce(t, csv("sessions.csv"), pages, 400)
	for i, c := range pages[1:] {
		if slices.Contains(actionTitles(c), "Approve") {
			t.Errorf("page %d has an Approve action: it stays on the request", i+2)
		}
	}
	if resp := invoke(aadViewer, "qlik.run", "approval "+id+" --page 5"); resp.Type != cardContentType ||
		!strings.Contains(cardJSON(t, resp.Value), "There are only 4 pages of 100 rows; showing the last.") {
		t.Errorf("request --page 5 of 4: %s %.600s", resp.Type, cardJSON(t, resp.Value))
	}
	if resp := invoke(testAAD, "qlik.run", "approval "+id); resp.Type != invokeMessageType ||
		!strings.Contains(cardJSON(t, resp.Value), "Not allowed") || !strings.Contains(cardJSON(t, resp.Value), testAAD) {
		t.Errorf("a finance viewer sees a vp2 approval: %s %.600s", resp.Type, cardJSON(t, resp.Value))
	}

	resp := invoke(aadApprover, "qlik.approve", id)
	if resp.Type != cardContentType || !strings.Contains(cardJSON(t, resp.Value), "Approved: end 400 sessions on vp2") ||
		!strings.Contains(cardJSON(t, resp.Value), "Deleted 400, already gone 0, failed 0") {
		t.Fatalf("approve: %s %.600s", resp.Type, cardJSON(t, resp.Value))
	}
	outcome := asCard(t, resp.Value)
	if got := actionTitles(outcome); !slices.Equal(got, []string{"Next page", "Download outcome.csv"}) {
		t.Errorf("outcome actions %q", got)
	}
	outs := csv("outcome.csv")
	checkRowsOnce(t, outs, walkCards(t, e, outcome, aadViewer, 400), 400)
	if n := strings.Count(string(outs), ",deleted\n"); n != 400 {
		t.Errorf("%d deleted in the outcome's CSV, want 400", n)
	}
	// The request card, then the outcome on it for everyone; the pages
	// went to the clicker only.
	calls := e.conn.recorded()
	if len(calls) != 2 || calls[1].Method != http.MethodPut || calls[1].Path != "/v3/conversations/"+testConv+"/activities/card-9" ||
		!strings.Contains(cardJSON(t, calls[1].Activity), "Approved: end 400 sessions on vp2") {
		t.Errorf("connector calls %+v, want the request card and the outcome's update of the clicked card", calls)
	}
}

// checkRowsOnce checks that cards together show every row of the CSV
// whole, of rows rows, once.
func checkRowsOnce(t *testing.T, whole []byte, cards []*card, rows int) {
	t.Helper()
	if err := bottest.EveryRowOnce(whole, shownTables(t, cards)); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(whole), "\n") - 1; n != rows || len(cards) < 2 {
		t.Errorf("%d rows in %d cards, want %d in several", n, len(cards), rows)
	}
	t.Logf("%d rows in %d cards", rows, len(cards))
}

func actionTitles(c *card) []string {
	var out []string
	for _, a := range c.Actions {
		out = append(out, a.Title)
	}
	return out
}

func cardJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
