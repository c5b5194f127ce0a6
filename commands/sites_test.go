package commands

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// TestSitesMergedLists: without --site, sessions, users and proxies show
// every site the caller may see with a Site column; --site shows one, as a
// single site always looked; a prefix only one site has shows that site.
func TestSitesMergedLists(t *testing.T) {
	t.Parallel()
	e := newSitesEnv(t, sitesConfig{})
	testIDs := testSessionIDs(e.test)

	r := e.ask(t, "UVIEWER", "sessions")
	if r.Kind != bot.Info || columnsOf(r)[0] != "Site" {
		t.Fatalf("sessions: %v %s, columns %v; want Info with a Site column first", r.Kind, joined(r), columnsOf(r))
	}
	sites := column(t, r, "Site")
	if got := strings.Join(slices.Compact(slices.Clone(sites)), ","); got != "prod,test" || len(sites) != 5+len(testIDs) {
		t.Errorf("sessions: sites %v; want 5 prod rows then %d test rows", sites, len(testIDs))
	}
	if !slices.Contains(r.Facts, bot.Fact{Label: "Per site", Value: "prod 5, test 6"}) ||
		!slices.Contains(r.Facts, bot.Fact{Label: "Total sessions", Value: "11"}) {
		t.Errorf("sessions: facts %+v; want the total and the count per site", r.Facts)
	}

	r = e.ask(t, "UVIEWER", "sessions --site test")
	if r.Kind != bot.Info || slices.Contains(columnsOf(r), "Site") || len(r.Table.Rows) != len(testIDs) {
		t.Fatalf("sessions --site test: %v %s, %d rows, columns %v; want the test site's rows, no Site column", r.Kind, joined(r), len(r.Table.Rows), columnsOf(r))
	}
	for _, h := range column(t, r, "Session") {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(testIDs)), func(id string) bool { return hd(id) == h }) {
			t.Errorf("sessions --site test shows %s, not a test session", h)
		}
	}

	r = e.ask(t, "UVIEWER", "sessions finance")
	if r.Kind != bot.Info || slices.Contains(columnsOf(r), "Site") || len(r.Table.Rows) != 2 || len(r.Warnings) != 0 {
		t.Errorf("sessions finance (only prod has it): %v %s, columns %v; want prod's 2 rows, no Site column, no warning", r.Kind, joined(r), columnsOf(r))
	}
	r = e.ask(t, "UVIEWER", "sessions vp2")
	if r.Kind != bot.Info || len(r.Table.Rows) != 2 || slices.Contains(columnsOf(r), "Site") {
		t.Errorf("sessions vp2 (only test has it): %v %s; want test's 2 rows", r.Kind, joined(r))
	}
	if r = e.ask(t, "UVIEWER", "sessions nosuch"); r.Kind != bot.Usage || !strings.Contains(joined(r), `no virtual proxy has the prefix "nosuch"`) {
		t.Errorf("sessions nosuch (no site has it): %v %s; want a usage reply", r.Kind, joined(r))
	}

	r = e.ask(t, "UVIEWER", "users")
	if r.Kind != bot.Info || columnsOf(r)[0] != "Site" || !slices.Contains(column(t, r, "Site"), "test") || !slices.Contains(column(t, r, "User"), `LAB\goran`) {
		t.Errorf("users: %v %s, columns %v; want both sites' users with a Site column", r.Kind, joined(r), columnsOf(r))
	}
	r = e.ask(t, "UVIEWER", "proxies")
	if r.Kind != bot.Info || !slices.Contains(column(t, r, "Site"), "test") || !slices.Contains(column(t, r, "Prefix"), "finance") {
		t.Errorf("proxies: %v %s; want both sites' virtual proxies", r.Kind, joined(r))
	}
	r = e.ask(t, "UVIEWER", "proxies --site=TEST")
	if r.Kind != bot.Info || slices.Contains(columnsOf(r), "Site") || len(r.Table.Rows) != 3 {
		t.Errorf("proxies --site=TEST: %v %s, columns %v; want test's 3 virtual proxies", r.Kind, joined(r), columnsOf(r))
	}

	// A mistyped site: did you mean, and nothing asked of Qlik.
	before := len(e.prod.Requests()) + len(e.test.Requests())
	r = e.ask(t, "UVIEWER", "sessions --site prdo")
	if r.Kind != bot.Usage || !strings.Contains(joined(r), "did you mean prod?") || !strings.Contains(joined(r), "sites you may use: prod, test") {
		t.Errorf("sessions --site prdo: %v %s; want a usage reply suggesting prod", r.Kind, joined(r))
	}
	if after := len(e.prod.Requests()) + len(e.test.Requests()); after != before {
		t.Errorf("an unknown site made %d Qlik calls, want none", after-before)
	}
	if r = e.ask(t, "UVIEWER", "sessions --site bad/name"); r.Kind != bot.Usage || !strings.Contains(joined(r), "--site") {
		t.Errorf("sessions --site bad/name: %v %s; want a usage reply", r.Kind, joined(r))
	}
}

