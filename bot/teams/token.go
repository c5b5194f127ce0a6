package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qlikbot/qlikbot/bot"
)

const (
	tokenTimeout = 15 * time.Second
	// tokenEarly renews a token this long before it expires so a request
	// never leaves with a token that dies in flight.
	tokenEarly = 5 * time.Minute
)

// tokenSource gets and caches the bot's client-credentials token for the
// Bot Connector. Safe for concurrent use; concurrent callers wait for one
// fetch.
type tokenSource struct {
	url      string
	clientID string
	secret   bot.Secret
	client   *http.Client
	now      func() time.Time
	// tenantName is the configured tenant, for error messages.
	tenantName string

	mu      sync.Mutex
	token   bot.Secret
	expires time.Time

	// tid is the tenant GUID of the last token that named one; atomic so
	// that Ready never waits for a fetch in flight (which holds mu).
	tid atomic.Pointer[string]

	health health // for Ready: did the last fetch work
}

// get returns a valid token, fetching one if the cached one is near expiry.
func (s *tokenSource) get(ctx context.Context) (bot.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Before(s.expires.Add(-tokenEarly)) {
		return s.token, nil
	}
	tok, ttl, err := s.fetch(ctx)
	if err != nil {
		if ctx.Err() == nil { // a caller giving up says nothing about the endpoint
			s.health.fail(tokenFailure(err))
		}
		return "", err
	}
	s.health.succeed()
	s.token, s.expires = tok, s.now().Add(ttl)
	if tid := tokenTenant(tok.Reveal()); tid != "" {
		s.tid.Store(&tid)
	}
	return tok, nil
}

// invalidate drops the cached token if it is still tok (the connector
// refused it).
func (s *tokenSource) invalidate(tok bot.Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == tok {
		s.token = ""
	}
}

func (s *tokenSource) fetch(ctx context.Context) (bot.Secret, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, tokenTimeout)
	defer cancel()
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {s.clientID},
		"client_secret": {s.secret.Reveal()},
		"scope":         {tokenScope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("get connector token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("get connector token: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", 0, fmt.Errorf("get connector token: read: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// The error body of Entra ID names the problem (AADSTS7000215:
		// invalid client secret ...) and holds no secret.
		return "", 0, &tokenStatusError{status: resp.StatusCode, code: oauthErrorCode(body), body: snippet(body)}
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", 0, fmt.Errorf("get connector token: decode: %w", err)
	}
	if tr.AccessToken == "" || tr.ExpiresIn <= 0 {
		return "", 0, errors.New("get connector token: response without access_token or expires_in")
	}
	return bot.Secret(tr.AccessToken), time.Duration(tr.ExpiresIn) * time.Second, nil
}

// tokenStatusError is a refusal by the token endpoint.
type tokenStatusError struct {
	status int
	code   string // OAuth "error", e.g. invalid_client
	body   string // for logs only: Entra's description is long
}

func (e *tokenStatusError) Error() string {
	return fmt.Sprintf("get connector token: status %d: %s", e.status, e.body)
}

// tokenFailure is the short reason Ready shows for a failed token fetch:
// the status and OAuth error code, not Entra's prose.
func tokenFailure(err error) string {
	var se *tokenStatusError
	if errors.As(err, &se) {
		if se.code != "" {
			return fmt.Sprintf("status %d (%s)", se.status, se.code)
		}
		return fmt.Sprintf("status %d", se.status)
	}
	return err.Error()
}

// snippet shortens an error body for a log line or an error.
func snippet(b []byte) string {
	const max = 512
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

// redactURLError strips the query from a *url.Error's URL.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery = ""
			ue.URL = u.String()
		}
	}
	return err
}

// oauthErrorCode returns the OAuth "error" code of a token endpoint's
// error body (invalid_client ...), or "" when there is none that looks
// like one.
func oauthErrorCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Error) > 64 {
		return ""
	}
	for _, r := range e.Error {
		if (r < 'a' || r > 'z') && r != '_' {
			return ""
		}
	}
	return e.Error
}
