package main

import (
	"bytes"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// watchTeamsPolicy: on-call may list and subscribe; the default alert
// rules (posted to subscribers) hold.
const watchTeamsPolicy = `roles:
  oncall: [list, subscribe]
grants:
  - subjects: ["teams:` + aadOncall + `"]
    roles: [oncall]
    virtualProxies: ["*"]
`

// imageRE finds an Image element of a card.
var imageRE = regexp.MustCompile(`\{"type":"Image","url":"([^"]+)","altText":"trend-prod\.png"\}`)

// TestWatchTeams runs the real program (the demo's sites, the watcher
// every second) as a Teams bot against the fake Bot Framework: a channel
// subscribes, the session-limit alert is posted to it proactively with
// the stored conversation reference (once, with its Kick button), and
// /qlik trend shows the chart in the card through its /files/ link.
func TestWatchTeams(t *testing.T) {
	t.Parallel()
	teams := newFakeTeams(t)
	_, base, _ := startTeamsBot(t, teams, watchTeamsPolicy, "QLIKBOT_WATCH_INTERVAL=1s")
	n := 0
	say := func(text string) string {
		t.Helper()
		n++
		before := len(teams.activities())
		act := teams.activity(aadOncall, "message", n)
		act["text"] = "<at>qlikbot</at> " + text
		if code, body := teams.post(t, base, act); code != http.StatusAccepted && code != http.StatusOK {
			t.Fatalf("%s: %d %s", text, code, body)
		}
		var got []string
		waitFor(t, 20*time.Second, "the card answering "+text, func() bool {
			got = teams.activities()
			return len(got) > before
		})
		return got[before]
	}
	if got := say("subscribe session-limit"); !strings.Contains(got, "Subscribed to alerts") {
		t.Fatalf("subscribe: %s", got)
	}
	const alert = "Alert: 1 user at or above 5 sessions on site prod"
	alerts := func() []string {
		var out []string
		for _, a := range teams.activities() {
			if strings.Contains(a, alert) {
				out = append(out, a)
			}
		}
		return out
	}
	waitFor(t, 30*time.Second, "the alert posted to the subscribed channel", func() bool { return len(alerts()) > 0 })
	posted := alerts()[0]
	if !strings.HasPrefix(posted, "POST /amer/v3/conversations/19:ops@thread.tacv2;messageid=1700000000000/activities ") ||
		!strings.Contains(posted, `Kick LAB\\kiosk_display`) || !strings.Contains(posted, "Silence 1 h") {
		t.Fatalf("the alert card: %s", posted)
	}

	card := say("trend --since 1h")
	m := imageRE.FindStringSubmatch(card)
	if m == nil {
		t.Fatalf("the trend card has no image: %s", card)
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET the chart: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if img, err := png.Decode(bytes.NewReader(data)); err != nil || img.Bounds().Dx() != 1200 {
		t.Fatalf("the chart behind the link: %v", err)
	}
	// Samples went on meanwhile: the alert was posted once.
	if got := alerts(); len(got) != 1 {
		t.Errorf("the alert was posted %d times, want once:\n%s", len(got), strings.Join(got, "\n"))
	}
}
