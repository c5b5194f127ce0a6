package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

// E-mail lookups in the conversation's member roster. They sit between an
// activity and its 202, inside Teams' 10-15 s, so each gets a small slice.
const (
	DefaultEmailCache   = time.Hour
	memberLookupTimeout = 2 * time.Second
	maxCachedMembers    = 10000
)

// WithUserEmails sets how long the e-mail addresses read from the
// conversation's member roster are cached (default DefaultEmailCache);
// 0 turns the lookups off. With lookups on, Request.User.Email holds the
// address Teams vouches for, so policies can name "email:..." subjects
// and one person on Slack and Teams is one approver.
func WithUserEmails(ttl time.Duration) Option {
	return func(o *options) error {
		if ttl < 0 {
			return errors.New("WithUserEmails: ttl must not be negative")
		}
		o.emailTTL = &ttl
		return nil
	}
}

// member is the part of a TeamsChannelAccount the adapter reads.
type member struct {
	ID                string `json:"id"`
	AadObjectID       string `json:"aadObjectId"`
	Email             string `json:"email"`
	UserPrincipalName string `json:"userPrincipalName"`
	UserRole          string `json:"userRole"` // "user" or "guest"
}

// vouchedEmail is the address Teams vouches for as aad's, "" when there is
// none to trust: the roster entry must be that very user, a member of the
// tenant (a guest's address is whatever another directory says), and a
// userPrincipalName counts only when it looks like an address and is not
// a guest's "#EXT#" name.
func (m member) vouchedEmail(aad string) string {
	if !strings.EqualFold(m.AadObjectID, aad) || strings.EqualFold(m.UserRole, "guest") {
		return ""
	}
	email := strings.TrimSpace(m.Email)
	if upn := strings.TrimSpace(m.UserPrincipalName); email == "" && strings.Contains(upn, "@") &&
		!strings.Contains(strings.ToUpper(upn), "#EXT#") {
		email = upn
	}
	return strings.ToLower(email)
}

// withEmail adds the sender's vouched e-mail to req when lookups are on.
// A failed lookup is logged and not cached: the request goes on without
// an e-mail and the next one tries again.
func (a *Adapter) withEmail(ctx context.Context, act activity, req *bot.Request) {
	if a.emails == nil || act.From.ID == "" {
		return
	}
	ref := conversationRef{ServiceURL: act.ServiceURL, ConversationID: channelOf(act.Conversation.ID)}
	email, err := a.emails.Fetch(ctx, req.User.ID, a.now(), memberLookupTimeout, func(ctx context.Context) (string, error) {
		m, err := a.conn.member(ctx, ref, act.From.ID)
		if err != nil {
			return "", err
		}
		return m.vouchedEmail(req.User.ID), nil
	})
	if err != nil {
		a.log.WarnContext(ctx, "teams: member lookup failed; going on without e-mail", "user", req.User.ID, "err", err)
		return
	}
	req.User.Email = email
}

// member reads one entry of a conversation's roster:
// GET {serviceUrl}/v3/conversations/{id}/members/{userId}. One attempt:
// the caller waits for it, and an e-mail is a bonus, not the request.
func (c *connector) member(ctx context.Context, ref conversationRef, userID string) (member, error) {
	path := "/v3/conversations/" + url.PathEscape(ref.ConversationID) + "/members/" + url.PathEscape(userID)
	if !c.isTrusted(ref.ServiceURL) {
		return member{}, fmt.Errorf("GET %s: %w", path, errUntrustedServiceURL)
	}
	tok, err := c.tokens.get(ctx)
	if err != nil {
		return member{}, fmt.Errorf("GET %s: %w", path, err)
	}
	res, err := c.once(ctx, http.MethodGet, strings.TrimSuffix(ref.ServiceURL, "/")+path, tok.Reveal(), nil)
	if err != nil {
		return member{}, fmt.Errorf("GET %s: %w", path, err)
	}
	if res.status == http.StatusUnauthorized {
		c.tokens.invalidate(tok) // revoked early: the next call fetches a fresh one
	}
	if res.status != http.StatusOK {
		return member{}, &StatusError{Method: http.MethodGet, Path: path, Status: res.status, Attempts: 1}
	}
	var m member
	if err := json.Unmarshal(res.body, &m); err != nil {
		return member{}, fmt.Errorf("GET %s: decode member: %w", path, err)
	}
	return m, nil
}
