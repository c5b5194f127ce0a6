package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// sitesPolicy: oncall sees every site, the tester acts on test only.
const sitesPolicy = `roles:
  viewer: [list, health]
  lead:   [list, delete, kick, logout, approve]
grants:
  - subjects: ["console:oncall"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["console:tester"]
    roles: [lead]
    virtualProxies: ["*"]
    sites: ["test"]
  - subjects: ["console:tester2"]
    roles: [lead]
    virtualProxies: ["*"]
    sites: ["test"]
`

// siteEntry writes sim's certificates to a folder of their own and
// returns its site in the sites file's YAML, with extra fields appended.
func siteEntry(t *testing.T, name string, sim *qliksim.Server, extra string) string {
	t.Helper()
	dir := t.TempDir()
	if err := sim.WriteCerts(dir); err != nil {
		t.Fatal(err)
	}
	var resolve []string
	for h, ip := range sim.Resolve() {
		resolve = append(resolve, fmt.Sprintf("      %s: %s", h, ip))
	}
	slices.Sort(resolve)
	return fmt.Sprintf(`  - name: %s
    host: %s
    qrsPort: %d
    qpsPort: %d
    cert: %s
    key: %s
    root: %s
    resolve:
%s
%s`, name, sim.QRSHost(), sim.QRSPort(), sim.QPSPort(), filepath.Join(dir, "client.pem"), filepath.Join(dir, "client_key.pem"),
		filepath.Join(dir, "root.pem"), strings.Join(resolve, "\n"), extra)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// sitesConfig is a Config serving prod and test from a sites file; the
// QLIKBOT_QLIK_* settings are what the sites leave out.
func sitesConfig(t *testing.T, prod, test *qliksim.Server, testExtra string) Config {
	t.Helper()
	c := simConfig(t, prod, "")
	c.QlikHost = ""
	c.QlikUser = `CORP\svc_bot`
	c.Sites = writeFile(t, "sites.yaml", "sites:\n"+siteEntry(t, "prod", prod, "")+"\n"+siteEntry(t, "test", test, testExtra)+"\n")
	if err := os.WriteFile(c.Policy, []byte(sitesPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.validate(); err != nil {
		t.Fatalf("sites config: %v", err)
	}
	return c
}

// TestSitesFile: QLIKBOT_SITES serves each site over its own mutual TLS
// with its own client; what a site leaves out comes from QLIKBOT_QLIK_*;
// lists merge the sites; an approval on test never reaches prod; a site
// down leaves the other's rows.
func TestSitesFile(t *testing.T) {
	t.Parallel()
	prod := startSim(t)
	test := startSim(t, qliksim.WithLab(qliksim.Generate(qliksim.GenOptions{Nodes: 2, VirtualProxies: 2, Sessions: 4, Users: 2, Seed: 3})))
	cfg := sitesConfig(t, prod, test, "    user: TEST\\other\n    default: true\n    limits:\n      timeout: 2s\n    health:\n      cpuWarn: 1\n")
	ta := startApp(t, cfg, nil)
	ctx := t.Context()

	r := ta.ask(ctx, "oncall", "sessions")
	if r.Kind != bot.Info || r.Table == nil || r.Table.Columns[0] != "Site" || len(r.Table.Rows) != 5+4 {
		t.Fatalf("sessions over two sites: %v\n%s", r.Kind, bot.PlainText(r))
	}
	r = ta.ask(ctx, "oncall", "sessions --site test")
	if r.Kind != bot.Info || r.Table.Columns[0] == "Site" || len(r.Table.Rows) != 4 {
		t.Errorf("sessions --site test: %v\n%s", r.Kind, bot.PlainText(r))
	}
	// test warns from 1% CPU, prod keeps QLIKBOT_HEALTH_CPU_WARN.
	r = ta.ask(ctx, "oncall", "health")
	if w := strings.Join(r.Warnings, "\n"); r.Kind != bot.Warning || !strings.Contains(w, "test: node1 (node1.sim.qlik.test) CPU at") || strings.Contains(w, "prod:") {
		t.Errorf("health with test's cpuWarn 1: %v\n%s", r.Kind, bot.PlainText(r))
	}
	users := func(sim *qliksim.Server) []string {
		var out []string
		for _, q := range sim.Requests() {
			out = append(out, q.User)
		}
		return slices.Compact(out)
	}
	if got := users(prod); !slices.Equal(got, []string{"UserDirectory=CORP; UserId=svc_bot"}) {
		t.Errorf("prod was called as %v; want QLIKBOT_QLIK_USER, which prod leaves to it", got)
	}
	if got := users(test); !slices.Equal(got, []string{"UserDirectory=TEST; UserId=other"}) {
		t.Errorf("test was called as %v; want its own user", got)
	}

	// test is the default site: kick without --site is on test.
	prod.ResetRequests()
	pending := ta.ask(ctx, "tester", "kick vp2")
	if pending.Kind != bot.Pending || !strings.Contains(pending.Title, "on site test") {
		t.Fatalf("kick vp2 as the tester: %v\n%s", pending.Kind, bot.PlainText(pending))
	}
	if r := ta.click(ctx, "tester2", approveButton(t, pending)); r.Kind != bot.Success {
		t.Fatalf("approve: %v\n%s", r.Kind, bot.PlainText(r))
	}
	if n := len(prod.Requests()); n != 0 {
		t.Errorf("a kick on test sent %d requests to prod", n)
	}
	if n := deletes(test.Requests()); n != 2 {
		t.Errorf("test received %d DELETEs, want 2", n)
	}
	if r := ta.ask(ctx, "tester", "kick finance --site prod"); r.Kind != bot.Denied {
		t.Errorf("kick on prod as the test-only tester: %v\n%s", r.Kind, bot.PlainText(r))
	}

	// test's topology is cached (QLIKBOT_QLIK_TOPOLOGY_TTL): its nodes'
	// calls fail one by one.
	test.SetFaultAll(qliksim.Fault{Down: true})
	r = ta.ask(ctx, "oncall", "sessions")
	if r.Kind != bot.Warning || len(r.Table.Rows) != 5 || !strings.Contains(bot.PlainText(r), "test: No answer from node1") {
		t.Errorf("sessions with test down: %v\n%s", r.Kind, bot.PlainText(r))
	}
}

func deletes(reqs []qliksim.Request) int {
	n := 0
	for _, r := range reqs {
		if r.Method == "DELETE" {
			n++
		}
	}
	return n
}

// TestSitesFileErrors: each mistake in the sites file stops qlikbot with
// one line naming QLIKBOT_SITES, the file, the site and the field.
func TestSitesFileErrors(t *testing.T) {
	t.Parallel()
	prod := startSim(t)
	good := siteEntry(t, "prod", prod, "")
	tests := []struct {
		name, file string
		want       []string
	}{
		{"unknown field", "sites:\n  - name: prod\n    hots: x\n", []string{"field hots not found"}},
		{"no sites", "sites: []\n", []string{"lists no sites"}},
		{"empty file", "", []string{"lists no sites"}},
		{"no name", "sites:\n  - host: qlik.example.com\n", []string{"site 1: name: missing"}},
		{"bad name", "sites:\n  - name: pr od\n    host: qlik.example.com\n", []string{`site "pr od": name: "pr od"`}},
		{"no host", "sites:\n  - name: prod\n", []string{`site "prod": host: missing`}},
		{"bad host", "sites:\n  - name: prod\n    host: https://qlik\n", []string{`site "prod": host: "https://qlik"`}},
		{"bad port", "sites:\n  - name: prod\n    host: q.example.com\n    qrsPort: 70000\n", []string{`site "prod": qrsPort: "70000"`, "TCP port"}},
		{"bad user", "sites:\n  - name: prod\n    host: q.example.com\n    user: sa_api\n", []string{`site "prod": user: "sa_api"`}},
		{"bad resolve", "sites:\n  - name: prod\n    host: q.example.com\n    resolve: {\"bad host\": 10.0.0.1}\n", []string{`site "prod": resolve:`}},
		{"bad timeout", "sites:\n  - name: prod\n    host: q.example.com\n    limits: {timeout: soon}\n", []string{`site "prod": limits.timeout: "soon"`}},
		{"bad concurrency", "sites:\n  - name: prod\n    host: q.example.com\n    limits: {concurrency: -1}\n", []string{`limits.concurrency: "-1"`}},
		{"bad rps", "sites:\n  - name: prod\n    host: q.example.com\n    limits: {rps: -2}\n", []string{`limits.rps: "-2"`}},
		{"bad ttl", "sites:\n  - name: prod\n    host: q.example.com\n    limits: {topologyTTL: x}\n", []string{`limits.topologyTTL: "x"`}},
		{"negative ttl", "sites:\n  - name: prod\n    host: q.example.com\n    limits: {topologyTTL: -5s}\n", []string{`limits.topologyTTL: "-5s"`, "or 0 to read"}},
		{"bad engine port", "sites:\n  - name: prod\n    host: q.example.com\n    enginePort: 70000\n", []string{`site "prod": enginePort: "70000"`}},
		{"bad cpu threshold", "sites:\n  - name: prod\n    host: q.example.com\n    health: {cpuWarn: 150}\n", []string{`site "prod": health.cpuWarn: "150"`}},
		{"bad memory threshold", "sites:\n  - name: prod\n    host: q.example.com\n    health: {memFreeWarn: -1}\n", []string{`health.memFreeWarn: "-1"`}},
		{"same name", "sites:\n" + good + "\n  - name: PROD\n    host: q.example.com\n", []string{`site "PROD": name: also the name of site 1`}},
		{"two defaults", "sites:\n  - name: a\n    host: a.example.com\n    default: true\n  - name: b\n    host: b.example.com\n    default: true\n", []string{`site "b": default:`}},
		{"missing cert", "sites:\n  - name: prod\n    host: q.example.com\n    cert: /nonexistent/client.pem\n", []string{`site "prod": cert: "/nonexistent/client.pem": cannot read it`}},
		{"key not the cert's", "sites:\n" + strings.Replace(good, "client_key.pem", "client.pem", 1), []string{`site "prod": key:`, "not the private key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := simConfig(t, prod, "")
			cfg.QlikHost = ""
			cfg.Sites = writeFile(t, "sites.yaml", tc.file)
			logs := &syncBuffer{}
			a, err := newApp(t.Context(), cfg, newLogger(cfg, logs), strings.NewReader(""), io.Discard, logs)
			if err == nil {
				a.close()
				t.Fatalf("newApp with a bad sites file: no error")
			}
			line := oneLine(err)
			for _, w := range append([]string{`QLIKBOT_SITES="` + cfg.Sites + `"`, "want "}, tc.want...) {
				if !strings.Contains(line, w) {
					t.Errorf("error %q lacks %q", line, w)
				}
			}
		})
	}
	t.Run("with QLIKBOT_QLIK_HOST", func(t *testing.T) {
		t.Parallel()
		cfg := simConfig(t, prod, "")
		cfg.Sites = "/etc/qlikbot/sites.yaml"
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), "QLIKBOT_SITES") || !strings.Contains(err.Error(), "QLIKBOT_QLIK_HOST is set too") {
			t.Errorf("both set: %v; want a line naming both", err)
		}
	})
}

// TestSitesPolicyWarning: a grant on a site that is not served is
// warned about at start-up.
func TestSitesPolicyWarning(t *testing.T) {
	t.Parallel()
	prod := startSim(t)
	test := startSim(t, qliksim.WithLab(qliksim.Generate(qliksim.GenOptions{Nodes: 1, VirtualProxies: 1, Sessions: 1, Users: 1})))
	cfg := sitesConfig(t, prod, test, "")
	if err := os.WriteFile(cfg.Policy, []byte(strings.Replace(sitesPolicy, `sites: ["test"]`, `sites: ["tset"]`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	a, err := newApp(t.Context(), cfg, newLogger(cfg, logs), strings.NewReader(""), io.Discard, logs)
	if err != nil {
		t.Fatal(err)
	}
	a.close()
	if !strings.Contains(logs.String(), `site \"tset\", which is not one of the sites served (prod, test)`) {
		t.Errorf("no warning about the unknown site tset:\n%s", logs.String())
	}
}

// TestDemoTwoSites: with nothing configured, the demo serves prod (the
// seed lab) and test, and --site picks one.
func TestDemoTwoSites(t *testing.T) {
	t.Parallel()
	res := runBinary(t, cleanEnv(), "/qlik sessions --site test\n/qlik sessions\n/qlik sessions finance\n")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	parts := strings.Split(res.stdout, "[console:oncall] ")
	if len(parts) != 4 {
		t.Fatalf("want 3 replies, got:\n%s", res.stdout)
	}
	onTest, both, finance := parts[1], parts[2], parts[3]
	if !strings.Contains(onTest, "Total sessions: 8") || strings.Contains(onTest, "LAB\\") || strings.Contains(onTest, "Site ") {
		t.Errorf("sessions --site test is not the test site's 8 sessions alone:\n%s", onTest)
	}
	if !strings.Contains(both, "Per site: prod 10, test 8") || !strings.Contains(both, "Site ") || !strings.Contains(both, "LAB\\goran") || !strings.Contains(both, "SIM\\user0001") {
		t.Errorf("sessions shows not both sites:\n%s", both)
	}
	if !strings.Contains(finance, "Total sessions: 2") || !strings.Contains(finance, "LAB\\testuser_1") {
		t.Errorf("sessions finance is not the seed lab's two:\n%s", finance)
	}
	if !strings.Contains(res.stderr, "site prod (the seed lab") || !strings.Contains(res.stderr, "site test (a generated lab") {
		t.Errorf("stderr does not say which sites the demo runs:\n%s", res.stderr)
	}
	// The example: the engines of both sites, the seed lab's
	// Central and dev1 among them, with CPU and memory figures.
	res = runBinary(t, cleanEnv(), "/as admin\n/qlik health\n")
	for _, want := range []string{"Engine health", "Engines answering: 4 of 4", "CPU %", "Memory used / total", "32.0 GB"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the demo's /qlik health lacks %q:\n%s", want, res.stdout)
		}
	}
	for _, node := range []string{"prod  Central", "prod  dev1", "test  node1", "test  node2"} {
		if !strings.Contains(res.stdout, node) {
			t.Errorf("the demo's /qlik health has no row %q:\n%s", node, res.stdout)
		}
	}
}

// TestREADMESitesExample: the README's sites file is one qlikbot reads.
func TestREADMESitesExample(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "### Several sites")
	if !ok {
		t.Fatal("README.md has no Several sites section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	example, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatal("the Several sites section has no YAML example")
	}
	sites, err := loadSites(writeFile(t, "sites.yaml", example), defaultConfig(t))
	if err != nil {
		t.Fatalf("the README's example: %v", err)
	}
	if len(sites) != 2 || sites[0].name != "prod" || !sites[0].def || sites[1].name != "test" || sites[1].qc.QRSPort != 4242 ||
		sites[0].qc.UserID != "sa_api" || sites[0].qc.Resolve["qlik-node2.example.internal"] != "10.0.0.12" || sites[0].qc.Timeout != 10*time.Second {
		t.Errorf("the README's example reads as %+v", sites)
	}
}

// TestTopologyTTLZeroIsNoCache: 0 in QLIKBOT_QLIK_TOPOLOGY_TTL or a site's
// topologyTTL means "not cached" (qlik.Config's negative), not the
// client's 30 s default; other values pass as they are.
func TestTopologyTTLZeroIsNoCache(t *testing.T) {
	t.Parallel()
	cfg := defaultConfig(t)
	for _, tc := range []struct {
		setting time.Duration
		sites   string
		want    time.Duration
	}{
		{0, "", -1},
		{45 * time.Second, "", 45 * time.Second},
		{45 * time.Second, "0s", -1},
		{0, "2m", 2 * time.Minute},
	} {
		cfg.QlikTopologyTTL = tc.setting
		got := baseQlikConfig(cfg).TopologyTTL
		if tc.sites != "" {
			file := writeFile(t, "sites.yaml", "sites:\n  - name: prod\n    host: q.example.com\n    limits: {topologyTTL: "+tc.sites+"}\n")
			sites, err := loadSites(file, cfg)
			if err != nil {
				t.Fatalf("sites file with topologyTTL %s: %v", tc.sites, err)
			}
			got = sites[0].qc.TopologyTTL
		}
		if got != tc.want {
			t.Errorf("setting %v, site %q: qlik TopologyTTL %v, want %v", tc.setting, tc.sites, got, tc.want)
		}
	}
}
