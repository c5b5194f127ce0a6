package main

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// scrapeResult is one parsed /metrics answer.
type scrapeResult map[string]*dto.MetricFamily

// scrape reads /metrics over HTTP, as Prometheus would.
func scrape(t *testing.T, base string) scrapeResult {
	t.Helper()
	resp, body := get(t, base+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams
}

// sum adds up the family's samples whose labels include want (a counter's
// value, a histogram's count).
func (s scrapeResult) sum(name string, want map[string]string) float64 {
	f, ok := s[name]
	if !ok {
		return 0
	}
	var total float64
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		}
	}
	return total
}

// waitReady waits until the admin listener at base answers /readyz with 200:
// readiness follows the listeners by a moment (the store's first answer, the
// Slack handler serving), so a check of what comes after starts from there.
func waitReady(t *testing.T, base string) {
	t.Helper()
	waitFor(t, 20*time.Second, "/readyz 200", func() bool {
		resp, _ := get(t, base+"/readyz")
		return resp.StatusCode == http.StatusOK
	})
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp, string(b)
}

// TestMetricsAfterE2E runs commands through a whole app and reads what
// its admin endpoints tell an operator: counters that moved, health, and
// readiness that follows Qlik. The public listener serves none of it.
func TestMetricsAfterE2E(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qliksim.WithLab(qliksim.SeedLab()))
	cfg := simConfig(t, sim, "")
	cfg.HTTPAddr = "127.0.0.1:0"
	a := startApp(t, cfg, nil)
	public := "http://" + a.public.Addr().String()
	base := "http://" + a.admin.Addr().String()
	ctx := t.Context()

	for _, b := range []string{public, base} {
		if resp, body := get(t, b+"/healthz"); resp.StatusCode != http.StatusOK || body != "ok\n" {
			t.Errorf("%s/healthz: %s %q, want 200 ok", b, resp.Status, body)
		}
	}
	for _, path := range []string{"/metrics", "/readyz", "/debug/pprof/"} {
		if resp, body := get(t, public+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("public listener %s: %s %q, want 404 (admin listener only)", path, resp.Status, body)
		}
	}
	waitReady(t, base) // the store's first answer comes a moment after the listeners open
	if resp, body := get(t, base+"/readyz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz with Qlik and the store up: %s %s", resp.Status, body)
	}
	before := scrape(t, base)

	if r := a.ask(ctx, "oncall", "sessions"); r.Kind != bot.Info {
		t.Fatalf("sessions: %v %q\n%s", r.Kind, r.Title, bot.PlainText(r))
	}
	// The seed lab: 2 on finance, 1 on the default virtual proxy.
	seen := scrape(t, base)
	for vp, want := range map[string]float64{"finance": 2, "(default)": 1, "win": 2} {
		if got := seen.sum("qlikbot_sessions_seen", map[string]string{"virtual_proxy": vp}); got != want {
			t.Errorf("qlikbot_sessions_seen{virtual_proxy=%q} = %v, want %v", vp, got, want)
		}
	}
	if r := a.click(ctx, "admin", approveButton(t, a.ask(ctx, "lead", "kick finance"))); r.Kind != bot.Success {
		t.Fatalf("approve: %v %q\n%s", r.Kind, r.Title, bot.PlainText(r))
	}
	if r := a.ask(ctx, "oncall", "sessions finance"); r.Kind != bot.Info {
		t.Fatalf("sessions finance: %v %q", r.Kind, r.Title)
	}
	if r := a.ask(ctx, "oncall", "kick finance"); r.Kind != bot.Denied {
		t.Fatalf("kick by a viewer: %v %q", r.Kind, r.Title)
	}

	after := scrape(t, base)
	moved := []struct {
		name   string
		labels map[string]string
		by     float64 // at least
	}{
		{"qlikbot_commands_total", map[string]string{"command": "sessions"}, 1},
		{"qlikbot_commands_total", map[string]string{"command": "kick", "outcome": "pending"}, 1},
		{"qlikbot_commands_total", map[string]string{"command": "kick", "outcome": "denied"}, 1},
		{"qlikbot_commands_total", map[string]string{"command": "approve", "outcome": "success"}, 1},
		{"qlikbot_qlik_call_duration_seconds", nil, 3}, // topology (2 QRS calls) + session lists + deletes
		{"qlikbot_qlik_call_duration_seconds", map[string]string{"site": "default", "endpoint": "qps.session.delete"}, 2},
		{"qlikbot_approvals_total", map[string]string{"decision": "requested"}, 1},
		{"qlikbot_approvals_total", map[string]string{"decision": "approved"}, 1},
	}
	for _, m := range moved {
		if d := after.sum(m.name, m.labels) - before.sum(m.name, m.labels); d < m.by {
			t.Errorf("%s%v moved by %v, want at least %v", m.name, m.labels, d, m.by)
		}
	}
	// The adaptive limit of every node and port called, by site.
	for _, h := range sim.Hosts() {
		addr := net.JoinHostPort(h, strconv.Itoa(sim.QPSPort()))
		want := float64(a.sites[0].client.Limits()[addr])
		if got := after.sum("qlikbot_qlik_concurrency_limit", map[string]string{"site": "default", "addr": addr}); got != want || got < 1 {
			t.Errorf("qlikbot_qlik_concurrency_limit{site=default,addr=%s} = %v, want the client's %v", addr, got, want)
		}
	}
	if got := after.sum("qlikbot_sessions_seen", map[string]string{"virtual_proxy": "finance"}); got != 0 {
		t.Errorf("qlikbot_sessions_seen{finance} after the kick = %v, want 0", got)
	}
	if t.Failed() {
		_, body := get(t, base+"/metrics")
		t.Logf("/metrics:\n%s", body)
	}

	// Qlik gone: still ready (the bot is what tells users Qlik is down,
	// and every replica sees the same Qlik), degraded with a note saying
	// why; still healthy.
	sim.Close()
	resp, body := get(t, base+"/readyz")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "ready, degraded: qlik: ") {
		t.Errorf("/readyz with Qlik down: %s %q, want 200 with a degraded note naming qlik", resp.Status, body)
	}
	if strings.Contains(body, "store:") {
		t.Errorf("/readyz blames the store, which is up: %q", body)
	}
	for _, b := range []string{public, base} {
		if resp, _ := get(t, b+"/healthz"); resp.StatusCode != http.StatusOK {
			t.Errorf("%s/healthz with Qlik down: %s, want 200 (the process is alive)", b, resp.Status)
		}
	}
}

// TestAdminListenerOff: QLIKBOT_ADMIN_ADDR=off opens no admin listener, and
// the public one still serves neither /metrics nor /readyz.
func TestAdminListenerOff(t *testing.T) {
	t.Parallel()
	cfg := simConfig(t, startSim(t), "")
	cfg.HTTPAddr, cfg.AdminAddr = "127.0.0.1:0", "off"
	a := startApp(t, cfg, nil)
	if a.admin != nil {
		t.Fatalf("admin listener on %s with QLIKBOT_ADMIN_ADDR=off", a.admin.Addr())
	}
	public := "http://" + a.public.Addr().String()
	if resp, _ := get(t, public+"/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}
	for _, path := range []string{"/metrics", "/readyz"} {
		if resp, _ := get(t, public+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("public %s with the admin listener off: %s, want 404", path, resp.Status)
		}
	}
}
