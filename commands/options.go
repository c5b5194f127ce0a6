package commands

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store/seal"
)

// Engine options (New's); more are next to what they configure (WithSites,
// WithWatch, WithProgress, WithJobLease, WithDeliverer).

// options is what New's options set; the Engine embeds it as it is.
type options struct {
	log      *slog.Logger
	now      func() time.Time
	pageSize int
	cmdName  string
	observe  func(Event)
	sealer   *seal.Sealer
	// sites and defaultSite: see WithSites (New fills in the one site of
	// its Qlik client).
	sites       []*site
	defaultSite int
	// progressThreshold, progressEvery and batch: see WithProgress.
	progressThreshold int
	progressEvery     time.Duration
	batch             int
	window            int // batches in flight; see jobWindow
	// holder names this engine in job leases; leaseTTL: see WithJobLease.
	holder   string
	leaseTTL time.Duration
	watch    *watchSetup   // see WithWatch; nil: the watcher's commands say it is off
	deliver  bot.Deliverer // see WithDeliverer; nil: approved jobs run within the request
}

// Option configures an Engine.
type Option func(*options) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.log = l
		return nil
	}
}

// WithClock injects the clock used for approvals and the audit trail.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("nil clock")
		}
		o.now = now
		return nil
	}
}

// WithPageSize sets the rows per page of long tables (default 50; Slack's
// table block holds at most 100 rows).
func WithPageSize(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 100 {
			return fmt.Errorf("page size %d: want 1 to 100", n)
		}
		o.pageSize = n
		return nil
	}
}

// WithCommandName sets the command name shown in usage text (default "/qlik").
func WithCommandName(name string) Option {
	return func(o *options) error {
		o.cmdName = strings.TrimSpace(name)
		return nil
	}
}

// WithObserver gets one Event per handled request (for metrics). It must
// be quick and safe for concurrent use.
func WithObserver(f func(Event)) Option {
	return func(o *options) error {
		o.observe = f
		return nil
	}
}

// WithSealer sets what seals the approvals the engine keeps in the store
// and verifies them when they are read back (default: seal.Random(), a key
// that lives and dies with the process). Replicas sharing a store, and a
// process that must approve what it asked before a restart, need one key.
func WithSealer(s *seal.Sealer) Option {
	return func(o *options) error {
		if s == nil {
			return errors.New("nil sealer")
		}
		o.sealer = s
		return nil
	}
}
