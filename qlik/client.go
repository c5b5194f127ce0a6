package qlik

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// maxBody caps what the client reads from one answer: a site with tens of
// thousands of sessions stays far below it, a runaway answer does not.
const maxBody = 64 << 20

// Client talks to one Qlik Sense site. It is safe for concurrent use.
//
// Every HTTP call takes a slot of its node's adaptive concurrency limit
// (one per host and port: QRS, QPS on each node, each engine), which
// starts generous, backs off when the node's latency rises or it answers
// 503, and grows again when that stops, never above Concurrency (see
// limit.go). Reads are not paced otherwise. Writes (deletes, logouts)
// first wait on a rate.Limiter (RequestsPerSecond, Burst) and on a
// one-second window that admits at most floor(RequestsPerSecond) of them:
// a slot of that window is given back one second after its call ended, so
// the server never sees more than RequestsPerSecond writes in any
// one-second window, bursts included. Each call has its own Timeout, which
// starts when it is sent.
//
// The default virtual proxy (prefix "") is called as "/qps//session",
// Ctrl-Q's form, which no other prefix can be mistaken for.
type Client struct {
	cfg       Config
	log       *slog.Logger
	transport *http.Transport
	http      *http.Client
	limits    limits
	limiter   *rate.Limiter
	window    chan struct{} // nil: no rate limit
	topo      ttlCache[*Topology]
	engines   ttlCache[[]EngineService]

	beforeSend func(*http.Request) // tests only (export_test.go)
}

// New checks cfg, loads the certificates and builds the one transport the
// client uses. It does no network I/O.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tr, err := NewTransport(cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "qlik", "qrs", cfg.QRSHost),
		transport: tr,
		http:      &http.Client{Transport: tr, CheckRedirect: noRedirect},
		limits:    limits{ceiling: cfg.Concurrency, now: time.Now},
		limiter:   rate.NewLimiter(rate.Inf, cfg.Burst),
	}
	if cfg.RequestsPerSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.RequestsPerSecond), cfg.Burst)
		c.window = make(chan struct{}, max(1, int(math.Floor(cfg.RequestsPerSecond))))
	}
	if cfg.InsecureSkipVerify {
		c.log.Warn("TLS verification of the Qlik server certificates is switched off (InsecureSkipVerify)")
	}
	return c, nil
}

// noRedirect: a redirected DELETE can turn into a GET; Qlik's REST ports
// do not redirect, so a redirect is reported, not followed.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Close drops the idle connections.
func (c *Client) Close() { c.transport.CloseIdleConnections() }

// Ping checks that QRS answers over mutual TLS with a valid Xrfkey:
// GET /qrs/about, a few bytes of build information. For readiness probes.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.do(ctx, request{
		service: "qrs", endpoint: "qrs.about", method: http.MethodGet,
		path: "/qrs/about",
	})
	if err != nil {
		return fmt.Errorf("ping QRS at %s: %w", net.JoinHostPort(c.cfg.QRSHost, strconv.Itoa(c.cfg.QRSPort)), err)
	}
	return nil
}

// request is one logical call; do may send it more than once.
type request struct {
	service  string // "qrs", "qps" or "engine"
	host     string // QPS or engine node; QRS calls go to cfg.QRSHost
	port     int    // engine calls: the node's engine port
	endpoint string
	method   string
	path     string     // already escaped
	shown    string     // path as errors and logs show it (a session id shortened); "" is path
	secret   string     // a session id the call carries: never shown whole, not even from an answer
	query    url.Values // besides xrfkey
}

func (c *Client) addr(r request) string {
	switch r.service {
	case "qrs":
		return net.JoinHostPort(c.cfg.QRSHost, strconv.Itoa(c.cfg.QRSPort))
	case "engine":
		return net.JoinHostPort(r.host, strconv.Itoa(r.port))
	}
	return net.JoinHostPort(r.host, strconv.Itoa(c.cfg.QPSPort))
}

