package watch_test

import (
	"math"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/watch"
)

// TestSampleSeedLab samples the seed lab over mutual TLS and checks the
// figures against what the simulator holds.
func TestSampleSeedLab(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	r := newRig(t, boltStore(t, clk), clk)
	addUser(t, r.sim, "win", "kiosk", 5)
	var got watch.Reading
	w := r.watcher(t, "a", watch.WithObserver(func(rd watch.Reading) { got = rd }))
	if !w.Step(t.Context()) {
		t.Fatal("the only watcher did not sample")
	}
	if got.Err != nil || got.Site != "prod" || !got.Time.Equal(t0) {
		t.Fatalf("reading: site %q time %v err %v", got.Site, got.Time, got.Err)
	}
	if len(got.Users) == 0 || got.Users[0].User.String() != `LAB\kiosk` || got.Users[0].Sessions != 5 {
		t.Fatalf("users: %+v; want LAB\\kiosk with 5 first", got.Users)
	}
	s, ok := got.Sample()
	if !ok {
		t.Fatal("no sample")
	}
	want := map[store.SeriesKey]float64{
		{Metric: watch.MetricSessions, Proxy: "finance", Node: "Central"}:   2,
		{Metric: watch.MetricSessions, Proxy: "finance", Node: "dev1"}:      0,
		{Metric: watch.MetricSessions, Proxy: "win", Node: "Central"}:       7,
		{Metric: watch.MetricSessions, Proxy: "(default)", Node: "Central"}: 1,
		{Metric: watch.MetricUsers, Proxy: "win"}:                           3,
		{Metric: watch.MetricUsersAtLimit, Proxy: "win"}:                    1,
		{Metric: watch.MetricUsersAtLimit, Proxy: "finance"}:                0,
		{Metric: watch.MetricUsersAtLimit}:                                  1,
		{Metric: watch.MetricUsers}:                                         6,
		{Metric: watch.MetricEngineUp, Node: "Central"}:                     1,
		{Metric: watch.MetricEngineUp, Node: "dev1"}:                        1,
	}
	for k, v := range want {
		if got, ok := s.Values[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if _, ok := s.Values[store.SeriesKey{Metric: watch.MetricSessions, Proxy: "hdr (X-Qlik-Session-hdr)", Node: "Central"}]; !ok {
		t.Error("the shared prefix hdr is not told apart by its cookie header")
	}
	if n := s.Values[store.SeriesKey{Metric: watch.MetricEngineSess, Node: "Central"}]; n != 10 {
		t.Errorf("engine sessions on Central = %v, want the 10 sessions it holds", n)
	}
	// The sample is in the history.
	h, err := r.st.(store.Store).QueryHistory(t.Context(), store.HistoryQuery{Site: "prod", From: t0.Add(-time.Minute), To: t0.Add(time.Minute),
		Series: store.SeriesMatch{Metrics: []string{watch.MetricUsersAtLimit}, Proxies: []string{"win"}}})
	if err != nil || len(h.Series) != 1 || len(h.Series[0].Points) != 1 || h.Series[0].Points[0].Last != 1 {
		t.Fatalf("history of users at the limit on win: %+v, %v", h, err)
	}
}

// TestSampleNodeDown: a node that does not answer has no session figures
// (NaN), its engine answering 0, and its users' proxies unknown.
func TestSampleNodeDown(t *testing.T) {
	t.Parallel()
	clk := testkit.NewClock(t0)
	r := newRig(t, boltStore(t, clk), clk)
	dev1 := r.sim.Hosts()[1]
	if err := r.sim.SetFault(dev1, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	var got watch.Reading
	w := r.watcher(t, "a", watch.WithObserver(func(rd watch.Reading) { got = rd }))
	w.Step(t.Context())
	s, ok := got.Sample()
	if !ok {
		t.Fatalf("no sample: %v", got.Err)
	}
	for _, k := range []store.SeriesKey{
		{Metric: watch.MetricSessions, Proxy: "finance", Node: "dev1"},
		{Metric: watch.MetricUsers, Proxy: "finance"},
		{Metric: watch.MetricEngineCPU, Node: "dev1"},
	} {
		if v, ok := s.Values[k]; !ok || !math.IsNaN(v) {
			t.Errorf("%s = %v (present %v), want NaN", k, v, ok)
		}
	}
	if v := s.Values[store.SeriesKey{Metric: watch.MetricEngineUp, Node: "dev1"}]; v != 0 {
		t.Errorf("engine_answering of dev1 = %v, want 0", v)
	}
	if v := s.Values[store.SeriesKey{Metric: watch.MetricSessions, Proxy: "finance", Node: "Central"}]; v != 2 {
		t.Errorf("finance on Central = %v, want 2 (the other node still answers)", v)
	}
	var down []string
	for _, n := range got.Nodes {
		if n.Down() {
			down = append(down, n.Name)
		}
	}
	if len(down) != 1 || down[0] != "dev1" {
		t.Errorf("nodes down: %v, want [dev1]", down)
	}
}

func TestProxyLabelRoundTrip(t *testing.T) {
	t.Parallel()
	for label, prefix := range map[string]string{
		"finance": "finance", "(default)": "", "(default) (X-Qlik-Session)": "", "hdr (X-Qlik-Session-hdr-dev)": "hdr",
	} {
		if got := watch.PrefixOf(label); got != prefix {
			t.Errorf("PrefixOf(%q) = %q, want %q", label, got, prefix)
		}
	}
}
