package commands

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

func clickReq(user, actionID, value string) bot.Request {
	return bot.Request{ID: "pre-" + user, Platform: bot.Slack, User: bot.User{ID: user, Name: strings.ToLower(user)}, Channel: "C1",
		Action: &bot.Action{ID: actionID, Value: value, MessageRef: "m1"}}
}

// TestPrecheck: a click on an approval button is told its refusal before
// it is sent, exactly as the click would get it, and a precheck claims,
// audits and counts nothing; what it cannot be sure of is left to the
// click.
func TestPrecheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	rejected := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	if r := e.click(t, "UADMIN", ActionReject, rejected); !strings.HasPrefix(r.Title, "Rejected") {
		t.Fatalf("reject: %s", joined(r))
	}
	trail := len(e.audit(t))
	for len(e.events) > 0 {
		<-e.events
	}

	tests := []struct {
		name, user, action, value string
		refused                   bool
		kind                      bot.Kind
		want                      string
	}{
		{"the requester approving", "ULEAD", ActionApprove, id, true, bot.Denied, "two-person rule"},
		{"a viewer approving", "UVIEWER", ActionApprove, id, true, bot.Denied, "Your id: slack:UVIEWER"},
		{"a lead of elsewhere approving", "UFIN", ActionApprove, id, true, bot.Denied, `"approve"`},
		{"a viewer rejecting", "UVIEWER", ActionReject, id, true, bot.Denied, "Your id: slack:UVIEWER"},
		{"already rejected", "UADMIN", ActionApprove, rejected, true, bot.Info, "Already rejected by slack:UADMIN"},
		{"unknown", "UADMIN", ActionApprove, strings.Repeat("ab", 16), true, bot.Info, "unknown or expired"},
		{"another lead approving", "ULEAD2", ActionApprove, id, false, 0, ""},
		{"an admin approving", "UADMIN", ActionApprove, id, false, 0, ""},
		{"the requester withdrawing", "ULEAD", ActionReject, id, false, 0, ""},
		{"not an approval id", "UADMIN", ActionApprove, "not-an-id", false, 0, ""},
		{"not an approval button", "UADMIN", ActionRun, "sessions finance", false, 0, ""},
	}
	for _, tc := range tests {
		r, refused := e.eng.Precheck(t.Context(), clickReq(tc.user, tc.action, tc.value))
		if refused != tc.refused || refused && (r.Kind != tc.kind || !strings.Contains(joined(r), tc.want) || r.Visibility != bot.Ephemeral) {
			t.Errorf("%s: Precheck = %v %v %q, want refused %v (%v, %q, ephemeral)", tc.name, refused, r.Kind, joined(r), tc.refused, tc.kind, tc.want)
		}
	}
	// Nothing happened: no row, no count, no claim, no DELETE.
	if got := len(e.audit(t)); got != trail {
		t.Errorf("prechecks wrote %d audit rows", got-trail)
	}
	if len(e.events) != 0 {
		t.Errorf("prechecks were counted as commands: %v", <-e.events)
	}
	if p, err := e.st.GetPending(t.Context(), id); err != nil || p.State != store.StatePending {
		t.Errorf("the approval after prechecks: %v, %v", p.State, err)
	}
	if n := len(e.deletes()); n != 0 {
		t.Errorf("prechecks sent %d DELETEs", n)
	}
	// The click gets the refusal the precheck told.
	for _, tc := range tests {
		if !tc.refused {
			continue
		}
		pre, _ := e.eng.Precheck(t.Context(), clickReq(tc.user, tc.action, tc.value))
		if got := e.click(t, tc.user, tc.action, tc.value); got.Kind != pre.Kind || joined(got) != joined(pre) {
			t.Errorf("%s: the click got %v %q, the precheck told %v %q", tc.name, got.Kind, joined(got), pre.Kind, joined(pre))
		}
	}
	// Expired, by the engine's clock, before the sweep has run.
	e.clk.Advance(31 * time.Minute)
	if r, refused := e.eng.Precheck(t.Context(), clickReq("UADMIN", ActionApprove, id)); !refused || !strings.Contains(joined(r), "expired") {
		t.Errorf("expired: Precheck = %v %q, want the expiry told", refused, joined(r))
	}
}

// alteredStore hands out pending approvals with one byte of their sealed
// data changed, as someone with write access to the store could.
type alteredStore struct{ Store }

func (s alteredStore) GetPending(ctx context.Context, id string) (store.Pending, error) {
	p, err := s.Store.GetPending(ctx, id)
	if len(p.Data) > 0 {
		p.Data = append([]byte(nil), p.Data...)
		p.Data[len(p.Data)/2] ^= 0x01
	}
	return p, err
}

// TestPrecheckLeavesTamperingToTheClick: a record that does not verify is
// not refused by the precheck (which audits nothing), so that the click
// reaches the engine, which refuses it and audits the tampering.
func TestPrecheckLeavesTamperingToTheClick(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	id := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	eng := e.newEngine(t, alteredStore{e.st}, 0)
	if r, refused := eng.Precheck(t.Context(), clickReq("ULEAD", ActionApprove, id)); refused {
		t.Fatalf("Precheck of an altered record refused it itself: %s", joined(r))
	}
	if n := countAudit(e.audit(t), "tamper", ""); n != 0 {
		t.Fatalf("the precheck audited %d tamperings", n)
	}
	if r := clickAs(t, eng, "ULEAD", ActionApprove, id); r.Title != "Cannot verify this approval" {
		t.Fatalf("the click on an altered record: %s", joined(r))
	}
	if n := countAudit(e.audit(t), "tamper", ""); n != 1 || len(e.deletes()) != 0 {
		t.Fatalf("after the click: %d tamper rows, %d DELETEs; want 1 and none", n, len(e.deletes()))
	}
}