// do sends r and returns the body of a 2xx answer. GETs are retried on 5xx
// and timeouts with exponential backoff and jitter; nothing else is.
func (c *Client) do(ctx context.Context, r request) ([]byte, error) {
	retries := 0
	if r.method == http.MethodGet {
		retries = c.cfg.ReadRetries
	}
	for attempt := 0; ; attempt++ {
		body, err := c.attempt(ctx, r)
		if err == nil || attempt >= retries || !retryable(err) || ctx.Err() != nil {
			if err != nil && attempt > 0 {
				err = fmt.Errorf("after %d attempts: %w", attempt+1, err)
			}
			return body, err
		}
		d := c.cfg.RetryBackoff << attempt
		d = d/2 + mrand.N(d/2+1) // jitter: spread retries of a fan-out
		c.log.WarnContext(ctx, "retrying Qlik call", "endpoint", r.endpoint, "host", c.addr(r), "attempt", attempt+1, "backoff", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("after %d attempts: %w", attempt+1, err)
		case <-t.C:
		}
	}
}

func retryable(err error) bool {
	if errors.Is(err, ErrNodeUnresponsive) {
		return false
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Temporary()
	}
	var ce *ConnError
	return errors.As(err, &ce) && ce.Timeout()
}

// attempt sends r once: a write waits for the rate limit first, then
// every call for a slot of its node's concurrency limit.
func (c *Client) attempt(ctx context.Context, r request) ([]byte, error) {
	if r.method != http.MethodGet && c.window != nil {
		select {
		case c.window <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the Qlik rate limit: %w", ctx.Err())
		}
		// The window slot comes back one second after the call ends, so
		// the server logs at most cap(window) writes in any second.
		defer time.AfterFunc(time.Second, func() { <-c.window })
	}
	if r.method != http.MethodGet {
		if err := c.limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("wait for the Qlik rate limit: %w", err)
		}
	}
	addr := c.addr(r)
	nl := c.limits.of(addr)
	slot, err := nl.acquire(ctx)
	if errors.Is(err, ErrNodeUnresponsive) {
		return nil, &ConnError{Addr: addr, Err: err, Hint: fmt.Sprintf(
			"%s let a call run out of its timeout of %s and has answered nothing since: this call was not sent (one call at a time tries the node until it answers)", addr, c.cfg.Timeout)}
	}
	if err != nil {
		return nil, err
	}

	key := newXrfkey()
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	q.Set("xrfkey", key)
	rawURL := "https://" + addr + r.path + "?" + q.Encode()
	q.Set("xrfkey", "REDACTED")
	shownPath := r.path
	if r.shown != "" {
		shownPath = r.shown
	}
	shownURL := "https://" + addr + shownPath + "?" + q.Encode()

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, r.method, rawURL, nil)
	if err != nil {
		slot.done(unrelated, r.endpoint, 0)
		return nil, fmt.Errorf("build request %s %s: %w", r.method, shownURL, err)
	}
	req.Header.Set("X-Qlik-Xrfkey", key)
	req.Header.Set("X-Qlik-User", "UserDirectory="+c.cfg.UserDirectory+"; UserId="+c.cfg.UserID)
	req.Header.Set("Accept", "application/json")

	if c.beforeSend != nil {
		c.beforeSend(req)
	}
	// The node's latency is measured from the moment the call has its
	// connection to the first byte of the answer: a dial or a TLS
	// handshake is not the node being busy, and neither is a large body.
	// Offsets from start (monotonic), +1 so that 0 is "not yet"; atomics:
	// the first byte is noted on the transport's reader goroutine, which
	// may still run when a timed-out call returns.
	start := time.Now()
	var connected, firstByte atomic.Int64
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn:              func(httptrace.GotConnInfo) { connected.Store(int64(time.Since(start)) + 1) },
		GotFirstResponseByte: func() { firstByte.Store(int64(time.Since(start)) + 1) },
	}))
	body, status, err := c.send(ctx, req, addr, shownURL)
	elapsed := time.Since(start)
	from, to := time.Duration(0), elapsed
	if d := connected.Load(); d != 0 {
		from = time.Duration(d - 1)
	}
	signal := loadSignal(ctx, status, err)
	if d := firstByte.Load(); d != 0 {
		to = time.Duration(d - 1)
		if signal == timedOut {
			// The node began to answer: slow, not hung.
			signal = answeredError
		}
	}
	if slot.done(signal, r.endpoint, to-from) {
		// Nothing has answered since this call was sent: a retry would
		// only wait out another timeout.
		err = fmt.Errorf("%w (%w)", err, ErrNodeUnresponsive)
	}
	if err == nil && (status < 200 || status > 299) {
		snippet := body
		if len(snippet) > 200 {
			snippet = snippet[:200]
		}
		shownBody := string(snippet)
		if r.secret != "" { // a server may echo what it was asked
			shownBody = strings.ReplaceAll(shownBody, r.secret, ShortID(r.secret))
		}
		err = &HTTPError{Method: r.method, URL: shownURL, Status: status, Body: shownBody, Hint: statusHint(status)}
		body = nil
	}
	c.log.DebugContext(ctx, "qlik call", "endpoint", r.endpoint, "method", r.method, "addr", addr, "status", status, "duration", elapsed, "err", err)
	if c.cfg.Observe != nil {
		c.cfg.Observe(Call{Service: r.service, Node: hostOf(addr), Endpoint: r.endpoint, Method: r.method, Status: status,
			Duration: elapsed, Err: err, Limit: nl.current()})
	}
	return body, err
}