// TestSitesPaging: paging and menu commands carry the site they were
// made for, so a click runs where the list was.
func TestSitesPaging(t *testing.T) {
	t.Parallel()
	e := newSitesEnv(t, sitesConfig{pageSize: 4})
	r := e.ask(t, "UVIEWER", "sessions --site test")
	next := button(t, r, nextLabel)
	if asRows(t, r, next.Value) != "sessions --site test --from 5" {
		t.Errorf("Next on a --site list runs %q, want sessions --site test --from 5", next.Value)
	}
	r2 := e.click(t, "UVIEWER", ActionRun, next.Value)
	if len(r2.Table.Rows) != 2 || r2.Table.Offset != 4 {
		t.Errorf("page 2 of test: offset %d, %d rows; want rows 5-6", r2.Table.Offset, len(r2.Table.Rows))
	}
	r = e.ask(t, "UVIEWER", "sessions")
	if len(r.Menus) == 0 || !slices.ContainsFunc(r.Menus[0].Options, func(o bot.Option) bool {
		return o.Value == "sessions vp2 --site test" && strings.HasPrefix(o.Label, "test: vp2")
	}) {
		t.Errorf("merged sessions: menus %+v; want a choice of vp2 on test", r.Menus)
	}
	r = e.ask(t, "UADMIN", "kick")
	if len(r.Menus) != 1 || !slices.ContainsFunc(r.Menus[0].Options, func(o bot.Option) bool { return o.Value == "kick finance --site prod" }) ||
		!slices.ContainsFunc(r.Menus[0].Options, func(o bot.Option) bool { return o.Value == "kick vp3 --site test" }) {
		t.Errorf("kick alone: %+v; want choices on both sites", r.Menus)
	}
	r = e.ask(t, "UADMIN", "kick --site test")
	if len(r.Menus) != 1 || slices.ContainsFunc(r.Menus[0].Options, func(o bot.Option) bool { return strings.Contains(o.Value, "prod") }) {
		t.Errorf("kick --site test: %+v; want test's choices only", r.Menus)
	}
}

func button(t *testing.T, r bot.Reply, label string) bot.Button {
	t.Helper()
	for _, b := range r.Buttons {
		if b.Label == label {
			return b
		}
	}
	t.Fatalf("no %q button in %+v", label, r.Buttons)
	return bot.Button{}
}

// TestSitesScopedGrants: a grant limited to a site shows and acts there
// only, and nothing is asked of the other site.
func TestSitesScopedGrants(t *testing.T) {
	t.Parallel()
	e := newSitesEnv(t, sitesConfig{})
	r := e.ask(t, "UPROD", "sessions")
	if r.Kind != bot.Info || slices.Contains(columnsOf(r), "Site") || len(r.Table.Rows) != 5 {
		t.Errorf("sessions for a prod admin: %v %s, columns %v; want prod's 5 rows only", r.Kind, joined(r), columnsOf(r))
	}
	if n := len(e.test.Requests()); n != 0 {
		t.Errorf("a prod-only caller's list made %d calls to test, want none", n)
	}
	if r = e.ask(t, "UPROD", "sessions --site test"); r.Kind != bot.Denied || !strings.Contains(joined(r), "on site test") {
		t.Errorf("sessions --site test for a prod admin: %v %s; want a refusal naming the site", r.Kind, joined(r))
	}
	if r = e.ask(t, "UPROD", "sessions --site nope"); r.Kind != bot.Usage || !strings.Contains(joined(r), "sites you may use: prod;") &&
		!strings.HasSuffix(r.Summary[0], "sites you may use: prod") {
		t.Errorf("unknown site for a prod admin: %s; want only prod suggested", joined(r))
	}
	if r = e.ask(t, "UPROD", "audit"); r.Kind != bot.Denied || !strings.Contains(joined(r), "only on sites prod") {
		t.Errorf("audit of every site for a prod admin: %v %s; want a refusal pointing at --site", r.Kind, joined(r))
	}
	if r = e.ask(t, "UPROD", "audit --site prod"); r.Kind != bot.Info {
		t.Errorf("audit --site prod for a prod admin: %v %s; want the trail", r.Kind, joined(r))
	}
	for _, ev := range e.audit(t) {
		if ev.Action == "command" && strings.HasPrefix(ev.Command, "audit") && ev.Decision == "allowed" && ev.Site != "prod" {
			t.Errorf("audit --site prod row has site %q, want prod", ev.Site)
		}
	}
	r = e.ask(t, "UPROD", "whoami")
	if !slices.Contains(columnsOf(r), "Sites") || column(t, r, "Sites")[0] != "prod" || !strings.Contains(joined(r), "prod (default), test") {
		t.Errorf("whoami: %s %+v; want the grant's sites and the sites served", joined(r), r.Table)
	}
	// The lead of test asks without --site: the default site, prod, where
	// they may only look.
	if r = e.ask(t, "UTEST", "kick default"); r.Kind != bot.Denied || !strings.Contains(joined(r), "on site prod") {
		t.Errorf("kick without --site for a test lead: %v %s; want a refusal on the default site prod", r.Kind, joined(r))
	}
	if r = e.ask(t, "UTEST", "kick default --site test"); r.Kind != bot.Pending || !strings.Contains(r.Title, "on site test") {
		t.Errorf("kick default --site test for a test lead: %v %s; want an approval request on test", r.Kind, joined(r))
	}
}

