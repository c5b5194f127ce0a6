package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/console"
	slackbot "github.com/qlikbot/qlikbot/bot/slack"
	"github.com/qlikbot/qlikbot/bot/teams"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
	"github.com/qlikbot/qlikbot/watch"
)

// app is the wired program: every part built, nothing started.
type app struct {
	cfg         Config
	log         *slog.Logger
	metrics     *metrics
	sites       []*qlikSite // in the order of QLIKBOT_SITES (the demo: prod, test)
	store       store.Store
	storeURL    string // as opened (the demo's temporary file included)
	storeStatus storeStatus
	sealer      *seal.Sealer
	files       *filePublisher // nil without QLIKBOT_PUBLIC_URL
	tempDir     string         // demo state, removed at exit
	authz       *authz.Authorizer
	engine      *commands.Engine
	disp        *bot.Dispatcher
	adapters    []bot.Adapter
	deliverers  bot.Deliverers // the adapters that can post without a request
	console     *console.Console
	input       *countingReader // the console's input
	public      *listener       // chat endpoints, /files/, /healthz; nil for the console
	admin       *listener       // /metrics, /readyz, /healthz; nil when off or not serving
	stderr      io.Writer
	watcher     *watch.Watcher           // nil when QLIKBOT_WATCH_INTERVAL is 0
	alertRules  func() []authz.AlertRule // QLIKBOT_ALERTS's; nil: the policy's
	draining    atomic.Bool              // signalled: /readyz fails while the listeners still serve
	sleep       func(time.Duration)      // time.Sleep; tests hold the drain open
}

