package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/time/rate"
)

// Dispatcher defaults.
const (
	DefaultWorkers   = 8
	DefaultQueueSize = 64
	DefaultUserRate  = rate.Limit(1) // per second, per subject
	DefaultUserBurst = 5
	DefaultTimeout   = 60 * time.Second
)

// userPruneAbove is the number of subjects with a rate limiter above which
// idle ones are forgotten.
const userPruneAbove = 1024

// replyTimeout bounds one delivery through a Responder, so a stuck chat
// API cannot hold a worker forever. It is long enough to wait out a Slack
// or Teams 429 (Retry-After is usually seconds, up to a minute for file
// uploads) rather than drop the reply; Shutdown still bounds it.
const replyTimeout = 2 * time.Minute

// DispatchEvent reports the end of one request, for metrics.
type DispatchEvent struct {
	Subject string
	// Command is the first word of Request.Text, or the action id of a
	// click, cut to 64 bytes. It is user input: map unknown words to a
	// fixed label before using it as a metric label.
	Command string
	// Outcome is one of "ok", "rate_limited", "busy", "panic", "timeout",
	// "closed".
	Outcome  string
	Kind     Kind          // kind of the reply sent (or returned by Do)
	Duration time.Duration // from acceptance to the handler's return, by the dispatcher's clock
}

// Dispatch outcomes, as reported in DispatchEvent.Outcome.
const (
	OutcomeOK          = "ok"
	OutcomeRateLimited = "rate_limited"
	OutcomeBusy        = "busy"
	OutcomePanic       = "panic"
	OutcomeTimeout     = "timeout"
	OutcomeClosed      = "closed"
)

// DispatcherOption configures a Dispatcher. Options validate their
// arguments, so their order never matters.
type DispatcherOption func(*dispatcherConfig) error

type dispatcherConfig struct {
	workers   int
	queueSize int
	rate      rate.Limit
	burst     int
	timeout   time.Duration
	log       *slog.Logger
	now       func() time.Time
	observe   func(DispatchEvent)
}

func defaultDispatcherConfig() dispatcherConfig {
	return dispatcherConfig{
		workers:   DefaultWorkers,
		queueSize: DefaultQueueSize,
		rate:      DefaultUserRate,
		burst:     DefaultUserBurst,
		timeout:   DefaultTimeout,
		log:       slog.New(slog.DiscardHandler),
		now:       time.Now,
		observe:   func(DispatchEvent) {},
	}
}

// WithWorkers sets how many requests run at once (Submit and Do together).
func WithWorkers(n int) DispatcherOption {
	return func(c *dispatcherConfig) error {
		if n < 1 {
			return fmt.Errorf("workers must be at least 1, got %d", n)
		}
		c.workers = n
		return nil
	}
}

// WithQueueSize sets how many submitted requests may wait for a worker
// before Submit answers "busy". Zero means a request is accepted only when
// a worker is idle.
func WithQueueSize(n int) DispatcherOption {
	return func(c *dispatcherConfig) error {
		if n < 0 {
			return fmt.Errorf("queue size must not be negative, got %d", n)
		}
		c.queueSize = n
		return nil
	}
}

// WithUserRate sets the per-subject rate limit: r requests per second on
// average, bursts of up to burst. rate.Inf turns the limit off.
func WithUserRate(r rate.Limit, burst int) DispatcherOption {
	return func(c *dispatcherConfig) error {
		if r < 0 {
			return fmt.Errorf("user rate must not be negative, got %v", r)
		}
		if burst < 1 && r != rate.Inf {
			return fmt.Errorf("user burst must be at least 1, got %d", burst)
		}
		c.rate, c.burst = r, burst
		return nil
	}
}

// WithTimeout sets the per-request deadline given to the handler.
func WithTimeout(d time.Duration) DispatcherOption {
	return func(c *dispatcherConfig) error {
		if d <= 0 {
			return fmt.Errorf("timeout must be positive, got %v", d)
		}
		c.timeout = d
		return nil
	}
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) DispatcherOption {
	return func(c *dispatcherConfig) error {
		if l == nil {
			return errors.New("logger must not be nil")
		}
		c.log = l
		return nil
	}
}

// WithClock sets the clock used for rate limiting, ReceivedAt and
// durations, so tests can move time by hand.
func WithClock(now func() time.Time) DispatcherOption {
	return func(c *dispatcherConfig) error {
		if now == nil {
			return errors.New("clock must not be nil")
		}
		c.now = now
		return nil
	}
}

// WithObserver sets a function called once at the end of every request
// (for metrics). It runs on the dispatcher's goroutines: keep it fast and
// safe for concurrent use.
func WithObserver(f func(DispatchEvent)) DispatcherOption {
	return func(c *dispatcherConfig) error {
		if f == nil {
			return errors.New("observer must not be nil")
		}
		c.observe = f
		return nil
	}
}
