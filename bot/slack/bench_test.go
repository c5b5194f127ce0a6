package slackbot

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// BenchmarkRender renders a full page of sessions (50 rows, the commands
// default), the largest reply a user sees often.
func BenchmarkRender(b *testing.B) {
	r := replyFixtures()["sessions"]
	rows := make([][]string, 50)
	for i := range rows {
		rows[i] = []string{"finance", "pro2-win1", `LAB\user` + strconv.Itoa(i), "User", "2734806e-0c21-4d2b-9a4c-5a0c3a4e1b11"}
	}
	r.Table = &bot.Table{Columns: r.Table.Columns, Rows: rows, Page: 1, Pages: 3, TotalRows: 150}
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
