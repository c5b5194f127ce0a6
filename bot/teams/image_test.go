package teams

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
)

// TestRenderImage: a reply's image (a trend chart) is shown in the card
// through its published link, not behind a download button; without a
// link the card shows the figures' table and says the chart is missing.
func TestRenderImage(t *testing.T) {
	t.Parallel()
	r := bot.Reply{Title: "Sessions per virtual proxy, last 24 h",
		Table: &bot.Table{Columns: []string{"Virtual proxy", "Latest"}, Rows: [][]string{{"win", "6"}}, TotalRows: 1},
		Files: []bot.File{{Name: "trend-prod.png", Type: "image/png", Data: []byte("png")}, {Name: "a.csv", Type: "text/csv", Data: []byte("x")}}}
	links := []fileLink{{Name: "trend-prod.png", URL: "https://bot.example.com/files/abc", Image: true}, {Name: "a.csv", URL: "https://bot.example.com/files/def"}}
	c := renderCard(r, links)
	var images []element
	for _, e := range c.Body {
		if e.Type == "Image" {
			images = append(images, e)
		}
	}
	if len(images) != 1 || images[0].URL != "https://bot.example.com/files/abc" || images[0].AltText != "trend-prod.png" {
		t.Fatalf("images %+v, want the chart through its link", images)
	}
	if len(c.Actions) != 1 || c.Actions[0].URL != "https://bot.example.com/files/def" {
		t.Errorf("actions %+v, want the CSV's download button only", c.Actions)
	}
	b, _ := json.Marshal(c)
	if !strings.Contains(string(b), `{"type":"Image","url":"https://bot.example.com/files/abc","altText":"trend-prod.png"}`) {
		t.Errorf("card JSON has no Image element: %s", b)
	}

	r.Files = r.Files[:1]
	r.Table = nil
	c = renderCard(r, nil)
	b, _ = json.Marshal(c)
	if strings.Contains(string(b), `"Image"`) || !strings.Contains(string(b), "The chart (trend-prod.png) cannot be shown in this card") ||
		strings.Contains(string(b), "full list") {
		t.Errorf("an unpublished chart: %s", b)
	}
}
