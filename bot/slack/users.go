package slackbot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// Email lookup bounds: in HTTP mode users.info sits between the request
// and the ack, in socket mode it holds up the next envelope's ack, so it
// gets a small slice of Slack's 3 s.
const (
	lookupTimeout = time.Second
	probeTimeout  = 10 * time.Second
	maxCachedUser = 10000
	// emailScope is the scope users.info needs to return profile.email.
	emailScope = "users:read.email"
	// probeUser is Slackbot, a member of every workspace: looking it up
	// at start shows the token's scopes before any user asks.
	probeUser = "USLACKBOT"
)

// WithUserEmails makes the adapter fill Request.User.Email from users.info
// (scope users:read.email), so policies can name "email:..." subjects and
// one person on Slack and Teams is one approver. Answers are cached for
// ttl; 0 leaves lookups off. A failed lookup leaves Email empty and the
// request goes on. When the token lacks the scope the adapter turns the
// lookups off by itself, logs it once and says so in Ready (degraded, not
// down).
func WithUserEmails(ttl time.Duration) Option {
	return func(a *Adapter) error {
		if ttl < 0 {
			return errors.New("slack: user email cache ttl must not be negative")
		}
		a.users = nil
		if ttl > 0 {
			a.users = &emailLookups{cache: bot.NewTTLCache[string, string](ttl, maxCachedUser)}
		}
		return nil
	}
}

// emailLookups is the state of the e-mail lookups. Safe for concurrent use.
type emailLookups struct {
	cache *bot.TTLCache[string, string]
	// off, when set, says why lookups are off (the token lacks the scope).
	off atomic.Pointer[string]
	// probes tracks Start's scope probe.
	probes sync.WaitGroup
}

// disabled returns why lookups are off, "" while they are on.
func (l *emailLookups) disabled() string {
	if p := l.off.Load(); p != nil {
		return *p
	}
	return ""
}

// withEmail adds the user's verified e-mail to req when lookups are on
// and the user is a full member of team, the workspace the request came
// from.
// A failed lookup is logged and not cached: the request goes on without
// an e-mail and the next one tries again.
func (a *Adapter) withEmail(ctx context.Context, req *bot.Request, team string) {
	if a.users == nil || a.users.disabled() != "" || team == "" {
		return
	}
	email, err := a.users.cache.Fetch(ctx, team+"/"+req.User.ID, a.now(), lookupTimeout, func(ctx context.Context) (string, error) {
		return a.lookupEmail(ctx, req.User.ID, team)
	})
	if err != nil {
		if !a.scopeMissing(ctx, err) {
			a.log.WarnContext(ctx, "slack users.info failed; going on without e-mail", "user", req.User.ID, "err", err)
		}
		return
	}
	req.User.Email = email
}

// lookupEmail returns the e-mail of user id, a member of team, or "" when
// the address is not one a policy should trust.
func (a *Adapter) lookupEmail(ctx context.Context, id, team string) (string, error) {
	u, err := a.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return "", fmt.Errorf("users.info %s: %w", id, err)
	}
	if u.ID != id || !trustedMember(u, team) {
		return "", nil
	}
	return strings.ToLower(strings.TrimSpace(u.Profile.Email)), nil
}

// trustedMember reports whether u's e-mail can stand for a person in
// team's organisation. Bots and deleted users have none; guests
// (restricted, ultra-restricted) and people from other organisations
// (strangers in a shared channel, another workspace) set their own
// profile address, which would let them pass as anyone a policy names
// by e-mail. An Enterprise Grid member counts in any of their grid's
// workspaces.
func trustedMember(u *slack.User, team string) bool {
	switch {
	case u.IsBot || u.Deleted || u.IsRestricted || u.IsUltraRestricted || u.IsStranger:
		return false
	case team == "":
		return false
	case u.TeamID == team:
		return true
	}
	return u.Enterprise.EnterpriseID != "" && slices.Contains(u.Enterprise.Teams, team)
}

// scopeMissing turns the lookups off when err is Slack's missing_scope
// and reports whether it was.
func (a *Adapter) scopeMissing(ctx context.Context, err error) bool {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "missing_scope" {
		return false
	}
	needed := se.Needed
	if needed == "" {
		needed = emailScope
	}
	a.emailsOff(ctx, "the bot token lacks the "+needed+" scope")
	return true
}

// onResponseHeaders reads X-OAuth-Scopes, which Slack sends with every Web
// API answer: lookups go off when the bot token lacks users:read.email and
// on again once it has it (the app was reinstalled with the scope). The
// apps.* methods (apps.connections.open, at every socket-mode connect)
// are called with the app-level token, whose scopes say nothing of the
// bot token's.
func (a *Adapter) onResponseHeaders(method string, h http.Header) {
	if a.users == nil || strings.HasPrefix(method, "apps.") {
		return
	}
	raw := h.Get("X-OAuth-Scopes")
	if raw == "" {
		return // not a Web API answer, or a fake without the header
	}
	scopes := strings.Split(raw, ",")
	for i := range scopes {
		scopes[i] = strings.TrimSpace(scopes[i])
	}
	ctx := context.Background()
	if slices.Contains(scopes, emailScope) {
		if a.users.off.Swap(nil) != nil {
			a.log.InfoContext(ctx, "slack e-mail lookups on again: the bot token has "+emailScope)
		}
		return
	}
	a.emailsOff(ctx, "the bot token lacks the "+emailScope+" scope")
}

// emailsOff turns the lookups off, logging the first time only.
func (a *Adapter) emailsOff(ctx context.Context, reason string) {
	if a.users.off.CompareAndSwap(nil, &reason) {
		a.log.WarnContext(ctx, "slack e-mail lookups turned off: "+reason+
			"; email: grants and one person across platforms match on platform ids only until the app is reinstalled with it")
	}
}

// probeEmailScope looks Slackbot up once, in the background, so a token
// without the scope shows in Ready before the first user asks. The
// answer itself does not matter: the scopes come with it.
func (a *Adapter) probeEmailScope(ctx context.Context) {
	if a.users == nil {
		return
	}
	a.users.probes.Go(func() {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		if _, err := a.lookupEmail(ctx, probeUser, ""); err != nil && !a.scopeMissing(ctx, err) {
			a.log.DebugContext(ctx, "slack e-mail scope probe", "err", err)
		}
	})
}

// emailReady is the note Ready gives while lookups are off.
func (a *Adapter) emailReady() error {
	if a.users == nil {
		return nil
	}
	if why := a.users.disabled(); why != "" {
		return fmt.Errorf("%w: slack e-mail lookups off: %s", bot.ErrDegraded, why)
	}
	return nil
}
