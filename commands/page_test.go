package commands

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// askFit runs a command line as user with a platform that shows fit(r)
// rows of a reply.
func (e *env) askFit(t *testing.T, user, text string, fit func(bot.Reply) int) bot.Reply {
	t.Helper()
	return e.eng.Handle(t.Context(), bot.Request{ID: "req-" + user, Platform: bot.Slack, User: bot.User{ID: user}, Channel: "C1", Text: text, Fit: fit})
}

// clickFit clicks a button of r (by label) as user on the same platform.
func (e *env) clickFit(t *testing.T, user string, r bot.Reply, label string, fit func(bot.Reply) int) (bot.Reply, bool) {
	t.Helper()
	i := slices.IndexFunc(r.Buttons, func(b bot.Button) bool { return b.Label == label })
	if i < 0 {
		return bot.Reply{}, false
	}
	b := r.Buttons[i]
	return e.eng.Handle(t.Context(), bot.Request{ID: "click-" + user, Platform: bot.Slack, User: bot.User{ID: user}, Channel: "C1",
		Action: &bot.Action{ID: b.ActionID, Value: b.Value}, Fit: fit}), true
}

func fitAtMost(n int) func(bot.Reply) int {
	return func(r bot.Reply) int { return min(n, len(r.Table.Rows)) }
}

// fitBytes is a platform with a size budget: rows fit while their text
// adds up to at most budget bytes, counting the reply's buttons and menus.
func fitBytes(budget int) func(bot.Reply) int {
	return func(r bot.Reply) int {
		used := 0
		for _, b := range r.Buttons {
			used += len(b.Label) + len(b.Value)
		}
		for _, m := range r.Menus {
			for _, o := range m.Options {
				used += len(o.Label) + len(o.Value)
			}
		}
		for i, row := range r.Table.Rows {
			used += len(strings.Join(row, ""))
			if used > budget {
				return i
			}
		}
		return len(r.Table.Rows)
	}
}

// asRows writes a keyed paging button of r (sessions) as the row flags it
// stands for: --after the key of the page's last row is --from the next
// row, --before the key of its first row is --to the row before it. A key
// of any other row is left as it is (and fails the comparison).
func asRows(t *testing.T, r bot.Reply, value string) string {
	t.Helper()
	cmd, err := Parse(value)
	if err != nil {
		t.Fatalf("button %q: %v", value, err)
	}
	handleOf := func(key string) string {
		k, err := base64.RawURLEncoding.DecodeString(key)
		if err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
		f := strings.Split(string(k), "\x00")
		return f[len(f)-1]
	}
	col := slices.Index(r.Table.Columns, "Session")
	rows := r.Table.Rows
	switch {
	case cmd.After != "" && handleOf(cmd.After) == rows[len(rows)-1][col]:
		cmd.After, cmd.From = "", r.Table.Offset+len(rows)+1
	case cmd.Before != "" && handleOf(cmd.Before) == rows[0][col]:
		cmd.Before, cmd.To = "", r.Table.Offset
	}
	return cmd.String()
}