// loadSignal says what a call tells about its node's load: an answer
// (other than 503 or 429) is a round trip to measure; 503 and 429 are
// overload; a call that ran out of its own time timed out (overload, or a
// hung node: the limit tells which); another answer is a sign of life
// without a signal; anything else, the caller giving up included, says
// nothing.
func loadSignal(ctx context.Context, status int, err error) outcome {
	switch {
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		return overloaded
	case err == nil && status >= 200 && status <= 299:
		return answered
	case status != 0:
		return answeredError
	case ctx.Err() != nil:
		return unrelated
	}
	var ce *ConnError
	if errors.As(err, &ce) && ce.Timeout() {
		return timedOut
	}
	return unrelated
}

func (c *Client) send(ctx context.Context, req *http.Request, addr, shownURL string) ([]byte, int, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = shownURL // keep the xrfkey out of errors and logs
		}
		return nil, 0, connError(ctx, err, addr, c.cfg.Timeout)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, resp.StatusCode, connError(ctx, err, addr, c.cfg.Timeout)
	}
	if len(body) > maxBody {
		return nil, resp.StatusCode, fmt.Errorf("answer from %s is larger than %d bytes", addr, maxBody)
	}
	return body, resp.StatusCode, nil
}

func hostOf(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

const xrfAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newXrfkey returns 16 random characters of [0-9A-Za-z], fresh per call.
func newXrfkey() string {
	var out [16]byte
	var buf [32]byte
	n := 0
	for n < len(out) {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			if b >= 248 { // 248 = 4*62: reject to keep the choice uniform
				continue
			}
			out[n] = xrfAlphabet[int(b)%len(xrfAlphabet)]
			n++
			if n == len(out) {
				break
			}
		}
	}
	return string(out[:])
}

// segment escapes one path segment typed by a user so it cannot reach past
// its own segment. what names it in the error.
func segment(what, s string) (string, error) {
	if !validSegment(s) {
		return "", fmt.Errorf("invalid %s %q", what, s)
	}
	return url.PathEscape(s), nil
}

// validSegment reports whether s may be a path segment once escaped: not
// empty, not a dot segment, no spaces around it.
func validSegment(s string) bool {
	return s != "" && s != "." && s != ".." && strings.TrimSpace(s) == s
}
