package teams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

const (
	maxBodyBytes          = 256 << 10 // activities are a few KB; cards come back in clicks only as data
	defaultInvokeDeadline = 8 * time.Second
	lateWorkTimeout       = 5 * time.Minute // a slow Action.Execute still ends
	defaultClientTimeout  = 30 * time.Second
)

// Dispatcher runs requests: Submit queues one whose reply goes through
// req.ReplyTo; Do runs one at once for an answer in the HTTP body.
// *bot.Dispatcher implements it.
type Dispatcher interface {
	Submit(ctx context.Context, req bot.Request) error
	Do(ctx context.Context, req bot.Request) bot.Reply
}

// Adapter is the Teams connection: an HTTP handler for the Bot Framework
// messaging endpoint and a connector client for replies. Safe for
// concurrent use.
type Adapter struct {
	cfg            Config
	d              Dispatcher
	log            *slog.Logger
	now            func() time.Time
	keys           *keyCache
	auth           *validator
	conn           *connector
	invokeDeadline time.Duration
	mux            *http.ServeMux
	warmRetry      time.Duration                 // first retry gap of Start's warm-up
	publish        PublishFunc                   // nil: files are not linked
	emails         *bot.TTLCache[string, string] // by AAD object id; nil: no e-mail lookups
	serviceURLOK   func(*url.URL) bool           // where proactive messages may go
	cards          cardGates                     // orders a click's card update before Delivers to that card
}

var _ bot.Adapter = (*Adapter)(nil)

// New checks cfg and returns an adapter. It does no network I/O.
func New(cfg Config, d Dispatcher, opts ...Option) (*Adapter, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, errors.New("teams: dispatcher is nil")
	}
	o := options{
		logger:         slog.New(slog.DiscardHandler),
		now:            time.Now,
		invokeDeadline: defaultInvokeDeadline,
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("teams: %w", err)
		}
	}
	if o.serviceURLOK == nil {
		o.serviceURLOK = serviceURLCheck(cfg.TokenURL)
	}
	if o.client == nil {
		// Replies to busy channels go to one serviceUrl host: keep more
		// than the default 2 idle connections to spare TLS handshakes.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		o.client = &http.Client{Timeout: defaultClientTimeout, Transport: tr}
	}
	log := o.logger.With("platform", string(bot.Teams))
	a := &Adapter{cfg: cfg, d: d, log: log, now: o.now, invokeDeadline: o.invokeDeadline, warmRetry: defaultWarmRetry,
		publish: o.publish, serviceURLOK: o.serviceURLOK}
	a.keys = &keyCache{metadataURL: cfg.OpenIDMetadataURL, client: o.client, now: o.now, log: log}
	a.auth = newValidator(a.keys, cfg.Issuer, cfg.AppID, o.now)
	tokens := &tokenSource{url: cfg.TokenURL, clientID: cfg.AppID, secret: cfg.AppPassword, client: o.client, now: o.now,
		tenantName: cfg.TenantID}
	a.conn = newConnector(tokens, o.client, log, o.now)
	a.conn.onRateLimited = o.onRateLimited
	ttl := DefaultEmailCache
	if o.emailTTL != nil {
		ttl = *o.emailTTL
	}
	if ttl > 0 {
		a.emails = bot.NewTTLCache[string, string](ttl, maxCachedMembers)
	}
	a.mux = http.NewServeMux()
	a.mux.HandleFunc("POST /api/messages", a.serveActivity)
	return a, nil
}

// Name returns bot.Teams.
func (a *Adapter) Name() bot.Platform { return bot.Teams }

// Start loads the signing keys and a connector token, retrying with
// backoff while either fails (failures are logged; see Ready), and blocks
// until ctx is done. The HTTP server that serves Handler is the caller's.
func (a *Adapter) Start(ctx context.Context) error {
	a.warmLoop(ctx)
	return nil
}

// Handler serves POST /api/messages.
func (a *Adapter) Handler() http.Handler { return a.mux }

