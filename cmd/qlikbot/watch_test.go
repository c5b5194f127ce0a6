package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
	"github.com/qlikbot/qlikbot/watch"
)

var attachedPNG = regexp.MustCompile(`attached (trend-prod\.png): (\S+) \((\d+) bytes\)`)

// TestBinaryWatchDemo is the check on the real program: the demo
// with QLIKBOT_WATCH_INTERVAL=1s shows the kiosk user's session-limit
// alert with its Kick button, /qlik alerts lists it, /qlik trend prints
// the path of a PNG that decodes, and the Kick goes through the approval
// and the alert resolves.
func TestBinaryWatchDemo(t *testing.T) {
	t.Parallel()
	p := startBot(t, cleanEnv("QLIKBOT_WATCH_INTERVAL=1s"), t.TempDir())
	const alert = "[console:qlikbot] Alert: 1 user at or above 5 sessions on site prod"
	waitFor(t, 30*time.Second, "the session-limit alert on the console", func() bool { return strings.Contains(p.stdout.String(), alert) })
	waitFor(t, 10*time.Second, "the alert's buttons", func() bool {
		return strings.Contains(p.stdout.String(), `[1] Silence 1 h  [2] Silence until resolved  [3] Kick LAB\kiosk_display`)
	})
	writeLine(t, p.stdin, "/qlik alerts")
	writeLine(t, p.stdin, "/qlik trend --since 1h")
	var m []string
	waitFor(t, 30*time.Second, "the trend chart's file", func() bool {
		m = attachedPNG.FindStringSubmatch(p.stdout.String())
		return m != nil
	})
	out := p.stdout.String()
	list := out[strings.Index(out, "[console:oncall] Alerts"):]
	for _, want := range []string{"session-limit  prod  firing", `LAB\kiosk_display`, `Kick LAB\kiosk_display`} {
		if !strings.Contains(list, want) {
			t.Errorf("/qlik alerts lacks %q:\n%s", want, list)
		}
	}
	// The console removes its files at exit: read it while it runs.
	data, err := os.ReadFile(m[2])
	if err != nil {
		t.Fatalf("the chart file %s: %v", m[2], err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the chart %s is not a PNG: %v", m[2], err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 600 || m[3] != strconv.Itoa(len(data)) {
		t.Errorf("chart %dx%d of %d bytes (printed %s)", b.Dx(), b.Dy(), len(data), m[3])
	}
	if !strings.Contains(out, "kiosk          5       5     5.0") {
		t.Errorf("the trend's figures lack kiosk's 5 sessions:\n%s", out)
	}

	// Kick from the alert: the admin asks, the deputy approves.
	for _, line := range []string{"/as admin", "/qlik alerts"} {
		writeLine(t, p.stdin, line)
	}
	waitFor(t, 10*time.Second, "the admin's alert list", func() bool { return strings.Contains(p.stdout.String(), "[console:admin] Alerts") })
	out = p.stdout.String()
	kick := regexp.MustCompile(`\[(\d+)\] Kick LAB\\kiosk_display`).FindAllStringSubmatch(out[strings.LastIndex(out, "[console:admin] Alerts"):], -1)
	if len(kick) != 1 {
		t.Fatalf("no Kick button in the admin's alert list:\n%s", out)
	}
	for _, line := range []string{"/click " + kick[0][1], "y"} {
		writeLine(t, p.stdin, line)
	}
	waitFor(t, 10*time.Second, "the approval request", func() bool {
		return strings.Contains(p.stdout.String(), `[console:admin] Approval needed: log LAB\kiosk_display out`)
	})
	for _, line := range []string{"/as deputy", "/click 1", "y"} {
		writeLine(t, p.stdin, line)
	}
	waitFor(t, 30*time.Second, "the alert resolved", func() bool {
		return strings.Contains(p.stdout.String(), "[console:qlikbot] Resolved: session-limit on site prod")
	})
	if n := strings.Count(p.stdout.String(), alert); n != 1 {
		t.Errorf("the alert was posted %d times, want once:\n%s", n, p.stdout.String())
	}
	p.quit(t)
}

// TestBinaryAlertsFileBadRule: a mistake in QLIKBOT_ALERTS stops qlikbot
// with one line naming the file, the rule and the field.
func TestBinaryAlertsFileBadRule(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "alerts.yaml")
	if err := os.WriteFile(path, []byte("alerts:\n  rules:\n    - name: limit\n      type: user-sessions\n      sessions: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runBinary(t, cleanEnv("QLIKBOT_ALERTS="+path), "/qlik whoami\n")
	lines := nonLogLines(res.stderr)
	if res.code != 2 || res.stdout != "" || len(lines) != 1 {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"QLIKBOT_ALERTS=\"" + path + "\"", `rule "limit" (line 3)`, "sessions: 0"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the error lacks %q: %s", want, lines[0])
		}
	}
	if n := strings.Count(lines[0], "; want "); n != 1 {
		t.Errorf("the error says what it wants %d times, want once: %s", n, lines[0])
	}
}

// watchAlerts posts the session-limit alert to one Slack channel only.
const watchAlerts = `alerts:
  rules:
    - name: session-limit
      type: user-sessions
      post: {slack: [C0OPS], subscribers: false}
`

// TestWatchTwoProcessesOneRedis: two real qlikbot processes share one
// real redis-server and watch one site at a 1 s interval, posting alerts
// to a fake Slack. One samples; when it is killed (SIGKILL, its lease
// never released) the other takes over, the history keeps growing, and
// the alert is posted once: the survivor updates the message the dead one
// posted.
func TestWatchTwoProcessesOneRedis(t *testing.T) {
	t.Parallel()
	redisAddr := storetest.StartRedis(t)
	sim := startSim(t)
	for range 5 {
		if _, err := sim.AddSession(sim.Hosts()[0], "win", qliksim.Session{UserDirectory: "LAB", UserID: "kiosk"}); err != nil {
			t.Fatal(err)
		}
	}
	slack := newFakeSlack(t)
	alerts := filepath.Join(t.TempDir(), "alerts.yaml")
	if err := os.WriteFile(alerts, []byte(watchAlerts), 0o600); err != nil {
		t.Fatal(err)
	}
	env, dir := binaryEnv(t, sim, "QLIKBOT_STORE=redis://"+redisAddr+"/0", "QLIKBOT_STATE_KEY="+testStateKey,
		"QLIKBOT_WATCH_INTERVAL=1s", "QLIKBOT_ALERTS="+alerts,
		"QLIKBOT_SLACK_MODE=http", "QLIKBOT_SLACK_SIGNING_SECRET=test-signing-secret", "QLIKBOT_SLACK_BOT_TOKEN=xoxb-test-token",
		"QLIKBOT_SLACK_API_URL="+slack.srv.URL+"/api/", "QLIKBOT_SLACK_EMAIL_CACHE=0",
		"QLIKBOT_HTTP_ADDR=127.0.0.1:0", "QLIKBOT_ADMIN_ADDR=off")
	st, err := store.NewRedis(&redis.Options{Addr: redisAddr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	points := func() int {
		h, err := st.QueryHistory(t.Context(), store.HistoryQuery{Site: "default", From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour),
			Series: store.SeriesMatch{Metrics: []string{watch.MetricUsersAtLimit}, Proxies: []string{""}}})
		if err != nil || len(h.Series) == 0 {
			return 0
		}
		return len(h.Series[0].Points)
	}
	const sampling = "watcher: sampling on this replica"

	a := startBot(t, env, dir)
	waitFor(t, 30*time.Second, "process A sampling", func() bool { return strings.Contains(a.stderr.String(), sampling) })
	b := startBot(t, env, dir)
	waitFor(t, 30*time.Second, "the alert posted to C0OPS", func() bool { return len(slack.posts("/api/chat.postMessage")) > 0 })
	waitFor(t, 30*time.Second, "three samples", func() bool { return points() >= 3 })
	if strings.Contains(b.stderr.String(), sampling) {
		t.Fatalf("process B samples while A holds the lease:\n%s", b.stderr.String())
	}
	post := slack.posts("/api/chat.postMessage")[0]
	if !strings.Contains(post, "C0OPS") || !strings.Contains(post, "kiosk") {
		t.Errorf("the alert post: %s", post)
	}

	a.kill(t)
	before := points()
	killed := time.Now()
	waitFor(t, 30*time.Second, "process B taking over", func() bool { return strings.Contains(b.stderr.String(), sampling) })
	if took := time.Since(killed); took > 5*time.Second {
		t.Errorf("B took over %v after A was killed; want within about two intervals", took)
	}
	waitFor(t, 30*time.Second, "B's samples in the history", func() bool { return points() >= before+3 })

	// Another user at the limit: B updates the message A posted.
	for range 5 {
		if _, err := sim.AddSession(sim.Hosts()[0], "finance", qliksim.Session{UserDirectory: "LAB", UserID: "clerk"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 30*time.Second, "the alert updated in place", func() bool {
		for _, u := range slack.posts("/api/chat.update") {
			if strings.Contains(u, "clerk") && strings.Contains(u, "1700000000.000100") {
				return true
			}
		}
		return false
	})
	if n := len(slack.posts("/api/chat.postMessage")); n != 1 {
		t.Errorf("the alert was posted %d times across the takeover, want once:\n%s", n, slack.all())
	}
}

// TestWatchGauges: the sampling replica's /metrics shows the sessions per
// site, virtual proxy and node, the users at the limit and the engine
// figures of its last sample, without anyone asking.
func TestWatchGauges(t *testing.T) {
	t.Parallel()
	sim := startSim(t, qliksim.WithLab(qliksim.SeedLab()))
	for range 5 {
		if _, err := sim.AddSession(sim.Hosts()[0], "win", qliksim.Session{UserDirectory: "LAB", UserID: "kiosk"}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := simConfig(t, sim, "")
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.WatchInterval = time.Second
	a := startApp(t, cfg, nil)
	base := "http://" + a.admin.Addr().String()
	var m scrapeResult
	waitFor(t, 30*time.Second, "a sample in the gauges", func() bool {
		m = scrape(t, base)
		return m.sum("qlikbot_watch_samples_total", map[string]string{"site": "default", "outcome": "ok"}) >= 1
	})
	for _, g := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"qlikbot_sessions", map[string]string{"site": "default", "virtual_proxy": "win", "node": "Central"}, 7},
		{"qlikbot_sessions", map[string]string{"site": "default", "virtual_proxy": "finance", "node": "dev1"}, 0},
		{"qlikbot_sessions", map[string]string{"site": "default", "virtual_proxy": "(default)", "node": "Central"}, 1},
		{"qlikbot_users_at_limit", map[string]string{"site": "default"}, 1},
		{"qlikbot_users", map[string]string{"site": "default"}, 6},
		{"qlikbot_sessions_seen", map[string]string{"site": "default", "virtual_proxy": "win"}, 7},
		{"qlikbot_engine_up", map[string]string{"site": "default", "node": sim.Hosts()[1]}, 1},
	} {
		if got := m.sum(g.name, g.labels); got != g.want {
			t.Errorf("%s%v = %v, want %v", g.name, g.labels, got, g.want)
		}
	}
	if _, ok := m["qlikbot_sessions"]; !ok {
		t.Fatal("no qlikbot_sessions family")
	}
}
