// Package qlikbench measures the Qlik client against in-process qliksim
// simulators. cmd/qlikbench prints its figures and package qlik's Benchmark
// functions use the same sites, so both measure the same thing.
//
// A Measurement is one named scenario that yields figures; Measurements
// lists the Qlik ones, and other packages (cmd/qlikbench/botbench) append
// their own. This package knows nothing of chat.
package qlikbench

import (
	"context"
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
	Run  func(ctx context.Context, o Options) ([]Figure, error)
}

// Options tune a run.
type Options struct {
	Runs  int  // repetitions per figure where a median is taken; default 5
	Short bool // smaller sites and fewer repetitions, for CI smoke runs
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
// sized for o (Short shrinks the sites).
func Measurements(o Options) []Measurement {
	std, large := StandardList, LargeList
	if o.Short {
		std, large = ShortList, ShortLargeList
	}
	return []Measurement{
		{ID: "list", Name: "list " + std.String(), Run: measureList,
			Keys: []string{"list_serial_ms", "list_cold_ms", "list_warm_ms", "list_speedup_cold", "list_speedup_warm"}},
		{ID: "list10k", Name: "list a large site: " + large.String(), Run: measureLargeList,
			Keys: []string{"list_10k_serial_ms", "list_10k_ms", "list_10k_speedup", "list_10k_defaults_ms"}},
	}
}

// ClientConfig returns a qlik.Config pointed at sim (its certificates and
// host names), logging nowhere. Callers set the limits they measure.
func ClientConfig(sim *qliksim.Server) qlik.Config {
	return qlik.Config{
		QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(),
		Resolve: sim.Resolve(),
		Logger:  slog.New(slog.DiscardHandler),
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