func TestPagingByRow(t *testing.T) {
	t.Parallel()
	lab := qliksim.Generate(qliksim.GenOptions{Users: 40, Sessions: 120, VirtualProxies: 3, Nodes: 2, Seed: 7})
	e := newEnv(t, envConfig{lab: &lab, pageSize: 50})
	seven := fitAtMost(7)
	tests := []struct {
		text        string
		fit         func(bot.Reply) int
		first, last int
		buttons     []string
		warning     string
	}{
		{"sessions", seven, 0, 7, []string{"sessions --from 8"}, ""},
		{"sessions --from 8", seven, 7, 14, []string{"sessions --to 7", "sessions --from 15"}, ""},
		{"sessions --to 7", seven, 0, 7, []string{"sessions --from 8"}, ""},
		{"sessions --to 20", seven, 13, 20, []string{"sessions --to 13", "sessions --from 21"}, ""},
		{"sessions --to 20", nil, 0, 20, []string{"sessions --from 21"}, ""},
		{"sessions --from 500", seven, 113, 120, []string{"sessions --to 113"}, "There are only 120 rows; showing the last."},
		{"sessions --page 3", seven, 100, 107, []string{"sessions --to 100", "sessions --from 108"}, ""},
		{"sessions --page 3", nil, 100, 120, []string{"sessions --to 100"}, ""},
		{"sessions --page 9", nil, 70, 120, []string{"sessions --to 70"}, "There are only 3 pages of 50 rows; showing the last."},
		{"sessions --from 120 --sort userid", seven, 119, 120, []string{"sessions --sort userid --to 119"}, ""},
		{"sessions", func(bot.Reply) int { return 0 }, 0, 1, []string{"sessions --from 2"}, ""}, // a page always moves on
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			r := e.askFit(t, "UADMIN", tc.text, tc.fit)
			if r.Table == nil || r.Table.Offset != tc.first || r.Table.Offset+len(r.Table.Rows) != tc.last || r.Table.TotalRows != 120 {
				t.Fatalf("%q shows rows %d-%d of %d, want %d-%d: %s", tc.text, r.Table.Offset, r.Table.Offset+len(r.Table.Rows), r.Table.TotalRows, tc.first, tc.last, joined(r))
			}
			var values []string
			for _, b := range r.Buttons {
				if b.ActionID == ActionRun && strings.HasSuffix(b.Label, " page") {
					values = append(values, asRows(t, r, b.Value))
				}
			}
			if !slices.Equal(values, tc.buttons) {
				t.Errorf("paging buttons %q, want %q", values, tc.buttons)
			}
			if tc.warning != "" && !slices.Contains(r.Warnings, tc.warning) {
				t.Errorf("warnings %q lack %q", r.Warnings, tc.warning)
			}
			if len(r.Files) != 1 || strings.Count(string(r.Files[0].Data), "\n") != 121 {
				t.Errorf("a page of a longer list carries the whole list as CSV: %d files", len(r.Files))
			}
		})
	}
}

// TestPagingWalksBothWays: with a platform whose pages vary in length, Next
// from the first row and Previous from the last each show every row
// exactly once.
func TestPagingWalksBothWays(t *testing.T) {
	t.Parallel()
	lab := qliksim.Generate(qliksim.GenOptions{Users: 70, Sessions: 333, VirtualProxies: 5, Nodes: 2, Seed: 9})
	e := newEnv(t, envConfig{lab: &lab, pageSize: 100})
	fit := fitBytes(2500)
	for _, way := range []struct{ start, button string }{{"users", "Next page"}, {"users --to 1000", "Previous page"}, {"sessions", "Next page"}, {"sessions --from 334", "Previous page"}} {
		r := e.askFit(t, "UADMIN", way.start, fit)
		total := r.Table.TotalRows
		seen := make([]int, total)
		pages := 0
		for {
			pages++
			for i := range r.Table.Rows {
				seen[r.Table.Offset+i]++
			}
			if got := fit(r); got != len(r.Table.Rows) {
				t.Fatalf("%s: a page of %d rows of which %d fit", way.start, len(r.Table.Rows), got)
			}
			next, ok := e.clickFit(t, "UADMIN", r, way.button, fit)
			if !ok {
				break
			}
			r = next
		}
		for i, n := range seen {
			if n != 1 {
				t.Fatalf("%s by %s: row %d shown %d times", way.start, way.button, i+1, n)
			}
		}
		if pages < 3 {
			t.Fatalf("%s: %d pages, the test wants several", way.start, pages)
		}
	}
}

