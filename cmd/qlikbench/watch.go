package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/chart"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
	"github.com/qlikbot/qlikbot/watch"
)

// The watcher's figures (issue 14):
//   - watch_sample_10k_ms: one sample of the 10,000-session site (every
//     pair's sessions and every engine's health, the sample stored, the
//     rules settled), topology read as at a 60 s interval, median;
//   - watch_cpu_pct: the qlikbot binary watching that site, its CPU at a
//     60 s interval: the process's CPU time (/proc) over a few samples at
//     a 1 s interval (topology cache 500 ms, so each sample reads it as at
//     60 s), per sample, over 60 s. The window's idle CPU (timers, GC) is
//     counted as sampling's, so the figure is an upper bound;
//   - history_7d_mb: store's BenchmarkHistory7d method (storetest's
//     history site: 100 virtual proxies x 4 nodes every 60 s for 7 days,
//     compacted every 5 minutes), the bolt file's size;
//   - trend_render_ms: /qlik trend --since 7d on that history (100
//     virtual proxies, 5-minute peaks): query, grouping and the PNG,
//     median; trend_draw_ms chart.Lines alone on every 5-minute point
//     (the command merges them to about one per pixel column first).
//
// -short runs a 1,000-session site, two samples of CPU and a day of
// history, and names its keys so.
func watchMeasurement(o qlikbench.Options) qlikbench.Measurement {
	size, days := qlikbench.LargeList, 7
	if o.Short {
		size, days = qlikbench.ShortLargeList, 1
	}
	d := strconv.Itoa(days) + "d"
	return qlikbench.Measurement{
		ID: "watch",
		Name: fmt.Sprintf("the watcher: one sample of %s; CPU at a 60 s interval; %s of history of %d virtual proxies x %d nodes; the trend chart",
			size, d, storetest.HistoryProxies, storetest.HistoryNodes),
		Keys:    []string{"watch_sample_" + qlikbench.SizeKey(size.Sessions) + "_ms", "watch_cpu_pct", "history_" + d + "_mb", "trend_render_ms", "trend_draw_ms"},
		Shipped: true,
		Run: func(ctx context.Context, o qlikbench.Options) ([]qlikbench.Figure, error) {
			return measureWatch(ctx, o, size, days)
		},
	}
}

