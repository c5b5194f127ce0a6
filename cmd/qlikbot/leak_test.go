package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// leakPolicy: the demo's people on Slack and Teams. The finance lead asks,
// the admin approves and reads the audit trail.
const leakPolicy = `roles:
  viewer: [list, health]
  lead:   [list, delete, kick, logout, approve]
  admin:  [list, delete, kick, logout, approve, audit, health]
grants:
  - subjects: ["slack:U0ONCALL", "teams:` + aadOncall + `"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["slack:U0LEAD", "teams:` + aadLead + `"]
    roles: [lead]
    virtualProxies: ["finance"]
  - subjects: ["slack:U0LEAD", "teams:` + aadLead + `"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["slack:U0ADMIN", "teams:` + aadAdmin + `"]
    roles: [admin]
    virtualProxies: ["*"]
approval:
  required: [kick, logout]
  ttl: 30m
`

// Sessions the leak tests add to the demo's finance virtual proxy: ids
// that share their first 8 and 28 hex digits, so handles must grow (to
// 12 and 16 digits) and still stop short of the id. pasted is ended by
// its full id, typed as Ctrl-Q users paste them.
var (
	leakSessions = []qliksim.Session{
		{ID: "0badc0de-1234-4abc-8def-000000000001", UserDirectory: "LAB", UserID: "leak_a", UserName: "Leak A"},
		{ID: "0badc0de-1234-4abc-8def-000000000002", UserDirectory: "LAB", UserID: "leak_b", UserName: "Leak B"},
		{ID: "0badc0de-9999-4abc-8def-00000000000c", UserDirectory: "LAB", UserID: "leak_c", UserName: "Leak C"},
	}
	pasted = strings.ToUpper(leakSessions[2].ID)
)

// leakDemo is the demo's configuration (the two built-in simulated sites)
// at debug level, two rows a page (so lists, the approval and the outcome
// come with their CSV) and its state in a bolt file the test reads after.
func leakDemo(t *testing.T) (Config, string) {
	t.Helper()
	cfg := defaultConfig(t)
	dir := t.TempDir()
	cfg.Store = "bolt://" + filepath.Join(dir, "state.db")
	cfg.LogLevel, cfg.LogFormat = "debug", "json"
	cfg.PageSize = 2
	cfg.AdminAddr = "127.0.0.1:0"
	cfg.UserRate, cfg.UserBurst = 1000, 1000
	return cfg, filepath.Join(dir, "state.db")
}

