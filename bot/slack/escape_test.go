package slackbot

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// TestEscapeClip: the escaped text is what Slack's limits count, so it is
// cut after escaping, never inside an entity.
func TestEscapeClip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"a<b", 10, "a&lt;b"},
		{"a<b", 6, "a&lt;b"},
		{"a<b", 5, "a…"},
		{"<<<", 9, "&lt;&lt;…"},
		{"&&", 10, "&amp;&amp;"},
		{"abc", 2, "a…"},
		{"abc", 0, ""},
		{"é\xffx", 10, "é\uFFFDx"},
	}
	for _, tc := range cases {
		if got := escapeClip(tc.in, tc.n); got != tc.want {
			t.Errorf("escapeClip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestEscapedPartsWithinLimits: facts and chart labels made of characters
// that escaping lengthens stay within Slack's field and section limits
// and end on a whole entity.
func TestEscapedPartsWithinLimits(t *testing.T) {
	t.Parallel()
	worst := strings.Repeat("&", 5000)
	r := bot.Reply{Title: "x", Facts: []bot.Fact{{Label: worst, Value: worst}},
		Chart: &bot.Chart{Title: worst}}
	for range maxChartPoints {
		r.Chart.Points = append(r.Chart.Points, bot.Point{Label: worst, Value: 1e300})
	}
	blocks, _ := render(r)
	for _, b := range blocks {
		s, ok := b.(*slack.SectionBlock)
		if !ok {
			continue
		}
		texts := s.Fields
		limit := maxFieldText
		if s.Text != nil {
			texts, limit = []*slack.TextBlockObject{s.Text}, maxSectionText
		}
		for _, tx := range texts {
			if n := utf8.RuneCountInString(tx.Text); n > limit {
				t.Errorf("block %s: %d characters, over %d", s.BlockID, n, limit)
			}
			if i := strings.LastIndexByte(tx.Text, '&'); i >= 0 && !strings.HasPrefix(tx.Text[i:], "&amp;") {
				t.Errorf("block %s cuts an entity: …%q", s.BlockID, tx.Text[max(0, i-10):])
			}
		}
	}
	if b, err := json.Marshal(blocks); err != nil || len(b) == 0 {
		t.Fatal(err)
	}
}
