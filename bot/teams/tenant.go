package teams

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// teamsChannel is the only Bot Framework channel qlikbot serves: other
// channels (Web Chat, Direct Line ...) reach a bot registration too, with
// identities qlikbot's policy does not speak for.
const teamsChannel = "msteams"

// errTenantUnknown: the configured tenant is a domain and its GUID, which
// activities carry, is not known yet (no connector token so far).
var errTenantUnknown = errors.New("tenant GUID not known yet")

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// admit checks, after the token is verified and bound to the activity,
// that the activity comes from Teams in our own tenant. A single-tenant
// bot registration still receives activities from other tenants that
// installed its app package; their users are strangers to the policy.
// Errors wrap errForbidden (403) or errTenantUnknown (503).
func (a *Adapter) admit(ctx context.Context, act activity) error {
	if act.ChannelID != teamsChannel {
		return fmt.Errorf("%w: channel %q is not %s", errForbidden, act.ChannelID, teamsChannel)
	}
	want, err := a.tenant(ctx)
	if err != nil {
		return err
	}
	got := act.tenantID()
	switch {
	case got == "":
		return fmt.Errorf("%w: activity names no tenant (channelData.tenant.id)", errForbidden)
	case !strings.EqualFold(got, want):
		return fmt.Errorf("%w: activity from tenant %q, not ours", errForbidden, got)
	}
	return nil
}

// tenant returns the GUID activities must carry: the configured TenantID
// when it is one, else the tenant of the bot's own connector token (the
// token endpoint is the configured tenant's, so its "tid" is that
// tenant's GUID).
func (a *Adapter) tenant(ctx context.Context) (string, error) {
	if guidPattern.MatchString(a.cfg.TenantID) {
		return a.cfg.TenantID, nil
	}
	return a.conn.tokens.tenant(ctx)
}

// tenant returns the tenant GUID of the connector token, fetching a token
// if none is cached.
func (s *tokenSource) tenant(ctx context.Context) (string, error) {
	if _, err := s.get(ctx); err != nil {
		return "", fmt.Errorf("%w: %w", errTenantUnknown, err)
	}
	tid := s.tenantID()
	if tid == "" {
		return "", fmt.Errorf("%w: the connector token names no tenant; configure the Directory (tenant) ID GUID instead of %q",
			errTenantUnknown, s.tenantName)
	}
	return tid, nil
}

// tenantID returns the tenant GUID learnt from a token, "" if none yet.
func (s *tokenSource) tenantID() string {
	if p := s.tid.Load(); p != nil {
		return *p
	}
	return ""
}

// tokenTenant reads the "tid" claim of an Entra access token. The token
// came straight from the configured tenant's token endpoint over TLS, so
// its claims are as trusted as the token itself; nothing else is read.
func tokenTenant(accessToken string) string {
	parts := strings.Split(accessToken, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		TID string `json:"tid"`
	}
	if json.Unmarshal(payload, &c) != nil || !guidPattern.MatchString(c.TID) {
		return ""
	}
	return c.TID
}
