package commands

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// approvalPolicy: admins ask and approve everywhere; a viewer lists
// everywhere; an approver holds approve alone; a kicker holds kick alone
// (it may see only what it asked for); a finance viewer sees finance only.
const approvalPolicy = `
roles:
  viewer:   [list]
  admin:    [list, kick, approve]
  approver: [approve]
  kicker:   [kick]
grants:
  - subjects: ["slack:UADMIN", "slack:UADMIN2"]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: ["slack:UVIEWER"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["slack:UAPPROVER"]
    roles: [approver]
    virtualProxies: ["*"]
  - subjects: ["slack:UKICKER"]
    roles: [kicker]
    virtualProxies: ["*"]
  - subjects: ["slack:UFIN"]
    roles: [viewer]
    virtualProxies: ["finance"]
approval:
  required: [kick]
`

// approvalEnv is a generated site whose vp2 holds about 250 sessions,
// lists paged at 50.
func approvalEnv(t *testing.T) *env {
	t.Helper()
	lab := qliksim.Generate(qliksim.GenOptions{Users: 50, Sessions: 500, VirtualProxies: 2, Nodes: 2, Seed: 17})
	return newEnv(t, envConfig{lab: &lab, policy: approvalPolicy, pageSize: 50})
}

// walk follows the button labelled label from r as user, with fit, and
// returns r and every page it leads to, in order.
func (e *env) walk(t *testing.T, user string, r bot.Reply, label string, fit func(bot.Reply) int) []bot.Reply {
	t.Helper()
	pages := []bot.Reply{r}
	for {
		next, ok := e.clickFit(t, user, pages[len(pages)-1], label, fit)
		if !ok {
			return pages
		}
		if next.Table == nil {
			t.Fatalf("page %d: %v %s", len(pages)+1, next.Kind, joined(next))
		}
		if len(pages) > next.Table.TotalRows {
			t.Fatal("paging does not end")
		}
		pages = append(pages, next)
	}
}

// shown is the rows of pages, in the order shown.
func shown(pages []bot.Reply) [][]string {
	var out [][]string
	for _, p := range pages {
		out = append(out, p.Table.Rows...)
	}
	return out
}

// csvRows reads the rows (not the header) of the CSV a reply carries.
func csvRows(t *testing.T, r bot.Reply) [][]string {
	t.Helper()
	if len(r.Files) != 1 {
		t.Fatalf("%d files, want the CSV of the whole list", len(r.Files))
	}
	recs, err := csv.NewReader(bytes.NewReader(r.Files[0].Data)).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("CSV: %v", err)
	}
	return recs[1:]
}

func buttonLabels(r bot.Reply) []string {
	var out []string
	for _, b := range r.Buttons {
		out = append(out, b.Label)
	}
	return out
}

