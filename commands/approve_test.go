package commands

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

func TestApprovalFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	r := e.ask(t, "ULEAD", "kick finance")
	id := pendingID(t, r)
	if r.Title != "Approval needed: end 2 sessions on finance" || r.Visibility != bot.InChannel {
		t.Errorf("title %q visibility %v", r.Title, r.Visibility)
	}
	if got := column(t, r, "Session"); len(got) != 2 || got[0] != hd(user1ID) || got[1] != hd(user2ID) {
		t.Errorf("targets %v", got)
	}
	if !strings.Contains(joined(r), "expires in 30 min") {
		t.Errorf("no expiry in %s", joined(r))
	}
	var approve, reject bot.Button
	for _, b := range r.Buttons {
		switch b.ActionID {
		case ActionApprove:
			approve = b
		case ActionReject:
			reject = b
		}
	}
	if approve.Style != bot.Primary || approve.Confirm == "" || reject.Style != bot.Danger || reject.Value != id || len(id) >= 2000 {
		t.Errorf("buttons %+v", r.Buttons)
	}

	steps := []struct {
		name  string
		user  string
		email string
		kind  bot.Kind
		want  string
	}{
		{"requester cannot approve", "ULEAD", "", bot.Denied, "two-person rule"},
		{"requester under another platform id with the same email", "UOTHER", "Lead3@Example.com", bot.Denied, "two-person rule"},
		{"viewer cannot approve", "UVIEWER", "", bot.Denied, "Your id: slack:UVIEWER"},
		{"lead elsewhere cannot approve", "UFIN", "", bot.Denied, `"approve"`},
	}
	e.eng = e.newEngine(t, e.st, 0) // same store, fresh engine: nothing lives in memory
	reqWithEmail := func(user, email string) bot.Request {
		return bot.Request{Platform: bot.Slack, User: bot.User{ID: user, Email: email}, Channel: "C1", Action: &bot.Action{ID: ActionApprove, Value: id}}
	}
	// The requester had email lead3@example.com in this variant: ask again.
	r2 := e.eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UX", Email: "lead3@example.com"}, Channel: "C1", Text: "kick finance"})
	id2 := pendingID(t, r2)
	for _, st := range steps {
		pid := id
		if st.email != "" {
			pid = id2
		}
		req := reqWithEmail(st.user, st.email)
		req.Action.Value = pid
		got := e.eng.Handle(t.Context(), req)
		if got.Kind != st.kind || !strings.Contains(joined(got), st.want) || got.Visibility != bot.Ephemeral {
			t.Errorf("%s: kind %v vis %v: %s", st.name, got.Kind, got.Visibility, joined(got))
		}
		p, err := e.st.GetPending(t.Context(), pid)
		if err != nil || p.State != store.StatePending {
			t.Errorf("%s: pending state %v, %v; want still pending", st.name, p.State, err)
		}
	}
	if len(e.deletes()) != 0 || sessionCount(e) != 5 {
		t.Fatalf("refused approvals changed Qlik")
	}

	done := e.click(t, "ULEAD2", ActionApprove, id)
	if done.Kind != bot.Success || !done.ReplaceOriginal || done.Visibility != bot.InChannel || len(done.Buttons) != 0 {
		t.Fatalf("approve: kind %v replace %v vis %v buttons %v: %s", done.Kind, done.ReplaceOriginal, done.Visibility, done.Buttons, joined(done))
	}
	if !strings.Contains(joined(done), "Approved by ulead2 (slack:ULEAD2); requested by ulead (slack:ULEAD)") {
		t.Errorf("approval text: %s", joined(done))
	}
	if got := column(t, done, "Outcome"); len(got) != 2 || got[0] != "deleted" || got[1] != "deleted" {
		t.Errorf("outcomes %v", got)
	}
	if n := len(e.sim.Sessions(central, "finance")); n != 0 || len(e.deletes()) != 2 {
		t.Errorf("finance sessions left %d, DELETEs %d", n, len(e.deletes()))
	}
	evs := e.audit(t)
	if countAudit(evs, "delete", "deleted") != 2 || countAudit(evs, "approve", "") != 1 || countAudit(evs, "request-approval", "") != 2 {
		t.Errorf("audit: %d deletes, %d approves, %d requests", countAudit(evs, "delete", "deleted"), countAudit(evs, "approve", ""), countAudit(evs, "request-approval", ""))
	}
	for _, ev := range evs {
		if ev.Action == "delete" && (ev.Pending != id || ev.Subject != "slack:ULEAD2" || !strings.HasSuffix(ev.Target, " on finance@"+central)) {
			t.Errorf("delete event %+v", ev)
		}
	}
	again := e.click(t, "UADMIN", ActionApprove, id)
	if again.Kind != bot.Info || !strings.Contains(joined(again), "Already approved by slack:ULEAD2") || again.Visibility != bot.Ephemeral {
		t.Errorf("second approve: %v %s", again.Kind, joined(again))
	}
	if len(e.deletes()) != 2 {
		t.Errorf("second approve deleted again")
	}
}

