package teams

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/bottest"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// slowBody is a ResponseWriter whose first Write waits for hold: the
// invoke body (and so everything the handler does after it) is late.
type slowBody struct {
	*httptest.ResponseRecorder
	hold func()
}

func (w *slowBody) Write(b []byte) (int, error) {
	if w.hold != nil {
		w.hold()
		w.hold = nil
	}
	return w.ResponseRecorder.Write(b)
}

// TestBackgroundJobOutcomeLast: with a Deliverer, an approved kick big
// enough to report progress runs in the background and the click is
// answered with its first progress card, which onInvoke also puts on the
// card for everyone. The job may end (and deliver its outcome to the same
// card) before that update goes out, here because the invoke body is
// late: the outcome must still be the card's last update, never covered
// by the first progress card.
func TestBackgroundJobOutcomeLast(t *testing.T) {
	t.Parallel()
	ds := bot.Deliverers{} // filled in once the adapter exists
	site := bottest.NewSite(t, 0, e2ePolicy, 0, bottest.SeedLab(),
		bottest.WithEngine(commands.WithProgress(10, time.Hour), commands.WithDeliverer(ds)))
	for i := range 30 {
		if _, err := site.Sim.AddSession(site.Sim.QRSHost(), "finance", qliksim.Session{UserDirectory: "LAB", UserID: "bulk" + itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	total := len(financeSessions(site.Sim))
	e := newTestEnv(t, site.Dispatcher)
	ds[bot.Teams] = e.a

	act := from(messageActivity(e.conn.serviceURL(), "kick finance"), aadRequester, "Rita Requester")
	if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
		t.Fatalf("kick: status %d", rec.Code)
	}
	pendingID := approveValue(t, e.conn.waitCalls(t, 1)[0].Activity)
	inv := from(invokeActivity(e.conn.serviceURL(), "qlik.approve", pendingID), aadApprover, "Alex Approver")

	outcomeOut := func() bool {
		for _, p := range cardPuts(e, "card-9") {
			if strings.Contains(p, "Approved: end") {
				return true
			}
		}
		return false
	}
	w := &slowBody{ResponseRecorder: httptest.NewRecorder(), hold: func() {
		// The job ends meanwhile: its outcome is delivered, or waits
		// for the click's own update of the card.
		waitFor(t, "the job's outcome to be delivered or held", func() bool {
			return outcomeOut() || e.a.cardsWaiting() > 0
		})
	}}
	e.a.Handler().ServeHTTP(w, postRequest(t, e.validToken(t), inv))
	resp := decodeInvoke(t, w.ResponseRecorder)
	if resp.Type != cardContentType {
		t.Fatalf("the click answered %s %v, want the first progress card", resp.Type, resp.Value)
	}

	waitFor(t, "the outcome on the card", outcomeOut)
	if err := site.Engine.StopJobs(t.Context()); err != nil { // the job's run has ended: nothing more comes
		t.Fatal(err)
	}
	puts := cardPuts(e, "card-9")
	last := puts[len(puts)-1]
	if !strings.Contains(last, "Approved: end") || !strings.Contains(last, "Deleted "+itoa(total)) {
		var titles []string
		for _, p := range puts {
			var a struct{ Summary string }
			_ = json.Unmarshal([]byte(p), &a)
			titles = append(titles, a.Summary)
		}
		t.Errorf("the card's last update is not the outcome; the updates said, in order: %q", titles)
	}
	if n := len(financeSessions(site.Sim)); n != 0 {
		t.Errorf("%d finance sessions left", n)
	}
}

// cardsWaiting is how many Delivers wait for a click's update.
func (a *Adapter) cardsWaiting() int { return int(a.cards.waiting.Load()) }
