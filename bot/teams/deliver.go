package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/qlikbot/qlikbot/bot"
)

// Teams' spelling of a bot.Destination: Channel is Request.Channel (the
// conversation id without ";messageid=..."), Conversation the JSON of
// teamsConversation (what a proactive message needs: the service URL, the
// tenant and the full conversation id), Message the id of the activity to
// replace (the card a click came from; "" posts anew). None of it is a
// secret: the bot token is fetched when sending.
type teamsConversation struct {
	ServiceURL   string `json:"serviceUrl"`
	Tenant       string `json:"tenant,omitempty"`
	Conversation string `json:"conversation"`
}

// origin is the Request.Origin of an activity: its conversation, and for a
// click the card it came from (cardID, the activity's replyToId).
func origin(serviceURL, tenant, conversation, cardID string) bot.Destination {
	b, _ := json.Marshal(teamsConversation{ServiceURL: serviceURL, Tenant: tenant, Conversation: conversation}) // strings always encode
	return bot.Destination{Platform: bot.Teams, Channel: channelOf(conversation), Conversation: string(b), Message: cardID}
}

var errBadDestination = errors.New("teams deliver: bad destination")

// parseDestination checks dst before anything is sent on its word: a
// Teams conversation in the configured tenant, at an https service URL
// (plain http only on a loopback host, as in tests).
func (a *Adapter) parseDestination(dst bot.Destination) (conversationRef, error) {
	if dst.Platform != bot.Teams {
		return conversationRef{}, fmt.Errorf("%w: on %q", errBadDestination, dst.Platform)
	}
	var tc teamsConversation
	if err := json.Unmarshal([]byte(dst.Conversation), &tc); err != nil {
		return conversationRef{}, fmt.Errorf("%w: %v", errBadDestination, err)
	}
	u, err := url.Parse(tc.ServiceURL)
	switch {
	case err != nil || u.Host == "" || u.User != nil:
		return conversationRef{}, fmt.Errorf("%w: service URL", errBadDestination)
	case u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())):
		return conversationRef{}, fmt.Errorf("%w: service URL is not https", errBadDestination)
	case tc.Conversation == "" || strings.ContainsAny(tc.Conversation, "/?#"):
		return conversationRef{}, fmt.Errorf("%w: conversation id", errBadDestination)
	case tc.Tenant != "" && a.cfg.TenantID != "" && !strings.EqualFold(tc.Tenant, a.cfg.TenantID):
		return conversationRef{}, fmt.Errorf("%w: another tenant", errBadDestination)
	case strings.ContainsAny(dst.Message, "/?#"):
		return conversationRef{}, fmt.Errorf("%w: activity id", errBadDestination)
	}
	return conversationRef{ServiceURL: tc.ServiceURL, ConversationID: tc.Conversation}, nil
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

var (
	_ bot.Deliverer = (*Adapter)(nil)
	_ bot.Fitter    = (*Adapter)(nil)
)

// Fit is the adapter's Request.Fit: the rows that fit in one card with
// the download buttons the reply's files will get.
func (a *Adapter) Fit(r bot.Reply) int { return a.fit(r) }

// Deliver sends r proactively, with the bot's connector token: it
// replaces the activity dst.Message (PUT .../activities/{id}) when r
// replaces the original and dst names one, else posts a new activity to
// the conversation (POST .../activities). The service URL comes from a
// destination the engine keeps sealed (it arrived on an authenticated
// activity), so it is trusted again after a restart. It returns the
// activity posted or replaced.
func (a *Adapter) Deliver(ctx context.Context, dst bot.Destination, r bot.Reply) (bot.Destination, error) {
	ref, err := a.parseDestination(dst)
	if err != nil {
		return dst, err
	}
	a.conn.trust(ref.ServiceURL)
	act := cardActivity(renderCard(r, a.links(ctx, r.Files)), r.Title)
	if r.ReplaceOriginal && dst.Message != "" {
		if err := a.conn.update(ctx, ref, dst.Message, act); err != nil {
			return dst, fmt.Errorf("teams deliver: update card: %w", err)
		}
		return dst, nil
	}
	id, err := a.conn.post(ctx, ref, "", act)
	if err != nil {
		return dst, fmt.Errorf("teams deliver: post: %w", err)
	}
	out := dst
	out.Message = id
	return out, nil
}
