package slackbot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// Email lookup bounds: in HTTP mode users.info sits between the request
// and the ack, in socket mode it holds up the next envelope's ack, so it
// gets a small slice of Slack's 3 s.
const (
	lookupTimeout = time.Second
	maxCachedUser = 10000
)

// WithUserEmails makes the adapter fill Request.User.Email from users.info
// (scope users:read.email), so policies can name "email:..." subjects.
// Answers are cached for ttl; a failed lookup leaves Email empty and the
// request goes on.
func WithUserEmails(ttl time.Duration) Option {
	return func(a *Adapter) error {
		if ttl <= 0 {
			return errors.New("slack: user email cache ttl must be positive")
		}
		a.users = &userCache{ttl: ttl, m: map[string]cachedUser{}}
		return nil
	}
}

// userCache remembers users.info answers. Safe for concurrent use.
type userCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedUser
}

type cachedUser struct {
	email string
	until time.Time
}

func (c *userCache) get(id string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.m[id]
	if !ok || now.After(u.until) {
		return "", false
	}
	return u.email, true
}

func (c *userCache) put(id, email string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedUser {
		clear(c.m) // crude but bounded; a refill costs one lookup per user
	}
	c.m[id] = cachedUser{email: email, until: now.Add(c.ttl)}
}

// withEmail adds the user's verified e-mail to req when lookups are on.
func (a *Adapter) withEmail(ctx context.Context, req *bot.Request) {
	if a.users == nil {
		return
	}
	now := a.now()
	if email, ok := a.users.get(req.User.ID, now); ok {
		req.User.Email = email
		return
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	email, err := a.lookupEmail(ctx, req.User.ID)
	if err != nil {
		a.log.WarnContext(ctx, "slack users.info failed; going on without e-mail", "user", req.User.ID, "err", err)
		return // not cached: the next request tries again
	}
	a.users.put(req.User.ID, email, now)
	req.User.Email = email
}

func (a *Adapter) lookupEmail(ctx context.Context, id string) (string, error) {
	u, err := a.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return "", fmt.Errorf("users.info %s: %w", id, err)
	}
	// Bots and deleted users have no address a policy should trust.
	if u.ID != id || u.IsBot || u.Deleted {
		return "", nil
	}
	return strings.ToLower(strings.TrimSpace(u.Profile.Email)), nil
}