func TestPagingFlags(t *testing.T) {
	t.Parallel()
	enc := func(k string) string { return base64.RawURLEncoding.EncodeToString([]byte(k)) }
	goodKey := enc("0000\x00finance\x00finance\x00central\x00lab\x00user_1\x00abcdef12")
	tests := []struct {
		text string
		want Command
		bad  string
	}{
		{text: "sessions --from 51", want: Command{Verb: VerbSessions, From: 51}},
		{text: "users finance --to=50", want: Command{Verb: VerbUsers, Prefixes: []string{"finance"}, To: 50}},
		{text: "proxies --from 2", want: Command{Verb: VerbProxies, From: 2}},
		{text: "audit 100 --from 51", want: Command{Verb: VerbAudit, N: 100, From: 51}},
		{text: "sessions --from 0", bad: "give a row number"},
		{text: "sessions --from x", bad: "give a row number"},
		{text: "sessions --page 2 --from 3", bad: "one of --page, --from, --to, --after and --before"},
		{text: "users --page 2 --from 3", bad: "one of --page, --from and --to"},
		{text: "sessions --after x!", bad: "--after: not a page key"},
		{text: "users --after AAAA", bad: `unknown flag "--after" for users`},
		{text: "sessions --after " + goodKey + " --to 3", bad: "one of --page"},
		{text: "sessions --before " + goodKey, want: Command{Verb: VerbSessions, Before: goodKey}},
		{text: "sessions --after AAAA", bad: "--after: not a page key"},
		{text: "sessions --before " + enc("0000\x00finance"), bad: "--before: not a page key"},
		{text: "sessions --after " + enc("0000\x00finance\x00a\x00b\x00c\x00d\x00"+user1ID), bad: "--after: not a page key"},
		{text: "sessions --after " + enc("x000\x00finance\x00a\x00b\x00c\x00d\x00abcdef12"), bad: "--after: not a page key"},
		{text: "audit 30 --after " + goodKey, bad: "--after: not a page key"},
		{text: "audit 30 --after " + enc("0000001\x0000000000000000000001\x00000000"), want: Command{Verb: VerbAudit, N: 30, After: enc("0000001\x0000000000000000000001\x00000000")}},
		{text: "kick finance --from 2", bad: `unknown flag "--from" for kick`},
		{text: "whoami --to 3", bad: `unknown flag "--to" for whoami`},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.text)
			if tc.bad != "" {
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.bad) {
					t.Fatalf("Parse(%q) = %v, want a usage error with %q", tc.text, err, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.text, got, tc.want)
			}
			back, err := Parse(got.String())
			if err != nil || fmt.Sprint(back) != fmt.Sprint(got) {
				t.Fatalf("%q does not read back: %+v %v", got.String(), back, err)
			}
		})
	}
	if err := (Command{Verb: VerbSessions, From: 2, To: 3}).Validate(); err == nil {
		t.Error("Validate accepts --from with --to")
	}
	if err := (Command{Verb: VerbWhoami, To: 3}).Validate(); err == nil {
		t.Error("Validate accepts --to on whoami")
	}
}

func TestAuditIsPaged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{pageSize: 10})
	for range 30 {
		e.ask(t, "UVIEWER", "whoami")
	}
	r := e.ask(t, "UADMIN", "audit 30")
	if r.Table == nil || len(r.Table.Rows) != 10 || r.Table.TotalRows != 30 {
		t.Fatalf("audit: %d rows of %d", len(r.Table.Rows), r.Table.TotalRows)
	}
	if len(r.Buttons) != 1 || !strings.HasPrefix(r.Buttons[0].Value, "audit 30 --after ") || len(r.Files) != 1 || r.Files[0].Name != "audit.csv" {
		t.Fatalf("buttons %+v files %d", r.Buttons, len(r.Files))
	}
	p2 := e.click(t, "UADMIN", ActionRun, r.Buttons[0].Value)
	if p2.Table == nil || p2.Table.Offset != 10 || p2.Visibility != bot.Ephemeral {
		t.Fatalf("audit page 2: %+v", p2.Table)
	}
}

// TestAuditPagingByKey: "audit 30" read a page at a time while events
// keep arriving (some at the very time of the newest): walking it by Next
// from the first page and by Previous from the last, each of the 30
// events listed at the first page is shown exactly once, and none that
// came since.
func TestAuditPagingByKey(t *testing.T) {
	t.Parallel()
	for _, way := range []struct{ start, button string }{{"audit 30", nextLabel}, {"audit 30 --page 99", prevLabel}} {
		t.Run(way.button, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{pageSize: 7})
			for i := range 30 {
				if i%3 == 0 {
					e.clk.Advance(time.Minute) // three events share each time
				}
				e.ask(t, fmt.Sprintf("U%02d", i), "whoami")
			}
			seen := map[string]int{}
			r := e.ask(t, "UADMIN", way.start)
			for step := 0; ; step++ {
				for _, row := range r.Table.Rows {
					seen[row[1]]++
				}
				// Between clicks: one event at the newest time, one later.
				e.ask(t, fmt.Sprintf("UNEW%02da", step), "whoami")
				e.clk.Advance(time.Minute)
				e.ask(t, fmt.Sprintf("UNEW%02db", step), "whoami")
				next, ok := e.clickFit(t, "UADMIN", r, way.button, nil)
				if !ok {
					break
				}
				if next.Kind != bot.Info || next.Table == nil {
					t.Fatalf("page after step %d: %v %s", step, next.Kind, joined(next))
				}
				r = next
			}
			for i := range 30 {
				if who := fmt.Sprintf("slack:U%02d", i); seen[who] != 1 {
					t.Errorf("%s shown %d times, want once", who, seen[who])
				}
			}
			if len(seen) != 30 {
				t.Errorf("rows of %d subjects shown, want the 30 listed first: %v", len(seen), seen)
			}
		})
	}
	e := newEnv(t, envConfig{})
	bad := base64.RawURLEncoding.EncodeToString([]byte("x\x00y"))
	if r := e.ask(t, "UADMIN", "audit 30 --after "+bad); r.Kind != bot.Usage || !strings.Contains(joined(r), "not a page key") {
		t.Errorf("a bad audit key: %v %s", r.Kind, joined(r))
	}
}