// TestSitesOneDown: a site that does not answer leaves the others' rows
// and a warning; no site answering is an error naming each.
func TestSitesOneDown(t *testing.T) {
	t.Parallel()
	e := newSitesEnv(t, sitesConfig{})
	e.test.SetFaultAll(qliksim.Fault{Down: true})
	for _, verb := range []string{"sessions", "users", "proxies"} {
		r := e.ask(t, "UVIEWER", verb)
		if r.Kind != bot.Warning || r.Table == nil || len(r.Table.Rows) == 0 || !strings.Contains(joined(r), "Site test did not answer") {
			t.Errorf("%s with test down: %v %s; want prod's rows and a warning about test", verb, r.Kind, joined(r))
		}
	}
	r := e.ask(t, "UVIEWER", "sessions")
	if len(r.Table.Rows) != 5 || slices.Contains(columnsOf(r), "Site") {
		t.Errorf("sessions with test down: %d rows, columns %v; want prod's 5 without a Site column", len(r.Table.Rows), columnsOf(r))
	}
	e.prod.SetFaultAll(qliksim.Fault{Down: true})
	r = e.ask(t, "UVIEWER", "sessions")
	if r.Kind != bot.Error || !strings.Contains(joined(r), "Site prod: could not") || !strings.Contains(joined(r), "Site test: could not") {
		t.Errorf("sessions with both down: %v %s; want an error naming both sites", r.Kind, joined(r))
	}
	if r = e.ask(t, "UVIEWER", "sessions --site test"); r.Kind != bot.Error || r.Title != "Qlik request failed" {
		t.Errorf("sessions --site test, down: %v %s; want the one-site Qlik error", r.Kind, joined(r))
	}
}

// TestSitesHandlesPerSite: handles are unique within their site, so two
// sites may show the same one, and delete resolves it within one site.
func TestSitesHandlesPerSite(t *testing.T) {
	t.Parallel()
	e := newSitesEnv(t, sitesConfig{})
	twin := "55142b14-0000-4000-8000-000000000001" // shares its first 8 digits with prod's testuser_1
	if _, err := e.test.AddSession("node1.sim.qlik.test", "vp2", qliksim.Session{ID: twin, UserDirectory: "SIM", UserID: "twin"}); err != nil {
		t.Fatal(err)
	}
	r := e.ask(t, "UVIEWER", "sessions")
	n := 0
	for _, h := range column(t, r, "Session") {
		if h == "55142b14" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("merged sessions show handle 55142b14 %d times, want twice (once per site): %v", n, column(t, r, "Session"))
	}
	r = e.ask(t, "UADMIN", "delete vp2 55142b14 --site test")
	if r.Kind != bot.Success {
		t.Fatalf("delete on test: %v %s", r.Kind, joined(r))
	}
	if got := methods(e.prod.Requests())["DELETE"]; got != 0 {
		t.Errorf("a delete on test sent %d DELETEs to prod", got)
	}
	if got := methods(e.test.Requests())["DELETE"]; got != 1 {
		t.Errorf("a delete on test sent %d DELETEs to test, want 1", got)
	}
	if got := len(e.prod.Sessions(central, "finance")); got != 2 {
		t.Errorf("prod's finance holds %d sessions after a delete on test, want 2", got)
	}
	for _, ev := range e.audit(t) {
		if ev.Action == "delete" && ev.Site != "test" {
			t.Errorf("delete row %+v: site %q, want test", ev, ev.Site)
		}
	}
}

