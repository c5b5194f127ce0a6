package watch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// Store is what the watcher keeps: its lease, the sample history, alert
// state, and the subscriptions and silences commands write (*store.Bolt,
// *store.Redis).
type Store interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error)
	RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, l store.Lease) error
	AppendSample(ctx context.Context, l store.Lease, s store.Sample) error
	Compact(ctx context.Context, now time.Time) error
	ListAlerts(ctx context.Context) ([]store.Alert, error)
	GetAlert(ctx context.Context, k store.AlertKey) (store.Alert, error)
	PutAlert(ctx context.Context, l store.Lease, a store.Alert) (store.Alert, error)
	ListSubscriptions(ctx context.Context) ([]store.Subscription, error)
	ListSilences(ctx context.Context, now time.Time) ([]store.Silence, error)
	EndSilence(ctx context.Context, id string) (store.Silence, error)
	AppendAudit(ctx context.Context, events ...store.Event) error
}

// Defaults.
const (
	DefaultInterval = 60 * time.Second
	// compactEvery is how often the holder compacts the history: one
	// aggregate bucket.
	compactEvery = store.AggregateStep
	// notifyTimeout bounds the posts and updates of one alert; they run
	// on after the watcher is asked to stop, so a notification claimed in
	// the store is posted.
	notifyTimeout = 20 * time.Second
	// storeTimeout bounds the store calls of one step.
	storeTimeout = 10 * time.Second
)

// Watcher samples every site each interval, keeps the samples in the
// store, and raises, updates and resolves alerts. Only the holder of the
// store's lease "watcher" (store.WatchLease) does so; the others wait to
// take over. Run runs it; it is not safe to call Run or Step from two
// goroutines at once (its state has one owner).
type Watcher struct {
	sites  []Site
	st     Store
	render Renderer
	options

	lease store.Lease // held; zero when not
	// heldUntil is when the lease lapses at the earliest, on this
	// process's monotonic clock: the start of its last successful take
	// or renewal plus the ttl.
	heldUntil   time.Time
	streaks     streaks
	lastCompact time.Time
	storeDown   bool // the last try to take the lease failed: said once
	said        conditions
}

type options struct {
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time
	holder   string
	rules    func() []authz.AlertRule
	deliver  bot.Deliverer
	sealer   *seal.Sealer
	observe  func(Reading)
	teams    func(authz.TeamsConversation) bot.Destination
}

// Option configures a Watcher.
type Option func(*options) error

// WithInterval sets the sampling interval (default 60s).
func WithInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("interval %s: must be positive", d)
		}
		o.interval = d
		return nil
	}
}

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

// WithClock injects the clock of sample and alert times (default
// time.Now). They are compared with other replicas' clocks (samples,
// silences, the audit trail) and shown to people, so they follow the wall
// clock: a clock that kept the time it read at the start would stay off
// for good after NTP set the wall clock right (at boot, after a VM
// resumed). A step back skips samples until the clock catches up with
// the newest; one ahead is refused by the store (ErrSampleAhead).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("nil clock")
		}
		o.now = now
		return nil
	}
}

// WithHolder names this process in the lease (default: host, pid and a
// random suffix, unique per start).
func WithHolder(h string) Option {
	return func(o *options) error {
		if h == "" {
			return errors.New("empty holder")
		}
		o.holder = h
		return nil
	}
}

// WithRules gives the alert rules, asked at every sample (the policy is
// reloaded while qlikbot runs). Without it there are no alerts.
func WithRules(rules func() []authz.AlertRule) Option {
	return func(o *options) error {
		if rules == nil {
			return errors.New("nil rules")
		}
		o.rules = rules
		return nil
	}
}

// WithDeliverer sets where alerts are posted (bot.Deliverers of the
// adapters). Without it alerts are kept in the store and posted nowhere.
func WithDeliverer(d bot.Deliverer) Option {
	return func(o *options) error {
		if d == nil {
			return errors.New("nil deliverer")
		}
		o.deliver = d
		return nil
	}
}

// WithSealer sets the sealer of stored destinations; it must be the one
// commands seals subscriptions with (default: seal.Random(), which only
// this process can open).
func WithSealer(s *seal.Sealer) Option {
	return func(o *options) error {
		if s == nil {
			return errors.New("nil sealer")
		}
		o.sealer = s
		return nil
	}
}

