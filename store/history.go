package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// AggregateStep is the width of a history aggregate: Compact rolls raw
// samples into buckets of this size, aligned to the Unix epoch (UTC).
const AggregateStep = 5 * time.Minute

// Defaults of WithHistoryRetention.
const (
	DefaultRawRetention       = 24 * time.Hour
	DefaultAggregateRetention = 7 * 24 * time.Hour
)

// WatchLease is the name of the lease the watcher holds; its token fences
// AppendSample and the alert writes. The store checks whichever lease it is
// given, so this is a convention, not a rule.
const WatchLease = "watcher"

// Limits on history input: a sample is one site's reading, and a runaway
// series set is a bug upstream.
const (
	// MaxSeries bounds the series of one sample (a site of 1,000 virtual
	// proxies on 20 nodes has 20,000 session series).
	MaxSeries = 50000
	// maxLabelLen bounds each of a SeriesKey's fields.
	maxLabelLen = 256
	// maxSiteLen bounds a site name.
	maxSiteLen = 64
)

// ErrSampleOrder: AppendSample was given a sample not later than the newest
// one the site already holds (or inside a bucket already compacted).
// History is append-only; the sample was not written.
var ErrSampleOrder = errors.New("store: sample out of order")

// ErrSampleAhead: AppendSample was given a sample dated more than
// MaxSampleAhead ahead of the store's clock (Redis: the server's; bolt:
// the wall clock, or WithClock). Taken, it would hold back every later
// sample until real time caught up with it; it was not written.
var ErrSampleAhead = errors.New("store: sample dated ahead of the store's clock")

// MaxSampleAhead is how far ahead of the store's clock a sample may be
// dated: the clocks of replicas that agree (NTP) are well within it.
const MaxSampleAhead = time.Minute

// sweepCompact runs Compact from ExpireDue at most once per
// AggregateStep: the periodic sweep every replica runs prunes the
// watcher's records and history even where no watcher holds the lease
// (the watcher turned off), which compacts only when sampling.
type sweepCompact struct {
	mu   sync.Mutex
	last time.Time
}

// run compacts with compact when the last run is an AggregateStep before
// now (or after it: a clock stepped back); a failure is logged and tried
// again an AggregateStep later.
func (c *sweepCompact) run(ctx context.Context, log *slog.Logger, now time.Time, compact func(context.Context, time.Time) error) {
	c.mu.Lock()
	if !c.last.IsZero() && now.Sub(c.last) < AggregateStep && !now.Before(c.last) {
		c.mu.Unlock()
		return
	}
	c.last = now
	c.mu.Unlock()
	if err := compact(ctx, now); err != nil {
		log.Warn("store sweep: compact the history and the watcher's records", "err", err)
	}
}

// compactNow is the time Compact cuts by: the caller's now, but never past
// the store's own clock, so that one replica's clock running ahead cannot
// drop history (a clock a week ahead would drop every aggregate).
func compactNow(now, storeNow time.Time) time.Time {
	if now.After(storeNow) {
		return storeNow
	}
	return now
}

// SeriesKey names one time series of a site. Its fields are the caller's
// spelling (the watcher's), opaque to the store: Metric says what is
// measured ("sessions", "users_at_limit", "engine_cpu_pct", ...), Proxy the
// virtual proxy and Node the node it is measured on, "" when the metric is
// not per proxy or per node.
type SeriesKey struct {
	Metric string
	Proxy  string
	Node   string
}

// String renders k for logs: metric{proxy=...,node=...}.
func (k SeriesKey) String() string {
	var b strings.Builder
	b.WriteString(k.Metric)
	if k.Proxy != "" || k.Node != "" {
		b.WriteString("{")
		if k.Proxy != "" {
			b.WriteString("proxy=" + k.Proxy)
		}
		if k.Node != "" {
			if k.Proxy != "" {
				b.WriteString(",")
			}
			b.WriteString("node=" + k.Node)
		}
		b.WriteString("}")
	}
	return b.String()
}

func compareKeys(a, b SeriesKey) int {
	if c := strings.Compare(a.Metric, b.Metric); c != 0 {
		return c
	}
	if c := strings.Compare(a.Proxy, b.Proxy); c != 0 {
		return c
	}
	return strings.Compare(a.Node, b.Node)
}

// Sample is one reading of a site: a value per series, at one time. A NaN
// value says the series was not measured this time (a node that did not
// answer); the point is then absent from QueryHistory's answer. Values are
// kept exactly (whole numbers and thousandths compactly, others as 8-byte
// floats); infinities are refused.
type Sample struct {
	Site   string
	Time   time.Time
	Values map[SeriesKey]float64
}

// SeriesMatch selects series: a key matches when each non-empty list holds
// its field (exact, case-sensitive). The zero value matches every series.
type SeriesMatch struct {
	Metrics []string
	Proxies []string
	Nodes   []string
}

// Match reports whether k is selected.
func (m SeriesMatch) Match(k SeriesKey) bool {
	return (len(m.Metrics) == 0 || slices.Contains(m.Metrics, k.Metric)) &&
		(len(m.Proxies) == 0 || slices.Contains(m.Proxies, k.Proxy)) &&
		(len(m.Nodes) == 0 || slices.Contains(m.Nodes, k.Node))
}

// HistoryQuery asks for the selected series of a site in [From, To).
type HistoryQuery struct {
	Site   string
	Series SeriesMatch
	From   time.Time
	To     time.Time
	// Aggregate asks for 5-minute aggregates even where raw samples would
	// do (a chart that wants the peaks of each 5 minutes).
	Aggregate bool
}

