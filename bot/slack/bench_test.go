package slackbot

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/bottest"
)

// BenchmarkRender renders a full page of sessions (50 rows, the commands
// default), the largest reply a user sees often.
func BenchmarkRender(b *testing.B) {
	r := replyFixtures()["sessions"]
	rows := make([][]string, 50)
	for i := range rows {
		rows[i] = []string{"finance", "pro2-win1", `LAB\user` + strconv.Itoa(i), "User", "2734806e-0c21-4d2b-9a4c-5a0c3a4e1b11"}
	}
	r.Table = &bot.Table{Columns: r.Table.Columns, Rows: rows, TotalRows: 150}
	b.ReportAllocs()
	for b.Loop() {
		render(r)
	}
}

// BenchmarkVerify is the per-request cost of the signature check (the
// replay guard excluded).
func BenchmarkVerify(b *testing.B) {
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", vecTS)
	h.Set("X-Slack-Signature", vecSig)
	v := verifier{secret: []byte(vecSecret)}
	body := []byte(vecBody)
	now := time.Unix(1531420618, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.check(h, body, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender10000Sessions renders a 10,000-row reply that was never
// fitted: the table is cut to what Slack holds, with a note.
func BenchmarkRender10000Sessions(b *testing.B) {
	r := bottest.Lists(10000)[0].Page(0, 10000)
	b.ReportAllocs()
	for b.Loop() {
		render(r)
	}
}

// BenchmarkRenderFittedPage10000 is what one request for a page of a
// 10,000-session list costs the Slack side: fitting and rendering it.
func BenchmarkRenderFittedPage10000(b *testing.B) {
	l := bottest.Lists(10000)[0]
	req := bot.Request{Fit: Fit}
	b.ReportAllocs()
	for b.Loop() {
		first, last := bot.FitPage(len(l.Rows), 5000, 100, false, func(f, t int) int { return req.FitRows(l.Page(f, t)) })
		render(l.Page(first, last))
	}
}