func TestUsersKickMenuFollowsThePage(t *testing.T) {
	t.Parallel()
	lab := qliksim.Generate(qliksim.GenOptions{Users: 30, Sessions: 120, VirtualProxies: 3, Nodes: 2, Seed: 5})
	e := newEnv(t, envConfig{lab: &lab, pageSize: 100, policy: `
roles:
  lead: [list, logout]
grants:
  - subjects: ["slack:UKICK"]
    roles: [lead]
    virtualProxies: ["*"]
`})
	r := e.askFit(t, "UKICK", "users --from 4", fitAtMost(9))
	users := column(t, r, "User")
	if r.Table.Offset != 3 || len(users) != 9 {
		t.Fatalf("rows %d+%d", r.Table.Offset, len(users))
	}
	var kicks []string
	for _, m := range r.Menus {
		if m.Label != "Kick a user" {
			continue
		}
		for _, o := range m.Options {
			kicks = append(kicks, o.Value)
		}
	}
	var want []string
	for _, u := range users {
		want = append(want, `kick --user `+u)
	}
	if !slices.Equal(kicks, want) {
		t.Fatalf("kick menu %q, want one per row shown %q", kicks, want)
	}
	if n := len(r.Buttons); n != 2 {
		t.Fatalf("%d buttons, want Previous and Next only: %+v", n, r.Buttons)
	}
}

func TestMenusInsteadOfTyping(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	options := func(r bot.Reply, label string) []string {
		var out []string
		for _, m := range r.Menus {
			if m.Label == label {
				for _, o := range m.Options {
					if m.ActionID != ActionRun {
						t.Errorf("menu %q sends %q", label, m.ActionID)
					}
					out = append(out, o.Label+" = "+o.Value)
				}
			}
		}
		return out
	}
	tests := []struct {
		user, text, menu string
		want             []string
	}{
		{"UADMIN", "sessions", "Show one virtual proxy", []string{"(default) (1 session) = sessions default", "finance (2 sessions) = sessions finance", "win (2 sessions) = sessions win"}},
		{"UADMIN", "users --min 2", "Show one virtual proxy", []string{"(default) (1 session) = users default --min 2", "finance (2 sessions) = users finance --min 2", "win (2 sessions) = users win --min 2"}},
		{"UADMIN", "sessions finance", "Show one virtual proxy", nil},
		{"UFIN", "sessions", "Show one virtual proxy", nil}, // one virtual proxy: nothing to narrow
		{"ULEAD", "kick", "Kick every session on a virtual proxy", []string{"finance: finance virtual proxy = kick finance"}},
	}
	for _, tc := range tests {
		t.Run(tc.user+" "+tc.text, func(t *testing.T) {
			t.Parallel()
			r := e.ask(t, tc.user, tc.text)
			if got := options(r, tc.menu); !slices.Equal(got, tc.want) {
				t.Errorf("menu %q = %q, want %q (%s)", tc.menu, got, tc.want, joined(r))
			}
		})
	}
	t.Run("kick with no right", func(t *testing.T) {
		t.Parallel()
		r := e.ask(t, "UVIEWER", "kick")
		if r.Kind != bot.Denied || len(r.Menus) != 0 || !strings.Contains(joined(r), "slack:UVIEWER") {
			t.Fatalf("kick by a viewer: %v %s", r.Kind, joined(r))
		}
	})
	t.Run("a choice runs as typed, with its checks", func(t *testing.T) {
		t.Parallel()
		if r := e.click(t, "ULEAD", ActionRun, "kick finance"); r.Kind != bot.Pending {
			t.Fatalf("lead chose kick finance: %v %s", r.Kind, joined(r))
		}
		if r := e.click(t, "UVIEWER", ActionRun, "kick finance"); r.Kind != bot.Denied {
			t.Fatalf("a viewer's forged choice: %v %s", r.Kind, joined(r))
		}
	})
}