func measureWatch(ctx context.Context, o qlikbench.Options, size qlikbench.ListSize, days int) ([]qlikbench.Figure, error) {
	site, err := qlikbench.StartListSiteSized(size, o.Shipped)
	if err != nil {
		return nil, err
	}
	defer site.Close()
	dir, err := os.MkdirTemp("", "qlikbench-watch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	sample, err := timeSample(ctx, o, site, filepath.Join(dir, "sample.db"))
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	cpu, err := watchCPU(ctx, o, site, filepath.Join(dir, "cpu"))
	if err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	histPath := filepath.Join(dir, "history.db")
	mb, err := historySize(ctx, histPath, days)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	render, draw, err := timeTrend(ctx, o, histPath, days, site)
	if err != nil {
		return nil, fmt.Errorf("trend: %w", err)
	}
	return []qlikbench.Figure{
		{Key: "watch_sample_" + qlikbench.SizeKey(size.Sessions) + "_ms", Label: "one sample of the site, stored and settled (median)", Value: qlikbench.MS(sample), Unit: "ms"},
		{Key: "watch_cpu_pct", Label: "the qlikbot binary's CPU watching the site at a 60 s interval (at most)", Value: cpu, Unit: "%"},
		{Key: fmt.Sprintf("history_%dd_mb", days), Label: fmt.Sprintf("bolt file of %d days of history, compacted", days), Value: mb, Unit: "MB"},
		{Key: "trend_render_ms", Label: fmt.Sprintf("/qlik trend --since %dd: query, grouping, PNG (median)", days), Value: qlikbench.MS(render), Unit: "ms"},
		{Key: "trend_draw_ms", Label: "chart.Lines alone on every 5-minute point of the 100 series (median)", Value: qlikbench.MS(draw), Unit: "ms"},
	}, nil
}

// noAlerts renders nothing: the sample figure leaves posting out.
func noAlerts(watch.Notice) bot.Reply { return bot.Reply{} }

// timeSample times the watcher's round on the site, the topology read
// each time (as at a 60 s interval, past its 30 s cache), and checks
// every session was counted.
func timeSample(ctx context.Context, o qlikbench.Options, site *qlikbench.ListSite, path string) (time.Duration, error) {
	st, err := store.OpenBolt(path)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	now := time.Now()
	counted := 0
	w, err := watch.New([]watch.Site{{Name: "prod", Qlik: site.Client}}, st, noAlerts,
		watch.WithClock(func() time.Time { return now }),
		watch.WithRules(authz.DefaultAlertRules),
		watch.WithObserver(func(r watch.Reading) {
			counted = 0
			for _, p := range r.Proxies {
				counted += p.Sessions
			}
		}))
	if err != nil {
		return 0, err
	}
	ds := make([]time.Duration, o.RunsOr(5)+1)
	for i := range ds {
		now = now.Add(time.Minute)
		site.Client.InvalidateTopology()
		start := time.Now()
		if !w.Step(ctx) {
			return 0, errors.New("the watcher did not sample")
		}
		ds[i] = time.Since(start)
		if counted != site.Size.Sessions {
			return 0, fmt.Errorf("the sample counted %d sessions, want %d", counted, site.Size.Sessions)
		}
	}
	return qlikbench.Median(ds[1:]), nil // the first makes the connections
}

// watchCPU runs the qlikbot binary watching the site every second and
// returns its CPU per sample scaled to a 60 s interval, in percent.
func watchCPU(ctx context.Context, o qlikbench.Options, site *qlikbench.ListSite, dir string) (float64, error) {
	if runtime.GOOS != "linux" {
		return 0, errors.New("the CPU figure reads /proc: Linux only")
	}
	if o.Qlikbot == "" {
		return 0, errors.New("no qlikbot binary to run")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	e, err := newStartupEnv(site.Sim, dir)
	if err != nil {
		return 0, err
	}
	httpPort, err := freePort()
	if err != nil {
		return 0, err
	}
	adminPort, err := freePort()
	if err != nil {
		return 0, err
	}
	admin := "http://127.0.0.1:" + strconv.Itoa(adminPort)
	cmd := exec.CommandContext(ctx, o.Qlikbot)
	cmd.Env = append(e.env, "QLIKBOT_WATCH_INTERVAL=1s", "QLIKBOT_QLIK_TOPOLOGY_TTL=500ms",
		"QLIKBOT_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort), "QLIKBOT_ADMIN_ADDR=127.0.0.1:"+strconv.Itoa(adminPort))
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe() // open and silent: the console waits
	if err != nil {
		return 0, err
	}
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &logs
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	// Two samples first: the connections and the caches warm.
	warm, window := 2, 5
	if o.Short {
		window = 2
	}
	if _, err := waitSamples(ctx, client, admin, warm); err != nil {
		return 0, fmt.Errorf("%w; qlikbot said:\n%s", err, tail(logs.String(), 2000))
	}
	cpu0, err := processCPU(cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	n0, err := waitSamples(ctx, client, admin, 0)
	if err != nil {
		return 0, err
	}
	n1, err := waitSamples(ctx, client, admin, n0+window)
	if err != nil {
		return 0, err
	}
	cpu1, err := processCPU(cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	perSample := (cpu1 - cpu0) / time.Duration(n1-n0)
	return 100 * perSample.Seconds() / 60, nil
}

// waitSamples reads the samples the process took (qlikbot_watch_samples_total
// with outcome ok) until there are at least n, and returns how many.
func waitSamples(ctx context.Context, client *http.Client, admin string, n int) (int, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		got, err := samplesOK(ctx, client, admin)
		if err == nil && got >= n {
			return got, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d samples within 2 minutes, want %d (%v)", got, n, err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func samplesOK(ctx context.Context, client *http.Client, admin string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "qlikbot_watch_samples_total{") && strings.Contains(line, `outcome="ok"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				return 0, err
			}
			n += int(v)
		}
	}
	return n, sc.Err()
}

// processCPU is the user and system CPU time of process pid so far, from
// /proc/PID/stat (in clock ticks of 10 ms, Linux's USER_HZ).
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count after its ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	const tick = 10 * time.Millisecond
	return time.Duration(utime+stime) * tick, nil
}

// historySize writes the history as store's benchmark does and returns
// the bolt file's size in MB.
func historySize(ctx context.Context, path string, days int) (float64, error) {
	st, err := store.OpenBolt(path)
	if err != nil {
		return 0, err
	}
	n, err := storetest.WriteHistory(ctx, st, "prod", historyStart(days), days)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if want := days * 24 * int(time.Hour/storetest.HistoryInterval); n != want {
		return 0, fmt.Errorf("wrote %d samples, want %d", n, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return float64(fi.Size()) / (1 << 20), nil
}

// historyStart is when the written history starts: it ends a minute ago,
// so that a trend of the last days covers it.
func historyStart(days int) time.Time {
	return time.Now().Add(-time.Duration(days)*24*time.Hour - time.Minute).Truncate(store.AggregateStep)
}

// timeTrend times /qlik trend over the written history, and its chart
// alone, checking the answer: a PNG and every virtual proxy counted.
func timeTrend(ctx context.Context, o qlikbench.Options, path string, days int, site *qlikbench.ListSite) (render, draw time.Duration, err error) {
	st, err := store.OpenBolt(path)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	pol, err := authz.Parse([]byte(sitesPolicy))
	if err != nil {
		return 0, 0, err
	}
	eng, err := commands.New(nil, st, authz.NewStatic(pol), commands.WithSites(commands.Site{Name: "prod", Qlik: site.Client}),
		commands.WithWatch(st, nil))
	if err != nil {
		return 0, 0, err
	}
	text := fmt.Sprintf("trend --since %dd", days)
	renders := make([]time.Duration, o.RunsOr(5))
	var png []byte
	for i := range renders {
		start := time.Now()
		r := eng.Handle(ctx, bot.Request{Platform: bot.Console, User: bot.User{ID: "bench"}, Channel: "console", Text: text})
		renders[i] = time.Since(start)
		if len(r.Files) != 1 || r.Files[0].Type != "image/png" || r.Table == nil ||
			days > 1 && !strings.Contains(strings.Join(r.Summary, " "), "5-minute peaks") {
			return 0, 0, fmt.Errorf("%s: %v %q %v, want a chart (of 5-minute peaks past a day)", text, r.Kind, r.Title, r.Summary)
		}
		png = r.Files[0].Data
	}
	if len(png) == 0 {
		return 0, 0, errors.New("no chart")
	}
	// The chart alone, on the same series.
	h, err := st.QueryHistory(ctx, store.HistoryQuery{Site: "prod", From: historyStart(days), To: time.Now(), Series: store.SeriesMatch{Metrics: []string{watch.MetricSessions}}})
	if err != nil {
		return 0, 0, err
	}
	byProxy := map[string]map[int64]float64{}
	for _, s := range h.Series {
		m := byProxy[s.Key.Proxy]
		if m == nil {
			m = map[int64]float64{}
			byProxy[s.Key.Proxy] = m
		}
		for _, p := range s.Points {
			m[p.Time.UnixNano()] += p.Max
		}
	}
	if len(byProxy) != storetest.HistoryProxies {
		return 0, 0, fmt.Errorf("the history holds %d virtual proxies, want %d", len(byProxy), storetest.HistoryProxies)
	}
	var series []chart.Series
	for name, m := range byProxy {
		s := chart.Series{Name: name}
		for t, v := range m {
			s.Points = append(s.Points, chart.Point{T: time.Unix(0, t), V: v})
		}
		series = append(series, s)
	}
	draws := make([]time.Duration, o.RunsOr(5))
	for i := range draws {
		start := time.Now()
		if _, err := chart.Lines("Sessions per virtual proxy", series, commands.TrendWidth, commands.TrendHeight, chart.WithTop(8)); err != nil {
			return 0, 0, err
		}
		draws[i] = time.Since(start)
	}
	return qlikbench.Median(renders), qlikbench.Median(draws), nil
}
