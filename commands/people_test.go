package commands

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

// livePolicy is a policy an admin changes while approvals wait.
type livePolicy struct{ p atomic.Pointer[authz.Policy] }

func (l *livePolicy) Policy() *authz.Policy { return l.p.Load() }

const peopleTestPolicy = `
people:
  - name: lee
    console: [lead]
    slack: [U1]
    emails: [lee@example.com]
roles:
  lead:  [list, delete, kick, logout, approve]
  admin: [list, delete, kick, logout, approve, audit]
grants:
  - subjects: ["person:lee", "slack:ULEAD2"]
    roles: [lead]
    virtualProxies: [finance]
  - subjects: ["slack:UADMIN", "slack:UADMIN2", "teams:t-admin"]
    roles: [admin]
    virtualProxies: ["*"]
`

// peopleEditedPolicy is peopleTestPolicy after an edit of the people
// section: lee is now "leigh", and the Slack id is no longer hers (a
// grant of its own keeps its rights).
const peopleEditedPolicy = `
people:
  - name: leigh
    console: [lead]
roles:
  lead:  [list, delete, kick, logout, approve]
  admin: [list, delete, kick, logout, approve, audit]
grants:
  - subjects: ["person:leigh", "slack:U1", "slack:ULEAD2"]
    roles: [lead]
    virtualProxies: [finance]
  - subjects: ["slack:UADMIN", "slack:UADMIN2", "teams:t-admin"]
    roles: [admin]
    virtualProxies: ["*"]
`

func mustParse(t *testing.T, src string) *authz.Policy {
	t.Helper()
	p, err := authz.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOnePersonOneApprover: the two-person rule compares people, across
// platforms, and a requester's grant revoked since the request refuses the
// approval; an approver must hold approve on every place of the request.
func TestOnePersonOneApprover(t *testing.T) {
	t.Parallel()
	type who struct {
		platform bot.Platform
		id       string
		email    string
	}
	cases := []struct {
		name      string
		asker     who
		text      string
		approver  who
		revoke    bool   // replace the policy by one without the asker's grant before the click
		edit      string // replace the policy by this one before the click
		want      string
		approved  bool
		extraUser bool // testuser_1 also has a session on win
	}{
		{name: "console asker, same person on slack", asker: who{bot.Console, "lead", ""}, text: "kick finance",
			approver: who{bot.Slack, "U1", ""}, want: "two-person rule"},
		{name: "slack asker, same person's verified e-mail on teams", asker: who{bot.Slack, "U1", ""}, text: "kick finance",
			approver: who{bot.Teams, "t-other", "Lee@Example.com"}, want: "two-person rule"},
		{name: "same verified e-mail, no person", asker: who{bot.Slack, "UADMIN", "ops@example.com"}, text: "kick finance",
			approver: who{bot.Teams, "t-admin", "OPS@example.com"}, want: "two-person rule"},
		{name: "another person approves", asker: who{bot.Console, "lead", ""}, text: "kick finance",
			approver: who{bot.Slack, "ULEAD2", ""}, approved: true},
		{name: "approver holds one of two places", asker: who{bot.Slack, "UADMIN", ""}, text: `kick --user LAB\testuser_1`, extraUser: true,
			approver: who{bot.Slack, "ULEAD2", ""}, want: `no grant with "approve" on virtual proxy "win"`},
		{name: "approver holds both places", asker: who{bot.Slack, "UADMIN", ""}, text: `kick --user LAB\testuser_1`, extraUser: true,
			approver: who{bot.Slack, "UADMIN2", ""}, approved: true},
		{name: "people edited since: the person renamed and split", asker: who{bot.Console, "lead", ""}, text: "kick finance",
			edit: peopleEditedPolicy, approver: who{bot.Slack, "U1", ""}, want: "two-person rule"},
		{name: "requester's grant revoked since", asker: who{bot.Console, "lead", ""}, text: "kick finance", revoke: true,
			approver: who{bot.Slack, "UADMIN", ""}, want: "console:lead, who asked, may no longer kick on finance"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{policy: peopleTestPolicy})
			if tc.extraUser {
				if _, err := e.sim.AddSession(central, "win", qliksim.Session{UserDirectory: "LAB", UserID: "testuser_1"}); err != nil {
					t.Fatal(err)
				}
			}
			pol := &livePolicy{}
			pol.p.Store(e.pol)
			eng, err := New(e.client, e.st, pol, WithClock(e.clk.Now), WithSealer(e.sealer))
			if err != nil {
				t.Fatal(err)
			}
			req := func(w who) bot.Request {
				return bot.Request{Platform: w.platform, User: bot.User{ID: w.id, Email: w.email}, Channel: "C1"}
			}
			ask := req(tc.asker)
			ask.Text = tc.text
			id := pendingID(t, eng.Handle(t.Context(), ask))
			before := sessionCount(e)
			if tc.revoke {
				pol.p.Store(mustParse(t, strings.Replace(peopleTestPolicy, `"person:lee", `, "", 1)))
			}
			if tc.edit != "" {
				pol.p.Store(mustParse(t, tc.edit))
			}
			click := req(tc.approver)
			click.Action = &bot.Action{ID: ActionApprove, Value: id, MessageRef: "m1"}
			r := eng.Handle(t.Context(), click)
			if tc.approved {
				if r.Kind != bot.Success || len(e.deletes()) == 0 {
					t.Fatalf("approval refused: %v %s", r.Kind, joined(r))
				}
				return
			}
			if r.Kind != bot.Denied || r.Visibility != bot.Ephemeral || !strings.Contains(joined(r), tc.want) {
				t.Errorf("reply %v, want a denial saying %q: %s", r.Kind, tc.want, joined(r))
			}
			if len(e.deletes()) != 0 || sessionCount(e) != before {
				t.Errorf("a refused approval deleted: DELETEs %d", len(e.deletes()))
			}
			if p, err := e.st.GetPending(t.Context(), id); err != nil || p.State != store.StatePending {
				t.Errorf("state %v, %v: want still pending", p.State, err)
			}
			denied := false
			for _, ev := range e.audit(t) {
				if ev.Pending == id && ev.Decision == "denied" && ev.Reason != "" {
					denied = true
				}
			}
			if !denied {
				t.Error("the refusal is not in the audit trail")
			}
			if tc.revoke { // the grant comes back: the same request may be approved
				pol.p.Store(e.pol)
				if r := eng.Handle(t.Context(), click); r.Kind != bot.Success {
					t.Errorf("approve after the grant is back: %v %s", r.Kind, joined(r))
				}
			}
		})
	}
}

