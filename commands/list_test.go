package commands

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestSessionsSeedLab(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	r := e.ask(t, "UADMIN", "sessions")
	if r.Kind != bot.Info || r.Title != "Sessions" || r.Visibility != bot.InChannel {
		t.Fatalf("reply kind/title/visibility = %v %q %v: %s", r.Kind, r.Title, r.Visibility, joined(r))
	}
	for _, want := range []string{"Total sessions: 5", "Central (" + central + "): 5", "dev1 (" + dev1 + "): 0", "Per virtual proxy: (default) 1, finance 2, win 2"} {
		if !slices.Contains(lines(r), want) {
			t.Errorf("summary %q lacks %q", r.Summary, want)
		}
	}
	if got, want := column(t, r, "Session"), hs(goranID, user1ID, user2ID, user3ID, user4ID); !reflect.DeepEqual(got, want) {
		t.Errorf("session ids %v, want %v", got, want)
	}
	if got, want := column(t, r, "User"), []string{`LAB\goran`, `LAB\testuser_1`, `LAB\testuser_2`, `LAB\testuser_3`, `LAB\testuser_4`}; !reflect.DeepEqual(got, want) {
		t.Errorf("users %v, want %v", got, want)
	}
	if !reflect.DeepEqual(r.Table.Columns, sessionColumns) || r.Table.Paged() || r.Table.TotalRows != 5 || len(r.Files) != 0 {
		t.Errorf("table %v paged %v total %d files %d", r.Table.Columns, r.Table.Paged(), r.Table.TotalRows, len(r.Files))
	}
	w := strings.Join(r.Warnings, "\n")
	for _, want := range []string{"mobile", "X-Qlik-Session-mob", "hdr-access1", "X-Qlik-Session-hdr-access1", "not linked to any proxy",
		"Prefix hdr is shared by 2 virtual proxies", "X-Qlik-Session-hdr)", "X-Qlik-Session-hdr-dev"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if r.Chart == nil || len(r.Chart.Points) != 3 || r.Chart.Points[1] != (bot.Point{Label: "finance", Value: 2}) {
		t.Errorf("chart %+v", r.Chart)
	}
	if ev := <-e.events; ev != (Event{Command: "sessions", Outcome: "info"}) {
		t.Errorf("observed %+v", ev)
	}
}

// TestSessionsAsksOnlyPermittedProxies: a viewer of finance alone lists
// everything it may see, and Qlik is asked about finance only.
func TestSessionsAsksOnlyPermittedProxies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	r := e.ask(t, "UFIN", "sessions")
	if got := column(t, r, "Session"); !reflect.DeepEqual(got, hs(user1ID, user2ID)) {
		t.Fatalf("ids %v", got)
	}
	calls := e.qpsCalls()
	if len(calls) == 0 {
		t.Fatal("no QPS call at all")
	}
	for _, q := range calls {
		if !strings.HasPrefix(q.Path, "/qps/finance/") {
			t.Errorf("QPS asked %s", q.Path)
		}
	}
	if w := strings.Join(r.Warnings, " "); strings.Contains(w, "mobile") || strings.Contains(w, "hdr") {
		t.Errorf("warnings mention proxies the caller may not see: %s", w)
	}
}

