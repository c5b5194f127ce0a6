package teams

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Start's warm-up loop: retry quickly while keys or token are missing, and
// look again now and then once both are in hand, so a token that failed
// later (on a reply) is fetched again without waiting for traffic.
const (
	defaultWarmRetry = time.Second
	maxWarmRetry     = time.Minute
	warmRecheck      = time.Minute
	maxReasonLen     = 200
)

// health is the last outcome of a fetch (signing keys, connector token),
// kept apart from the fetch's own mutex so a probe never waits for a fetch
// in flight.
type health struct {
	mu     sync.Mutex
	tried  bool
	ok     bool   // the last attempt succeeded
	everOK bool   // some attempt succeeded
	reason string // the last failure, fit to show on /readyz
}

func (h *health) succeed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tried, h.ok, h.everOK, h.reason = true, true, true, ""
}

func (h *health) fail(reason string) {
	if len(reason) > maxReasonLen {
		reason = strings.ToValidUTF8(reason[:maxReasonLen], "") + "..."
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tried, h.ok, h.reason = true, false, reason
}

// healthState is a copy of health.
type healthState struct {
	tried, ok, everOK bool
	reason            string
}

func (h *health) state() healthState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return healthState{tried: h.tried, ok: h.ok, everOK: h.everOK, reason: h.reason}
}

// Ready reports, for /readyz and without network I/O, whether the adapter
// can serve Teams: the signing keys have been loaded at least once (without
// them every activity is refused; later refresh failures keep the old keys
// in use) and the last connector-token fetch, if there was one, succeeded
// (without a token no reply goes out). Start keeps fetching both while
// they fail, so readiness comes back without any inbound traffic.
func (a *Adapter) Ready(_ context.Context) error {
	if k := a.keys.health.state(); !k.everOK {
		reason := k.reason
		if !k.tried {
			reason = "not fetched yet"
		}
		return fmt.Errorf("teams: signing keys not loaded (last: %s)", reason)
	}
	t := a.conn.tokens.health.state()
	if t.tried && !t.ok {
		return fmt.Errorf("teams: connector token: last fetch failed: %s", t.reason)
	}
	if t.ok && !guidPattern.MatchString(a.cfg.TenantID) {
		// Every activity is checked against the tenant GUID: without it
		// each one is answered 503.
		if a.conn.tokens.tenantID() == "" {
			return fmt.Errorf("teams: tenant %q: the connector token names no tenant GUID; configure the Directory (tenant) ID GUID", a.cfg.TenantID)
		}
	}
	return nil
}

// warmLoop loads the signing keys and a connector token, retrying with
// backoff while either fails, and re-checks every warmRecheck until ctx is
// done.
func (a *Adapter) warmLoop(ctx context.Context) {
	retry := a.warmRetry
	for {
		wait := warmRecheck
		if !a.warmUp(ctx) {
			wait, retry = retry, min(retry*2, maxWarmRetry)
		} else {
			retry = a.warmRetry
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// warmUp fetches the signing keys if none were ever loaded and a connector
// token if none was fetched yet or the last fetch failed. It reports
// whether both are in hand; failures are logged.
func (a *Adapter) warmUp(ctx context.Context) bool {
	ok := true
	if err := a.keys.warm(ctx); err != nil {
		if ctx.Err() != nil {
			return false
		}
		a.log.WarnContext(ctx, "teams: warm signing keys", "err", err)
		ok = false
	}
	if !a.conn.tokens.health.state().ok {
		if _, err := a.conn.tokens.get(ctx); err != nil {
			if ctx.Err() != nil {
				return false
			}
			a.log.WarnContext(ctx, "teams: warm connector token", "err", err)
			ok = false
		}
	}
	return ok
}
