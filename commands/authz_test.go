package commands

import (
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// TestAuthorizationMatrix runs every action as every role on three
// virtual proxies against the real policy engine and simulator. A denial
// must be ephemeral, name the asker's id, and change nothing in Qlik.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	scopes := []struct {
		name, word, user, session string
		n                         int // sessions on it
	}{
		{"finance", "finance", "testuser_1", user1ID, 2},
		{"default", "default", "goran", goranID, 1},
		{"win", "win", "testuser_3", user3ID, 2},
	}
	roles := []struct{ name, user string }{
		{"viewer", "UVIEWER"}, {"lead", "ULEAD"}, {"admin", "UADMIN"}, {"none", "UNOBODY"},
	}
	actions := []struct {
		name  string
		text  func(word, user, session string) string
		allow func(role, scope string) bool
		kind  bot.Kind // when allowed
	}{
		{"sessions", func(w, _, _ string) string { return "sessions " + w },
			func(r, _ string) bool { return r != "none" }, bot.Info},
		{"users", func(w, _, _ string) string { return "users " + w },
			func(r, _ string) bool { return r != "none" }, bot.Info},
		{"delete", func(w, _, id string) string { return "delete " + w + " " + id },
			func(r, s string) bool { return r == "admin" || r == "lead" && s == "finance" }, bot.Success},
		{"kick", func(w, _, _ string) string { return "kick " + w },
			func(r, s string) bool { return r == "admin" || r == "lead" && s == "finance" }, bot.Pending},
		{"kick user", func(w, u, _ string) string { return `kick --user LAB\` + u + " " + w },
			func(r, s string) bool { return r == "admin" || r == "lead" && s == "finance" }, bot.Pending},
	}
	for _, a := range actions {
		for _, role := range roles {
			for _, sc := range scopes {
				t.Run(a.name+"/"+role.name+"/"+sc.name, func(t *testing.T) {
					t.Parallel()
					e := newEnv(t, envConfig{})
					text := a.text(sc.word, sc.user, sc.session)
					r := e.ask(t, role.user, text)
					allowed := a.allow(role.name, sc.name)
					if !allowed {
						assertDenied(t, e, r, role.user)
						if a.name == "sessions" || a.name == "users" {
							if q := e.qpsCalls(); len(q) != 0 {
								t.Errorf("denied list still asked QPS: %+v", q)
							}
						}
						if strings.Contains(countPending(t, e), "request-approval") {
							t.Errorf("denied action created an approval request")
						}
						return
					}
					if r.Kind != a.kind {
						t.Fatalf("%s as %s: kind %v, want %v: %s", text, role.name, r.Kind, a.kind, joined(r))
					}
					switch a.kind {
					case bot.Success:
						if got := column(t, r, "Outcome"); len(got) != 1 || got[0] != "deleted" {
							t.Errorf("outcomes %v", got)
						}
						if n := len(e.deletes()); n != 1 || sessionCount(e) != 4 {
							t.Errorf("DELETEs %d, sessions left %d; want 1 and 4", n, sessionCount(e))
						}
					case bot.Pending:
						if n := len(e.deletes()); n != 0 || sessionCount(e) != 5 {
							t.Errorf("pending request deleted: DELETEs %d, sessions %d", n, sessionCount(e))
						}
					default:
						if got := column(t, r, tableKey(a.name)); len(got) != sc.n || !strings.Contains(got[0], sc.user) && got[0] != hd(sc.session) {
							t.Errorf("rows %v, want the %s session", got, sc.user)
						}
					}
				})
			}
		}
	}
	for _, role := range roles {
		t.Run("audit/"+role.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{})
			e.ask(t, "UVIEWER", "sessions finance")
			r := e.ask(t, role.user, "audit")
			if role.name != "admin" {
				assertDenied(t, e, r, role.user)
				return
			}
			if r.Kind != bot.Info || r.Table == nil || len(r.Table.Rows) == 0 {
				t.Fatalf("admin audit: %v %s", r.Kind, joined(r))
			}
		})
		t.Run("whoami/"+role.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{})
			r := e.ask(t, role.user, "whoami")
			if r.Kind != bot.Info || r.Visibility != bot.Ephemeral || !strings.Contains(joined(r), "slack:"+role.user) {
				t.Fatalf("whoami: %v %s", r.Kind, joined(r))
			}
			if (role.name == "none") != (r.Table == nil) {
				t.Errorf("grants table presence wrong for %s: %+v", role.name, r.Table)
			}
		})
	}
}

func tableKey(action string) string {
	if action == "users" {
		return "User"
	}
	return "Session"
}

func assertDenied(t *testing.T, e *env, r bot.Reply, user string) {
	t.Helper()
	if r.Kind != bot.Denied || r.Visibility != bot.Ephemeral {
		t.Fatalf("kind %v visibility %v, want an ephemeral denial: %s", r.Kind, r.Visibility, joined(r))
	}
	if s := joined(r); !strings.Contains(s, "Your id: slack:"+user) || !strings.Contains(s, "Not allowed: ") || !strings.Contains(s, "ask an admin to grant") {
		t.Errorf("denial does not name the subject and the fix: %s", s)
	}
	if n := len(e.deletes()); n != 0 || sessionCount(e) != 5 {
		t.Errorf("denial changed Qlik: DELETEs %d, sessions %d", n, sessionCount(e))
	}
	denied := false
	for _, ev := range e.audit(t) {
		if ev.Action == "command" && ev.Decision == "denied" && ev.Subject == "slack:"+user {
			denied = true
		}
	}
	if !denied {
		t.Errorf("no denied decision in the audit trail")
	}
}

func countPending(t *testing.T, e *env) string {
	t.Helper()
	var acts []string
	for _, ev := range e.audit(t) {
		acts = append(acts, ev.Action)
	}
	return strings.Join(acts, " ")
}

const hostPolicy = `
roles:
  lead: [list, delete, kick, logout, approve]
grants:
  - subjects: ["slack:UHOST"]
    roles: [lead]
    virtualProxies: ["butler"]
    hosts: ["pro2-win2.lab.ptarmiganlabs.net"]
  - subjects: ["slack:UHOST2"]
    roles: [lead]
    virtualProxies: ["butler", "finance"]
approval:
  required: [delete]
`

// TestHostScopedGrantsAndApprovalSettings: a grant limited to one node
// sees and acts on that node only (the other node is never asked), and the
// policy decides which actions need approval.
func TestHostScopedGrantsAndApprovalSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: hostPolicy})
	var onDev1 string
	for _, h := range []string{central, dev1} {
		s, err := e.sim.AddSession(h, "butler", qliksim.Session{UserDirectory: "LAB", UserID: "svc"})
		if err != nil {
			t.Fatal(err)
		}
		if h == dev1 {
			onDev1 = s.ID
		}
	}
	e.sim.ResetRequests()
	r := e.ask(t, "UHOST", "sessions butler")
	if got := column(t, r, "Session"); len(got) != 1 || got[0] != hd(onDev1) {
		t.Fatalf("host-limited list %v, want only %s", got, onDev1)
	}
	for _, q := range e.qpsCalls() {
		if q.Node != dev1 {
			t.Errorf("QPS asked %s %s outside the grant", q.Node, q.Path)
		}
	}
	// kick needs no approval under this policy: it runs at once, on dev1 only.
	k := e.ask(t, "UHOST", "kick butler")
	if k.Kind != bot.Success || len(e.deletes()) != 1 || e.deletes()[0].Node != dev1 || len(e.sim.Sessions(central, "butler")) != 1 {
		t.Fatalf("kick: %v %s; DELETEs %+v", k.Kind, joined(k), e.deletes())
	}
	if !strings.Contains(joined(k), "Not included: 1 (virtual proxy, node) place where you may not kick") {
		t.Errorf("kick does not say what it left out: %s", joined(k))
	}
	// delete needs approval under this policy.
	d := e.ask(t, "UHOST2", "delete finance "+user1ID)
	if d.Kind != bot.Pending || len(e.deletes()) != 1 {
		t.Fatalf("delete under required [delete]: %v %s", d.Kind, joined(d))
	}
	if w := e.ask(t, "UHOST2", "whoami"); !strings.Contains(joined(w), "Needs a second person's approval: delete (requests expire after 30 min)") {
		t.Errorf("whoami: %s", joined(w))
	}
}
