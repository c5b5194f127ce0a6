package qlikbench

import (
	"context"
	"fmt"

	"github.com/qlikbot/qlikbot/qlik"
)

// measureLargeList lists the large site (400 pairs, 10,000 sessions at
// 50 ms per call): the serial walk once (about 20 s, really walked, not
// extrapolated), our client cold (topology read, as the walk does) with
// the list scenario's limits, and once more with qlikbot's default limits
// (QLIKBOT_QLIK_CONCURRENCY=16, QLIKBOT_QLIK_RPS=100), where the rate
// limit, not the latency, sets the pace.
func measureLargeList(ctx context.Context, o Options) ([]Figure, error) {
	size := LargeList
	if o.Short {
		size = ShortLargeList
	}
	site, err := StartListSiteSized(size)
	if err != nil {
		return nil, err
	}
	defer site.Close()
	serial, err := timeList(ctx, "serial", size.Sessions, 1, false, site.Serial)
	if err != nil {
		return nil, err
	}
	runs := o.RunsOr(3)
	cold, err := timeList(ctx, "cold", size.Sessions, runs, true, site.Cold)
	if err != nil {
		return nil, err
	}
	dcfg := ClientConfig(site.Sim)
	dcfg.Concurrency, dcfg.RequestsPerSecond = 16, 100
	dc, err := qlik.New(dcfg)
	if err != nil {
		return nil, err
	}
	defer dc.Close()
	defaults, err := timeList(ctx, "cold, default limits", size.Sessions, runs, true, func(ctx context.Context) (int, error) {
		dc.InvalidateTopology()
		return listAll(ctx, dc)
	})
	if err != nil {
		return nil, err
	}
	return []Figure{
		{Key: "list_10k_serial_ms", Label: fmt.Sprintf("serial walk of %d pairs, Ctrl-Q style (1 run)", size.Pairs()), Value: MS(serial), Unit: "ms"},
		{Key: "list_10k_ms", Label: fmt.Sprintf("qlik client, topology read, %d in flight (median)", listConcurrency), Value: MS(cold), Unit: "ms"},
		{Key: "list_10k_speedup", Label: "speed-up", Value: float64(serial) / float64(cold), Unit: "x"},
		{Key: "list_10k_defaults_ms", Label: "qlik client with qlikbot's defaults (16 in flight, 100 calls/s; median)", Value: MS(defaults), Unit: "ms"},
	}, nil
}