// WithObserver gets every reading the watcher takes (Prometheus gauges).
// It runs on the watcher's goroutine and must be quick.
func WithObserver(f func(Reading)) Option {
	return func(o *options) error {
		o.observe = f
		return nil
	}
}

// WithTeamsDestination makes a rule's Teams conversation references into
// destinations of the Teams adapter. Without it such targets are left out
// (and logged).
func WithTeamsDestination(f func(authz.TeamsConversation) bot.Destination) Option {
	return func(o *options) error {
		o.teams = f
		return nil
	}
}

// New returns a watcher of sites. render makes the message of an alert.
// It does no I/O.
func New(sites []Site, st Store, render Renderer, opts ...Option) (*Watcher, error) {
	if st == nil || render == nil {
		return nil, errors.New("watch: a store and a renderer are required")
	}
	seen := map[string]bool{}
	for _, s := range sites {
		if s.Name == "" || s.Qlik == nil || seen[s.Name] {
			return nil, fmt.Errorf("watch: site %q: needs a unique name and a Qlik client", s.Name)
		}
		seen[s.Name] = true
	}
	o := options{interval: DefaultInterval, log: slog.New(slog.DiscardHandler), now: time.Now,
		rules: func() []authz.AlertRule { return nil }, observe: func(Reading) {}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("watch: %w", err)
		}
	}
	if o.holder == "" {
		o.holder = newHolder()
	}
	if o.sealer == nil {
		o.sealer = seal.Random()
	}
	if o.observe == nil {
		o.observe = func(Reading) {}
	}
	return &Watcher{sites: sites, st: st, render: render, options: o, streaks: streaks{}, said: conditions{}}, nil
}

func newHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// leaseTTL is how long the lease lasts unless renewed: an interval and a
// half, renewed every interval. A standby tries every quarter interval, so
// when the holder dies another replica samples within two intervals.
func (w *Watcher) leaseTTL() time.Duration { return w.interval + w.interval/2 }

func (w *Watcher) standbyPoll() time.Duration { return max(w.interval/4, 10*time.Millisecond) }

// Holding reports whether the watcher held the lease after its last step.
func (w *Watcher) Holding() bool { return w.lease.Token != 0 }

// Run samples every interval until ctx ends, the first time one interval
// after it starts. It returns nil then, after releasing the lease so a
// standby takes over at once.
func (w *Watcher) Run(ctx context.Context) error {
	timer := time.NewTimer(w.interval)
	defer timer.Stop()
	defer w.release()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		start := time.Now()
		w.Step(ctx)
		next := w.standbyPoll()
		if w.Holding() {
			next = max(w.interval-time.Since(start), 0)
		}
		timer.Reset(next)
	}
}

// release gives the lease back, if held.
func (w *Watcher) release() {
	if !w.Holding() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := w.st.ReleaseLease(ctx, w.lease); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		w.log.Warn("release the watcher lease", "err", err)
	}
	w.lease = store.Lease{}
}

// Step is one round: take or renew the lease and, while holding it,
// sample every site, store the samples, compact now and then, and settle
// the alerts. It reports whether it sampled.
func (w *Watcher) Step(ctx context.Context) bool {
	if !w.holdLease(ctx) {
		return false
	}
	defer w.keepAlive(ctx, w.lease)()
	now := w.now().Round(0)
	readings := make([]Reading, len(w.sites))
	var wg sync.WaitGroup
	for i, s := range w.sites {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, w.interval+storeTimeout)
			defer cancel()
			readings[i] = sampleSite(sctx, s, now)
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return false
	}
	for _, r := range readings {
		w.observe(r)
		w.streaks.update(r)
		if r.Err != nil {
			if w.said.start("down:" + r.Site) {
				w.log.Warn("watcher: site did not answer; said once until it does", "site", r.Site, "err", r.Err)
			}
		} else if w.said.end("down:" + r.Site) {
			w.log.Info("watcher: site answers again", "site", r.Site)
		}
		if !w.record(ctx, r) {
			return false
		}
	}
	if now.Sub(w.lastCompact) >= compactEvery {
		cctx, cancel := context.WithTimeout(ctx, storeTimeout)
		if err := w.st.Compact(cctx, now); err != nil {
			w.log.Warn("watcher: compact the history", "err", err)
		} else {
			w.lastCompact = now
		}
		cancel()
	}
	w.settleAll(ctx, readings, now)
	return true
}