// lines is a reply's summary as PlainText shows it: its sentences, then
// its facts as "Label: value".
func lines(r bot.Reply) []string {
	out := slices.Clone(r.Summary)
	for _, f := range r.Facts {
		out = append(out, f.Label+": "+f.Value)
	}
	return out
}

// TestListSummariesAreFacts: labelled numbers are facts, so no platform
// has to split a line at a colon ("Users | 5, sessions: 5").
func TestListSummariesAreFacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for _, tc := range []struct {
		text string
		want []bot.Fact
	}{
		{"users --min 2", []bot.Fact{{Label: "Users", Value: "5"}, {Label: "Sessions", Value: "5"},
			{Label: "At the access-pass limit of 5 sessions", Value: "0"}, {Label: "Showing users with at least 2 sessions", Value: "0"}}},
		{"sessions finance", []bot.Fact{{Label: "Total sessions", Value: "2"}, {Label: "Central (" + central + ")", Value: "2"}, {Label: "dev1 (" + dev1 + ")", Value: "0"}, {Label: "Per virtual proxy", Value: "finance 2"}}},
	} {
		if r := e.ask(t, "UADMIN", tc.text); !slices.Equal(r.Facts, tc.want) {
			t.Errorf("%s: facts %+v, want %+v", tc.text, r.Facts, tc.want)
		}
	}
}

// liveTargets maps the handle of every session the simulator holds (8
// digits: the generated ids differ there) to where it is.
func liveTargets(t *testing.T, e *env) map[string]qlik.DeleteTarget {
	t.Helper()
	topo, err := e.client.Topology(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]qlik.DeleteTarget{}
	for _, h := range e.sim.Hosts() {
		for _, vp := range topo.VirtualProxies {
			for _, s := range e.sim.Sessions(h, vp.Prefix) {
				out[hd(s.ID)] = qlik.DeleteTarget{Prefix: vp.Prefix, Host: h, SessionID: s.ID}
			}
		}
	}
	return out
}

// TestPagingLiveListByKey: the sessions list changes between clicks (a
// session shown on the page ends, a new one starts above the page edge);
// walking it by Next from the first page and by Previous from the last,
// every session that was there at the start is still shown exactly once,
// and no button carries a full id.
func TestPagingLiveListByKey(t *testing.T) {
	t.Parallel()
	for _, way := range []struct{ start, button string }{{"sessions", nextLabel}, {"sessions --from 1000", prevLabel}} {
		t.Run(way.button, func(t *testing.T) {
			t.Parallel()
			lab := qliksim.Generate(qliksim.GenOptions{Users: 30, Sessions: 80, VirtualProxies: 2, Nodes: 2, Seed: 5})
			e := newEnv(t, envConfig{lab: &lab, pageSize: 10})
			original := liveTargets(t, e)
			seen := map[string]int{}
			r := e.ask(t, "UADMIN", way.start)
			var buttons []bot.Reply
			for step := 0; ; step++ {
				col := slices.Index(r.Table.Columns, "Session")
				for _, row := range r.Table.Rows {
					seen[row[col]]++
				}
				buttons = append(buttons, bot.Reply{Buttons: r.Buttons})
				// Between clicks: a session of this page ends, and a new
				// one starts above everything (the default virtual proxy,
				// user directory AAA).
				if tg, ok := liveTargets(t, e)[r.Table.Rows[0][col]]; ok {
					if o := e.client.DeleteSession(t.Context(), tg); o.Err != nil {
						t.Fatalf("end %s: %v", hd(tg.SessionID), o.Err)
					}
				}
				if _, err := e.sim.AddSession(e.sim.Hosts()[0], "", qliksim.Session{UserDirectory: "AAA", UserID: fmt.Sprintf("new%03d", step)}); err != nil {
					t.Fatal(err)
				}
				next, ok := e.clickFit(t, "UADMIN", r, way.button, nil)
				if !ok {
					break
				}
				r = next
			}
			for h := range original {
				if seen[h] != 1 {
					t.Errorf("session %s shown %d times, want once", h, seen[h])
				}
			}
			assertNoFullIDs(t, e, buttons...)
		})
	}
}
