package teams

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot/bottest"
)

// TestEveryRowOnceThroughNext lists a generated site of 10,000 sessions
// (2,000 under the race detector) in Teams, page by page through the Next
// button (Action.Execute, answered in the invoke body), through this
// adapter's authenticated handler and the fake connector: every session
// appears exactly once, identified by its whole row, though the card
// budget makes pages much shorter than the page size.
func TestEveryRowOnceThroughNext(t *testing.T) {
	t.Parallel()
	sessions := bottest.E2ESessions()
	site := bottest.NewSite(t, sessions, `
roles:
  viewer: [list]
grants:
  - subjects: ["teams:`+testAAD+`"]
    roles: [viewer]
    virtualProxies: ["*"]
`, 100)
	pub := &fakePublisher{url: testLink}
	e := newTestEnv(t, site.Dispatcher, WithFileLinks(pub.publish))

	if rec := e.post(t, e.validToken(t), messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> sessions")); rec.Code != http.StatusAccepted {
		t.Fatalf("message: status %d", rec.Code)
	}
	posted := e.conn.waitCalls(t, 1)[0]
	first := postedCard(t, posted.Activity)
	files := pub.published()
	if len(files) != 1 || files[0].Name != "sessions.csv" {
		t.Fatalf("published %+v, want the CSV of the whole list", files)
	}

	pages := walkCards(t, e, first, testAAD, sessions)
	if err := bottest.EveryRowOnce(files[0].Data, shownTables(t, pages)); err != nil {
		t.Fatal(err)
	}
	if calls := e.conn.recorded(); len(calls) != 1 {
		t.Errorf("paging posted %d messages to the conversation; pages go to the clicker only", len(calls)-1)
	}
	t.Logf("%d sessions in %d pages", sessions, len(pages))
}

// walkCards clicks Next (Action.Execute, answered in the invoke body) as
// the user of AAD object id aad, from first to the last page, and returns
// every card, first included, each checked by checkCard.
func walkCards(t *testing.T, e *testEnv, first *card, aad string, most int) []*card {
	t.Helper()
	cards := []*card{first}
	for c := first; ; {
		checkCard(t, c)
		value, ok := nextValue(c)
		if !ok {
			return cards
		}
		if len(cards) > most {
			t.Fatal("paging does not end")
		}
		inv := from(invokeActivity(e.conn.serviceURL(), "qlik.run", value), aad, "Paging Person")
		resp := decodeInvoke(t, e.post(t, e.validToken(t), inv))
		if resp.Type != cardContentType {
			t.Fatalf("the next page came as %q, want a card: %v", resp.Type, resp.Value)
		}
		c = asCard(t, resp.Value)
		cards = append(cards, c)
	}
}

// shownTables reads the table of every card.
func shownTables(t *testing.T, cards []*card) []bottest.Shown {
	t.Helper()
	out := make([]bottest.Shown, len(cards))
	for i, c := range cards {
		out[i] = shownTable(t, c)
	}
	return out
}

// postedCard reads the card of an activity the connector received.
func postedCard(t *testing.T, act map[string]any) *card {
	t.Helper()
	atts, _ := act["attachments"].([]any)
	if len(atts) != 1 {
		t.Fatalf("activity with %d attachments", len(atts))
	}
	return asCard(t, atts[0].(map[string]any)["content"])
}

func asCard(t *testing.T, v any) *card {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var c card
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("card %s: %v", b, err)
	}
	return &c
}

// shownTable reads a card's table, its header first; an empty cell shows
// as a no-break space.
func shownTable(t *testing.T, c *card) bottest.Shown {
	t.Helper()
	for _, el := range c.Body {
		if el.Type != "Table" {
			continue
		}
		var s bottest.Shown
		for i, r := range el.Rows {
			var cells []string
			for _, cl := range r.Cells {
				cells = append(cells, strings.ReplaceAll(cl.Items[0].Text, nbsp, ""))
			}
			if i == 0 {
				s.Columns = cells
			} else {
				s.Rows = append(s.Rows, cells)
			}
		}
		return s
	}
	t.Fatal("no table on the card")
	return bottest.Shown{}
}

// nextValue is the value of the card's Next button.
func nextValue(c *card) (string, bool) {
	for _, a := range c.Actions {
		data, _ := a.Data.(map[string]any)
		if v, _ := data["value"].(string); a.Title == "Next page" && a.Type == "Action.Execute" && data["action"] == "qlik.run" {
			return v, true
		}
	}
	return "", false
}