// newApp builds every part from cfg. It does no network I/O beyond
// starting the in-process simulator and binding the listeners, so a bad
// setting fails here, before anything runs.
func newApp(ctx context.Context, cfg Config, log *slog.Logger, stdin io.Reader, stdout, stderr io.Writer) (_ *app, err error) {
	// a is not the named result: "return nil, err" must not nil it before
	// the deferred close releases what was built.
	a := &app{cfg: cfg, log: log, metrics: newMetrics(), stderr: stderr, sleep: time.Sleep}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if err := a.buildQlik(); err != nil {
		return nil, err
	}
	statePath, err := a.buildStore(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.buildSealer(statePath); err != nil {
		return nil, err
	}
	if cfg.PublicURL != "" {
		a.files, err = newFilePublisher(a.store, cfg.PublicURL, cfg.FileTTL, log.With("component", "files"))
		if err != nil {
			return nil, configErr("QLIKBOT_PUBLIC_URL: %v", err)
		}
	}
	if err := a.buildAuthz(); err != nil {
		return nil, err
	}
	if err := a.buildAlertRules(); err != nil {
		return nil, err
	}
	a.deliverers = bot.Deliverers{}
	engineOpts := []commands.Option{
		commands.WithLogger(log.With("component", "commands")),
		commands.WithPageSize(cfg.PageSize),
		commands.WithObserver(a.metrics.observeCommand),
		commands.WithSealer(a.sealer),
		// Filled in by buildDeliverers once the adapters exist.
		commands.WithDeliverer(a.deliverers),
	}
	if cfg.SlackMode != "" {
		// Help and usage text name the slash command as the Slack app
		// defines it (a renamed command must not be taught as /qlik).
		engineOpts = append(engineOpts, commands.WithCommandName(cfg.SlackCommand))
	}
	engineOpts = append(engineOpts, commands.WithSites(a.engineSites()...))
	engineOpts = append(engineOpts, a.watchEngineOptions()...)
	a.engine, err = commands.New(nil, a.store, a.authz, engineOpts...)
	if err != nil {
		return nil, fmt.Errorf("commands: %w", err)
	}
	a.disp, err = bot.NewDispatcher(a.engine,
		bot.WithWorkers(cfg.Workers),
		bot.WithQueueSize(cfg.QueueSize),
		bot.WithUserRate(rate.Limit(cfg.UserRate), cfg.UserBurst),
		bot.WithTimeout(cfg.RequestTimeout),
		bot.WithLogger(log.With("component", "dispatcher")),
		bot.WithObserver(a.metrics.observeDispatch))
	if err != nil {
		return nil, configErr("dispatcher: %v", err)
	}
	if err := a.buildChat(stdin, stdout); err != nil {
		return nil, err
	}
	a.buildDeliverers()
	if err := a.buildWatcher(); err != nil {
		return nil, err
	}
	return a, a.buildHTTP()
}

func (a *app) buildAuthz() error {
	if a.cfg.Policy == "" {
		// Only the demo gets here (validate requires a policy otherwise).
		a.authz = authz.NewStatic(authz.DemoPolicy())
		fmt.Fprintln(a.stderr, "qlikbot: QLIKBOT_POLICY is not set: using the demo policy (console users oncall, lead, admin, deputy, tester)")
		return nil
	}
	az, err := authz.NewAuthorizer(a.cfg.Policy, authz.WithLogger(a.log))
	if err != nil {
		const want = "a readable policy file like authz/demo-policy.yaml"
		if _, rerr := readSettingFile("QLIKBOT_POLICY", a.cfg.Policy, want); rerr != nil {
			return rerr
		}
		return badFile("QLIKBOT_POLICY", a.cfg.Policy, err, want)
	}
	a.authz = az
	for _, w := range policyWarnings(a.cfg.Policy, az.Policy(), a.siteNames()) {
		a.log.Warn(w, "policy", a.cfg.Policy)
	}
	return nil
}

func (a *app) buildChat(stdin io.Reader, stdout io.Writer) error {
	cfg := a.cfg
	if cfg.SlackMode != "" {
		slackOpts := []slackbot.Option{slackbot.WithLogger(a.log),
			slackbot.WithRateLimitHook(a.metrics.chatRateLimited(bot.Slack)), slackbot.WithHome(a.engine.Home)}
		// 0 turns lookups off; without the users:read.email scope the
		// adapter turns them off by itself and /readyz notes it.
		slackOpts = append(slackOpts, slackbot.WithUserEmails(cfg.SlackEmailCache))
		s, err := slackbot.New(slackbot.Config{
			Mode:          cfg.SlackMode,
			BotToken:      cfg.SlackBotToken,
			AppToken:      cfg.SlackAppToken,
			SigningSecret: cfg.SlackSigningSecret,
			APIURL:        cfg.SlackAPIURL,
			Command:       cfg.SlackCommand,
		}, a.disp, a.store, slackOpts...)
		if err != nil {
			return configErr("%v", err)
		}
		a.adapters = append(a.adapters, s)
	}
	if cfg.TeamsAppID != "" {
		teamsOpts := []teams.Option{teams.WithLogger(a.log),
			teams.WithRateLimitHook(a.metrics.chatRateLimited(bot.Teams))}
		if a.files != nil {
			teamsOpts = append(teamsOpts, teams.WithFileLinks(a.files.Publish))
		}
		t, err := teams.New(teams.Config{
			AppID:             cfg.TeamsAppID,
			AppPassword:       cfg.TeamsAppPassword,
			TenantID:          cfg.TeamsTenantID,
			OpenIDMetadataURL: cfg.TeamsOpenIDURL,
			TokenURL:          cfg.TeamsTokenURL,
		}, a.disp, teamsOpts...)
		if err != nil {
			return configErr("teams: %v", err)
		}
		a.adapters = append(a.adapters, t)
	}
	if cfg.ChatConfigured() {
		return nil
	}
	a.input = &countingReader{r: stdin}
	consoleOpts := []console.Option{
		console.WithUser(bot.User{ID: cfg.ConsoleUser, Name: cfg.ConsoleUser}),
		console.WithInteractive(isTerminal(stdin) && isTerminal(stdout)),
		console.WithLogger(a.log),
	}
	if lw, ok := a.stderr.(*console.LogWriter); ok {
		consoleOpts = append(consoleOpts, console.WithLogWriter(lw))
	}
	c, err := console.New(a.disp, a.input, stdout, consoleOpts...)
	if err != nil {
		return configErr("console: %v", err)
	}
	a.console = c
	return nil
}

// close releases what newApp acquired; safe on a partly built app.
func (a *app) close() {
	for _, l := range []*listener{a.public, a.admin} {
		if l != nil {
			l.Close() // already closed once served; a second close is harmless
		}
	}
	for _, s := range a.sites {
		if s.client != nil {
			s.client.Close()
		}
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Warn("close store", "err", err)
		}
	}
	for _, s := range a.sites {
		if s.sim != nil {
			s.sim.Close()
		}
	}
	if a.tempDir != "" {
		os.RemoveAll(a.tempDir)
	}
}

// errStopped is the cause of the run context's end when a part stops on
// its own (the console reached end of input).
var errStopped = errors.New("stopped")