func TestWhoamiNamesThePerson(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: peopleTestPolicy})
	if r := e.ask(t, "U1", "whoami"); !strings.Contains(joined(r), "You are lee in the policy") {
		t.Errorf("whoami: %s", joined(r))
	}
	if r := e.ask(t, "UADMIN", "whoami"); strings.Contains(joined(r), "You are") {
		t.Errorf("whoami of someone who is no person: %s", joined(r))
	}
}

// TestNobodyElseMayApprove: a request that no other person could approve
// says so at once; one that someone else could approve does not.
func TestNobodyElseMayApprove(t *testing.T) {
	t.Parallel()
	const solo = `
people:
  - {name: sam, slack: [USOLO], console: [sam]}
roles: {admin: [list, kick, logout, approve], lead: [list, kick, approve]}
grants:
  - {subjects: ["person:sam"], roles: [admin], virtualProxies: ["*"]}
  - {subjects: ["slack:UFIN"], roles: [lead], virtualProxies: [finance]}
`
	e := newEnv(t, envConfig{policy: solo})
	for _, tc := range []struct {
		text string
		warn bool
	}{{"kick win", true}, {"kick finance", false}, {`kick --user LAB\testuser_1`, false}} {
		r := e.ask(t, "USOLO", tc.text)
		pendingID(t, r)
		if got := strings.Contains(strings.Join(r.Warnings, "\n"), "Nobody else may approve this"); got != tc.warn {
			t.Errorf("%s: warned %v, want %v: %v", tc.text, got, tc.warn, r.Warnings)
		}
	}
}

// TestKickUserWithoutRightsThere: a user with sessions only where the
// caller may not log users out is not "nothing matched".
func TestKickUserWithoutRightsThere(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, policy, user string
		kind               bot.Kind
		want               string
	}{
		{"caller sees the sessions", testPolicy, "ULEAD", bot.Denied,
			`LAB\testuser_3 has 2 sessions where you may not log users out (win on Central), and none where you may; nothing was requested.`},
		{"caller cannot see them", peopleTestPolicy, "U1", bot.Info,
			`LAB\testuser_3 has no session where you may log users out.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{policy: tc.policy})
			if _, err := e.sim.AddSession(central, "win", qliksim.Session{UserDirectory: "LAB", UserID: "testuser_3"}); err != nil {
				t.Fatal(err)
			}
			r := e.ask(t, tc.user, `kick --user LAB\testuser_3`)
			if r.Kind != tc.kind || !strings.Contains(joined(r), tc.want) || strings.Contains(joined(r), "Nothing matched") {
				t.Errorf("reply %v, want %v saying %q: %s", r.Kind, tc.kind, tc.want, joined(r))
			}
			if len(e.deletes()) != 0 || countAudit(e.audit(t), "request-approval", "") != 0 {
				t.Error("something was requested or deleted")
			}
		})
	}
}