// serveActivity authenticates the activity before reading anything from
// it, then routes it by type.
func (a *Adapter) serveActivity(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return
	}
	tok, err := a.auth.token(ctx, r.Header.Get("Authorization"))
	if err != nil {
		a.log.WarnContext(ctx, "teams: activity refused", "err", err, "remote", r.RemoteAddr)
		w.Header().Set("WWW-Authenticate", `Bearer realm="qlikbot"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	act, err := parseActivity(body)
	if err != nil {
		a.log.WarnContext(ctx, "teams: bad activity", "err", err)
		http.Error(w, "bad activity", http.StatusBadRequest)
		return
	}
	if err := tok.bind(act.ServiceURL, act.ChannelID); err != nil {
		a.log.WarnContext(ctx, "teams: activity refused", "err", err, "channel", act.ChannelID)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if err := a.admit(ctx, act); err != nil {
		if errors.Is(err, errTenantUnknown) {
			a.log.ErrorContext(ctx, "teams: activity not checked", "err", err)
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		a.log.WarnContext(ctx, "teams: activity refused", "err", err, "channel", act.ChannelID)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	a.conn.trust(act.ServiceURL)
	switch act.Type {
	case "message":
		a.onMessage(w, r, act)
	case "invoke":
		a.onInvoke(w, r, act)
	case "conversationUpdate":
		a.onConversationUpdate(w, r, act)
	default:
		w.WriteHeader(http.StatusOK) // typing, reactions ...: nothing to do
	}
}

// request builds the neutral request for an activity. ok is false when the
// sender has no AAD object id: without it no permission can apply. The
// request's Channel is the channel without the thread (";messageid=..."),
// replies still go to the thread.
func (a *Adapter) request(ctx context.Context, act activity) (bot.Request, bool) {
	if act.From.AadObjectID == "" {
		return bot.Request{}, false
	}
	req := bot.Request{
		ID:         bot.NewRequestID(),
		Platform:   bot.Teams,
		User:       bot.User{ID: act.From.AadObjectID, Name: act.From.Name},
		Channel:    channelOf(act.Conversation.ID),
		ReplyTo:    a.responder(act),
		ReceivedAt: a.now(),
		Fit:        a.fit,
		// A click's card, where a job it starts reports later.
		Origin: origin(act.ServiceURL, act.tenantID(), act.Conversation.ID, act.clickedCard()),
	}
	a.withEmail(ctx, act, &req)
	return req, true
}

func (a *Adapter) onMessage(w http.ResponseWriter, r *http.Request, act activity) {
	req, ok := a.request(r.Context(), act)
	if !ok {
		a.log.WarnContext(r.Context(), "teams: message without from.aadObjectId ignored", "channel", act.ChannelID)
		http.Error(w, "sender has no AAD object id", http.StatusBadRequest)
		return
	}
	if d, ok := act.submitClick(); ok {
		req.Action = &bot.Action{ID: d.Action, Value: d.Value, MessageRef: act.ReplyToID}
	} else {
		req.Text = bot.TrimCommand(act.plainText())
		if req.Text == "" {
			req.Text = "help"
		}
	}
	a.submit(w, r, req)
}

func (a *Adapter) onConversationUpdate(w http.ResponseWriter, r *http.Request, act activity) {
	if !act.botAdded() {
		w.WriteHeader(http.StatusOK)
		return
	}
	req, ok := a.request(r.Context(), act)
	if !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	req.Text = "help"
	req.ReplyTo = welcome{req.ReplyTo}
	a.submit(w, r, req)
}

func (a *Adapter) submit(w http.ResponseWriter, r *http.Request, req bot.Request) {
	if err := a.d.Submit(r.Context(), req); err != nil {
		// The dispatcher has told the user (busy, slow down) where it
		// could; Teams must not redeliver.
		a.log.InfoContext(r.Context(), "teams: request not queued", "request", req.ID, "err", err)
	}
	w.WriteHeader(http.StatusAccepted)
}

// welcome puts a greeting in front of the help reply sent when the bot
// is added to a conversation.
type welcome struct{ next bot.Responder }

func (wl welcome) Respond(ctx context.Context, r bot.Reply) error {
	r.Summary = append([]string{"Hi, I am qlikbot. I show who is connected to Qlik Sense and end sessions with a second person's approval. Mention me with a command:"}, r.Summary...)
	return wl.next.Respond(ctx, r)
}
