package commands

import (
	"slices"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// healthPolicy: a viewer with health everywhere, one limited to Central,
// one without health.
const healthPolicy = `
roles:
  viewer: [list, health]
  lister: [list]
grants:
  - subjects: ["slack:UVIEWER"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["slack:UCENTRAL"]
    roles: [viewer]
    virtualProxies: ["*"]
    hosts: ["pro2-win1.lab.ptarmiganlabs.net"]
  - subjects: ["slack:ULISTER"]
    roles: [lister]
    virtualProxies: ["*"]
  - subjects: ["slack:UFIN"]
    roles: [viewer]
    virtualProxies: ["finance"]
`

// TestHealth reads every engine of the seed lab over mutual TLS: one row
// per node with the simulator's figures, a chart of sessions per node,
// and one health check per node.
func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: healthPolicy})
	r := e.ask(t, "UVIEWER", "health")
	if r.Kind != bot.Info || r.Table == nil || !slices.Equal(column(t, r, "Node"), []string{"Central", "dev1"}) {
		t.Fatalf("health: %v %s %+v", r.Kind, joined(r), r.Table)
	}
	want, _ := e.sim.EngineHealth(central)
	row := r.Table.Rows[0]
	for i, cell := range map[int]string{1: "yes", 2: want.Version, 4: "9.5", 6: "4 / 5", 7: "4 / 5", 9: "no"} {
		if row[i] != cell {
			t.Errorf("Central's %s is %q, want %q (row %v)", r.Table.Columns[i], row[i], cell, row)
		}
	}
	if row[5] != "1.5 GB / 32.0 GB" || row[8] != "3" {
		t.Errorf("Central's memory %q and apps %q; want 1.5 GB / 32.0 GB and 3", row[5], row[8])
	}
	if r.Chart == nil || r.Chart.Title != "Sessions per node" || len(r.Chart.Points) != 2 || r.Chart.Points[0].Value != 5 {
		t.Errorf("chart %+v; want sessions per node, 5 on Central", r.Chart)
	}
	checks := map[string]int{}
	for _, q := range e.sim.Requests() {
		if q.Service == "engine" {
			checks[q.Node]++
		}
	}
	if checks[central] != 1 || checks[dev1] != 1 {
		t.Errorf("health checks per node %v; want one each", checks)
	}
	r = e.ask(t, "UVIEWER", "health DEV1")
	if !slices.Equal(column(t, r, "Node"), []string{"dev1"}) {
		t.Errorf("health DEV1: %v", column(t, r, "Node"))
	}
	if r = e.ask(t, "UVIEWER", "health dev2"); r.Kind != bot.Usage || !strings.Contains(joined(r), "did you mean dev1?") {
		t.Errorf("health dev2: %v %s; want a usage reply suggesting dev1", r.Kind, joined(r))
	}
}

