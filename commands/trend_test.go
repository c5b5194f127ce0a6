package commands

import (
	"bytes"
	"image"
	"image/png"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// trendEnv samples the seed lab a few times, adding sessions on win as it
// goes, so the history has a shape.
func trendEnv(t *testing.T) *watchEnv {
	t.Helper()
	we := newWatchEnv(t)
	for i := range 4 {
		we.addUser(t, "win", "grow"+string(rune('a'+i)), 1)
		we.sample(t)
	}
	return we
}

func decodePNG(t *testing.T, f bot.File) image.Image {
	t.Helper()
	if f.Type != "image/png" || !strings.HasSuffix(f.Name, ".png") {
		t.Fatalf("file %s of type %s, want a PNG", f.Name, f.Type)
	}
	img, err := png.Decode(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatalf("the chart is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != TrendWidth || b.Dy() != TrendHeight {
		t.Fatalf("chart of %dx%d, want %dx%d", b.Dx(), b.Dy(), TrendWidth, TrendHeight)
	}
	return img
}

// TestTrend draws the history the watcher kept: a PNG of the right size,
// the same bytes for the same history, the figures as a table.
func TestTrend(t *testing.T) {
	t.Parallel()
	we := trendEnv(t)
	r := we.ask(t, "UONCALL", "trend --since 1h")
	if r.Kind != bot.Info || len(r.Files) != 1 || r.Visibility != bot.InChannel {
		t.Fatalf("trend: %v %s files %d", r.Kind, joined(r), len(r.Files))
	}
	decodePNG(t, r.Files[0])
	if r.Title != "Sessions per virtual proxy, last 1 h" || r.Summary[0] != "3 series from 2026-11-22 09:01 to 09:04 UTC; 4 samples." {
		t.Errorf("title %q, summary %q", r.Title, r.Summary)
	}
	names := column(t, r, "Virtual proxy")
	if names[0] != "win" || !slices.Equal(column(t, r, "Latest")[:1], []string{"6"}) || column(t, r, "Peak")[0] != "6" {
		t.Errorf("figures: %v / %v / %v; want win first, latest and peak 6", names, column(t, r, "Latest"), column(t, r, "Peak"))
	}
	again := we.ask(t, "UONCALL", "trend --since 1h")
	if !bytes.Equal(again.Files[0].Data, r.Files[0].Data) {
		t.Error("the same history drew a different image")
	}
	we.addUser(t, "finance", "late", 3)
	we.sample(t)
	if later := we.ask(t, "UONCALL", "trend --since 1h"); bytes.Equal(later.Files[0].Data, r.Files[0].Data) {
		t.Error("a new sample drew the same image")
	}

	byNode := we.ask(t, "UONCALL", "trend --by node --since 1h")
	if nodes := column(t, byNode, "Node"); !slices.Equal(nodes, []string{"Central"}) || byNode.Title != "Sessions per node, last 1 h" ||
		!strings.Contains(joined(byNode), "1 node without sessions in this range left out") {
		t.Errorf("by node: %q %v", byNode.Title, nodes)
	}
	fin := we.ask(t, "UONCALL", "trend finance --since 1h")
	if names := column(t, fin, "Virtual proxy"); !slices.Equal(names, []string{"finance"}) {
		t.Errorf("trend finance: %v", names)
	}
	// A lister of finance alone sees finance alone, and is told.
	own := we.ask(t, "UFIN", "trend --since 1h")
	if names := column(t, own, "Virtual proxy"); !slices.Equal(names, []string{"finance"}) || !strings.Contains(joined(own), "left out: you may not list them") {
		t.Errorf("trend for UFIN: %v %s", names, joined(own))
	}
	if r := we.ask(t, "UFIN", "trend win"); r.Kind != bot.Denied {
		t.Errorf("trend win for UFIN: %v %s", r.Kind, joined(r))
	}
}

// TestTrendAggregates: a 7-day chart reads the 5-minute aggregates.
func TestTrendAggregates(t *testing.T) {
	t.Parallel()
	we := trendEnv(t)
	we.clk.Advance(2 * 24 * time.Hour) // the raw samples are past their day
	we.sample(t)
	r := we.ask(t, "UONCALL", "trend --since 7d")
	decodePNG(t, r.Files[0])
	if !strings.Contains(r.Summary[0], "5-minute peaks") || r.Title != "Sessions per virtual proxy, last 7 days" {
		t.Errorf("7 days: %q %q", r.Title, r.Summary)
	}
}

func TestTrendUsage(t *testing.T) {
	t.Parallel()
	we := newWatchEnv(t)
	for text, want := range map[string]string{
		"trend --by user":          `--by "user": proxy or node`,
		"trend --since tomorrow":   "--since",
		"trend --since 2099-01-01": "give a time before now",
		"trend --site nowhere":     `unknown site "nowhere"`,
	} {
		if r := we.ask(t, "UONCALL", text); r.Kind != bot.Usage || !strings.Contains(joined(r), want) {
			t.Errorf("%s: %v %s; want usage with %q", text, r.Kind, joined(r), want)
		}
	}
	if r := we.ask(t, "UONCALL", "trend"); r.Kind != bot.Info || len(r.Files) != 0 || !strings.Contains(joined(r), "No samples") {
		t.Errorf("trend without history: %v %s", r.Kind, joined(r))
	}
}

// TestTrendSeriesAdd: series are summed by time, a time one series lacks
// (a node that did not answer) merged in order.
func TestTrendSeriesAdd(t *testing.T) {
	t.Parallel()
	at := func(m int) time.Time { return time.Date(2026, 11, 22, 9, m, 0, 0, time.UTC) }
	pts := func(ms ...int) []store.Point {
		var out []store.Point
		for _, m := range ms {
			out = append(out, store.Point{Time: at(m), Last: float64(m), Max: float64(10 * m)})
		}
		return out
	}
	g := &trendSeries{}
	g.add(pts(1, 2, 4), false)
	g.add(pts(1, 2, 4), false) // the same times: summed in place
	g.add(pts(0, 2, 3, 5), false)
	var got []string
	for i := range g.ts {
		got = append(got, time.Unix(0, g.ts[i]).UTC().Format("04")+"="+strconv.FormatFloat(g.vs[i], 'f', -1, 64))
	}
	if want := []string{"00=0", "01=2", "02=6", "03=3", "04=8", "05=5"}; !slices.Equal(got, want) {
		t.Errorf("summed %v, want %v", got, want)
	}
	p := &trendSeries{}
	p.add(pts(1, 2), true)
	if !slices.Equal(p.vs, []float64{10, 20}) {
		t.Errorf("peaks: %v, want the points' Max", p.vs)
	}
}