func TestSessionsSelections(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		text    string
		channel string
		wantIDs []string
		wantVis bot.Visibility
		check   func(t *testing.T, e *env, r bot.Reply)
	}{
		{name: "by prefix", text: "sessions finance", channel: "C1", wantIDs: []string{user1ID, user2ID}, wantVis: bot.InChannel},
		{name: "default spelled default", text: "sessions default", channel: "C1", wantIDs: []string{goranID}, wantVis: bot.InChannel},
		{name: "in a direct message", text: "sessions -", wantIDs: []string{goranID}, wantVis: bot.Ephemeral},
		{name: "by user", text: `sessions --user LAB\testuser_3`, channel: "C1", wantIDs: []string{user3ID}, wantVis: bot.InChannel,
			check: func(t *testing.T, e *env, r bot.Reply) {
				for _, q := range e.qpsCalls() {
					if !strings.Contains(q.Path, "/user/LAB/testuser_3") {
						t.Errorf("QPS call %s not a user call", q.Path)
					}
				}
			}},
		{name: "by host with no sessions", text: "sessions --proxy " + dev1, channel: "C1", wantIDs: nil, wantVis: bot.InChannel,
			check: func(t *testing.T, e *env, r bot.Reply) {
				for _, q := range e.qpsCalls() {
					if q.Node != dev1 {
						t.Errorf("QPS call went to %s, want only %s", q.Node, dev1)
					}
				}
			}},
		{name: "by node name", text: "sessions --proxy DEV1", channel: "C1", wantIDs: nil, wantVis: bot.InChannel,
			check: func(t *testing.T, e *env, r bot.Reply) {
				for _, q := range e.qpsCalls() {
					if q.Node != dev1 {
						t.Errorf("QPS call went to %s, want only %s", q.Node, dev1)
					}
				}
				if !slices.Contains(lines(r), "dev1 ("+dev1+"): 0") {
					t.Errorf("summary %v", lines(r))
				}
			}},
		{name: "duplicate hdr both shown", text: "sessions hdr", channel: "C1", wantIDs: nil, wantVis: bot.InChannel,
			check: func(t *testing.T, e *env, r bot.Reply) {
				w := strings.Join(r.Warnings, "\n")
				if !strings.Contains(w, `"Header auth" (cookie X-Qlik-Session-hdr)`) || !strings.Contains(w, `"Header auth (dev)" (cookie X-Qlik-Session-hdr-dev)`) {
					t.Errorf("duplicate hdr not told apart: %s", w)
				}
			}},
		{name: "sort by user id", text: "sessions win finance --sort userid", channel: "C1",
			wantIDs: []string{"00000000-0000-4000-8000-000000000001", user1ID, user2ID, user3ID, user4ID}, wantVis: bot.InChannel},
		{name: "sort by prefix", text: "sessions win finance", channel: "C1",
			wantIDs: []string{user1ID, user2ID, "00000000-0000-4000-8000-000000000001", user3ID, user4ID}, wantVis: bot.InChannel},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{})
			if _, err := e.sim.AddSession(central, "win", qliksim.Session{ID: "00000000-0000-4000-8000-000000000001", UserDirectory: "LAB", UserID: "aaron"}); err != nil {
				t.Fatal(err)
			}
			e.sim.ResetRequests()
			r := e.eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UVIEWER"}, Channel: tc.channel, Text: tc.text})
			if r.Kind != bot.Info || r.Visibility != tc.wantVis {
				t.Fatalf("kind %v visibility %v: %s", r.Kind, r.Visibility, joined(r))
			}
			if got := column(t, r, "Session"); !reflect.DeepEqual(got, hs(tc.wantIDs...)) {
				t.Errorf("ids %v, want %v", got, tc.wantIDs)
			}
			if tc.check != nil {
				tc.check(t, e, r)
			}
		})
	}
}

