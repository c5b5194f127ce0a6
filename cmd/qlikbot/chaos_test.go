package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// TestChaosKilledBetweenRequestAndApproval: the real program asks for a
// kick's approval and is killed with SIGKILL before anyone approves. The
// request survives in the bolt file; a new process on it has deleted
// nothing, cannot click a card printed by the dead process, and approves
// by the id the request showed (/qlik approve ID): each session is deleted
// exactly once, and a second approval is refused.
func TestChaosKilledBetweenRequestAndApproval(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	finance := seedSessions("finance")
	var ids []string
	for _, s := range finance {
		ids = append(ids, s.Session.ID)
	}
	if len(ids) < 2 {
		t.Fatalf("seed lab has %d finance sessions; want at least 2", len(ids))
	}
	env, dir := binaryEnv(t, sim)
	db := filepath.Join(dir, "state.db")

	// Run 1: the lead asks; the process dies before anyone approves.
	p1 := startBot(t, env, dir)
	writeLine(t, p1.stdin, "/as lead")
	writeLine(t, p1.stdin, "/qlik kick finance")
	waitFor(t, 30*time.Second, "the approval request on the console", func() bool {
		return strings.Contains(p1.stdout.String(), "Approval needed: end "+strconv.Itoa(len(ids))+" sessions on finance")
	})
	p1.kill(t)
	if d := deletesPerSession(sim.Requests()); len(d) != 0 {
		t.Fatalf("DELETEs before any approval: %v", d)
	}

	// The request survived the crash, still pending.
	st, err := store.OpenBolt(db)
	if err != nil {
		t.Fatalf("reopen the store after SIGKILL: %v", err)
	}
	pendingID := pendingFromAudit(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p1.stdout.String(), "approve "+pendingID) {
		t.Fatalf("the approval request does not show its id %s:\n%s", pendingID, p1.stdout.String())
	}

	// Run 2: the same store after the crash.
	p2 := startBot(t, env, dir)
	writeLine(t, p2.stdin, "/as admin")
	writeLine(t, p2.stdin, "/click 1") // the card is from the dead process
	writeLine(t, p2.stdin, "/qlik sessions finance")
	writeLine(t, p2.stdin, "/qlik approve "+pendingID)
	writeLine(t, p2.stdin, "--as admin2 /qlik approve "+pendingID)
	writeLine(t, p2.stdin, "/qlik audit 50")
	waitFor(t, 30*time.Second, "the audit trail on the console", func() bool {
		return strings.Contains(p2.stdout.String(), "Audit trail")
	})
	p2.quit(t)
	out := p2.stdout.String()
	if !strings.Contains(out, "no buttons to click") {
		t.Errorf("the restarted console offers a button it never printed:\n%s", out)
	}
	if !strings.Contains(out, "Total sessions: "+strconv.Itoa(len(ids))) {
		t.Errorf("after the restart the finance sessions are not all listed:\n%s", out)
	}
	if !strings.Contains(out, "Deleted "+strconv.Itoa(len(ids))+", already gone 0, failed 0") {
		t.Errorf("the approval after the crash did not end the sessions:\n%s", out)
	}
	if !strings.Contains(out, "Already decided") {
		t.Errorf("a second approval was not refused:\n%s", out)
	}
	if !auditRow(out, "console:lead", "request-approval", "finance") || !auditRow(out, "console:admin", "approve", "finance") {
		t.Errorf("the audit trail lacks the request or the approval:\n%s", out)
	}
	d := deletesPerSession(sim.Requests())
	for _, id := range ids {
		if d[id] != 1 {
			t.Errorf("session %s got %d DELETEs, want exactly 1", id, d[id])
		}
	}
	if len(d) != len(ids) {
		t.Errorf("DELETEs %v, want the finance sessions only", d)
	}
	if n := len(sim.Sessions(sim.QRSHost(), "finance")); n != 0 {
		t.Errorf("%d finance sessions left", n)
	}
}

// pendingFromAudit finds the one approval request in the audit trail.
func pendingFromAudit(t *testing.T, st *store.Bolt) string {
	t.Helper()
	evs, err := st.RecentAudit(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range evs {
		if ev.Action == "request-approval" {
			ids = append(ids, ev.Pending)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("want one approval request in the audit trail, got %v", ids)
	}
	p, err := st.GetPending(t.Context(), ids[0])
	if err != nil || p.State != store.StatePending {
		t.Fatalf("pending %s after the crash: %+v, %v", ids[0], p, err)
	}
	return ids[0]
}
