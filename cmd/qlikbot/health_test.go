package main

import (
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// TestHealthMetrics: /qlik health sets the engine gauges, labelled by site
// and node: the figures of a node that answered, up 0 and no figures for
// one that did not; the thresholds are QLIKBOT_HEALTH_*.
func TestHealthMetrics(t *testing.T) {
	t.Parallel()
	sim := startSim(t)
	cfg := simConfig(t, sim, "")
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.HealthCPU = 50
	a := startApp(t, cfg, nil)
	base := "http://" + a.admin.Addr().String()
	ctx := t.Context()
	if err := sim.SetFault(sim.Hosts()[0], qliksim.Fault{Saturated: true, HighCPU: true}); err != nil {
		t.Fatal(err)
	}
	central, dev1 := sim.Hosts()[0], sim.Hosts()[1]
	r := a.ask(ctx, "oncall", "health")
	if r.Kind != bot.Warning || !strings.Contains(bot.PlainText(r), "CPU at 97% (warning at 50%)") {
		t.Fatalf("health: %v\n%s", r.Kind, bot.PlainText(r))
	}
	m := scrape(t, base)
	at := func(node string, more ...string) map[string]string {
		l := map[string]string{"site": "default", "node": node}
		for i := 0; i+1 < len(more); i += 2 {
			l[more[i]] = more[i+1]
		}
		return l
	}
	want, _ := sim.EngineHealth(central)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"qlikbot_engine_up", at(central), 1},
		{"qlikbot_engine_up", at(dev1), 1},
		{"qlikbot_engine_cpu_percent", at(central), 97},
		{"qlikbot_engine_saturated", at(central), 1},
		{"qlikbot_engine_saturated", at(dev1), 0},
		{"qlikbot_engine_sessions", at(central, "state", "total"), 5},
		{"qlikbot_engine_sessions", at(central, "state", "active"), float64(want.Session.Active)},
		{"qlikbot_engine_users", at(central, "state", "total"), float64(want.Users.Total)},
		{"qlikbot_engine_apps_loaded", at(central), float64(len(want.Apps.LoadedDocs))},
		{"qlikbot_engine_memory_total_bytes", at(central), want.Mem.TotalPhysical * mb},
		{"qlikbot_engine_memory_used_bytes", at(central), (want.Mem.TotalPhysical - want.Mem.Free) * mb},
	} {
		if got := m.sum(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if err := sim.SetFault(dev1, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	if r := a.ask(ctx, "oncall", "health"); r.Kind != bot.Warning || !strings.Contains(bot.PlainText(r), "dev1 ("+dev1+") is not answering") {
		t.Fatalf("health with dev1 down: %v\n%s", r.Kind, bot.PlainText(r))
	}
	m = scrape(t, base)
	if got := m.sum("qlikbot_engine_up", at(dev1)); got != 0 {
		t.Errorf("up of dev1, down: %v, want 0", got)
	}
	if _, ok := m["qlikbot_engine_cpu_percent"]; !ok || m.sum("qlikbot_engine_cpu_percent", at(dev1)) != 0 || m.sum("qlikbot_engine_cpu_percent", at(central)) != 97 {
		t.Errorf("cpu gauges after dev1 went down: dev1 %v, Central %v; want dev1's figures gone, Central's kept",
			m.sum("qlikbot_engine_cpu_percent", at(dev1)), m.sum("qlikbot_engine_cpu_percent", at(central)))
	}
	if got := m.sum("qlikbot_commands_total", map[string]string{"command": "health"}); got != 2 {
		t.Errorf("qlikbot_commands_total{command=health} = %v, want 2", got)
	}
}
