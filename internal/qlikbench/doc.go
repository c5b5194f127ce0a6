// Package qlikbench measures the Qlik client against in-process qliksim
// simulators. cmd/qlikbench prints its figures and package qlik's Benchmark
// functions use the same sites, so both measure the same thing. It lives
// under internal/ because it imports the simulator: no production package
// may.
//
// A Measurement is one named scenario that yields figures; Measurements
// lists the Qlik ones, and cmd/qlikbench adds its own. This package knows
// nothing of chat.
package qlikbench

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// Figure is one measured number.
type Figure struct {
	Key   string  // machine key, e.g. "list_cold_ms"
	Label string  // for the human table
	Value float64 // in Unit
	Unit  string
}

// Measurement is one scenario. Run starts what it needs, measures, cleans
// up and returns its figures, exactly the ones named in Keys.
type Measurement struct {
	ID   string   // short name for -only, e.g. "list"
	Name string   // heading of the human table
	Keys []string // the figure keys Run returns, in order
	// Shipped: the scenario measures at qlikbot's shipped defaults or
	// runs the qlikbot binary, so Options.Shipped (and Options.Qlikbot)
	// must be filled first.
	Shipped bool
	Run     func(ctx context.Context, o Options) ([]Figure, error)
}

// Options tune a run.
type Options struct {
	Runs  int  // repetitions per figure where a median is taken; 0: each measurement's default (5 for most)
	Short bool // smaller sites and fewer repetitions, for CI smoke runs
	// Shipped are the Qlik limits a new user of qlikbot gets; the zero
	// value means package qlik's defaults.
	Shipped Shipped
	// Qlikbot is the path of a built qlikbot binary, for scenarios that
	// run it.
	Qlikbot string
}

// Shipped is what qlikbot configures the Qlik client with when the user
// sets nothing: QLIKBOT_QLIK_CONCURRENCY and QLIKBOT_QLIK_RPS.
type Shipped struct {
	Concurrency       int
	RequestsPerSecond float64
	Source            string // where the figures were read, for the table
}

// orDefault fills what is unset from package qlik's defaults.
func (s Shipped) orDefault() Shipped {
	if s.Concurrency <= 0 {
		s.Concurrency = qlik.DefaultConcurrency
		s.Source = "package qlik's defaults"
	}
	if s.RequestsPerSecond <= 0 {
		s.RequestsPerSecond = qlik.DefaultRequestsPerSecond
	}
	return s
}

func (s Shipped) String() string {
	s = s.orDefault()
	return fmt.Sprintf("%d calls in flight per node at most, %g writes/s (%s)", s.Concurrency, s.RequestsPerSecond, s.Source)
}

// RunsOr returns o.Runs, or def when Runs is unset.
func (o Options) RunsOr(def int) int {
	if o.Runs < 1 {
		return def
	}
	return o.Runs
}

func (o Options) runs() int { return o.RunsOr(5) }

// Measurements returns the Qlik client's measurements in print order,
// sized for o (Short shrinks the sites). Their keys name the sizes run
// (list_10k_ms, or list_1k_ms with Short).
func Measurements(o Options) []Measurement {
	std, large := StandardList, LargeList
	if o.Short {
		std, large = ShortList, ShortLargeList
	}
	lk := "list_" + SizeKey(large.Sessions)
	hk := fmt.Sprintf("health_%dnodes_ms", HealthNodes)
	return []Measurement{
		{ID: "list", Name: "list " + std.String() + ", qlikbot's shipped limits", Run: measureList, Shipped: true,
			Keys: []string{"list_serial_ms", "list_cold_ms", "list_warm_ms", "list_speedup_cold", "list_speedup_warm"}},
		{ID: "list10k", Name: "list a large site: " + large.String() + ", qlikbot's shipped limits", Run: measureLargeList, Shipped: true,
			Keys: []string{lk + "_serial_ms", lk + "_ms", lk + "_speedup", "sim_503", "sim_peak_in_flight_per_node", "sim_peak_queued_per_node"}},
		{ID: "health", Name: fmt.Sprintf("engine health of %d nodes, %s per call, engine list cached", HealthNodes, HealthLatency), Run: measureHealth, Shipped: true,
			Keys: []string{hk}},
	}
}

// SizeKey names a count in figure keys: 10000 is "10k", 1000 "1k", 100
// "100".
func SizeKey(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// ClientConfig returns a qlik.Config pointed at sim (its certificates and
// host names) with the shipped limits, logging nowhere.
func ClientConfig(sim *qliksim.Server, shipped Shipped) qlik.Config {
	shipped = shipped.orDefault()
	return qlik.Config{
		QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(),
		Resolve:           sim.Resolve(),
		Concurrency:       shipped.Concurrency,
		RequestsPerSecond: shipped.RequestsPerSecond,
		Logger:            slog.New(slog.DiscardHandler),
	}
}

// PeakPerSecond is the most requests the simulator logged in any window
// [t, t+1s).
func PeakPerSecond(reqs []qliksim.Request) int {
	times := make([]time.Time, len(reqs))
	for i, r := range reqs {
		times[i] = r.Time
	}
	slices.SortFunc(times, time.Time.Compare)
	peak, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= time.Second {
			lo++
		}
		peak = max(peak, hi-lo+1)
	}
	return peak
}

// Median of ds (ds is sorted in place); 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// MS is d in milliseconds, to the microsecond.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
