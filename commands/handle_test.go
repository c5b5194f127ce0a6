package commands

import (
	"bytes"
	"encoding/csv"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

func TestHandles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ids  []string
		want map[string]string // id -> handle
	}{
		{"alone: 8 digits", []string{user1ID}, map[string]string{user1ID: "55142b14"}},
		{"upper case and repeats", []string{strings.ToUpper(user1ID), user1ID, user2ID}, map[string]string{user1ID: "55142b14", user2ID: "d1b5d953"}},
		{"8 shared: 12 for those two only", []string{"abcdef01-1111-4000-8000-000000000001", "abcdef01-2222-4000-8000-000000000002", user1ID},
			map[string]string{"abcdef01-1111-4000-8000-000000000001": "abcdef011111", "abcdef01-2222-4000-8000-000000000002": "abcdef012222", user1ID: "55142b14"}},
		{"12 shared: 16", []string{"abcdef01-1111-4000-8000-000000000001", "abcdef01-1111-4fff-8000-000000000002"},
			map[string]string{"abcdef01-1111-4000-8000-000000000001": "abcdef0111114000", "abcdef01-1111-4fff-8000-000000000002": "abcdef0111114fff"}},
		{"16 shared: never more than 16", []string{"abcdef01-1111-4000-8000-000000000001", "abcdef01-1111-4000-8000-000000000002"},
			map[string]string{"abcdef01-1111-4000-8000-000000000001": "abcdef0111114000", "abcdef01-1111-4000-8000-000000000002": "abcdef0111114000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHandles(tc.ids)
			for id, want := range tc.want {
				if got := h.of(id); got != want {
					t.Errorf("handle of %s = %q, want %q", id, got, want)
				}
			}
			if got := h.of(user4ID); got != "6ac3b0ea" {
				t.Errorf("an id outside the set gets %q, want its 8 digits", got)
			}
		})
	}
}

