package teams

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/bottest"
)

// BenchmarkRender10000Sessions renders a 10,000-row list into a card.
func BenchmarkRender10000Sessions(b *testing.B) {
	rep := goldenReplies()["sessions"]
	rep.Table = sessionsTable(10000, 10000)
	for b.Loop() {
		_ = render(rep)
	}
}

// BenchmarkAuthenticatedMessage measures one message through the handler:
// JWT check on cached keys, parsing, building the request.
func BenchmarkAuthenticatedMessage(b *testing.B) {
	e := newTestEnv(b, nil)
	body := mustJSON(messageActivity(e.conn.serviceURL(), "<at>qlikbot</at> sessions finance"))
	tok := sign(b, e.key, "k1", tokenClaims(e.conn.serviceURL()))
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		e.a.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkRenderFittedPage10000 is what one request for a page of a
// 10,000-session list costs the Teams side: fitting the page to the card
// budget (commands asks the adapter's Fit until the page fits) and rendering it.
func BenchmarkRenderFittedPage10000(b *testing.B) {
	l := bottest.Lists(10000)[0]
	req := bot.Request{Fit: func(r bot.Reply) int { return fitRows(r, nil) }}
	b.ReportAllocs()
	for b.Loop() {
		first, last := bot.FitPage(len(l.Rows), 5000, 100, false, func(f, t int) int { return req.FitRows(l.Page(f, t)) })
		_ = render(l.Page(first, last))
	}
}
