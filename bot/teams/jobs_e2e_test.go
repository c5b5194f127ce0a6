package teams

import (
	"context"
	"encoding/json"
	"github.com/qlikbot/qlikbot/bot/bottest"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store/seal"
)

// gatedQlik is the real client whose DeleteSessions calls from the third
// on wait for release: the job is mid-way while the test acts.
type gatedQlik struct {
	*qlik.Client
	calls   atomic.Int64
	reached chan struct{}
	release chan struct{}
}

func (g *gatedQlik) DeleteSessions(ctx context.Context, ts []qlik.DeleteTarget) []qlik.Outcome {
	if n := g.calls.Add(1); n >= 3 {
		if n == 3 {
			close(g.reached)
		}
		<-g.release
	}
	return g.Client.DeleteSessions(ctx, ts)
}

// cardPuts returns what the connector's updates of the approval card
// said, in order.
func cardPuts(e *testEnv, cardID string) []string {
	var out []string
	for _, c := range e.conn.recorded() {
		if c.Method == http.MethodPut && c.Path == "/v3/conversations/"+testConv+"/activities/"+cardID {
			b, _ := json.Marshal(c.Activity)
			out = append(out, string(b))
		}
	}
	return out
}

// TestJobOnTheCard: an approved kick of 302 sessions clicked with
// Action.Execute outlives the invoke deadline: the card says it is
// working, progress updates it, and when qlikbot stops (SIGTERM) half-way
// the card says the job goes on. Another engine resumes the job by itself
// and its outcome, delivered proactively through the adapter, replaces the
// card last: no progress update lands after it, and no "Done" covers the
// notice.
func TestJobOnTheCard(t *testing.T) {
	t.Parallel()
	var q *gatedQlik
	sealer := seal.Random() // the state key both engines share
	site := bottest.NewSite(t, 0, e2ePolicy, 0, bottest.SeedLab(),
		bottest.WithQlik(func(c *qlik.Client) commands.Qlik {
			q = &gatedQlik{Client: c, reached: make(chan struct{}), release: make(chan struct{})}
			return q
		}),
		bottest.WithEngine(commands.WithProgress(10, time.Millisecond), commands.WithSealer(sealer)),
		bottest.WithDispatcher(bot.WithWorkers(4)))
	sim, client, st, a, d := site.Sim, site.Client, site.Store, site.Engine, site.Dispatcher
	for i := range 300 {
		if _, err := sim.AddSession(sim.QRSHost(), "finance", qliksim.Session{UserDirectory: "LAB", UserID: "bulk" + itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	total := len(financeSessions(sim))
	e := newTestEnv(t, d, WithInvokeDeadline(30*time.Millisecond))

	act := from(messageActivity(e.conn.serviceURL(), "kick finance"), aadRequester, "Rita Requester")
	if rec := e.post(t, e.validToken(t), act); rec.Code != http.StatusAccepted {
		t.Fatalf("kick: status %d", rec.Code)
	}
	pendingID := approveValue(t, e.conn.waitCalls(t, 1)[0].Activity)
	inv := from(invokeActivity(e.conn.serviceURL(), "qlik.approve", pendingID), aadApprover, "Alex Approver")
	resp := decodeInvoke(t, e.post(t, e.validToken(t), inv))
	if val, _ := json.Marshal(resp.Value); resp.Type != cardContentType || !strings.Contains(string(val), "Working on it") {
		t.Fatalf("a click outliving the invoke deadline answered %s %s, want the working card", resp.Type, val)
	}
	select {
	case <-q.reached:
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not reach its third batch")
	}
	waitFor(t, "a progress update of the card", func() bool { return len(cardPuts(e, "card-9")) > 0 })

	// SIGTERM: the batch in flight finishes, the card says the job goes on.
	jobsStopped := make(chan error, 1)
	go func() { jobsStopped <- a.StopJobs(context.WithoutCancel(t.Context())) }()
	waitFor(t, "the stop to take effect", a.Stopping)
	close(q.release)
	if err := <-jobsStopped; err != nil {
		t.Fatalf("StopJobs: %v", err)
	}
	if err := d.Shutdown(t.Context()); err != nil {
		t.Fatalf("dispatcher shutdown: %v", err)
	}
	waitFor(t, "the interrupted notice on the card", func() bool {
		puts := cardPuts(e, "card-9")
		return len(puts) > 0 && strings.Contains(puts[len(puts)-1], "Interrupted: qlikbot is restarting")
	})
	notices := len(cardPuts(e, "card-9"))
	left := len(financeSessions(sim))
	if left == 0 || left == total {
		t.Fatalf("%d of %d sessions left at the stop, want some", left, total)
	}

	// Another engine (a replica, or the next start) resumes it.
	var blogs syncWriter
	b, err := commands.New(client, st, site.Policies, commands.WithProgress(10, time.Millisecond), commands.WithSealer(sealer),
		commands.WithLogger(slog.New(slog.NewTextHandler(&blogs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := b.ResumeJobs(t.Context(), e.a); n != 1 || err != nil {
		t.Fatalf("ResumeJobs: %d, %v", n, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("resuming engine's log:\n%s", blogs.String())
		}
	})
	waitFor(t, "the resumed job's outcome on the card", func() bool {
		j, _, err := st.GetJob(t.Context(), pendingID)
		puts := cardPuts(e, "card-9")
		return err == nil && j.Finished() && len(puts) > 0 && strings.Contains(puts[len(puts)-1], "Approved: end")
	})
	if err := b.StopJobs(t.Context()); err != nil { // waits for the resumed run to end: nothing more comes
		t.Fatal(err)
	}
	puts := cardPuts(e, "card-9")
	if len(puts) <= notices {
		t.Fatalf("no update of the card after the interrupted notice")
	}
	last := puts[len(puts)-1]
	if !strings.Contains(last, "Resumed after an interruption") || !strings.Contains(last, "Deleted "+itoa(total)+", already gone 0, failed 0") {
		t.Errorf("the card's last update is not the resumed outcome: %s", last)
	}
	for i, p := range puts[:len(puts)-1] {
		if strings.Contains(p, "Approved: end") || strings.Contains(p, `"Done"`) {
			t.Errorf("update %d of %d is an outcome or a bare Done before the last: %.300s", i+1, len(puts), p)
		}
	}
	if n := len(financeSessions(sim)); n != 0 {
		t.Errorf("%d finance sessions left", n)
	}
	for id, n := range deletesPerID(sim) {
		if n != 1 {
			t.Errorf("session %s got %d DELETEs", id[:8], n)
		}
	}
}

// deletesPerID counts the DELETEs the simulator received per session.
func deletesPerID(sim *qliksim.Server) map[string]int {
	n := map[string]int{}
	for _, r := range sim.Requests() {
		if r.Method == http.MethodDelete {
			n[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
		}
	}
	return n
}