// TestTypedApproval: "approve ID" and "reject ID" follow the buttons'
// rules (two-person, approve right, exactly once) and post the outcome as
// a new message, since nothing was clicked.
func TestTypedApproval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	if r := e.ask(t, "ULEAD", "kick finance"); !strings.Contains(joined(r), "approve ") {
		t.Errorf("the approval request does not say how to approve by id: %s", joined(r))
	}
	if r := e.ask(t, "ULEAD", "approve "+id); r.Kind != bot.Denied || !strings.Contains(joined(r), "two-person rule") {
		t.Fatalf("requester approving by id: %v %s", r.Kind, joined(r))
	}
	if r := e.ask(t, "UVIEWER", "reject "+id); r.Kind != bot.Denied {
		t.Fatalf("viewer rejecting by id: %v %s", r.Kind, joined(r))
	}
	if r := e.ask(t, "UADMIN", "approve 00000000000000000000000000000000"); r.Kind != bot.Info || !strings.Contains(r.Title, "Unknown") {
		t.Fatalf("unknown id: %v %s", r.Kind, joined(r))
	}
	if len(e.deletes()) != 0 {
		t.Fatalf("refused typed approvals sent DELETEs")
	}
	done := e.ask(t, "ULEAD2", "approve "+strings.ToUpper(id))
	if done.Kind != bot.Success || done.ReplaceOriginal || !strings.Contains(joined(done), "Approved by ulead2") {
		t.Fatalf("typed approve: kind %v replace %v: %s", done.Kind, done.ReplaceOriginal, joined(done))
	}
	if n := len(e.sim.Sessions(central, "finance")); n != 0 || len(e.deletes()) != 2 {
		t.Errorf("finance sessions left %d, DELETEs %d", n, len(e.deletes()))
	}
	if r := e.ask(t, "UADMIN", "reject "+id); !strings.Contains(joined(r), "Already approved") {
		t.Errorf("reject after approve: %s", joined(r))
	}
}

func TestRejection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		rejecter string
		kind     bot.Kind
	}{
		{"requester withdraws", "ULEAD", bot.Info},
		{"approver rejects", "UADMIN", bot.Info},
		{"viewer may not reject", "UVIEWER", bot.Denied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{})
			id := pendingID(t, e.ask(t, "ULEAD", `kick --user LAB\testuser_1`))
			r := e.click(t, tc.rejecter, ActionReject, id)
			if r.Kind != tc.kind {
				t.Fatalf("kind %v: %s", r.Kind, joined(r))
			}
			p, err := e.st.GetPending(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == bot.Denied {
				if p.State != store.StatePending {
					t.Errorf("state %v after a refused reject", p.State)
				}
				return
			}
			if !r.ReplaceOriginal || !strings.Contains(joined(r), "Rejected by "+strings.ToLower(tc.rejecter)+" (slack:"+tc.rejecter+")") || p.State != store.StateRejected {
				t.Errorf("reject reply %s, state %v", joined(r), p.State)
			}
			late := e.click(t, "ULEAD2", ActionApprove, id)
			if !strings.Contains(joined(late), "Already rejected by slack:"+tc.rejecter) || len(e.deletes()) != 0 {
				t.Errorf("approve after reject: %s, DELETEs %d", joined(late), len(e.deletes()))
			}
			if countAudit(e.audit(t), "reject", "rejected") != 1 {
				t.Errorf("reject not audited")
			}
		})
	}
}

func TestApprovalExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	clicked := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	swept := pendingID(t, e.ask(t, "UADMIN", "kick win"))
	e.clk.Advance(31 * time.Minute)
	r := e.click(t, "ULEAD2", ActionApprove, clicked)
	if r.Kind != bot.Warning || !strings.Contains(r.Title, "Expired") || !r.ReplaceOriginal || len(e.deletes()) != 0 {
		t.Fatalf("late approve: %v %s, DELETEs %d", r.Kind, joined(r), len(e.deletes()))
	}
	// The late click changed nothing: the sweep expires both, each with
	// its audit row in the same write.
	n, err := e.eng.ExpireDue(t.Context())
	if err != nil || n != 2 {
		t.Fatalf("ExpireDue = %d, %v; want 2 (the clicked one and the unclicked one)", n, err)
	}
	if p, err := e.st.GetPending(t.Context(), clicked); err != nil || p.State != store.StateExpired {
		t.Errorf("clicked state %v, %v", p.State, err)
	}
	if p, err := e.st.GetPending(t.Context(), swept); err != nil || p.State != store.StateExpired {
		t.Errorf("swept state %v, %v", p.State, err)
	}
	if n, err := e.eng.ExpireDue(t.Context()); err != nil || n != 0 {
		t.Errorf("second ExpireDue = %d, %v; want 0", n, err)
	}
	if got := countAudit(e.audit(t), "expire", ""); got != 2 {
		t.Errorf("expire events %d, want 2", got)
	}
	for _, ev := range e.audit(t) {
		if ev.Action == "expire" && ev.Site != DefaultSite {
			t.Errorf("expire row of %s names site %q, want %q", ev.Pending, ev.Site, DefaultSite)
		}
	}
	if sessionCount(e) != 5 {
		t.Errorf("expired approvals ended sessions")
	}
	var approvals []string
	for len(e.events) > 0 {
		if ev := <-e.events; ev.Approval != "" {
			approvals = append(approvals, ev.Approval)
		}
	}
	if strings.Join(approvals, ",") != "requested,requested,expired,expired" {
		t.Errorf("observed approvals %v", approvals)
	}
}

// TestConcurrentApprovals: 50 approvers click at once; exactly one wins,
// and the simulator sees exactly one DELETE per session.
func TestConcurrentApprovals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	approvers := []string{"ULEAD2", "UADMIN", "UADMIN2"}
	replies := make([]bot.Reply, 50)
	var wg sync.WaitGroup
	for i := range replies {
		wg.Go(func() { replies[i] = e.click(t, approvers[i%len(approvers)], ActionApprove, id) })
	}
	wg.Wait()
	wins, already := 0, 0
	for _, r := range replies {
		switch {
		case r.Kind == bot.Success:
			wins++
		case strings.Contains(joined(r), "Already approved by"):
			already++
		default:
			t.Errorf("unexpected reply %v: %s", r.Kind, joined(r))
		}
	}
	if wins != 1 || already != 49 {
		t.Fatalf("wins %d, already decided %d", wins, already)
	}
	perSession := map[string]int{}
	for _, d := range e.deletes() {
		perSession[d.Path[strings.LastIndex(d.Path, "/")+1:]]++
	}
	if len(perSession) != 2 || perSession[user1ID] != 1 || perSession[user2ID] != 1 {
		t.Errorf("DELETEs per session %v, want one each for the two finance sessions", perSession)
	}
}

// TestRestartKeepsPendingApproval: a pending kick survives closing and
// reopening the bolt file; a new engine approves it.
func TestRestartKeepsPendingApproval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBolt(e.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e.st = st
	e.eng = e.newEngine(t, st, 0)
	r := e.click(t, "UADMIN", ActionApprove, id)
	if r.Kind != bot.Success {
		t.Fatalf("approve after restart: %v %s", r.Kind, joined(r))
	}
	if n := len(e.sim.Sessions(central, "finance")); n != 0 {
		t.Errorf("%d finance sessions left", n)
	}
}

// TestApprovalWording: the default virtual proxy reads as words in the
// title and the confirmation, and the expiry as a duration in words.
func TestApprovalWording(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	r := e.ask(t, "UADMIN", "kick default")
	pendingID(t, r)
	if r.Title != "Approval needed: end 1 session on the default virtual proxy" || r.Buttons[0].Confirm != "End 1 session on the default virtual proxy?" {
		t.Errorf("title %q, confirm %q", r.Title, r.Buttons[0].Confirm)
	}
	if u := e.ask(t, "UADMIN", `kick --user LAB\testuser_3`); u.Buttons[0].Confirm != `Log LAB\testuser_3 out (1 session)?` {
		t.Errorf("confirm %q", u.Buttons[0].Confirm)
	}
}

func TestKickUserApproved(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	r := e.ask(t, "UADMIN", `kick --user LAB\testuser_3`)
	id := pendingID(t, r)
	if r.Title != `Approval needed: log LAB\testuser_3 out (1 session)` {
		t.Errorf("title %q", r.Title)
	}
	done := e.click(t, "UADMIN2", ActionApprove, id)
	if done.Kind != bot.Success || len(e.deletes()) != 1 || len(e.sim.Sessions(central, "win")) != 1 {
		t.Fatalf("approve: %v %s; DELETEs %d", done.Kind, joined(done), len(e.deletes()))
	}
}

