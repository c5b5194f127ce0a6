package teams

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// Defaults for the Bot Framework public cloud.
const (
	DefaultOpenIDMetadataURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
	DefaultIssuer            = "https://api.botframework.com"
	defaultTokenURLFormat    = "https://login.microsoftonline.com/%s/oauth2/v2.0/token"
	tokenScope               = "https://api.botframework.com/.default"
)

// Config is what the adapter needs to know about the bot's Azure
// registration. AppID, AppPassword and TenantID are required.
type Config struct {
	AppID             string
	AppPassword       bot.Secret
	TenantID          string // single-tenant bot
	OpenIDMetadataURL string // default DefaultOpenIDMetadataURL
	TokenURL          string // default https://login.microsoftonline.com/{TenantID}/oauth2/v2.0/token
	Issuer            string // default DefaultIssuer
}

// withDefaults fills the optional fields and checks the required ones.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if strings.TrimSpace(c.AppID) == "" {
		errs = append(errs, errors.New("AppID is required"))
	}
	if c.AppPassword == "" {
		errs = append(errs, errors.New("AppPassword is required"))
	}
	if strings.TrimSpace(c.TenantID) == "" {
		errs = append(errs, errors.New("TenantID is required (new bots are single-tenant)"))
	} else if strings.ContainsAny(c.TenantID, "/?#% ") {
		errs = append(errs, errors.New("TenantID must be a tenant id or domain"))
	}
	if c.OpenIDMetadataURL == "" {
		c.OpenIDMetadataURL = DefaultOpenIDMetadataURL
	}
	if c.TokenURL == "" && c.TenantID != "" {
		c.TokenURL = fmt.Sprintf(defaultTokenURLFormat, url.PathEscape(c.TenantID))
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	for name, u := range map[string]string{"OpenIDMetadataURL": c.OpenIDMetadataURL, "TokenURL": c.TokenURL} {
		if u == "" {
			continue
		}
		if err := checkHTTPS(u); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("teams config: %w", err)
	}
	return c, nil
}

// checkHTTPS accepts only absolute https URLs: keys, tokens and replies
// never travel in clear text.
func checkHTTPS(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return errors.New("must be an absolute https URL")
	}
	return nil
}

// Option changes a default of the adapter.
type Option func(*options) error

type options struct {
	logger         *slog.Logger
	now            func() time.Time
	client         *http.Client
	invokeDeadline time.Duration
	onRateLimited  func()
	publish        PublishFunc
	emailTTL       *time.Duration // nil: DefaultEmailCache
	serviceURLOK   func(*url.URL) bool
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithClock sets the clock used for token lifetimes, JWT exp/nbf and key
// refetch intervals.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("WithClock: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithHTTPClient sets the client for OpenID metadata, keys, tokens and the
// connector. Its Timeout is kept if set; every call also has its own.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		o.client = c
		return nil
	}
}

// WithInvokeDeadline sets how long an Action.Execute may run before the
// HTTP answer becomes a "working on it" card and the outcome is sent as an
// update (default 8 s: Teams gives up after 10-15 s).
func WithInvokeDeadline(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return errors.New("WithInvokeDeadline: must be positive")
		}
		o.invokeDeadline = d
		return nil
	}
}

// WithRateLimitHook calls f each time the Bot Connector answers 429, for
// the chat API rate-limit metric.
func WithRateLimitHook(f func()) Option {
	return func(o *options) error {
		if f == nil {
			return errors.New("WithRateLimitHook: nil func")
		}
		o.onRateLimited = f
		return nil
	}
}

// WithServiceURLCheck replaces the check of the service URLs proactive
// messages may go to (default: https on Microsoft's Bot Connector hosts
// or on the token endpoint's host, see serviceURLCheck). For tests;
// never set in production.
func WithServiceURLCheck(ok func(u *url.URL) bool) Option {
	return func(o *options) error {
		if ok == nil {
			return errors.New("WithServiceURLCheck: nil func")
		}
		o.serviceURLOK = ok
		return nil
	}
}
