package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
// Teams conversation in our tenant (the GUID activities carry, or the
// tenant as configured; a destination naming none is refused), at a service URL proactive
// messages may go to (a Microsoft Bot Connector host, see
// microsoftServiceURL). A destination may come from an operator's file
// rather than an authenticated activity, and the bot's connector token
// goes with the message, so the host is checked here, never trusted.
func (a *Adapter) parseDestination(ctx context.Context, dst bot.Destination) (conversationRef, error) {
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
	case !a.serviceURLOK(u):
		return conversationRef{}, fmt.Errorf("%w: service URL %s is not a Bot Connector host", errBadDestination, u.Redacted())
	case tc.Conversation == "" || strings.ContainsAny(tc.Conversation, "/?#"):
		return conversationRef{}, fmt.Errorf("%w: conversation id", errBadDestination)
	case tc.Tenant == "":
		return conversationRef{}, fmt.Errorf("%w: no tenant", errBadDestination)
	case strings.ContainsAny(dst.Message, "/?#"):
		return conversationRef{}, fmt.Errorf("%w: activity id", errBadDestination)
	}
	// The tenant as activities name it (its GUID), or as configured (an
	// alert rule may name it by its domain, as QLIKBOT_TEAMS_TENANT_ID may).
	if !strings.EqualFold(tc.Tenant, a.cfg.TenantID) {
		want, err := a.tenant(ctx)
		if err != nil {
			return conversationRef{}, fmt.Errorf("teams deliver: %w", err)
		}
		if !strings.EqualFold(tc.Tenant, want) {
			return conversationRef{}, fmt.Errorf("%w: another tenant", errBadDestination)
		}
	}
	return conversationRef{ServiceURL: tc.ServiceURL, ConversationID: tc.Conversation, vetted: true}, nil
}

// Hosts of the Bot Connector service that proactive messages may go to:
// Microsoft's documented Teams service URLs (public cloud, GCC, GCC High,
// DoD) and the Bot Framework's own channel hosts.
var (
	serviceHosts = map[string]bool{
		"smba.trafficmanager.net":            true,
		"smba.infra.gcc.teams.microsoft.com": true,
		"smba.infra.gov.teams.microsoft.us":  true,
		"smba.infra.dod.teams.microsoft.us":  true,
	}
	serviceHostSuffixes = []string{".botframework.com"}
)

// serviceURLCheck is where proactive messages may go: Microsoft's Bot
// Connector hosts, and the host of the configured token endpoint (a
// sovereign cloud's, or a test's). The app password already goes to that
// endpoint, so the connector token it issues may go there too; an alert
// rule's destination cannot name any other host.
func serviceURLCheck(tokenURL string) func(*url.URL) bool {
	tok, err := url.Parse(tokenURL)
	return func(u *url.URL) bool {
		if microsoftServiceURL(u) {
			return true
		}
		return err == nil && tok.Scheme == "https" && u.Scheme == "https" && tok.Host != "" && strings.EqualFold(u.Host, tok.Host)
	}
}

// microsoftServiceURL reports whether u is https on the default port at
// one of Microsoft's Bot Connector hosts.
func microsoftServiceURL(u *url.URL) bool {
	if u.Scheme != "https" || (u.Port() != "" && u.Port() != "443") {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if serviceHosts[host] {
		return true
	}
	for _, suffix := range serviceHostSuffixes {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
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
// the conversation (POST .../activities). The destination may come from
// a sealed request origin or from an operator's alert rule: either way
// parseDestination checks its host and tenant, and the service URL is
// not added to those trusted for inbound replies. It returns the
// activity posted or replaced.
func (a *Adapter) Deliver(ctx context.Context, dst bot.Destination, r bot.Reply) (bot.Destination, error) {
	ref, err := a.parseDestination(ctx, dst)
	if err != nil {
		return dst, err
	}
	r = bot.FitDelivered(r, a.fit, a.publish != nil) // files reach Teams only as links
	act := cardActivity(renderCard(r, a.links(ctx, r.Files)), r.Title)
	if r.ReplaceOriginal && dst.Message != "" {
		if err := a.cards.wait(ctx, cardKey{ref.ConversationID, dst.Message}); err != nil {
			return dst, fmt.Errorf("teams deliver: wait for the click's own update of the card: %w", err)
		}
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
