// Package slackbot connects qlikbot to Slack: slash commands and button
// clicks arrive over Socket Mode (no public URL needed) or signed HTTP
// requests, become bot.Requests handed to a Submitter (the dispatcher),
// and answers are rendered as Block Kit and posted to response_url, then
// with the bot token once response_url is used up or expired.
//
// Every inbound HTTP request is size-capped and signature-checked with an
// injected clock before anything is parsed (401 otherwise), acknowledged
// at once, and replay-guarded in the shared store before anything runs:
// the guard is a store write, so it comes after the ack, and a replay
// (an empty 200 to whoever sent it) is dropped. Every inbound request is
// acknowledged within Slack's 3 s deadline before the work starts.
//
// With WithUserEmails, Request.User.Email is the address users.info
// vouches for (scope users:read.email). A token without that scope turns
// the lookups off by itself (seen from Start's probe, a missing_scope
// answer or the X-OAuth-Scopes header of any Web API answer), and Ready
// reports that as bot.ErrDegraded: a note, not a failure.
package slackbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// Modes of connecting to Slack.
const (
	ModeSocket = "socket"
	ModeHTTP   = "http"
)

// Config is the Slack side of qlikbot's configuration.
type Config struct {
	Mode          string     // "socket" (default) or "http"
	BotToken      bot.Secret // xoxb-...
	AppToken      bot.Secret // xapp-... (socket mode)
	SigningSecret bot.Secret // HTTP mode
	APIURL        string     // default Slack's; tests point it at slacktest
	Command       string     // default "/qlik"
}

// Submitter hands a request to the work queue without blocking;
// *bot.Dispatcher implements it and answers "busy" itself.
type Submitter interface {
	Submit(ctx context.Context, r bot.Request) error
}

// Option configures an Adapter.
type Option func(*Adapter) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(a *Adapter) error {
		if l == nil {
			return errors.New("slack: nil logger")
		}
		a.log = l
		return nil
	}
}

// WithClock sets the clock used for signature windows and response_url
// expiry (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(a *Adapter) error {
		if now == nil {
			return errors.New("slack: nil clock")
		}
		a.now = now
		return nil
	}
}

// WithHTTPClient sets the client used for Slack's Web API and response_url.
func WithHTTPClient(c *http.Client) Option {
	return func(a *Adapter) error {
		if c == nil {
			return errors.New("slack: nil HTTP client")
		}
		a.httpClient = c
		return nil
	}
}

// WithRateLimitHook calls f each time Slack answers 429, for the chat API
// rate-limit metric.
func WithRateLimitHook(f func()) Option {
	return func(a *Adapter) error {
		if f == nil {
			return errors.New("slack: nil rate-limit hook")
		}
		a.onRateLimited = f
		return nil
	}
}

// Adapter is the Slack connection. It is safe for concurrent use.
type Adapter struct {
	cfg        Config
	sub        Submitter
	verify     verifier
	log        *slog.Logger
	now        func() time.Time
	httpClient *http.Client
	api        *slack.Client
	post       *poster
	apiOrigin  *url.URL
	users      *emailLookups // nil: no e-mail lookups
	// onRateLimited, when set, is told of every 429 (metrics).
	onRateLimited func()
	link          link          // what Ready reports
	ackWait       time.Duration // see ackWait; tests shorten it
	home          *homeTab      // nil: no App Home (see WithHome)
	// submits tracks socket-mode envelopes still on their way to the Submitter.
	submits sync.WaitGroup
}

var _ bot.Adapter = (*Adapter)(nil)

// New checks cfg and builds the adapter. It does no network I/O.
func New(cfg Config, sub Submitter, guard ReplayGuard, opts ...Option) (*Adapter, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeSocket
	}
	if cfg.Command == "" {
		cfg.Command = "/qlik"
	}
	if cfg.APIURL == "" {
		cfg.APIURL = slack.APIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, errors.New("slack: nil Submitter")
	}
	if cfg.Mode == ModeHTTP && guard == nil {
		return nil, errors.New("slack: HTTP mode needs a replay guard")
	}
	a := &Adapter{
		cfg:        cfg,
		sub:        sub,
		verify:     verifier{secret: []byte(cfg.SigningSecret.Reveal()), guard: guard},
		log:        slog.New(slog.DiscardHandler),
		now:        time.Now,
		httpClient: &http.Client{Timeout: 30 * time.Second},
	}
	for _, o := range opts {
		if err := o(a); err != nil {
			return nil, err
		}
	}
	a.log = a.log.With("platform", string(bot.Slack))
	origin, err := url.Parse(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("slack: QLIKBOT_SLACK_API_URL: %w", err)
	}
	a.apiOrigin = origin
	sopts := []slack.Option{slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(a.httpClient),
		slack.OptionOnResponseHeaders(a.onResponseHeaders)}
	if cfg.AppToken != "" {
		sopts = append(sopts, slack.OptionAppLevelToken(cfg.AppToken.Reveal()))
	}
	a.api = slack.New(cfg.BotToken.Reveal(), sopts...)
	a.post = newPoster(a.api, a.log)
	a.post.onLimited = a.onRateLimited
	return a, nil
}

func (c Config) validate() error {
	switch {
	case c.Mode != ModeSocket && c.Mode != ModeHTTP:
		return fmt.Errorf("slack: QLIKBOT_SLACK_MODE must be %q or %q, not %q", ModeSocket, ModeHTTP, c.Mode)
	case c.BotToken == "":
		return errors.New("slack: QLIKBOT_SLACK_BOT_TOKEN is required")
	case !strings.HasPrefix(c.BotToken.Reveal(), "xoxb-"):
		return errors.New("slack: QLIKBOT_SLACK_BOT_TOKEN must start with xoxb-")
	case c.Mode == ModeSocket && c.AppToken == "":
		return errors.New("slack: QLIKBOT_SLACK_APP_TOKEN is required in socket mode")
	case c.Mode == ModeSocket && !strings.HasPrefix(c.AppToken.Reveal(), "xapp-"):
		return errors.New("slack: QLIKBOT_SLACK_APP_TOKEN must start with xapp-")
	case c.Mode == ModeHTTP && c.SigningSecret == "":
		return errors.New("slack: QLIKBOT_SLACK_SIGNING_SECRET is required in HTTP mode")
	case !strings.HasPrefix(c.Command, "/") || strings.ContainsAny(c.Command, " \t\n"):
		return fmt.Errorf("slack: command must look like /qlik, not %q", c.Command)
	}
	u, err := url.Parse(c.APIURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("slack: QLIKBOT_SLACK_API_URL must be an http(s) URL")
	}
	return nil
}

// Name returns bot.Slack.
func (a *Adapter) Name() bot.Platform { return bot.Slack }

// Start runs the adapter until ctx is done. In socket mode it connects and
// serves events; in HTTP mode the caller mounts Handler and Start only
// marks the adapter ready (see Ready) and waits for ctx.
func (a *Adapter) Start(ctx context.Context) error {
	a.probeEmailScope(ctx)
	if a.users != nil {
		defer a.users.probes.Wait()
	}
	if a.home != nil {
		// After runSocket's wait for envelopes: a click's answer may
		// still start a build until then.
		defer a.home.stop()
	}
	if a.cfg.Mode == ModeHTTP {
		return a.runHTTP(ctx)
	}
	return a.runSocket(ctx)
}
