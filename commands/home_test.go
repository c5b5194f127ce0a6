package commands

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

func TestHome(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for _, p := range []string{"win", "sales", "hr", "api"} {
		if _, err := e.sim.AddSession(central, p, qliksim.Session{UserDirectory: "LAB", UserID: "testuser_1"}); err != nil {
			t.Fatal(err)
		}
	}
	pending := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	home := func(user string) bot.Reply {
		return e.eng.Home(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: user}})
	}
	fact := func(r bot.Reply, label string) string {
		for _, f := range r.Facts {
			if f.Label == label {
				return f.Value
			}
		}
		t.Fatalf("no fact %q in %+v", label, r.Facts)
		return ""
	}

	admin := home("UADMIN2")
	if got := fact(admin, "Sessions you may see"); got != "9" {
		t.Errorf("sessions %s, want 9", got)
	}
	if got := fact(admin, "Nodes answering"); got != "2 of 2" {
		t.Errorf("nodes answering %s", got)
	}
	if got := fact(admin, "Users at the 5-session limit"); got != "1" || !strings.Contains(joined(admin), `At the limit: LAB\testuser_1`) {
		t.Errorf("users at the limit %s: %s", got, joined(admin))
	}
	if got := fact(admin, "Approvals you may decide"); got != "1" || len(admin.Buttons) != 2 ||
		admin.Buttons[0].ActionID != ActionApprove || admin.Buttons[0].Value != pending || admin.Buttons[1].ActionID != ActionReject {
		t.Fatalf("approvals %s, buttons %+v", got, admin.Buttons)
	}
	if admin.Chart == nil || len(admin.Chart.Points) < 3 {
		t.Errorf("chart %+v", admin.Chart)
	}

	// The requester and a viewer may not decide it; a finance-only viewer
	// sees finance only.
	for _, user := range []string{"ULEAD", "UVIEWER"} {
		if r := home(user); fact(r, "Approvals you may decide") != "0" || len(r.Buttons) != 0 {
			t.Errorf("%s sees approvals: %+v", user, r.Buttons)
		}
	}
	if got := fact(home("UFIN"), "Sessions you may see"); got != "2" {
		t.Errorf("finance viewer sees %s sessions", got)
	}
	if r := home("UNOBODY"); !strings.Contains(joined(r), "You may not see any virtual proxy") || len(r.Facts) != 1 {
		t.Errorf("no grants: %s %+v", joined(r), r.Facts)
	}

	// The button works like the one on the request, and the approval is
	// gone from Home once decided.
	if r := e.click(t, "UADMIN2", admin.Buttons[0].ActionID, admin.Buttons[0].Value); r.Kind != bot.Success {
		t.Fatalf("approve from home: %v %s", r.Kind, joined(r))
	}
	if got := fact(home("UADMIN2"), "Approvals you may decide"); got != "0" {
		t.Errorf("after approval: %s", got)
	}
	evs := e.audit(t)
	if !slices.ContainsFunc(evs, func(ev store.Event) bool {
		return ev.Action == "command" && ev.Command == "home" && ev.Subject == "slack:UADMIN2"
	}) {
		t.Error("opening home is not in the audit trail")
	}
	// One row per opening, with its decision, as for any command.
	e2 := newEnv(t, envConfig{})
	e2.eng.Home(t.Context(), bot.Request{ID: "home-1", Platform: bot.Slack, User: bot.User{ID: "UVIEWER"}})
	var rows []store.Event
	for _, ev := range e2.audit(t) {
		if ev.RequestID == "home-1" {
			rows = append(rows, ev)
		}
	}
	if len(rows) != 1 || rows[0].Action != "command" || rows[0].Decision != "allowed" || rows[0].Reason == "" {
		t.Errorf("home's audit rows: %+v", rows)
	}
}

// TestHomeFailingPairShowsNoRawError: a node answering 500 is named on
// Home in one sentence, as sessions says it, without the Go error chain,
// the URL or the body Qlik sent.
func TestHomeFailingPairShowsNoRawError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	if err := e.sim.SetFault(dev1, qliksim.Fault{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	r := e.eng.Home(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UADMIN2"}})
	text := bot.PlainText(r)
	if r.Kind != bot.Warning || !strings.Contains(text, "No answer from dev1 ("+dev1+") for virtual proxy") {
		t.Fatalf("home with a failing node: %v\n%s", r.Kind, text)
	}
	for _, leak := range []string{"https://", "/qps/", "injected fault", "list sessions of", "Internal server error"} {
		if strings.Contains(text, leak) {
			t.Errorf("home shows %q:\n%s", leak, text)
		}
	}
	assertNoFullIDs(t, e, r)
}

// leakRecorder records what checkNoFullIDs reports.
type leakRecorder struct{ errs []string }

func (l *leakRecorder) Helper() {}
func (l *leakRecorder) Errorf(format string, args ...any) {
	l.errs = append(l.errs, fmt.Sprintf(format, args...))
}

// TestCheckNoFullIDsCatches: the leak check finds a real id however it
// is written, and lets handles and approval ids pass.
func TestCheckNoFullIDsCatches(t *testing.T) {
	t.Parallel()
	ids := []string{user1ID, "ABCDEF01-2222-4333-8444-555566667777"}
	cases := []struct {
		text string
		leak bool
	}{
		{"kick " + user1ID, true},
		{"kick " + strings.ToUpper(user1ID), true},
		{"approve " + normID(user1ID), true},
		{"value=" + strings.ToUpper(normID(user1ID)) + "|x", true},
		{"abcdef0122224333-8444555566667777", true},
		{"menu: Kick abcdef01, pending " + strings.Repeat("a1", 16), false},
		{"handles " + hd(user1ID) + " " + normID(user1ID)[:16], false},
	}
	for _, tc := range cases {
		var rec leakRecorder
		checkNoFullIDs(&rec, ids, tc.text)
		if got := len(rec.errs) > 0; got != tc.leak {
			t.Errorf("%q: reported %v, want a leak %v", tc.text, rec.errs, tc.leak)
		}
	}
}