// TestApprovalEndsOnlyTheSnapshot: the approval ends what the requester
// saw; a session that started since is left alone, one that ended since
// is reported as already gone.
func TestApprovalEndsOnlyTheSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	newer, err := e.sim.AddSession(central, "finance", qliksim.Session{UserDirectory: "LAB", UserID: "latecomer"})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.ask(t, "UADMIN", "delete finance "+user2ID); r.Kind != bot.Success {
		t.Fatalf("direct delete: %v %s", r.Kind, joined(r))
	}
	r := e.click(t, "ULEAD2", ActionApprove, id)
	if r.Kind != bot.Success {
		t.Fatalf("approve: %v %s", r.Kind, joined(r))
	}
	if got := column(t, r, "Outcome"); len(got) != 2 || got[0] != "deleted" || got[1] != "already gone" {
		t.Errorf("outcomes %v, want deleted and already gone", got)
	}
	left := e.sim.Sessions(central, "finance")
	if len(left) != 1 || left[0].ID != newer.ID {
		t.Errorf("finance sessions left %+v, want only the latecomer", left)
	}
}

func TestApprovalWithFailingDeletes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	if err := e.sim.SetFault(central, qliksim.Fault{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	r := e.click(t, "ULEAD2", ActionApprove, id)
	if r.Kind != bot.Warning || !strings.Contains(joined(r), "2 sessions could not be ended") {
		t.Fatalf("kind %v: %s", r.Kind, joined(r))
	}
	for _, o := range column(t, r, "Outcome") {
		if !strings.HasPrefix(o, "failed: ") {
			t.Errorf("outcome %q, want failed with a reason", o)
		}
	}
	failed := 0
	for _, ev := range e.audit(t) {
		if ev.Action == "delete" && strings.HasPrefix(ev.Outcome, "failed") {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("audited failed deletes %d, want 2", failed)
	}
}

// TestLargeKickIsPagedWithCSV: a kick bigger than a page shows one page of
// targets plus the full CSV, Approve and Reject before Next (which pages
// the approval), and ends every snapshotted session exactly once; its
// outcome pages the same way.
func TestLargeKickIsPagedWithCSV(t *testing.T) {
	t.Parallel()
	lab := qliksim.Generate(qliksim.GenOptions{Users: 40, Sessions: 120, VirtualProxies: 3, Nodes: 2, Seed: 3})
	e := newEnv(t, envConfig{lab: &lab, pageSize: 10})
	want := len(e.sim.Sessions(e.sim.Hosts()[0], "vp2")) + len(e.sim.Sessions(e.sim.Hosts()[1], "vp2"))
	r := e.ask(t, "UADMIN", "kick vp2")
	id := pendingID(t, r)
	labels := func(r bot.Reply) []string {
		var out []string
		for _, b := range r.Buttons {
			out = append(out, b.Label+": "+b.Value)
		}
		return out
	}
	next := nextLabel + ": approval " + id + " --from 11"
	if !slices.Equal(labels(r), []string{"Approve: " + id, "Reject: " + id, next}) || r.Table.TotalRows != want || len(r.Table.Rows) != 10 || r.Table.Offset != 0 || len(r.Files) != 1 {
		t.Fatalf("pending: buttons %q total %d rows %d offset %d files %d (want %d targets)", labels(r), r.Table.TotalRows, len(r.Table.Rows), r.Table.Offset, len(r.Files), want)
	}
	if lines := strings.Count(string(r.Files[0].Data), "\n"); lines != want+1 {
		t.Errorf("CSV has %d lines, want %d", lines, want+1)
	}
	done := e.click(t, "UADMIN2", ActionApprove, id)
	if done.Kind != bot.Success || done.Table.TotalRows != want || !slices.Equal(labels(done), []string{next}) {
		t.Fatalf("approve: %v total %d buttons %q: %s", done.Kind, done.Table.TotalRows, labels(done), joined(done))
	}
	seen := map[string]int{}
	for _, d := range e.deletes() {
		if !strings.HasPrefix(d.Path, "/qps/vp2/session/") {
			t.Errorf("DELETE outside vp2: %s", d.Path)
		}
		seen[d.Path]++
	}
	if len(seen) != want || len(e.deletes()) != want {
		t.Errorf("DELETEs %d for %d distinct sessions, want %d each", len(e.deletes()), len(seen), want)
	}
	if n := countAudit(e.audit(t), "delete", "deleted"); n != want {
		t.Errorf("audited deletes %d, want %d", n, want)
	}
}
