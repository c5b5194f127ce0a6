package authz

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStatic is returned by Reload and Watch of an Authorizer made with
// NewStatic: it has no file to read.
var ErrStatic = errors.New("policy is fixed: no file to reload")

// DefaultDebounce is how long Watch waits for a burst of file events to end
// before reloading: editors and ConfigMap updates touch a file several times.
const DefaultDebounce = 200 * time.Millisecond

// Authorizer holds the current *Policy and replaces it when the file
// changes. It is safe for concurrent use: Policy never blocks, and a
// request keeps the *Policy it started with even if a reload lands meanwhile.
type Authorizer struct {
	path     string
	log      *slog.Logger
	debounce time.Duration
	onReload func(error)

	cur atomic.Pointer[Policy]

	mu  sync.Mutex // serializes Reload; guards sum
	sum [sha256.Size]byte
}

type options struct {
	logger   *slog.Logger
	debounce time.Duration
	onReload func(error)
}

// Option configures an Authorizer.
type Option func(*options)

// WithLogger sets the logger for reloads (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithDebounce sets how long Watch waits after the last file event before
// reloading (default DefaultDebounce). Values <= 0 keep the default.
func WithDebounce(d time.Duration) Option { return func(o *options) { o.debounce = d } }

// WithReloadHook calls fn after every reload attempt with its outcome (nil:
// loaded or unchanged), e.g. to count failures in a metric.
func WithReloadHook(fn func(error)) Option { return func(o *options) { o.onReload = fn } }

// NewAuthorizer loads the policy file at path once; an unreadable or
// invalid file is an error. Call Watch, or Reload on SIGHUP, to follow
// changes.
func NewAuthorizer(path string, opts ...Option) (*Authorizer, error) {
	if path == "" {
		return nil, errors.New("new authorizer: no policy file path")
	}
	o := options{debounce: DefaultDebounce}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.debounce <= 0 {
		o.debounce = DefaultDebounce
	}
	data, err := readPolicyFile(path)
	if err != nil {
		return nil, fmt.Errorf("new authorizer: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("new authorizer: load policy %s: %w", path, err)
	}
	a := &Authorizer{
		path:     path,
		log:      o.logger.With("component", "authz", "policy", path),
		debounce: o.debounce,
		onReload: o.onReload,
		sum:      sha256.Sum256(data),
	}
	a.cur.Store(p)
	return a, nil
}

// NewStatic returns an Authorizer that always holds p (tests, the demo).
// A nil p denies everything.
func NewStatic(p *Policy) *Authorizer {
	a := &Authorizer{log: slog.New(slog.DiscardHandler)}
	a.cur.Store(p)
	return a
}

// Policy returns the current policy. Use one *Policy for all the decisions
// of a request so that they agree with each other.
func (a *Authorizer) Policy() *Policy { return a.cur.Load() }

// Reload reads the file again. On any error it keeps the last good policy,
// logs why and returns the error. An unchanged file is left alone.
func (a *Authorizer) Reload() error {
	if a.path == "" {
		return ErrStatic
	}
	err := a.reload()
	if a.onReload != nil {
		a.onReload(err)
	}
	return err
}

func (a *Authorizer) reload() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	data, err := readPolicyFile(a.path)
	if err == nil {
		sum := sha256.Sum256(data)
		if sum == a.sum {
			a.log.Debug("policy file unchanged")
			return nil
		}
		var p *Policy
		if p, err = Parse(data); err == nil {
			a.cur.Store(p)
			a.sum = sum
			a.log.Info("policy reloaded", "grants", len(p.grants), "roles", len(p.roles))
			return nil
		}
		err = fmt.Errorf("load policy %s: %w", a.path, err)
	}
	a.log.Error("policy reload failed; keeping the last good policy", "err", err)
	return fmt.Errorf("reload: %w", err)
}
