package bottest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

// Site is a Qlik site behind the whole qlikbot stack with real parts: the
// simulator over mutual TLS, the Qlik client, a bolt store, a parsed
// policy, the commands engine and a running dispatcher.
type Site struct {
	Sim        *qliksim.Server
	Client     *qlik.Client // what the engine reads (through WithQlik's wrap, if any)
	Store      *store.Bolt
	Policies   commands.Policies
	Engine     *commands.Engine
	Dispatcher *bot.Dispatcher
}

// SiteOption changes how NewSite builds a site.
type SiteOption func(*siteConfig)

type siteConfig struct {
	seed       bool
	qlik       func(*qlik.Client) commands.Qlik
	storeOpts  []store.Option
	engineOpts []commands.Option
	dispOpts   []bot.DispatcherOption
}

// SeedLab serves the simulator's built-in lab (the seed data: finance and
// its few sessions) instead of a generated one; NewSite's sessions is
// ignored.
func SeedLab() SiteOption { return func(c *siteConfig) { c.seed = true } }

// WithQlik puts wrap's Qlik between the engine and the client (a gate
// that holds calls, a counter).
func WithQlik(wrap func(*qlik.Client) commands.Qlik) SiteOption {
	return func(c *siteConfig) { c.qlik = wrap }
}

// WithStoreClock gives the bolt store the test's clock (a replay guard
// that must agree with a signature's timestamps).
func WithStoreClock(now func() time.Time) SiteOption {
	return func(c *siteConfig) { c.storeOpts = append(c.storeOpts, store.WithClock(now)) }
}

// WithEngine adds options of the commands engine.
func WithEngine(opts ...commands.Option) SiteOption {
	return func(c *siteConfig) { c.engineOpts = append(c.engineOpts, opts...) }
}

// WithDispatcher adds options of the dispatcher, after NewSite's own.
func WithDispatcher(opts ...bot.DispatcherOption) SiteOption {
	return func(c *siteConfig) { c.dispOpts = append(c.dispOpts, opts...) }
}

// NewSite generates a site of sessions sessions on 4 virtual proxies and 2
// nodes (or serves the seed lab, see SeedLab) with policy, lists paged at
// pageSize (0: the engine's default). Everything stops when t ends.
func NewSite(t testing.TB, sessions int, policy string, pageSize int, opts ...SiteOption) *Site {
	t.Helper()
	var cfg siteConfig
	for _, o := range opts {
		o(&cfg)
	}
	var simOpts []qliksim.Option
	if !cfg.seed {
		lab := qliksim.Generate(qliksim.GenOptions{Users: sessions/4 + 1, Sessions: sessions, VirtualProxies: 4, Nodes: 2, Seed: 12})
		simOpts = append(simOpts, qliksim.WithLab(lab))
	}
	sim, err := qliksim.Start(simOpts...)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	client, err := qlik.New(qlik.Config{
		QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(), Resolve: sim.Resolve(),
		Timeout: 30 * time.Second, ReadRetries: -1, TopologyTTL: time.Minute, RequestsPerSecond: -1,
	})
	if err != nil {
		t.Fatalf("qlik client: %v", err)
	}
	t.Cleanup(client.Close)
	var q commands.Qlik = client
	if cfg.qlik != nil {
		q = cfg.qlik(client)
	}
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "state.db"), cfg.storeOpts...)
	if err != nil {
		t.Fatalf("open bolt: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	pol, err := authz.Parse([]byte(policy))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	engineOpts := cfg.engineOpts
	if pageSize > 0 {
		engineOpts = append([]commands.Option{commands.WithPageSize(pageSize)}, engineOpts...)
	}
	pols := authz.NewStatic(pol)
	eng, err := commands.New(q, st, pols, engineOpts...)
	if err != nil {
		t.Fatalf("commands: %v", err)
	}
	// One person clicking Next hundreds of times: no per-user rate limit.
	d, err := bot.NewDispatcher(eng, append([]bot.DispatcherOption{bot.WithTimeout(2 * time.Minute), bot.WithUserRate(rate.Inf, 1)}, cfg.dispOpts...)...)
	if err != nil {
		t.Fatalf("dispatcher: %v", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return &Site{Sim: sim, Client: client, Store: st, Policies: pols, Engine: eng, Dispatcher: d}
}

// ApprovalPolicy is a policy for approval tests, in subjects of one
// platform ("console:lead", "slack:U0LEAD" ...): admins ask for kicks and
// approve them everywhere, viewer lists everywhere and finViewer lists
// the finance virtual proxy only.
func ApprovalPolicy(admins []string, viewer, finViewer string) string {
	quoted := make([]string, len(admins))
	for i, a := range admins {
		quoted[i] = strconv.Quote(a)
	}
	return fmt.Sprintf(`
roles:
  viewer: [list]
  admin:  [list, kick, approve]
grants:
  - subjects: [%s]
    roles: [admin]
    virtualProxies: ["*"]
  - subjects: [%q]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: [%q]
    roles: [viewer]
    virtualProxies: ["finance"]
`, strings.Join(quoted, ", "), viewer, finViewer)
}