// TestApprovalPagesEveryTarget: the request of a 250-session kick, fitted
// to a platform with a size budget, pages through Next (as someone else
// who may list) with every target exactly once, in the CSV's order and
// with its handles, and back through Previous; Approve and Reject are on
// the request with Next, not on the pages. Its outcome pages the same
// way, with the same handles. --page past the end says how many pages.
func TestApprovalPagesEveryTarget(t *testing.T) {
	t.Parallel()
	e := approvalEnv(t)
	fit := fitBytes(1500)
	req := e.askFit(t, "UADMIN", "kick vp2", fit)
	id := pendingID(t, req)
	whole := csvRows(t, req)
	if len(whole) < 200 || req.Table.TotalRows != len(whole) {
		t.Fatalf("%d targets in the CSV, table of %d: want about 250", len(whole), req.Table.TotalRows)
	}
	if got := buttonLabels(req); !slices.Equal(got, []string{"Approve", "Reject", nextLabel}) {
		t.Fatalf("request buttons %q", got)
	}
	if n := len(req.Table.Rows); n >= 50 || n != fit(req) {
		t.Errorf("the request shows %d rows; its platform fits %d of them, with its buttons", n, fit(req))
	}
	pages := e.walk(t, "UVIEWER", req, nextLabel, fit)
	if got := shown(pages); !slices.EqualFunc(got, whole, slices.Equal) {
		t.Fatalf("the pages show %d rows, the CSV %d: not every target once, in order", len(got), len(whole))
	}
	for i, p := range pages[1:] {
		if p.Visibility != bot.Ephemeral || p.ReplaceOriginal || p.Kind != bot.Pending || p.Title != req.Title {
			t.Errorf("page %d: %v %v replace %v %q: want the request's, to the clicker only", i+2, p.Kind, p.Visibility, p.ReplaceOriginal, p.Title)
		}
		if slices.Contains(buttonLabels(p), "Approve") || !strings.Contains(joined(p), "approve "+id) {
			t.Errorf("page %d: buttons %q: Approve stays on the request, a page says how to decide: %s", i+2, buttonLabels(p), joined(p))
		}
	}
	back := e.walk(t, "UVIEWER", pages[len(pages)-1], prevLabel, fit)
	slices.Reverse(back)
	if got := shown(back); !slices.EqualFunc(got, whole, slices.Equal) {
		t.Errorf("Previous from the last page shows %d rows, want the %d targets once", len(got), len(whole))
	}
	last := fmt.Sprintf("There are only %d pages of 50 rows; showing the last.", (len(whole)+49)/50)
	if r := e.ask(t, "UVIEWER", "approval "+id+" --page 99"); !slices.Contains(r.Warnings, last) ||
		r.Table.Offset+len(r.Table.Rows) != len(whole) {
		t.Errorf("--page 99: %v, want %q", r.Warnings, last)
	}

	done := e.eng.Handle(t.Context(), bot.Request{ID: "click-UADMIN2", Platform: bot.Slack, User: bot.User{ID: "UADMIN2"}, Channel: "C1",
		Action: &bot.Action{ID: ActionApprove, Value: id, MessageRef: "m1"}, Fit: fit})
	if done.Kind != bot.Success || !done.ReplaceOriginal || done.Visibility != bot.InChannel || !slices.Equal(buttonLabels(done), []string{nextLabel}) {
		t.Fatalf("outcome %v buttons %q: %s", done.Kind, buttonLabels(done), joined(done))
	}
	outs := csvRows(t, done)
	outPages := e.walk(t, "UVIEWER", done, nextLabel, fit)
	if got := shown(outPages); !slices.EqualFunc(got, outs, slices.Equal) {
		t.Fatalf("the outcome's pages show %d rows, its CSV %d", len(got), len(outs))
	}
	for i, row := range outs {
		if !slices.Equal(row[:len(row)-1], whole[i]) || row[len(row)-1] != "deleted" {
			t.Fatalf("outcome row %d %q, want target %q deleted (the same handle)", i, row, whole[i])
		}
	}
	for i, p := range outPages[1:] {
		if p.Visibility != bot.Ephemeral || p.Kind != bot.Success || p.Title != done.Title {
			t.Errorf("outcome page %d: %v %v %q", i+2, p.Kind, p.Visibility, p.Title)
		}
	}
	if r := e.ask(t, "UVIEWER", fmt.Sprintf("approval %s --page %d", id, (len(whole)+49)/50+1)); !slices.Contains(r.Warnings, last) {
		t.Errorf("outcome: --page past the end: %v, want %q", r.Warnings, last)
	}
	assertNoFullIDs(t, e, append(pages, outPages...)...)
}