func TestSessionRefsAndRedaction(t *testing.T) {
	t.Parallel()
	for ref, ok := range map[string]bool{
		"55142b14": true, "55142b14-8d2d": true, "55142b148d2d": true, user1ID: true, normID(user1ID): true,
		"55142b1": false, "55142b14-": false, "55142b1-48d2d": false, "55142b14x": false, user1ID + "0": false, "../../x": false,
	} {
		if validSessionRef(ref) != ok {
			t.Errorf("validSessionRef(%q) = %v, want %v", ref, !ok, ok)
		}
	}
	approval := strings.Repeat("ab", 16)
	tests := []struct{ in, want string }{
		{"delete finance " + user1ID + " " + strings.ToUpper(user2ID), "delete finance 55142b14 d1b5d953"},
		{"delete finance " + normID(user1ID), "delete finance 55142b14"},
		{"delete finance 55142b14 55142b14-8d2d", "delete finance 55142b14 55142b14-8d2d"},
		{"approve " + approval, "approve abababab"},
		{"approve " + normID(user1ID), "approve 55142b14"},
		{"reject " + strings.ToUpper(normID(user1ID)), "reject 55142b14"},
		{"approve " + user1ID, "approve 55142b14"},
		{"DELETE /qps/finance/session/" + user1ID + ": 500", "DELETE /qps/finance/session/55142b14: 500"},
	}
	for _, tc := range tests {
		if got := redactIDs(tc.in); got != tc.want {
			t.Errorf("redactIDs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Only the approval id the store knows is kept.
	for _, tc := range []struct{ in, keep, want string }{
		{"approve " + approval, approval, "approve " + approval},
		{"qlik.approve " + approval, approval, "qlik.approve " + approval},
		{"approve " + normID(user1ID), approval, "approve 55142b14"},
		{"reject " + normID(user1ID) + " " + approval, approval, "reject 55142b14 " + approval},
	} {
		if got := redactIDs(tc.in, tc.keep); got != tc.want {
			t.Errorf("redactIDs(%q, %q) = %q, want %q", tc.in, tc.keep, got, tc.want)
		}
	}
}

// TestNoFullSessionIDLeaves runs the commands that show sessions, with
// handles that must grow past 8 digits, and scans every reply, CSV,
// button, audit event and log line for a full id: none.
func TestNoFullSessionIDLeaves(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{pageSize: 3})
	twins := map[string]string{"abcdef01-1111-4000-8000-000000000001": "twin_a", "abcdef01-2222-4000-8000-000000000002": "twin_b"}
	for id, u := range twins {
		if _, err := e.sim.AddSession(central, "finance", qliksim.Session{ID: id, UserDirectory: "LAB", UserID: u}); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	eng, err := New(e.client, e.st, authz.NewStatic(e.pol), WithClock(e.clk.Now), WithPageSize(3),
		WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng

	list := e.ask(t, "UADMIN", "sessions finance")
	if !list.Table.Paged() || list.Table.TotalRows != 4 || len(list.Files) != 1 {
		t.Fatalf("want a paged list with a CSV: %+v", list.Table)
	}
	recs, err := csv.NewReader(bytes.NewReader(list.Files[0].Data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	byUser := map[string]string{}
	for _, rec := range recs[1:] {
		byUser[rec[2]] = rec[5]
	}
	want := map[string]string{`LAB\testuser_1`: "55142b14", `LAB\testuser_2`: "d1b5d953", `LAB\twin_a`: "abcdef011111", `LAB\twin_b`: "abcdef012222"}
	if !maps.Equal(byUser, want) {
		t.Errorf("CSV handles %v, want %v", byUser, want)
	}
	p2 := e.ask(t, "UADMIN", "sessions finance --page 2")
	if got := column(t, p2, "Session"); !slices.Equal(got, []string{recs[4][5]}) {
		t.Errorf("page 2 shows %v, the CSV %v: they must agree", got, recs[4][5])
	}

	replies := []bot.Reply{list, p2,
		e.ask(t, "UADMIN", "delete finance abcdef01"),                 // ambiguous: lists both
		e.ask(t, "UADMIN", "delete finance "+strings.Repeat("9", 32)), // unknown, typed in full
		e.ask(t, "UADMIN", "delete finance "+user2ID),                 // typed in full
		e.ask(t, "UADMIN", "delete finance abcdef012222"),
	}
	if e.deletes() == nil || len(e.deletes()) != 2 {
		t.Fatalf("DELETEs %d, want 2", len(e.deletes()))
	}
	req := e.ask(t, "ULEAD", "kick finance")
	replies = append(replies, req, e.click(t, "UADMIN", ActionApprove, pendingID(t, req)), e.ask(t, "UADMIN", "audit 200"))
	if sessionCount(e) != 3 {
		t.Fatalf("%d sessions left, want the 3 outside finance", sessionCount(e))
	}
	assertNoFullIDs(t, e, replies...)
	checkNoFullIDs(t, e.sessionIDs(t), logs.String())
	if !strings.Contains(logs.String(), "sessions ended") {
		t.Errorf("the log does not record the deletes:\n%s", logs.String())
	}
	for _, ev := range e.audit(t) {
		if ev.Action == "command" && strings.HasPrefix(ev.Command, "delete finance d1b5d953") {
			return
		}
	}
	t.Errorf("the typed delete is not in the audit trail with the handle")
}

// TestApproveTypedSessionIDIsRedacted: a session id typed (or clicked)
// after approve or reject, with or without dashes, in any case, is not
// an approval the store knows: the audit trail and the reply show its
// handle. A real approval id stays in full.
func TestApproveTypedSessionIDIsRedacted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	var replies []bot.Reply
	for _, text := range []string{
		"approve " + normID(user1ID), "reject " + normID(user2ID), "approve " + strings.ToUpper(normID(user3ID)),
		"approve " + user4ID, "reject " + strings.ToUpper(goranID), "approve --site default " + normID(user1ID),
	} {
		replies = append(replies, e.ask(t, "UADMIN", text))
	}
	replies = append(replies, e.click(t, "UADMIN", ActionApprove, normID(user2ID)), e.click(t, "UADMIN", ActionReject, normID(user3ID)))
	assertNoFullIDs(t, e, replies...)

	pending := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	if r := e.ask(t, "UADMIN", "reject "+pending); r.Kind != bot.Info && r.Kind != bot.Success {
		t.Fatalf("reject %s: %v %s", pending, r.Kind, joined(r))
	}
	if !slices.ContainsFunc(e.audit(t), func(ev store.Event) bool {
		return ev.Action == "command" && ev.Command == "reject "+pending && ev.Pending == pending
	}) {
		t.Errorf("the approval id the store knows is not audited in full: %+v", e.audit(t)[:3])
	}
}
