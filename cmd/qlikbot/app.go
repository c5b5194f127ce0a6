package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/bot/console"
	slackbot "github.com/qlikbot/qlikbot/bot/slack"
	"github.com/qlikbot/qlikbot/bot/teams"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// app is the wired program: every part built, nothing started.
type app struct {
	cfg         Config
	log         *slog.Logger
	metrics     *metrics
	sim         *qliksim.Server // demo only
	qlik        *qlik.Client
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
}

// newApp builds every part from cfg. It does no network I/O beyond
// starting the in-process simulator and binding the listeners, so a bad
// setting fails here, before anything runs.
func newApp(ctx context.Context, cfg Config, log *slog.Logger, stdin io.Reader, stdout, stderr io.Writer) (_ *app, err error) {
	// a is not the named result: "return nil, err" must not nil it before
	// the deferred close releases what was built.
	a := &app{cfg: cfg, log: log, metrics: newMetrics(), stderr: stderr}
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
	engineOpts := []commands.Option{
		commands.WithLogger(log.With("component", "commands")),
		commands.WithPageSize(cfg.PageSize),
		commands.WithObserver(a.metrics.observeCommand),
		commands.WithSealer(a.sealer),
	}
	if cfg.SlackMode != "" {
		// Help and usage text name the slash command as the Slack app
		// defines it (a renamed command must not be taught as /qlik).
		engineOpts = append(engineOpts, commands.WithCommandName(cfg.SlackCommand))
	}
	a.engine, err = commands.New(observedQlik{a.qlik, a.metrics}, a.store, a.authz, engineOpts...)
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
	return a, a.buildHTTP()
}

func (a *app) buildQlik() error {
	cfg := a.cfg
	qc := qlik.Config{
		QRSHost:            cfg.QlikHost,
		QRSPort:            cfg.QlikQRSPort,
		QPSPort:            cfg.QlikQPSPort,
		InsecureSkipVerify: cfg.QlikInsecure,
		Timeout:            cfg.QlikTimeout,
		Concurrency:        cfg.QlikConcurrency,
		RequestsPerSecond:  cfg.QlikRPS,
		TopologyTTL:        cfg.QlikTopologyTTL,
		Resolve:            cfg.QlikResolve,
		Logger:             a.log,
		Observe:            a.metrics.observeQlik,
	}
	qc.UserDirectory, qc.UserID, _ = splitQlikUser(cfg.QlikUser) // validated in loadConfig
	if cfg.Demo() {
		sim, err := qliksim.Start(qliksim.WithLogger(a.log), qliksim.WithRequestLogLimit(10000))
		if err != nil {
			return fmt.Errorf("start the built-in Qlik simulator: %w", err)
		}
		a.sim = sim
		qc.QRSHost, qc.QRSPort, qc.QPSPort = sim.QRSHost(), sim.QRSPort(), sim.QPSPort()
		qc.CertPEM, qc.KeyPEM, qc.RootPEM = sim.CertPEM(), sim.KeyPEM(), sim.RootPEM()
		qc.Resolve = sim.Resolve()
		fmt.Fprintf(a.stderr, "qlikbot: QLIKBOT_QLIK_HOST is not set: using the built-in Qlik Sense simulator (seed lab: %d nodes, QRS at %s:%d)\n",
			len(sim.Hosts()), sim.QRSHost(), sim.QRSPort())
	} else {
		var err error
		if qc.CertPEM, qc.KeyPEM, qc.RootPEM, err = loadQlikCerts(cfg); err != nil {
			return err
		}
	}
	c, err := qlik.New(qc)
	if err != nil {
		return configErr("qlik: %v", err)
	}
	a.qlik = c
	return nil
}

func (a *app) buildAuthz() error {
	if a.cfg.Policy == "" {
		// Only the demo gets here (validate requires a policy otherwise).
		a.authz = authz.NewStatic(authz.DemoPolicy())
		fmt.Fprintln(a.stderr, "qlikbot: QLIKBOT_POLICY is not set: using the demo policy (console users oncall, lead, admin)")
		return nil
	}
	az, err := authz.NewAuthorizer(a.cfg.Policy, authz.WithLogger(a.log))
	if err != nil {
		const want = "a readable policy file like authz/demo-policy.yaml"
		if _, rerr := readSettingFile("QLIKBOT_POLICY", a.cfg.Policy, want); rerr != nil {
			return rerr
		}
		return badSetting("QLIKBOT_POLICY", a.cfg.Policy, err.Error(), want)
	}
	a.authz = az
	for _, w := range policyWarnings(a.cfg.Policy, az.Policy()) {
		a.log.Warn(w, "policy", a.cfg.Policy)
	}
	return nil
}

func (a *app) buildChat(stdin io.Reader, stdout io.Writer) error {
	cfg := a.cfg
	if cfg.SlackMode != "" {
		slackOpts := []slackbot.Option{slackbot.WithLogger(a.log),
			slackbot.WithRateLimitHook(a.metrics.chatRateLimited(bot.Slack)), slackbot.WithHome(a.engine.Home)}
		if cfg.SlackEmailCache > 0 {
			slackOpts = append(slackOpts, slackbot.WithUserEmails(cfg.SlackEmailCache))
		}
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
	c, err := console.New(a.disp, a.input, stdout,
		console.WithUser(bot.User{ID: cfg.ConsoleUser, Name: cfg.ConsoleUser}),
		console.WithInteractive(isTerminal(stdin) && isTerminal(stdout)),
		console.WithLogger(a.log))
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
	if a.qlik != nil {
		a.qlik.Close()
	}
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Warn("close store", "err", err)
		}
	}
	if a.sim != nil {
		a.sim.Close()
	}
	if a.tempDir != "" {
		os.RemoveAll(a.tempDir)
	}
}

// errStopped is the cause of the run context's end when a part stops on
// its own (the console reached end of input).
var errStopped = errors.New("stopped")