// TestApprovalPagesRights: the requester (even one who may not list), a
// lister and an approver may see a request's pages and its outcome's;
// someone who may list only part of it, or nothing, is refused with
// their id, and the refusal is audited.
func TestApprovalPagesRights(t *testing.T) {
	t.Parallel()
	e := approvalEnv(t)
	id := pendingID(t, e.ask(t, "UKICKER", "kick vp2"))
	check := func(stage string) {
		t.Helper()
		for _, user := range []string{"UKICKER", "UVIEWER", "UAPPROVER", "UADMIN"} {
			if r := e.ask(t, user, "approval "+id+" --from 51"); r.Table == nil || r.Table.Offset != 50 || r.Visibility != bot.Ephemeral {
				t.Errorf("%s: %s may not see rows 51-: %v %s", stage, user, r.Kind, joined(r))
			}
		}
		for _, user := range []string{"UFIN", "UNOBODY"} {
			r := e.ask(t, user, "approval "+id)
			if r.Kind != bot.Denied || r.Table != nil || !strings.Contains(joined(r), "slack:"+user) || !strings.Contains(joined(r), `"list"`) {
				t.Errorf("%s: %s: %v %s", stage, user, r.Kind, joined(r))
			}
		}
	}
	check("request")
	if r := e.click(t, "UAPPROVER", ActionApprove, id); r.Kind != bot.Success {
		t.Fatalf("approve: %v %s", r.Kind, joined(r))
	}
	check("outcome")
	denied := 0
	for _, ev := range e.audit(t) {
		if ev.Action == "command" && strings.HasPrefix(ev.Command, "approval ") {
			if ev.Pending != id {
				t.Errorf("audit row %+v does not name the approval", ev)
			}
			if ev.Decision == "denied" {
				denied++
			}
		}
	}
	if denied != 4 {
		t.Errorf("%d denied approval rows audited, want 4", denied)
	}
}