// TestSitesApprovalStaysOnItsSite: an approval made on test names its
// site, refuses another --site, and its deletes reach test only.
func TestSitesApprovalStaysOnItsSite(t *testing.T) {
	t.Parallel()
	e := newSitesEnv(t, sitesConfig{})
	want := len(e.test.Sessions("node1.sim.qlik.test", "vp2")) + len(e.test.Sessions("node2.sim.qlik.test", "vp2"))
	r := e.ask(t, "UADMIN", "kick vp2 --site test")
	id := pendingID(t, r)
	if !strings.Contains(r.Title, "on site test") {
		t.Errorf("approval title %q does not name the site", r.Title)
	}
	e.prod.ResetRequests()
	if r = e.ask(t, "UADMIN2", "approve "+id+" --site prod"); r.Kind != bot.Usage || !strings.Contains(joined(r), "for site test, not prod") {
		t.Errorf("approve --site prod of a test approval: %v %s; want a refusal", r.Kind, joined(r))
	}
	r = e.click(t, "UADMIN2", ActionApprove, id)
	if r.Kind != bot.Success || !strings.Contains(r.Title, "on site test") {
		t.Fatalf("approve: %v %s", r.Kind, joined(r))
	}
	if reqs := e.prod.Requests(); len(reqs) != 0 {
		t.Errorf("approving a kick on test sent %d requests to prod: %+v", len(reqs), reqs)
	}
	if got := methods(e.test.Requests())["DELETE"]; got != want || want == 0 {
		t.Errorf("test received %d DELETEs, want %d", got, want)
	}
	var seen []string
	for _, ev := range e.audit(t) {
		if ev.Pending == id {
			seen = append(seen, ev.Action)
			if ev.Site != "test" {
				t.Errorf("audit row %s of the approval: site %q, want test", ev.Action, ev.Site)
			}
		}
	}
	for _, a := range []string{"request-approval", "approve", "delete"} {
		if !slices.Contains(seen, a) {
			t.Errorf("no %s row for the approval: %v", a, seen)
		}
	}
	r = e.ask(t, "UADMIN", "audit --action approve")
	if !slices.ContainsFunc(column(t, r, "Target"), func(s string) bool { return strings.HasPrefix(s, "test: ") }) {
		t.Errorf("audit rows of a several-site engine do not name the site: %v", column(t, r, "Target"))
	}
}

// TestSitesDefaultSite: commands on one site without --site run on the
// site marked default.
func TestSitesDefaultSite(t *testing.T) {
	t.Parallel()
	e := newSitesEnv(t, sitesConfig{testDefault: true})
	r := e.ask(t, "UADMIN", "kick vp2")
	if r.Kind != bot.Pending || !strings.Contains(r.Title, "on site test") {
		t.Errorf("kick vp2 with test the default: %v %s; want an approval on test", r.Kind, joined(r))
	}
	if r = e.ask(t, "UADMIN", "kick finance"); r.Kind != bot.Usage {
		t.Errorf("kick finance with test the default: %v %s; want a usage reply (test has no finance)", r.Kind, joined(r))
	}
	if r = e.ask(t, "UADMIN", "whoami"); !strings.Contains(joined(r), "prod, test (default)") {
		t.Errorf("whoami: %s; want test named the default", joined(r))
	}
}

func TestWithSitesErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	pol := authz.NewStatic(e.pol)
	tests := []struct {
		name string
		q    Qlik
		opts []Option
		want string
	}{
		{"both", e.client, []Option{WithSites(Site{Name: "prod", Qlik: e.client})}, "not both"},
		{"neither", nil, nil, "required"},
		{"no sites", nil, []Option{WithSites()}, "no sites"},
		{"bad name", nil, []Option{WithSites(Site{Name: "pr od", Qlik: e.client})}, `site "pr od"`},
		{"twice", nil, []Option{WithSites(Site{Name: "prod", Qlik: e.client}, Site{Name: "PROD", Qlik: e.client})}, "given twice"},
		{"two defaults", nil, []Option{WithSites(Site{Name: "a", Qlik: e.client, Default: true}, Site{Name: "b", Qlik: e.client, Default: true})}, "more than one default"},
		{"no client", nil, []Option{WithSites(Site{Name: "a"})}, "no Qlik client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tc.q, e.st, pol, tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
