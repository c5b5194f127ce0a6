package commands

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// actions lists the audit actions, oldest first, as "action/decision".
func actions(evs []store.Event) []string {
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, strings.TrimSuffix(evs[i].Action+"/"+evs[i].Decision, "/"))
	}
	return out
}

// TestOneAuditRowPerCommand: every request leaves exactly one command row
// holding its decision (and, unless it acted, its outcome), followed by a
// row per thing done.
func TestOneAuditRowPerCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	steps := []struct {
		name string
		do   func() bot.Reply
		want []string
	}{
		{"list", func() bot.Reply { return e.ask(t, "UVIEWER", "sessions finance") }, []string{"command/allowed"}},
		{"denied", func() bot.Reply { return e.ask(t, "UVIEWER", "kick finance") }, []string{"command/denied"}},
		{"usage", func() bot.Reply { return e.ask(t, "UVIEWER", "sesions") }, []string{"command"}},
		{"help", func() bot.Reply { return e.ask(t, "UVIEWER", "help") }, []string{"command"}},
		{"kick", func() bot.Reply { return e.ask(t, "ULEAD", "kick finance") }, []string{"command/allowed", "request-approval"}},
		{"self-approval", func() bot.Reply {
			return e.click(t, "ULEAD", ActionApprove, e.lastPending(t))
		}, []string{"command/denied"}},
		{"approval", func() bot.Reply {
			return e.click(t, "ULEAD2", ActionApprove, e.lastPending(t))
		}, []string{"command/allowed", "approve/allowed", "delete", "delete", "job"}},
		{"direct delete", func() bot.Reply { return e.ask(t, "UADMIN", "delete win "+hd(user3ID)) }, []string{"command/allowed", "delete"}},
	}
	seen := 0
	for _, st := range steps {
		st.do()
		evs := e.audit(t)
		got := actions(evs)[seen:]
		seen = len(evs)
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: audit rows %v, want %v", st.name, got, st.want)
		}
	}
	byCommand := map[string]store.Event{} // command text and subject -> row
	for _, ev := range e.audit(t) {
		if ev.Action == "command" {
			byCommand[ev.Command+" "+ev.Subject] = ev
		}
	}
	if ev := byCommand["sesions slack:UVIEWER"]; !strings.HasPrefix(ev.Outcome, `usage: unknown command "sesions"; did you mean sessions?`) {
		t.Errorf("usage row %+v", ev)
	}
	if ev := byCommand["kick finance slack:ULEAD"]; ev.Decision != "allowed" || ev.Target != "finance" || ev.Pending == "" || !strings.Contains(ev.Reason, "kick: 1 virtual proxy, 2 (virtual proxy, node) pairs allowed") {
		t.Errorf("kick row %+v", ev)
	}
	if ev := byCommand["approve "+e.lastPending(t)+" slack:ULEAD"]; ev.Decision != "denied" || ev.Reason != "two-person rule: the requester cannot approve" {
		t.Errorf("self-approval row %+v", ev)
	}
	if ev := byCommand["approve "+e.lastPending(t)+" slack:ULEAD2"]; ev.Outcome != "" || ev.Decision != "allowed" || ev.Pending != e.lastPending(t) {
		t.Errorf("approve row %+v", ev)
	}
}

// lastPending is the id of the newest approval request in the trail.
func (e *env) lastPending(t *testing.T) string {
	t.Helper()
	for _, ev := range e.audit(t) {
		if ev.Action == "request-approval" {
			return ev.Pending
		}
	}
	t.Fatal("no approval request in the trail")
	return ""
}

func TestAuditView(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: peopleTestPolicy})
	as := func(platform bot.Platform, id, name, text string) bot.Reply {
		return e.eng.Handle(t.Context(), bot.Request{Platform: platform, User: bot.User{ID: id, Name: name}, Channel: "C1", Text: text})
	}
	as(bot.Console, "lead", "Lee Long-Name", "kick finance --proxy "+central)
	e.clk.Advance(time.Hour)
	as(bot.Slack, "UADMIN", "", "audit")
	as(bot.Slack, "UADMIN", "", "sessions win")
	as(bot.Slack, "U1", "", `kick --user LAB\testuser_1`)
	e.clk.Advance(time.Minute)

	rows := func(text string) [][]string {
		t.Helper()
		r := as(bot.Slack, "UADMIN", "", text)
		if r.Kind != bot.Info || r.Table == nil {
			t.Fatalf("%s: %v %s", text, r.Kind, joined(r))
		}
		for _, line := range strings.Split(bot.PlainText(r), "\n") {
			if n := utf8.RuneCountInString(line); n > 120 {
				t.Errorf("%s: a line of %d columns: %s", text, n, line)
			}
		}
		return r.Table.Rows
	}
	col := func(rs [][]string, i int) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r[i])
		}
		return out
	}
	tests := []struct {
		text    string
		targets []string // Target column, newest first (clipped)
		who     []string
	}{
		{"audit", []string{"LAB\\testuser_1 [approval", `kick --user LAB\testuser_1 [a`, "sessions win", "finance [approval", "kick finance --proxy pro2-win…"}, nil},
		{"audit --action audit", []string{"audit", "audit"}, nil}, // the first, and the one above
		{"audit --user lee", nil, []string{"slack:U1", "slack:U1", "console:lead", "console:lead"}},
		{"audit --user lead", nil, []string{"console:lead", "console:lead"}},
		{"audit --user slack:uadmin", []string{"sessions win"}, nil}, // reads of the trail left out
		{"audit --action kick", []string{`kick --user LAB\testuser_1 [a`, "kick finance --proxy pro2-win…"}, nil},
		{"audit --action request-approval --since 30m", []string{"LAB\\testuser_1 [approval"}, nil},
		{"audit 1", []string{"LAB\\testuser_1 [approval"}, nil},
	}
	for _, tc := range tests {
		rs := rows(tc.text)
		if tc.targets != nil {
			got := col(rs, 3)
			ok := len(got) == len(tc.targets)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.HasPrefix(got[i], tc.targets[i])
			}
			if !ok {
				t.Errorf("%s: targets %q, want %q", tc.text, got, tc.targets)
			}
		}
		if tc.who != nil {
			if got := col(rs, 1); !slices.Equal(got, tc.who) {
				t.Errorf("%s: who %q, want %q", tc.text, got, tc.who)
			}
		}
	}
	// The subject is written one way, never with the display name.
	for _, r := range rows("audit 200 --action audit") {
		if strings.Contains(r[1], "(") {
			t.Errorf("who %q is not a bare subject", r[1])
		}
	}
	for _, bad := range []string{"audit --since yesterday", "audit --action delet", "audit --user a\tb", "audit --min 3"} {
		if r := as(bot.Slack, "UADMIN", "", bad); r.Kind != bot.Usage {
			t.Errorf("%s: %v %s", bad, r.Kind, joined(r))
		}
	}
	if r := as(bot.Slack, "UADMIN", "", "audit --action delet"); !strings.Contains(joined(r), "did you mean delete?") {
		t.Errorf("no suggestion: %s", joined(r))
	}
}
