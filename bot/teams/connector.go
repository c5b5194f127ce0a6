package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/qlikbot/qlikbot/bot"
)

// Connector call policy. Teams allows 7 messages per second, 8 per 2 s and
// 60 per 30 s per bot per conversation: one per 550 ms with a burst of 4
// stays inside all three (TestConversationLimiterWithinTeamsLimits); the
// hourly cap is left to the 429 handling.
const (
	callTimeout      = 15 * time.Second
	maxAttempts      = 5
	backoffBase      = 500 * time.Millisecond
	backoffMax       = 20 * time.Second
	maxRetryAfter    = 60 * time.Second
	defaultConvRate  = rate.Limit(float64(time.Second) / float64(550*time.Millisecond))
	defaultConvBurst = 4
	maxLimiters      = 1024 // conversations paced before idle ones are forgotten
	maxTrustedURLs   = 64
)

// errUntrustedServiceURL: a send to a serviceUrl that no authenticated
// activity brought. Replies go only where Microsoft told us to send them.
var errUntrustedServiceURL = errors.New("serviceUrl was not seen on an authenticated activity")

// StatusError is a connector answer other than 2xx, after retries.
type StatusError struct {
	Method, Path string
	Status       int
	Attempts     int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: status %d after %d attempt(s)", e.Method, e.Path, e.Status, e.Attempts)
}

// conversationRef says where a conversation lives.
type conversationRef struct {
	ServiceURL     string
	ConversationID string
	// vetted: the service URL passed Deliver's check of Microsoft's
	// hosts, so it need not have arrived on an activity.
	vetted bool
}

// connector is the Bot Connector REST client. Safe for concurrent use.
type connector struct {
	tokens *tokenSource
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	// sleep waits between attempts; tests replace it to record waits.
	sleep func(ctx context.Context, d time.Duration) error
	// convs paces each conversation (a channel with its threads).
	convs *bot.Limiters[conversationRef]

	mu      sync.Mutex
	trusted map[string]struct{}
	// onRateLimited, when set, is told of every 429 (metrics).
	onRateLimited func()
}

func newConnector(tokens *tokenSource, client *http.Client, log *slog.Logger, now func() time.Time) *connector {
	return &connector{
		tokens:  tokens,
		now:     now,
		client:  client,
		log:     log,
		sleep:   bot.Sleep,
		convs:   bot.NewLimiters[conversationRef](defaultConvRate, defaultConvBurst, maxLimiters),
		trusted: make(map[string]struct{}),
	}
}

// trust records a serviceUrl that arrived on an authenticated activity.
func (c *connector) trust(serviceURL string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := strings.TrimSuffix(serviceURL, "/")
	if _, ok := c.trusted[key]; !ok && len(c.trusted) >= maxTrustedURLs {
		clear(c.trusted) // a handful of regional URLs is normal; this is a bound, not a cache
	}
	c.trusted[key] = struct{}{}
}

// isTrusted reports whether serviceURL arrived on an authenticated activity.
func (c *connector) isTrusted(serviceURL string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.trusted[strings.TrimSuffix(serviceURL, "/")]
	return ok
}

// paceKey is the key ref is paced by, once its service URL is known to
// be one replies may go to.
func (c *connector) paceKey(ref conversationRef) (conversationRef, error) {
	if !ref.vetted && !c.isTrusted(ref.ServiceURL) {
		return conversationRef{}, errUntrustedServiceURL
	}
	// Teams counts a channel's threads as one conversation.
	return conversationRef{ServiceURL: strings.TrimSuffix(ref.ServiceURL, "/"), ConversationID: channelOf(ref.ConversationID)}, nil
}

// post sends a new activity to the conversation, as a reply to replyToID
// when set, and returns the new activity's id.
func (c *connector) post(ctx context.Context, ref conversationRef, replyToID string, act outActivity) (string, error) {
	path := "/v3/conversations/" + url.PathEscape(ref.ConversationID) + "/activities"
	if replyToID != "" {
		path += "/" + url.PathEscape(replyToID)
		act.ReplyToID = replyToID
	}
	return c.send(ctx, ref, http.MethodPost, path, act)
}

// update replaces the activity with the given id.
func (c *connector) update(ctx context.Context, ref conversationRef, activityID string, act outActivity) error {
	path := "/v3/conversations/" + url.PathEscape(ref.ConversationID) + "/activities/" + url.PathEscape(activityID)
	act.ID = activityID
	_, err := c.send(ctx, ref, http.MethodPut, path, act)
	return err
}

func (c *connector) send(ctx context.Context, ref conversationRef, method, path string, act outActivity) (string, error) {
	key, err := c.paceKey(ref)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	payload, err := json.Marshal(act)
	if err != nil {
		return "", fmt.Errorf("%s %s: encode activity: %w", method, path, err)
	}
	target := strings.TrimSuffix(ref.ServiceURL, "/") + path
	refreshed := false
	for attempt := 1; ; attempt++ {
		if err := c.convs.Wait(ctx, key); err != nil {
			return "", fmt.Errorf("%s %s: wait for rate limit: %w", method, path, err)
		}
		tok, err := c.tokens.get(ctx)
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", method, path, err)
		}
		res, err := c.once(ctx, method, target, tok.Reveal(), payload)
		switch {
		case err == nil && res.status/100 == 2:
			var rr struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(res.body, &rr) // an update may answer with an empty body
			return rr.ID, nil
		case err == nil && res.status == http.StatusUnauthorized && !refreshed:
			// The token may have been revoked early: one fresh try.
			c.tokens.invalidate(tok)
			refreshed = true
			attempt--
			continue
		}
		retry := err != nil && ctx.Err() == nil // a transport error
		var wait time.Duration
		if err == nil {
			c.log.WarnContext(ctx, "teams: connector call failed", "method", method, "path", path,
				"status", res.status, "attempt", attempt, "body", snippet(res.body))
			retry = retryable(res.status)
			wait = res.retryAfter
			if res.status == http.StatusTooManyRequests && c.onRateLimited != nil {
				c.onRateLimited()
			}
		} else {
			c.log.WarnContext(ctx, "teams: connector call failed", "method", method, "path", path,
				"attempt", attempt, "err", err)
		}
		if !retry || attempt >= maxAttempts {
			if err != nil {
				return "", fmt.Errorf("%s %s after %d attempt(s): %w", method, path, attempt, err)
			}
			return "", &StatusError{Method: method, Path: path, Status: res.status, Attempts: attempt}
		}
		if wait <= 0 {
			wait = backoff(attempt)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return "", fmt.Errorf("%s %s: wait to retry: %w", method, path, err)
		}
	}
}

type callResult struct {
	status     int
	body       []byte
	retryAfter time.Duration
}

func (c *connector) once(ctx context.Context, method, target, token string, payload []byte) (callResult, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var reqBody io.Reader
	if payload != nil {
		reqBody = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reqBody)
	if err != nil {
		return callResult{}, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.client.Do(req)
	if err != nil {
		return callResult{}, redactURLError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return callResult{}, fmt.Errorf("read response: %w", err)
	}
	return callResult{status: resp.StatusCode, body: body, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), c.now())}, nil
}

// retryable lists the statuses Microsoft asks bots to retry.
func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusPreconditionFailed, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is exponential with jitter (half fixed, half random): spread retries of many
// conversations so they do not come back in step.
func backoff(attempt int) time.Duration {
	d := backoffBase << (attempt - 1)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads seconds or an HTTP date; 0 means absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
