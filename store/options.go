package store

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults for the options below.
const (
	DefaultKeyPrefix  = "qlikbot:"
	DefaultAuditLimit = 10000
	DefaultRetention  = 7 * 24 * time.Hour
	// DefaultBoltTimeout bounds the wait for the bolt file lock, which another
	// process (a second qlikbot on the same file) may hold.
	DefaultBoltTimeout = 5 * time.Second
)

// Option configures a backend. Options fill a private struct, so their order
// never matters; a bad value makes the constructor return an error.
type Option func(*options) error

type options struct {
	logger     *slog.Logger
	keyPrefix  string
	auditLimit int
	retention  time.Duration
	clock      func() time.Time
	// wall dates what must agree with other clocks (the watcher's sample
	// times, signature timestamps): Bolt refuses samples ahead of it,
	// compacts by it and keeps replay keys by it.
	wall        func() time.Time
	boltTimeout time.Duration
	tlsCAFile   string
	history     historyRetention
	// watchLimit, when set (by tests), replaces MaxAlerts,
	// MaxSubscriptions and MaxSilences.
	watchLimit int
}

// limit returns def, or the test override.
func (o *options) limit(def int) int {
	if o.watchLimit > 0 {
		return o.watchLimit
	}
	return def
}

func newOptions(opts []Option) (*options, error) {
	o := &options{
		logger:      slog.New(slog.DiscardHandler),
		keyPrefix:   DefaultKeyPrefix,
		auditLimit:  DefaultAuditLimit,
		retention:   DefaultRetention,
		clock:       SteadyClock(),
		wall:        time.Now,
		boltTimeout: DefaultBoltTimeout,
		history:     historyRetention{raw: DefaultRawRetention, agg: DefaultAggregateRetention},
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return nil, fmt.Errorf("store option: %w", err)
		}
	}
	return o, nil
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithKeyPrefix sets the prefix of every Redis key (default "qlikbot:"), so
// several bots or environments can share one Redis. Ignored by Bolt.
func WithKeyPrefix(p string) Option {
	return func(o *options) error {
		if p == "" {
			return fmt.Errorf("empty key prefix")
		}
		o.keyPrefix = p
		return nil
	}
}

// WithAuditLimit keeps only the newest n audit events (default 10000).
func WithAuditLimit(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("audit limit %d: must be at least 1", n)
		}
		o.auditLimit = n
		return nil
	}
}

// WithRetention sets how long decided and expired pending actions are kept,
// so a late click can still be answered "already approved by X", how long
// finished jobs stay listed, and how long resolved alerts are kept (default
// 7 days). Redis gives decided
// actions a key TTL; ExpireDue drops the rest.
func WithRetention(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("retention %s: must be positive", d)
		}
		o.retention = d
		return nil
	}
}

// WithClock sets the clock Bolt uses for blob expiry and leases (default
// SteadyClock, from when the store is opened), and the one it keeps
// replay keys by, refuses samples dated ahead of and compacts by (default
// the wall clock, which signature timestamps and the watcher's sample
// times follow: a steady clock would refuse every sample for good after
// the wall clock stepped forward, as NTP does after a VM resumes, and let
// a replay through after it stepped back); tests inject one. Redis keeps replay keys,
// blobs and leases with a server-side TTL and does not use it.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return fmt.Errorf("nil clock")
		}
		o.clock, o.wall = now, now
		return nil
	}
}

// WithBoltTimeout bounds how long OpenBolt waits for the file lock (default
// 5s). Open uses the context deadline instead when there is one.
func WithBoltTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("bolt timeout %s: must be positive", d)
		}
		o.boltTimeout = d
		return nil
	}
}

// WithTLSCAFile makes Redis check the server's TLS certificate against the
// CA certificates in the PEM file at path instead of the system's (a
// private CA). The URL must then be rediss://; the file is read when the
// store is built. An empty path changes nothing, so an unset setting can be
// passed as it is. Ignored by Bolt.
func WithTLSCAFile(path string) Option {
	return func(o *options) error {
		o.tlsCAFile = path
		return nil
	}
}

// SteadyClock returns a clock that reads the wall clock once, now, and
// from then on moves with the monotonic clock: a step of the wall clock
// (NTP, a VM resumed, an admin) neither expires every lease at once nor
// keeps one alive for ever, and times it gives never go back. Bolt's
// leases are cleared when it opens, so none outlives the clock it was
// taken on.
func SteadyClock() func() time.Time {
	start := time.Now()
	return steadyClock(start, func() time.Duration { return time.Since(start) })
}

// steadyClock is start moved on by elapsed, with no monotonic reading (the
// time is the same whether compared in memory or read back from a file).
func steadyClock(start time.Time, elapsed func() time.Duration) func() time.Time {
	start = start.Round(0)
	return func() time.Time { return start.Add(elapsed()) }
}

// dropTime is when something settled at t leaves the store.
func (o *options) dropTime(t time.Time) time.Time { return until(t, o.retention) }

// until is t+d, or the last time the store's time keys hold.
func until(t time.Time, d time.Duration) time.Time {
	if u := t.Add(d); u.Before(maxTime) {
		return u
	}
	return maxTime.Add(-time.Nanosecond)
}