// addLeakSessions puts leakSessions on finance at the prod site's central
// node and returns every finance session there, the ids the run shows.
func addLeakSessions(t *testing.T, a *app) (*qliksim.Server, []string) {
	t.Helper()
	prod := a.sites[0].sim
	if prod == nil || a.sites[0].settings.name != "prod" {
		t.Fatal("the demo's first site is not the simulated prod")
	}
	for _, s := range leakSessions {
		if _, err := prod.AddSession(prod.Hosts()[0], "finance", s); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, h := range prod.Hosts() {
		for _, s := range prod.Sessions(h, "finance") {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) != 2+len(leakSessions) {
		t.Fatalf("finance holds %d sessions, want the seed's 2 and %d more", len(ids), len(leakSessions))
	}
	return prod, ids
}

// demoIDs are the ids the demo's simulators hold and held.
func demoIDs(a *app) heldIDs {
	ids := heldIDs{}
	ids.addSim(a.sites[0].sim, qliksim.SeedLab())
	ids.addSim(a.sites[1].sim, demoTestLab())
	return ids
}

// TestNoSessionIDLeaksConsole runs the demo in the console: list, users,
// a delete by a pasted full id, a kick by the lead approved by the admin
// while Qlik fails every call, the same kick again with Qlik well, the
// outcomes, the CSV files and the audit trail; then looks for every
// session id the simulators hold or held in the output, the files, the
// debug log and the store.
func TestNoSessionIDLeaksConsole(t *testing.T) {
	t.Parallel()
	cfg, boltPath := leakDemo(t)
	logs := &syncBuffer{}
	con := startApp(t, cfg, logs)
	prod, finance := addLeakSessions(t, con.app)

	type step struct {
		lines []string
		until string // in the output once the lines are answered
	}
	run := func(s step) {
		t.Helper()
		for _, line := range s.lines {
			if _, err := io.WriteString(con.in, line+"\n"); err != nil {
				t.Fatalf("console input: %v", err)
			}
		}
		waitFor(t, 30*time.Second, s.until, func() bool { return strings.Contains(con.out.String(), s.until) })
	}
	run(step{[]string{"/qlik sessions finance", "/qlik users", "--as admin /qlik delete finance " + pasted}, "Deleted 1"})
	// The first approval meets a Qlik that fails every call: Qlik's
	// errors (which name the session's URL) reach the outcome, its CSV,
	// the log and the audit trail.
	run(step{[]string{"/as lead", "/qlik kick finance"}, "Approval needed: end 4 sessions"})
	prod.SetFaultAll(qliksim.Fault{ErrorRate: 1})
	run(step{[]string{"/as admin", "/click 1", "y"}, "failed 4"})
	prod.SetFaultAll(qliksim.Fault{})
	run(step{[]string{"/as lead", "/qlik kick finance", "/as admin", "/click 1", "y"}, "Deleted 4"})
	run(step{[]string{"/qlik sessions finance", "/qlik audit 100"}, "audit.csv"})
	out := con.out.String()
	if n := len(deletesPerSession(prod.Requests())); n != 5 || !strings.Contains(out, "Deleted 4") {
		t.Fatalf("%d finance sessions were ended, want the pasted one and the 4 kicked:\n%s", n, out)
	}
	var scan leakScan
	scan.add("the console", out)
	if n := scan.addConsoleFiles(t, out); n < 5 {
		t.Errorf("the console saved %d files, want the CSV of sessions, users, the approval, the outcome and the audit", n)
	}
	ids := demoIDs(con.app)
	con.shutdown(t)
	scan.add("the log", logs.String())
	scan.addBolt(t, boltPath)

	// A page shows two rows; the CSV files every row.
	wantHandles(t, "the console's files", scan.text("console file"), finance)
	wantHandles(t, "the stored audit trail", scan.text("the bolt store, bucket audit"), finance)
	if !strings.Contains(logs.String(), `"level":"DEBUG"`) {
		t.Error("nothing was logged at debug level")
	}
	scan.check(t, ids)
}

// TestNoSessionIDLeaksSlack runs the demo on Slack in HTTP mode: signed
// slash commands and clicks reach the real adapter, the fake Web API
// records every message, response_url post and file upload; the state is
// on Redis, read back with a plain client.
func TestNoSessionIDLeaksSlack(t *testing.T) {
	t.Parallel()
	redisAddr := storetest.StartRedis(t)
	slack := newFakeSlack(t)
	cfg, _ := leakDemo(t)
	cfg.Store, cfg.StateKey = "redis://"+redisAddr+"/0", testStateKey
	cfg.Policy = filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(cfg.Policy, []byte(leakPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.HTTPAddr, cfg.SlackMode = "127.0.0.1:0", "http"
	cfg.SlackSigningSecret, cfg.SlackBotToken = slackSigningSecret, slackBotToken
	cfg.SlackAPIURL = slack.srv.URL + "/api/"
	logs := &syncBuffer{}
	chat := startApp(t, cfg, logs)
	prod, finance := addLeakSessions(t, chat.app)
	base := "http://" + chat.public.Addr().String()

	var scan leakScan
	ask := func(user, text, hook string) string {
		t.Helper()
		code, ack := slashCommand(t, base, slackSigningSecret, user, text, slack.srv.URL+"/response/"+hook)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", text, code, ack)
		}
		scan.add("the acknowledgement of "+text, ack)
		waitFor(t, 20*time.Second, "the answer to "+text, func() bool { return len(slack.posts("/response/"+hook)) > 0 })
		return slack.posts("/response/" + hook)[0]
	}
	ask("U0ONCALL", "sessions finance", "list")
	ask("U0ONCALL", "users", "users")
	if got := ask("U0ADMIN", "delete finance "+pasted, "delete"); !strings.Contains(got, "Deleted 1") {
		t.Fatalf("the pasted delete: %s", got)
	}
	actionID, value := slackButton(t, ask("U0LEAD", "kick finance", "kick"), "qlik.approve")
	code, ack := slackClick(t, base, slackSigningSecret, "U0ADMIN", actionID, value, slack.srv.URL+"/response/click")
	if code != http.StatusOK {
		t.Fatalf("approve click: %d %s", code, ack)
	}
	scan.add("the acknowledgement of the click", ack)
	waitFor(t, 20*time.Second, "the outcome", func() bool {
		return strings.Contains(strings.Join(slack.posts("/response/click"), "\n"), "Approved")
	})
	ask("U0ADMIN", "audit 100", "audit")
	ask("U0ONCALL", "sessions finance", "after")
	if n := len(deletesPerSession(prod.Requests())); n != 5 {
		t.Fatalf("%d finance sessions were ended, want 5", n)
	}
	ids := demoIDs(chat.app)
	chat.shutdown(t) // every reply and upload is out once the dispatcher has drained

	rendered := slack.all()
	scan.add("the Slack Web API and response_url posts", rendered)
	scan.add("the log", logs.String())
	scan.addRedis(t, redisAddr)
	uploads := strings.Join(slack.posts("/upload/"), "\n")
	if len(slack.posts("/api/files.completeUploadExternal")) < 3 {
		t.Errorf("%d files were shared, want the CSV of the list, the approval and the outcome at least", len(slack.posts("/api/files.completeUploadExternal")))
	}
	wantHandles(t, "the Slack messages", rendered, finance)
	wantHandles(t, "the uploaded CSV files", uploads, finance)
	wantHandles(t, "the stored audit trail", scan.text("Redis key qlikbot:audit"), finance)
	scan.check(t, ids)
}