func TestSessionsNodeDownGivesPartialReply(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for _, h := range []string{central, dev1} {
		if _, err := e.sim.AddSession(h, "butler", qliksim.Session{UserDirectory: "LAB", UserID: "svc_" + h[:8]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.sim.SetFault(dev1, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	r := e.ask(t, "UVIEWER", "sessions butler")
	if r.Kind != bot.Warning {
		t.Fatalf("kind %v, want warning: %s", r.Kind, joined(r))
	}
	// dev1 did not answer: "no answer", not a count of 0.
	if l := lines(r); !slices.Contains(l, "Total sessions: 1") || !slices.Contains(l, "dev1 ("+dev1+"): no answer") ||
		!slices.Contains(l, "Central ("+central+"): 1") {
		t.Errorf("summary %v", r.Summary)
	}
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "No answer from dev1 ("+dev1+") for virtual proxy butler: nothing accepts connections") {
		t.Errorf("warnings lack the failed node: %s", w)
	}
}

func TestSessionsPagingAndCSV(t *testing.T) {
	t.Parallel()
	lab := qliksim.Generate(qliksim.GenOptions{Users: 40, Sessions: 120, VirtualProxies: 3, Nodes: 2, Seed: 7})
	e := newEnv(t, envConfig{lab: &lab, pageSize: 50})
	r := e.ask(t, "UADMIN", "sessions")
	if r.Table == nil || r.Table.Offset != 0 || r.Table.TotalRows != 120 || len(r.Table.Rows) != 50 {
		t.Fatalf("table offset %d total %d rows %d", r.Table.Offset, r.Table.TotalRows, len(r.Table.Rows))
	}
	if len(r.Files) != 1 || r.Files[0].Name != "sessions.csv" || r.Files[0].Type != "text/csv" {
		t.Fatalf("files %+v", r.Files)
	}
	recs, err := csv.NewReader(bytes.NewReader(r.Files[0].Data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 121 || !reflect.DeepEqual(recs[0], sessionColumns) {
		t.Fatalf("csv has %d records, header %v", len(recs), recs[0])
	}
	seen := map[string]bool{}
	for _, rec := range recs[1:] {
		seen[rec[5]] = true
	}
	if len(seen) != 120 {
		t.Errorf("csv holds %d distinct sessions, want 120", len(seen))
	}
	if len(r.Buttons) != 1 || r.Buttons[0].Label != "Next page" || r.Buttons[0].ActionID != ActionRun || asRows(t, r, r.Buttons[0].Value) != "sessions --from 51" {
		t.Fatalf("buttons %+v", r.Buttons)
	}
	p2 := e.click(t, "UVIEWER", ActionRun, r.Buttons[0].Value)
	if p2.Table.Offset != 50 || len(p2.Table.Rows) != 50 || p2.Visibility != bot.Ephemeral || len(p2.Buttons) != 2 {
		t.Fatalf("page 2: offset %d rows %d vis %v buttons %+v", p2.Table.Offset, len(p2.Table.Rows), p2.Visibility, p2.Buttons)
	}
	if p2.Table.Rows[0][5] != recs[51][5] {
		t.Errorf("page 2 starts with %s, want row 51 of the CSV %s", p2.Table.Rows[0][5], recs[51][5])
	}
	if asRows(t, p2, p2.Buttons[0].Value) != "sessions --to 50" || asRows(t, p2, p2.Buttons[1].Value) != "sessions --from 101" {
		t.Errorf("page 2 buttons %+v", p2.Buttons)
	}
	last := e.ask(t, "UADMIN", "sessions --page 9")
	if last.Table.Offset != 70 || len(last.Table.Rows) != 50 || !strings.Contains(strings.Join(last.Warnings, " "), "only 3 pages of 50 rows") {
		t.Errorf("page 9 shows the last rows: offset %d rows %d warnings %v", last.Table.Offset, len(last.Table.Rows), last.Warnings)
	}
	if len(last.Buttons) != 1 || asRows(t, last, last.Buttons[0].Value) != "sessions --to 70" {
		t.Errorf("last page buttons %+v", last.Buttons)
	}
	p3 := e.ask(t, "UADMIN", "sessions --page 3")
	if p3.Table.Offset != 100 || len(p3.Table.Rows) != 20 || len(p3.Warnings) != len(r.Warnings) {
		t.Errorf("page 3: offset %d rows %d warnings %v", p3.Table.Offset, len(p3.Table.Rows), p3.Warnings)
	}
}

func TestUsersFlagsAccessPassLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		user      string
		text      string
		wantUsers []string
		wantKicks []string
	}{
		{"lead sees all, kicks on finance only", "ULEAD", "users", []string{`LAB\testuser_1`, `LAB\goran`, `LAB\testuser_2`, `LAB\testuser_3`, `LAB\testuser_4`}, []string{`kick --user LAB\testuser_1`, `kick --user LAB\testuser_2`}},
		{"min filter", "UADMIN", "users --min 5", []string{`LAB\testuser_1`}, []string{`kick --user LAB\testuser_1`}},
		{"viewer gets no kick buttons", "UVIEWER", "users finance", []string{`LAB\testuser_1`, `LAB\testuser_2`}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantFlag := tc.text != "users finance"
			e := newEnv(t, envConfig{})
			for _, p := range []string{"win", "sales", "hr", "api"} {
				if _, err := e.sim.AddSession(central, p, qliksim.Session{UserDirectory: "LAB", UserID: "testuser_1"}); err != nil {
					t.Fatal(err)
				}
			}
			r := e.ask(t, tc.user, tc.text)
			if r.Kind != bot.Info {
				t.Fatalf("kind %v: %s", r.Kind, joined(r))
			}
			if got := column(t, r, "User"); !reflect.DeepEqual(got, tc.wantUsers) {
				t.Errorf("users %v, want %v", got, tc.wantUsers)
			}
			if notes := column(t, r, "Note"); (notes[0] == "at the access-pass limit of 5") != wantFlag || slices.ContainsFunc(notes[1:], func(n string) bool { return n != "" }) {
				t.Errorf("notes %v: want only testuser_1 flagged (%v)", notes, wantFlag)
			}
			var kicks []string
			for _, b := range r.Buttons {
				if strings.HasPrefix(b.Value, "kick") {
					t.Errorf("a kick button %+v: kicks belong in the menu", b)
				}
			}
			for _, m := range r.Menus {
				for _, o := range m.Options {
					if m.ActionID == ActionRun && m.Label == "Kick a user" && strings.HasPrefix(o.Value, "kick") {
						kicks = append(kicks, o.Value)
					}
				}
			}
			if !reflect.DeepEqual(kicks, tc.wantKicks) {
				t.Errorf("kick buttons %v, want %v", kicks, tc.wantKicks)
			}
		})
	}
}

func TestProxies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	r := e.ask(t, "UADMIN", "proxies")
	if r.Kind != bot.Info || len(r.Table.Rows) != 29 {
		t.Fatalf("kind %v rows %d: %s", r.Kind, len(r.Table.Rows), joined(r))
	}
	for _, want := range []string{"Nodes: 2", "Virtual proxies: 29 (3 unlinked)", "Central (" + central + "): 24 linked virtual proxies, QPS port " + strconv.Itoa(e.sim.QPSPort()), "dev1 (" + dev1 + "): 5 linked virtual proxies, QPS port " + strconv.Itoa(e.sim.QPSPort())} {
		if !slices.Contains(lines(r), want) {
			t.Errorf("summary %q lacks %q", r.Summary, want)
		}
	}
	fin := r.Table.Rows[slices.Index(column(t, r, "Prefix"), "finance")]
	if !reflect.DeepEqual(fin, []string{"finance", "finance virtual proxy", "X-Qlik-Session-finance", "Central, dev1", "Central, dev1"}) {
		t.Errorf("finance row %v", fin)
	}
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "Prefix hdr is shared by 2") || len(r.Warnings) != 4 {
		t.Errorf("warnings %v", r.Warnings)
	}
	only := e.ask(t, "UFIN", "proxies")
	if got := column(t, only, "Prefix"); !reflect.DeepEqual(got, []string{"finance"}) {
		t.Errorf("finance viewer sees %v", got)
	}
}

// TestKickNothingOnTheNodesThatAnswered: with one node down and none of
// the answering nodes holding a session, "nothing matched" is a warning
// that names the silent node, never an all-clear.
func TestKickNothingOnTheNodesThatAnswered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	if err := e.sim.SetFault(dev1, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	r := e.ask(t, "UADMIN", "kick butler")
	if r.Kind != bot.Warning || !strings.Contains(joined(r), "on the nodes that answered") || !strings.Contains(joined(r), dev1) {
		t.Fatalf("kind %v, want a warning naming %s:\n%s", r.Kind, dev1, joined(r))
	}
}
