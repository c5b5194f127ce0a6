package commands

import (
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
}