// TestApprovalPagesTampered: a pending record, a job and a batch of its
// journal that do not verify are refused or disregarded as approve and a
// resumed job do them: audited as tampering, and what the store holds is
// never shown as if it were sealed.
func TestApprovalPagesTampered(t *testing.T) {
	t.Parallel()
	e := approvalEnv(t)
	ctx := t.Context()
	now := e.clk.Now()
	id := pendingID(t, e.ask(t, "UADMIN", "kick vp2"))
	p, err := e.st.GetPending(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tampers := func() int { return countAudit(e.audit(t), "tamper", "") }
	refused := func(what, forged string, wantTampers int) {
		t.Helper()
		r := e.ask(t, "UADMIN", "approval "+forged)
		if r.Kind != bot.Error || r.Table != nil || !strings.Contains(joined(r), "cannot be verified") {
			t.Errorf("%s: %v %s", what, r.Kind, joined(r))
		}
		if n := tampers(); n != wantTampers {
			t.Errorf("%s: %d tamper rows, want %d", what, n, wantTampers)
		}
	}

	// The genuine record copied under another id: its seal names the first.
	copied := strings.Repeat("c0", 16)
	if err := e.st.CreatePending(ctx, store.Pending{ID: copied, CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt, Data: p.Data}); err != nil {
		t.Fatal(err)
	}
	refused("copied request", copied, 1)

	// A job written without the state key.
	forgedJob := strings.Repeat("f0", 16)
	if err := e.st.CreatePending(ctx, store.Pending{ID: forgedJob, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	forged := fmt.Appendf(nil, `{"action":{"kind":"kick","targets":[{"prefix":"vp2","host":%q,"sessionId":"%s"}]},"approver":{"subject":"slack:UEVIL"}}`,
		e.sim.Hosts()[0], "0f0f0f0f-0f0f-0f0f-0f0f-0f0f0f0f0f0f")
	if _, _, err := e.st.StartJob(ctx, store.JobStart{PendingID: forgedJob, By: "slack:UEVIL", Now: now, Data: forged, Holder: "forger", LeaseTTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	refused("forged job", forgedJob, 2)

	// The genuine job, running: one genuine batch and one forged.
	a, err := e.eng.open(p)
	if err != nil {
		t.Fatal(err)
	}
	data, err := e.eng.sealJob(id, jobRecord{Action: a, Approved: now,
		Approver: approver{Subject: "slack:UADMIN2", Platform: "slack", Channel: "C1", RequestID: "r2"}})
	if err != nil {
		t.Fatal(err)
	}
	_, l, err := e.st.StartJob(ctx, store.JobStart{PendingID: id, By: "slack:UADMIN2", Now: now, Data: data, Holder: "h", LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	genuine := jobBatchRecord{}
	for i := range 10 {
		genuine.Index = append(genuine.Index, i)
		genuine.Outcomes = append(genuine.Outcomes, "deleted")
	}
	forgedBatch := jobBatchRecord{Index: []int{10, 11}, Outcomes: []string{"deleted", "deleted"}}
	for _, b := range [][]byte{e.eng.sealBatch(id, genuine), sealOther(id, forgedBatch)} {
		if err := e.st.RecordJobBatch(ctx, l, id, b, nil); err != nil {
			t.Fatal(err)
		}
	}
	r := e.ask(t, "UVIEWER", "approval "+id)
	want := fmt.Sprintf("Ending %d sessions on vp2: 10 done", len(a.Targets))
	if r.Kind != bot.Pending || r.Title != want || !strings.Contains(strings.Join(r.Warnings, "\n"), "1 of 2 recorded batches of outcomes could not be verified") {
		t.Fatalf("running job: %v %q (want %q): %s", r.Kind, r.Title, want, joined(r))
	}
	outs := column(t, r, "Outcome")
	if !slices.Equal(outs[:10], slices.Repeat([]string{"deleted"}, 10)) || slices.ContainsFunc(outs[10:], func(o string) bool { return o != notDone }) {
		t.Errorf("outcomes %q: want 10 deleted, the rest (the forged batch's too) %q", outs, notDone)
	}
	if n := tampers(); n != 3 {
		t.Errorf("%d tamper rows, want 3 (the forged batch)", n)
	}
}

// sealOther seals a batch of job id under another key, as someone who
// can write to the store but lacks the state key could.
func sealOther(id string, b jobBatchRecord) []byte {
	return (&Engine{options: options{sealer: seal.Random()}}).sealBatch(id, b)
}

// TestApprovalPagesStates: a rejected or expired request still pages,
// saying so; an unknown id says so, without naming it in the trail.
func TestApprovalPagesStates(t *testing.T) {
	t.Parallel()
	e := approvalEnv(t)
	rejected := pendingID(t, e.ask(t, "UADMIN", "kick vp2"))
	if r := e.click(t, "UADMIN2", ActionReject, rejected); r.Kind != bot.Info {
		t.Fatalf("reject: %s", joined(r))
	}
	if r := e.ask(t, "UVIEWER", "approval "+rejected+" --from 60"); !strings.HasPrefix(r.Title, "Rejected: ") || r.Table == nil || r.Table.Offset != 59 ||
		!strings.Contains(joined(r), "Rejected by slack:UADMIN2") {
		t.Errorf("rejected: %q %s", r.Title, joined(r))
	}
	expired := pendingID(t, e.ask(t, "UADMIN", "kick vp2"))
	e.clk.Advance(31 * time.Minute)
	if r := e.ask(t, "UVIEWER", "approval "+expired); !strings.HasPrefix(r.Title, "Expired: ") || r.Table == nil || slices.Contains(buttonLabels(r), "Approve") {
		t.Errorf("expired: %q %s", r.Title, joined(r))
	}
	unknown := strings.Repeat("9", 32)
	if r := e.ask(t, "UVIEWER", "approval "+unknown); r.Title != "Unknown or expired approval" {
		t.Errorf("unknown: %q %s", r.Title, joined(r))
	}
	for _, ev := range e.audit(t) {
		if strings.Contains(fmt.Sprintf("%+v", ev), unknown) {
			t.Errorf("an unknown id (perhaps a session id typed by mistake) is audited in full: %+v", ev)
		}
	}
}

func TestApprovalUsage(t *testing.T) {
	t.Parallel()
	id := strings.Repeat("ab", 16)
	tests := []struct{ in, want string }{
		{"approval", "approval needs the approval id"},
		{"approval 1234", "approval needs the approval id"},
		{"approval " + id + " --page 2 --from 3", "give one of --page, --from and --to"},
		{"approval " + id + " --site prod", `unknown flag "--site" for approval`},
		{"aproval " + id, "did you mean approval?"},
	}
	for _, tc := range tests {
		if _, err := Parse(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
	c, err := Parse("approval " + strings.ToUpper(id) + " --to 40")
	if err != nil || c.Approval != id || c.To != 40 || c.String() != "approval "+id+" --to 40" {
		t.Errorf("Parse: %+v %v; String %q", c, err, c.String())
	}
}