// TestHealthFaults: a node down is a row and a warning while the others
// answer; saturated, CPU at or above the threshold and little free memory
// are warnings.
func TestHealthFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: healthPolicy})
	if err := e.sim.SetFault(central, qliksim.Fault{Saturated: true, HighCPU: true, LowMemory: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetFault(dev1, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	r := e.ask(t, "UVIEWER", "health")
	if r.Kind != bot.Warning || len(r.Table.Rows) != 2 {
		t.Fatalf("health with faults: %v %s", r.Kind, joined(r))
	}
	if got := column(t, r, "Answering"); !slices.Equal(got, []string{"yes", "no"}) {
		t.Errorf("answering %v; want Central yes, dev1 no", got)
	}
	if got := column(t, r, "Saturated")[0]; got != "yes" {
		t.Errorf("Central saturated %q, want yes", got)
	}
	w := strings.Join(r.Warnings, "\n")
	for _, want := range []string{
		"dev1 (" + dev1 + ") is not answering its health check",
		"Central (" + central + ") is saturated",
		"Central (" + central + ") CPU at 97% (warning at 90%)",
		"Central (" + central + ") has 3.0% of its memory free",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	if !slices.Contains(r.Facts, bot.Fact{Label: "Engines answering", Value: "1 of 2"}) {
		t.Errorf("facts %+v; want 1 of 2 answering", r.Facts)
	}
	if err := e.sim.SetFault(central, qliksim.Fault{}); err != nil {
		t.Fatal(err)
	}
	if r = e.ask(t, "UVIEWER", "health central"); r.Kind != bot.Info || len(r.Warnings) != 0 {
		t.Errorf("health of a healthy Central: %v %s; want no warning", r.Kind, joined(r))
	}
}

// TestHealthPermission: health is its own right, asked per node on every
// virtual proxy; nodes the caller may not see are not asked.
func TestHealthPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{policy: healthPolicy})
	for _, u := range []string{"ULISTER", "UFIN"} {
		if r := e.ask(t, u, "health"); r.Kind != bot.Denied || !strings.Contains(joined(r), `"health"`) {
			t.Errorf("health as %s: %v %s; want a refusal naming the health right", u, r.Kind, joined(r))
		}
	}
	if n := engineChecks(e.sim); n != 0 {
		t.Errorf("refused callers caused %d health checks", n)
	}
	r := e.ask(t, "UCENTRAL", "health")
	if r.Kind != bot.Info || !slices.Equal(column(t, r, "Node"), []string{"Central"}) || !strings.Contains(joined(r), "1 engine node not shown") {
		t.Errorf("health as a Central-only viewer: %v %s; want Central only and a note", r.Kind, joined(r))
	}
	if n := engineChecks(e.sim); n != 1 {
		t.Errorf("a Central-only viewer caused %d health checks, want 1", n)
	}
}

func engineChecks(sim *qliksim.Server) int {
	n := 0
	for _, q := range sim.Requests() {
		if q.Service == "engine" {
			n++
		}
	}
	return n
}

// TestHealthSites: every site's engines at once with a Site column, each
// site's own thresholds, a site down a warning, a site-limited grant its
// site only.
func TestHealthSites(t *testing.T) {
	t.Parallel()
	e := newSitesEnv(t, sitesConfig{policy: strings.NewReplacer("[list]", "[list, health]", "audit]", "audit, health]").Replace(sitesPolicy), testCPUWarn: 5})
	r := e.ask(t, "UVIEWER", "health")
	if r.Kind != bot.Warning || !slices.Equal(column(t, r, "Site"), []string{"prod", "prod", "test", "test"}) {
		t.Fatalf("health over two sites: %v %s %+v", r.Kind, joined(r), r.Table)
	}
	w := strings.Join(r.Warnings, "\n")
	if !strings.Contains(w, "test: node1 (node1.sim.qlik.test) CPU at 6.5% (warning at 5%)") || strings.Contains(w, "prod:") {
		t.Errorf("warnings %q; want test's nodes over test's 5%% and nothing on prod (default 90%%)", w)
	}
	if r.Chart == nil || r.Chart.Points[2].Label != "test: node1" {
		t.Errorf("chart %+v; want points labelled by site", r.Chart)
	}
	if r = e.ask(t, "UPROD", "health"); r.Kind != bot.Info || slices.Contains(columnsOf(r), "Site") || len(r.Table.Rows) != 2 {
		t.Errorf("health as a prod admin: %v %s; want prod's two nodes", r.Kind, joined(r))
	}
	if r = e.ask(t, "UVIEWER", "health node2 --site test"); !slices.Equal(column(t, r, "Node"), []string{"node2"}) {
		t.Errorf("health node2 --site test: %s", joined(r))
	}
	if r = e.ask(t, "UVIEWER", "health node2"); !slices.Equal(column(t, r, "Node"), []string{"node2"}) {
		t.Errorf("health node2 (only test has it): %s", joined(r))
	}
	e.test.SetFaultAll(qliksim.Fault{Down: true})
	r = e.ask(t, "UVIEWER", "health")
	if r.Kind != bot.Warning || len(r.Table.Rows) != 2 || !strings.Contains(joined(r), "Site test did not answer") {
		t.Errorf("health with test down: %v %s; want prod's nodes and a warning", r.Kind, joined(r))
	}
}
