package commands

import (
	"slices"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

// TestDeleteByHandle: delete takes handles and full ids, resolved among
// the sessions the caller may end; an unknown or ambiguous one refuses
// the whole command (nothing is deleted) and lists each problem, naming
// the users an ambiguous handle could be.
func TestDeleteByHandle(t *testing.T) {
	t.Parallel()
	const unknown = "11111111-2222-4333-8444-555555555555"
	// Two finance sessions sharing their first 8 hex digits: their handles
	// are 12 digits long, and the 8-digit one is ambiguous.
	twinA := "abcdef01-1111-4000-8000-000000000001"
	twinB := "abcdef01-2222-4000-8000-000000000002"
	cases := []struct {
		name     string
		user     string
		args     string
		kind     bot.Kind
		deleted  []string // session ids gone afterwards
		want     []string // in the reply text
		outcomes []string // the Outcome column
	}{
		{name: "handle", user: "ULEAD", args: hd(user1ID), kind: bot.Success, deleted: []string{user1ID}, outcomes: []string{"deleted"}},
		{name: "full id, upper case", user: "ULEAD", args: strings.ToUpper(user1ID), kind: bot.Success, deleted: []string{user1ID}, outcomes: []string{"deleted"}},
		{name: "handle and id of one session", user: "ULEAD", args: hd(user2ID) + " " + user2ID, kind: bot.Success, deleted: []string{user2ID}, outcomes: []string{"deleted"}},
		{name: "longer handle with a dash", user: "ULEAD", args: user1ID[:13], kind: bot.Success, deleted: []string{user1ID}, outcomes: []string{"deleted"}},
		{name: "twin by its longer handle", user: "ULEAD", args: "abcdef011111", kind: bot.Success, deleted: []string{twinA}, outcomes: []string{"deleted"}},
		{name: "unknown refuses the known too", user: "ULEAD", args: hd(user1ID) + " " + unknown, kind: bot.Warning,
			want:     []string{"Nothing was ended: 1 session not found"},
			outcomes: []string{"not found: no session on finance that you may end starts with 11111111"}},
		{name: "a win session under finance is not found", user: "ULEAD", args: hd(user3ID), kind: bot.Warning,
			outcomes: []string{"not found: no session on finance that you may end starts with " + hd(user3ID)}},
		{name: "ambiguous names both users", user: "ULEAD", args: "abcdef01", kind: bot.Warning,
			want:     []string{"1 handle could be more than one session", `LAB\twin_a`, `LAB\twin_b`, "abcdef011111", "abcdef012222"},
			outcomes: []string{"ambiguous: abcdef01 could be this session", "ambiguous: abcdef01 could be this session"}},
		{name: "a viewer's handle resolves among nothing", user: "UVIEWER", args: hd(user1ID), kind: bot.Denied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{})
			for id, u := range map[string]string{twinA: "twin_a", twinB: "twin_b"} {
				if _, err := e.sim.AddSession(central, "finance", qliksim.Session{ID: id, UserDirectory: "LAB", UserID: u}); err != nil {
					t.Fatal(err)
				}
			}
			r := e.ask(t, tc.user, "delete finance "+tc.args)
			if r.Kind != tc.kind {
				t.Fatalf("kind %v, want %v: %s", r.Kind, tc.kind, joined(r))
			}
			all := joined(r) + "\n" + strings.Join(column(t, withTable(r), "User"), "\n") + "\n" + strings.Join(column(t, withTable(r), "Session"), "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("reply lacks %q:\n%s", w, all)
				}
			}
			if tc.outcomes != nil {
				if got := column(t, r, "Outcome"); !slices.Equal(got, tc.outcomes) {
					t.Errorf("outcomes %q, want %q", got, tc.outcomes)
				}
			}
			if got := len(e.deletes()); got != len(tc.deleted) {
				t.Errorf("DELETEs %d, want %d", got, len(tc.deleted))
			}
			if sessionCount(e) != 7-len(tc.deleted) {
				t.Errorf("%d sessions left, want %d", sessionCount(e), 7-len(tc.deleted))
			}
			assertNoFullIDs(t, e, r)
			var del []store.Event
			for _, ev := range e.audit(t) {
				if ev.Action == "delete" {
					del = append(del, ev)
				}
			}
			if len(del) != len(tc.deleted) {
				t.Fatalf("delete audit events %d, want %d", len(del), len(tc.deleted))
			}
			for i, ev := range del {
				want := hd(tc.deleted[i]) + ` LAB\`
				if !strings.HasPrefix(ev.Target, want) || ev.Outcome != "deleted" || ev.Subject != "slack:"+tc.user {
					t.Errorf("delete audit %+v, want target %s...", ev, want)
				}
			}
		})
	}
}

// withTable gives a reply without a table an empty one, for column.
func withTable(r bot.Reply) bot.Reply {
	if r.Table == nil {
		r.Table = &bot.Table{Columns: outcomeColumns}
	}
	return r
}
