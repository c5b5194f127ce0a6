package qlikbench

import (
	"context"
	"fmt"
)

// measureLargeList lists the large site (400 pairs, 10,000 sessions at
// 50 ms per call, every node serving at most the simulator's default
// capacity at once): the serial walk once (about 20 s, really walked, not
// extrapolated), then our client cold (topology read, as the walk does)
// with qlikbot's shipped limits. The simulator's counters over the
// client's lists say whether it overloaded a node: its 503s and the most
// calls one node served and queued at once.
func measureLargeList(ctx context.Context, o Options) ([]Figure, error) {
	size := LargeList
	if o.Short {
		size = ShortLargeList
	}
	site, err := StartListSiteSized(size, o.Shipped)
	if err != nil {
		return nil, err
	}
	defer site.Close()
	serial, err := timeList(ctx, "serial", size.Sessions, 1, false, site.Serial)
	if err != nil {
		return nil, err
	}
	site.Sim.ResetLoad()
	cold, err := timeList(ctx, "cold", size.Sessions, o.RunsOr(3), true, site.Cold)
	if err != nil {
		return nil, err
	}
	rejected, inFlight, queued := 0, 0, 0
	for _, l := range site.Sim.Loads() {
		rejected += l.QPS.Rejected + l.QRS.Rejected
		inFlight = max(inFlight, l.QPS.PeakInFlight)
		queued = max(queued, l.QPS.PeakQueued)
	}
	k := "list_" + SizeKey(size.Sessions)
	return []Figure{
		{Key: k + "_serial_ms", Label: fmt.Sprintf("serial walk of %d pairs, Ctrl-Q style (1 run)", size.Pairs()), Value: MS(serial), Unit: "ms"},
		{Key: k + "_ms", Label: "qlik client, topology read (median)", Value: MS(cold), Unit: "ms"},
		{Key: k + "_speedup", Label: "speed-up", Value: float64(serial) / float64(cold), Unit: "x"},
		{Key: "sim_503", Label: "503s from the simulator during the client's lists", Value: float64(rejected), Unit: "answers"},
		{Key: "sim_peak_in_flight_per_node", Label: fmt.Sprintf("most QPS calls one node served at once (its capacity: %d)", size.Capacity.QPS.InFlight), Value: float64(inFlight), Unit: "calls"},
		{Key: "sim_peak_queued_per_node", Label: fmt.Sprintf("most QPS calls waiting on one node (its queue: %d)", size.Capacity.QPS.Queue), Value: float64(queued), Unit: "calls"},
	}, nil
}
