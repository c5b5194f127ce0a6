// Package qlikbench measures the Qlik client against in-process qliksim
// simulators. cmd/qlikbench prints its figures and package qlik's Benchmark
// functions use the same sites, so both measure the same thing.
//
// A Measurement is one named scenario that yields figures; Measurements
// lists the Qlik ones, and other packages can append their own.
package qlikbench

import (
	"context"
	"slices"
	"time"

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
// up and returns its figures.
type Measurement struct {
	Name string
	Run  func(ctx context.Context, o Options) ([]Figure, error)
}

// Options tune a run.
type Options struct {
	Runs int // repetitions per figure where a median is taken; default 5
}

func (o Options) runs() int {
	if o.Runs < 1 {
		return 5
	}
	return o.Runs
}

// Measurements returns the Qlik client's measurements in print order.
func Measurements() []Measurement {
	return []Measurement{
		{Name: "list 30 virtual proxies x 2 nodes, 50 ms per call", Run: measureList},
		{Name: "delete 1,000 sessions at 200 requests/s, 20 ms per call", Run: measureDelete},
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

// median of ds (ds is sorted in place).
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
