package commands

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/chart"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/watch"
)

// /qlik trend: the watcher's history of sessions as a PNG line chart,
// per virtual proxy (or per node), with the figures of the busiest as a
// table, so that a platform that cannot show the image still shows them.
// Only the virtual proxies (and, for a grant limited to hosts, the nodes)
// the caller may list are drawn.

// Trend chart size and contents.
const (
	TrendWidth   = 1200
	TrendHeight  = 600
	trendTop     = 8  // series named in the legend
	trendRows    = 10 // rows of the figures table
	defaultSince = "24h"
)

// trendSeries is one line of the chart, the sum of the stored series it
// groups (a virtual proxy's nodes, or a node's virtual proxies): its
// times (unix nanoseconds, ascending) and values.
type trendSeries struct {
	name string
	ts   []int64
	vs   []float64
}

// add sums the points of one stored series into g. Series of one history
// share their times (the samples, or the 5-minute buckets), so this is
// mostly a walk side by side; a time only one of them has is merged in.
func (g *trendSeries) add(pts []store.Point, peaks bool) {
	value := func(p store.Point) float64 {
		if peaks {
			return p.Max // a 5-minute bucket: its peak
		}
		return p.Last
	}
	i := 0
	same := len(pts) == len(g.ts)
	for ; same && i < len(pts); i++ {
		if pts[i].Time.UnixNano() != g.ts[i] {
			same = false
			break
		}
		g.vs[i] += value(pts[i])
	}
	if same {
		return
	}
	// Merge what is left (from i on) with the group's times.
	ts := make([]int64, 0, len(g.ts)+len(pts)-i)
	vs := make([]float64, 0, cap(ts))
	ts, vs = append(ts, g.ts[:i]...), append(vs, g.vs[:i]...)
	a, b := i, i
	for a < len(g.ts) || b < len(pts) {
		switch {
		case b == len(pts) || a < len(g.ts) && g.ts[a] < pts[b].Time.UnixNano():
			ts, vs = append(ts, g.ts[a]), append(vs, g.vs[a])
			a++
		case a == len(g.ts) || pts[b].Time.UnixNano() < g.ts[a]:
			ts, vs = append(ts, pts[b].Time.UnixNano()), append(vs, value(pts[b]))
			b++
		default:
			ts, vs = append(ts, g.ts[a]), append(vs, g.vs[a]+value(pts[b]))
			a, b = a+1, b+1
		}
	}
	g.ts, g.vs = ts, vs
}