// holdLease takes the lease, or renews the one held; false when another
// process holds it or the store did not answer.
func (w *Watcher) holdLease(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if w.Holding() {
		start := time.Now()
		l, err := w.st.RenewLease(ctx, w.lease, w.leaseTTL())
		switch {
		case err == nil:
			w.lease, w.heldUntil = l, start.Add(w.leaseTTL())
			return true
		case !errors.Is(err, store.ErrLeaseLost) && time.Now().Before(w.heldUntil):
			// The store did not answer: the lease is ours until it
			// lapses (writes stay fenced by its token), and taking it
			// anew would only find our own live key.
			w.log.Warn("watcher: renew the lease; holding it until it lapses", "err", err)
			return true
		}
		w.log.Warn("watcher: lease lost; another replica may sample now", "err", err)
		w.lost()
	}
	start := time.Now()
	l, err := w.st.AcquireLease(ctx, store.WatchLease, w.holder, w.leaseTTL())
	down := err != nil && !errors.Is(err, store.ErrLeaseHeld)
	if down && !w.storeDown {
		w.log.Warn("watcher: cannot take the lease; trying on", "err", err)
	}
	w.storeDown = down
	if err != nil {
		return false
	}
	w.log.Info("watcher: sampling on this replica", "holder", w.holder, "interval", w.interval)
	w.lease, w.heldUntil = l, start.Add(w.leaseTTL())
	return true
}

// keepAlive renews l every third of an interval until the returned stop
// is called, so a round slower than the interval (a slow site) keeps the
// lease: only a holder that stops renewing (dead, paused, cut off) loses
// it. The token does not change, so the round's writes stay fenced by l.
func (w *Watcher) keepAlive(ctx context.Context, l store.Lease) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var renewed time.Time // heldUntil after the last renewal; read once done
	go func() {
		defer close(done)
		t := time.NewTicker(max(w.interval/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				start := time.Now()
				rctx, rcancel := context.WithTimeout(ctx, storeTimeout)
				_, err := w.st.RenewLease(rctx, l, w.leaseTTL())
				rcancel()
				if errors.Is(err, store.ErrLeaseLost) {
					return // the round's next write finds out
				}
				if err == nil {
					renewed = start.Add(w.leaseTTL())
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
		if renewed.After(w.heldUntil) && w.lease.Token == l.Token {
			w.heldUntil = renewed
		}
	}
}

// lost forgets the lease and what was counted under it: the next holder
// counts for itself.
func (w *Watcher) lost() {
	w.lease = store.Lease{}
	w.streaks = streaks{}
}

// record stores r's sample under the lease; false when the lease is lost
// (the round stops: another watcher took over).
func (w *Watcher) record(ctx context.Context, r Reading) bool {
	s, ok := r.Sample()
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	err := w.st.AppendSample(ctx, w.lease, s)
	switch {
	case err == nil:
		if w.said.end("skip:" + r.Site) {
			w.log.Info("watcher: samples stored again", "site", r.Site)
		}
	case errors.Is(err, store.ErrLeaseLost):
		w.log.Warn("watcher: lease lost while sampling; stopping", "site", r.Site)
		w.lost()
		return false
	case errors.Is(err, store.ErrSampleOrder), errors.Is(err, store.ErrSampleAhead):
		// A clock behind the previous holder's, or ahead of the store's:
		// skip until they agree.
		if w.said.start("skip:" + r.Site) {
			w.log.Warn("watcher: samples skipped until the clocks agree; said once", "site", r.Site, "time", s.Time, "err", err)
		}
	default:
		w.log.Warn("watcher: store the sample", "site", r.Site, "err", err)
	}
	return true
}

// conditions are the lasting conditions logged (a site down, a rule
// posting where it cannot), so each is logged when it starts and when it
// ends, not every round.
type conditions map[string]bool

// start reports whether condition c is new: to be logged.
func (cs conditions) start(c string) bool {
	if cs[c] {
		return false
	}
	cs[c] = true
	return true
}

// end reports whether condition c held until now: its end to be logged.
func (cs conditions) end(c string) bool {
	if !cs[c] {
		return false
	}
	delete(cs, c)
	return true
}
