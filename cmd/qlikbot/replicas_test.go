package main

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// TestTwoReplicasOneRedis runs two complete apps against one Qlik site and
// one Redis: an approval requested on one replica is decided on the other,
// and a flood of approvals over both ends each session exactly once.
func TestTwoReplicasOneRedis(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qliksim.WithLab(qliksim.SeedLab()))
	storeURL := "redis://" + storetest.StartRedis(t) + "/0"
	a := startApp(t, simConfig(t, sim, storeURL), nil)
	b := startApp(t, simConfig(t, sim, storeURL), nil)
	ctx := t.Context()
	central := sim.Hosts()[0]

	// Kick requested on A, approved on B.
	finance := sim.Sessions(central, "finance")
	if len(finance) == 0 {
		t.Fatal("the seed lab has no finance sessions on the central node")
	}
	pending := a.ask(ctx, "lead", "kick finance")
	approve := approveButton(t, pending)
	if r := b.click(ctx, "lead", approve); r.Kind != bot.Denied {
		t.Errorf("the requester approving on the other replica: %v %q, want denied", r.Kind, r.Title)
	}
	got := b.click(ctx, "admin", approve)
	if got.Kind != bot.Success || !strings.HasPrefix(got.Title, "Approved") {
		t.Fatalf("approval on replica B: %v %q\n%s", got.Kind, got.Title, bot.PlainText(got))
	}
	if left := sim.Sessions(central, "finance"); len(left) != 0 {
		t.Errorf("%d finance sessions left after the approved kick", len(left))
	}
	dels := deletesPerSession(sim.Requests())
	for _, s := range finance {
		if dels[s.ID] != 1 {
			t.Errorf("session %s got %d DELETEs, want 1", s.ID, dels[s.ID])
		}
	}
	// The audit trail is shared: A sees what B did.
	audit := bot.PlainText(a.ask(ctx, "admin", "audit 50"))
	for _, s := range finance {
		if !auditRow(audit, "console:admin", "delete", handle(s.ID), "deleted") {
			t.Errorf("replica A's audit trail lacks B's deletion of %s:\n%s", s.ID, audit)
		}
	}

	// A second kick, and 50 approvals at once spread over both replicas.
	var added []string
	for i := range 4 {
		s, err := sim.AddSession(central, "finance", qliksim.Session{UserDirectory: "LAB", UserID: "flood" + strings.Repeat("x", i)})
		if err != nil {
			t.Fatalf("add session: %v", err)
		}
		added = append(added, s.ID)
	}
	sim.ResetRequests()
	approve = approveButton(t, b.ask(ctx, "lead", "kick finance"))
	const clicks = 50
	kinds := make([]bot.Reply, clicks)
	var wg sync.WaitGroup
	for i := range clicks {
		replica, user := a, "admin"
		if i%2 == 1 {
			replica, user = b, "admin2"
		}
		wg.Go(func() { kinds[i] = replica.click(ctx, user, approve) })
	}
	wg.Wait()
	approved := 0
	for i, r := range kinds {
		switch {
		case r.Kind == bot.Success && strings.HasPrefix(r.Title, "Approved"):
			approved++
		case r.Title == "Already decided":
		default:
			t.Errorf("click %d: %v %q\n%s", i, r.Kind, r.Title, bot.PlainText(r))
		}
	}
	if approved != 1 {
		t.Errorf("%d of %d concurrent approvals ran the kick, want exactly 1", approved, clicks)
	}
	dels = deletesPerSession(sim.Requests())
	for _, id := range added {
		if dels[id] != 1 {
			t.Errorf("session %s got %d DELETEs, want exactly 1", id, dels[id])
		}
	}
	if len(dels) != len(added) {
		t.Errorf("DELETEs went to %d sessions, want the %d the kick listed: %v", len(dels), len(added), dels)
	}
	if n := sim.AllSessions(); n != len(qliksim.SeedLab().Sessions)-len(finance) {
		t.Errorf("%d sessions left on the site, want %d", n, len(qliksim.SeedLab().Sessions)-len(finance))
	}
}

// approvalIDRE finds the approval id an approval request shows.
var approvalIDRE = regexp.MustCompile(`approve ([0-9a-f]{32})`)

// TestTwoProcessesOneRedis: two real qlikbot processes share one Redis.
// A kick requested in one is approved in the other; the first then sees
// it as decided, and its audit trail shows the other's deletions.
func TestTwoProcessesOneRedis(t *testing.T) {
	t.Parallel()
	redisAddr := storetest.StartRedis(t)
	sim := startSim(t)
	env, dir := binaryEnv(t, sim, "QLIKBOT_STORE=redis://"+redisAddr+"/0", "QLIKBOT_STATE_KEY="+testStateKey)
	finance := seedSessions("finance")

	a := startBot(t, env, dir)
	writeLine(t, a.stdin, "/as lead")
	writeLine(t, a.stdin, "/qlik kick finance")
	var id string
	waitFor(t, 30*time.Second, "the approval request in process A", func() bool {
		m := approvalIDRE.FindStringSubmatch(a.stdout.String())
		if m != nil {
			id = m[1]
		}
		return m != nil
	})

	b := startBot(t, env, dir)
	writeLine(t, b.stdin, "/as admin")
	writeLine(t, b.stdin, "/qlik approve "+id)
	b.quit(t)
	if out := b.stdout.String(); !strings.Contains(out, "Approved by console:admin; requested by console:lead") ||
		!strings.Contains(out, "Deleted "+strconv.Itoa(len(finance))+", already gone 0, failed 0") {
		t.Fatalf("process B's approval:\n%s", out)
	}

	writeLine(t, a.stdin, "/as admin2")
	writeLine(t, a.stdin, "/qlik approve "+id)
	writeLine(t, a.stdin, "/qlik audit 30")
	a.quit(t)
	out := a.stdout.String()
	if !strings.Contains(out, "Already decided") || !strings.Contains(out, "Already approved by console:admin") {
		t.Errorf("process A approved a request process B had decided:\n%s", out)
	}
	for _, s := range finance {
		if !auditRow(out, "console:admin", "delete", handle(s.Session.ID), "deleted") {
			t.Errorf("process A's audit trail lacks B's deletion of %s:\n%s", s.Session.ID, out)
		}
	}
	d := deletesPerSession(sim.Requests())
	for _, s := range finance {
		if d[s.Session.ID] != 1 {
			t.Errorf("session %s got %d DELETEs, want exactly 1", s.Session.ID, d[s.Session.ID])
		}
	}
	if len(d) != len(finance) {
		t.Errorf("DELETEs %v, want the finance sessions only", d)
	}
}