func (e *Engine) trend(ctx context.Context, c *call, cmd Command) bot.Reply {
	sites, r := e.chooseSites(c, cmd, false)
	if r != nil {
		return *r
	}
	s := sites[0]
	c.site = s.name
	now := e.now()
	since := cmd.Since
	if since == "" {
		since = defaultSince
	}
	from, err := sinceTime(since, now)
	if err != nil || !from.Before(now) {
		return e.usage(&UsageError{Verb: VerbTrend, Problem: fmt.Sprintf("--since %q: give a time before now (30m, 24h, 7d, a date)", clip(since))})
	}
	h, err := e.watch.st.QueryHistory(ctx, store.HistoryQuery{Site: s.name, From: from, To: now.Add(time.Second),
		Series: store.SeriesMatch{Metrics: []string{watch.MetricSessions}}})
	if err != nil {
		return e.storeDown(c, "read the history", err)
	}
	may := e.trendFilter(ctx, c, s)
	byNode := cmd.By == "node"
	groups := map[string]*trendSeries{}
	var order []string
	seenProxy := map[string]bool{}
	allowed, refused := 0, 0
	for _, sh := range h.Series {
		prefix := watch.PrefixOf(sh.Key.Proxy)
		if len(cmd.Prefixes) > 0 && !containsFold(cmd.Prefixes, prefix) {
			continue
		}
		seenProxy[strings.ToLower(prefix)] = true
		if !may(prefix, sh.Key.Node) {
			refused++
			continue
		}
		allowed++
		name := sh.Key.Proxy
		if byNode {
			name = sh.Key.Node
		}
		g := groups[name]
		if g == nil {
			g = &trendSeries{name: name}
			groups[name] = g
			order = append(order, name)
		}
		g.add(sh.Points, h.Step > 0)
	}
	what := "virtual proxy"
	if byNode {
		what = "node"
	}
	target := strings.Join(cmd.Prefixes, " ")
	var warnings []string
	for _, p := range cmd.Prefixes {
		if !seenProxy[strings.ToLower(p)] {
			warnings = append(warnings, "No history of virtual proxy "+prefixPhrase(p)+" in this range.")
		}
	}
	if allowed == 0 && refused > 0 {
		d := c.policy.Decide(c.subjects, authz.List, authz.Scope{VirtualProxy: firstOr(cmd.Prefixes, "*"), Channel: c.req.Channel, Site: s.name})
		c.note("denied", d.Reason, target)
		return e.denied(c, d)
	}
	c.note("allowed", fmt.Sprintf("trend of %d series on %s", allowed, s.name), target)
	title := fmt.Sprintf("Sessions per %s%s, last %s", what, e.siteWord(s.name), durationWords(now.Sub(from)))
	if cmd.Since != "" && !sinceRE.MatchString(strings.ToLower(cmd.Since)) {
		title = fmt.Sprintf("Sessions per %s%s since %s", what, e.siteWord(s.name), from.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if len(order) == 0 {
		return bot.Reply{Kind: bot.Info, Title: title, Warnings: warnings, Visibility: bot.Ephemeral, Summary: []string{
			"No samples in this range yet: the watcher samples every site each interval (QLIKBOT_WATCH_INTERVAL) and keeps 7 days."}}
	}
	series := make([]chart.Series, 0, len(order))
	idle := 0
	for _, name := range order {
		cs := groups[name].chart()
		if cs.Peak() > 0 {
			series = append(series, cs)
		} else {
			idle++
		}
	}
	if len(series) == 0 {
		// Nothing but zeros: draw them, a flat line says so.
		for _, name := range order {
			series = append(series, groups[name].chart())
		}
		idle = 0
	}
	ylabel := "Sessions"
	if h.Step > 0 {
		ylabel = "Sessions (5-minute peaks)"
	}
	png, err := chart.Lines(title, series, TrendWidth, TrendHeight, chart.WithYLabel(ylabel), chart.WithTop(trendTop))
	if errors.Is(err, chart.ErrNoData) {
		return bot.Reply{Kind: bot.Info, Title: title, Warnings: warnings, Visibility: bot.Ephemeral, Summary: []string{"No figures in this range yet."}}
	}
	if err != nil {
		return e.internal(c, "draw the chart", err)
	}
	reply := bot.Reply{Kind: bot.Info, Title: title, Warnings: warnings, Visibility: listVisibility(c),
		Files: []bot.File{{Name: "trend-" + s.name + ".png", Type: "image/png", Data: png}}}
	reply.Summary = []string{trendSpan(series, h.Step)}
	if idle > 0 {
		reply.Summary = append(reply.Summary, fmt.Sprintf("%s without sessions in this range left out.", plural(idle, what)))
	}
	if refused > 0 {
		reply.Summary = append(reply.Summary, fmt.Sprintf("%d series left out: you may not list them.", refused))
	}
	reply.Table = trendTable(series, what)
	return reply
}

// trendFilter answers whether c may see the sessions of a virtual proxy
// on a node of site s: the list right on the proxy and, for a grant
// limited to hosts, on the node's host (from the site's topology).
func (e *Engine) trendFilter(ctx context.Context, c *call, s *site) func(prefix, node string) bool {
	decided := map[string]authz.Decision{}
	hosts := map[string]string{} // node name -> host
	var topoRead bool
	return func(prefix, node string) bool {
		d, ok := decided[prefix]
		if !ok {
			d = c.policy.Decide(c.subjects, authz.List, authz.Scope{VirtualProxy: prefix, Channel: c.req.Channel, Site: s.name})
			decided[prefix] = d
		}
		if !d.Allowed || !d.HostRestricted {
			return d.Allowed
		}
		if !topoRead {
			topoRead = true
			if topo, err := s.q.Topology(ctx); err == nil {
				for _, ps := range topo.ProxyServices {
					hosts[ps.Node.Name] = ps.Node.HostName
				}
			}
		}
		host, ok := hosts[node]
		return ok && c.policy.Decide(c.subjects, authz.List, authz.Scope{VirtualProxy: prefix, Host: host, Channel: c.req.Channel, Site: s.name}).Allowed
	}
}

// maxChartPoints is about one point per pixel column of the plot: past
// it, neighbouring points are merged into their peak, which the chart
// would not tell apart anyway (7 days of 5-minute peaks are 2,016).
const maxChartPoints = TrendWidth * 2 / 3

func (g *trendSeries) chart() chart.Series {
	every := (len(g.ts) + maxChartPoints - 1) / maxChartPoints
	s := chart.Series{Name: g.name, Points: make([]chart.Point, 0, len(g.ts)/max(every, 1)+1)}
	for i := 0; i < len(g.ts); i += max(every, 1) {
		p := chart.Point{T: time.Unix(0, g.ts[i]).UTC(), V: g.vs[i]}
		for j := i + 1; j < min(i+every, len(g.ts)); j++ {
			p.V = max(p.V, g.vs[j])
		}
		s.Points = append(s.Points, p)
	}
	return s
}

// trendSpan says what the chart covers.
func trendSpan(series []chart.Series, step time.Duration) string {
	var first, last time.Time
	times := map[int64]bool{}
	for _, s := range series {
		for _, p := range s.Points {
			times[p.T.UnixNano()] = true
			if first.IsZero() || p.T.Before(first) {
				first = p.T
			}
			if p.T.After(last) {
				last = p.T
			}
		}
	}
	what := plural(len(times), "sample")
	if step > 0 {
		what = plural(len(times), "5-minute peak")
	}
	return fmt.Sprintf("%d series from %s to %s UTC; %s.", len(series), first.UTC().Format("2006-01-02 15:04"), last.UTC().Format("15:04"), what)
}

// trendTable is the figures of the busiest series: the latest value, the
// peak and the average; the others summed in a last row.
func trendTable(series []chart.Series, what string) *bot.Table {
	type fig struct {
		name             string
		last, peak, mean float64
	}
	figs := make([]fig, 0, len(series))
	for _, s := range series {
		f := fig{name: s.Name, peak: math.Inf(-1)}
		sum := 0.0
		for _, p := range s.Points {
			f.last = p.V
			f.peak = max(f.peak, p.V)
			sum += p.V
		}
		if len(s.Points) > 0 {
			f.mean = sum / float64(len(s.Points))
		}
		figs = append(figs, f)
	}
	slices.SortStableFunc(figs, func(a, b fig) int {
		if c := cmp.Compare(b.peak, a.peak); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	name := strings.ToUpper(what[:1]) + what[1:]
	t := &bot.Table{Columns: []string{name, "Latest", "Peak", "Average"}}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for i, f := range figs {
		if i == trendRows && len(figs) > trendRows+1 {
			var last float64
			for _, o := range figs[i:] {
				last += o.last
			}
			t.Rows = append(t.Rows, []string{fmt.Sprintf("%d others", len(figs)-i), num(last), "", ""})
			break
		}
		t.Rows = append(t.Rows, []string{f.name, num(f.last), num(f.peak), strconv.FormatFloat(f.mean, 'f', 1, 64)})
	}
	t.TotalRows = len(t.Rows)
	return t
}

func firstOr(xs []string, def string) string {
	if len(xs) == 0 {
		return def
	}
	return xs[0]
}