// History is what QueryHistory returns.
type History struct {
	Site string
	// Step is 0 when the points are raw samples, AggregateStep when they
	// are 5-minute aggregates.
	Step time.Duration
	// Series holds every selected series with at least one point in the
	// range, sorted by Metric, Proxy, Node.
	Series []SeriesHistory
	// Skipped counts stored records that did not decode (written by
	// something else, or damaged); their points are left out.
	Skipped int
}

// SeriesHistory is one series' points, oldest first.
type SeriesHistory struct {
	Key    SeriesKey
	Points []Point
}

// Point is one raw sample (N = 1, Min = Max = Avg = Last = the value) or
// one 5-minute aggregate of N samples, at Time (the sample's time, or the
// bucket's start).
type Point struct {
	Time                time.Time
	Min, Max, Avg, Last float64
	N                   int
}

// Peak returns the largest Max of the points (NaN when there are none).
func (s SeriesHistory) Peak() float64 {
	peak := math.NaN()
	for _, p := range s.Points {
		if math.IsNaN(peak) || p.Max > peak {
			peak = p.Max
		}
	}
	return peak
}

// historyRetention is the configured retention of the two resolutions.
type historyRetention struct {
	raw, agg time.Duration
}

// WithHistoryRetention sets how long raw samples and 5-minute aggregates
// are kept (defaults 24 h and 7 days). Raw must be at least AggregateStep
// and at most agg. Compact drops what is older.
func WithHistoryRetention(raw, agg time.Duration) Option {
	return func(o *options) error {
		switch {
		case raw < AggregateStep:
			return fmt.Errorf("raw history retention %s: must be at least %s", raw, AggregateStep)
		case agg < raw:
			return fmt.Errorf("aggregate history retention %s: must be at least the raw retention %s", agg, raw)
		}
		o.history = historyRetention{raw: raw, agg: agg}
		return nil
	}
}

// checkSite validates a site name: it is part of store keys.
func checkSite(site string) error {
	if site == "" || len(site) > maxSiteLen {
		return fmt.Errorf("site name of %d bytes: must be 1 to %d bytes", len(site), maxSiteLen)
	}
	for _, c := range site {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("site name %q: only letters, digits, '-', '_' and '.'", site)
		}
	}
	return nil
}

// checkSample validates s and returns its series in canonical order with
// their values.
func checkSample(s Sample) ([]SeriesKey, []float64, error) {
	if err := checkSite(s.Site); err != nil {
		return nil, nil, err
	}
	if err := checkTime("sample time", s.Time); err != nil {
		return nil, nil, err
	}
	if len(s.Values) == 0 {
		return nil, nil, errors.New("sample without values")
	}
	if len(s.Values) > MaxSeries {
		return nil, nil, fmt.Errorf("sample of %d series: at most %d", len(s.Values), MaxSeries)
	}
	keys := make([]SeriesKey, 0, len(s.Values))
	for k, v := range s.Values {
		if err := checkSeriesKey(k); err != nil {
			return nil, nil, err
		}
		if math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("series %s: infinite value", k)
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	vals := make([]float64, len(keys))
	for i, k := range keys {
		vals[i] = s.Values[k]
	}
	return keys, vals, nil
}

func checkSeriesKey(k SeriesKey) error {
	switch {
	case k.Metric == "":
		return fmt.Errorf("series %s: empty metric", k)
	case len(k.Metric) > maxLabelLen || len(k.Proxy) > maxLabelLen || len(k.Node) > maxLabelLen:
		return fmt.Errorf("series %.40s: a field is longer than %d bytes", k, maxLabelLen)
	}
	return nil
}

func checkQuery(q HistoryQuery) error {
	if err := checkSite(q.Site); err != nil {
		return err
	}
	if err := checkTime("query start", q.From); err != nil {
		return err
	}
	if err := checkTime("query end", q.To); err != nil {
		return err
	}
	if !q.From.Before(q.To) {
		return fmt.Errorf("query range %s to %s is empty", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	return nil
}

// bucketOf returns the start of t's aggregate bucket.
func bucketOf(t time.Time) time.Time { return t.Truncate(AggregateStep) }

// compactBound returns where compaction may roll up to: every bucket that
// starts before it is complete (a later sample exists, and samples are
// appended in order) or holds raw samples about to pass the raw retention
// at rawCut, which are rolled up before they are dropped.
func compactBound(newest, rawCut time.Time) time.Time {
	until := bucketOf(newest)
	if rawCut.After(until) {
		// The newest sample is about to pass the retention (the watcher
		// stopped a day ago): roll up its bucket too before it goes.
		until = until.Add(AggregateStep)
	}
	return until
}

// useRaw says whether a query is answered from raw samples: when it covers
// only what the raw retention keeps, counted back from the newest sample
// (not from a clock, so replicas agree), and nothing the last compaction
// dropped (rawCut: raw samples before it are gone).
func useRaw(q HistoryQuery, newest, rawCut time.Time, raw time.Duration) bool {
	return !q.Aggregate && !newest.IsZero() && !q.From.Before(newest.Add(-raw)) && !q.From.Before(rawCut)
}

// prepareSample validates a fenced append and encodes it.
func prepareSample(l Lease, s Sample) (dictID, []byte, []byte, error) {
	if err := checkWatchLease(l); err != nil {
		return dictID{}, nil, nil, err
	}
	keys, vals, err := checkSample(s)
	if err != nil {
		return dictID{}, nil, nil, err
	}
	dict := encodeDict(keys)
	if len(dict) > MaxBlobSize {
		return dictID{}, nil, nil, fmt.Errorf("series dictionary of %d bytes is larger than %d", len(dict), MaxBlobSize)
	}
	id := dictIDOf(dict)
	return id, dict, encodeRaw(id, vals), nil
}
