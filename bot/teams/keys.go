package teams

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Key cache timings: Microsoft rolls keys rarely and publishes new ones
// well before use, so keys are kept for a day and an unknown kid triggers
// at most one refetch per keyRefetchGap.
const (
	keyMaxAge       = 24 * time.Hour
	keyRefetchGap   = 5 * time.Minute
	keyColdRetryGap = 10 * time.Second // while no key set was ever fetched
	keyFetchTimeout = 10 * time.Second
	maxKeyDocBytes  = 1 << 20
)

// errUnknownKey: the token names a kid that the published key set lacks.
var errUnknownKey = errors.New("signing key not published")

// signingKey is one RSA key of the Bot Framework key set and the channels
// it is endorsed for.
type signingKey struct {
	pub          *rsa.PublicKey
	endorsements []string
}

func (k signingKey) endorses(channelID string) bool {
	return channelID != "" && slices.Contains(k.endorsements, channelID)
}

// keyCache holds the Bot Framework signing keys. It fetches the OpenID
// metadata and the JWKS it points to on first use, after keyMaxAge, and
// when a token names an unknown kid (rate-limited). Safe for concurrent use.
type keyCache struct {
	metadataURL string
	client      *http.Client
	now         func() time.Time
	log         *slog.Logger

	// cur is the last key set fetched, read without mu so that a token
	// signed with a known key never waits for a fetch in flight.
	cur atomic.Pointer[keySet]

	mu          sync.Mutex // held during a fetch: callers that need one wait, one fetch runs
	lastAttempt time.Time  // last fetch of any kind
	lastRefetch time.Time  // last fetch caused by an unknown kid

	health health // for Ready: were keys ever loaded
}

// keySet is one fetched key set; never modified after it is stored.
type keySet struct {
	keys      map[string]signingKey
	fetchedAt time.Time
}

// fresh reports whether s holds keys fetched within keyMaxAge of now.
func (s *keySet) fresh(now time.Time) bool {
	return s != nil && now.Sub(s.fetchedAt) <= keyMaxAge
}

// key returns the key with the given kid.
func (c *keyCache) key(ctx context.Context, kid string) (signingKey, error) {
	if s := c.cur.Load(); s.fresh(c.now()) {
		if k, ok := s.keys[kid]; ok {
			return k, nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.cur.Load().fresh(now) {
		// First use or a day old: fetch, unless a fetch failed moments ago.
		if c.lastAttempt.IsZero() || now.Sub(c.lastAttempt) >= keyColdRetryGap {
			c.refresh(ctx, now)
		}
	}
	if k, ok := c.lookup(kid); ok {
		return k, nil
	}
	// An unknown kid may be a freshly rolled key: look again, but at most
	// once per keyRefetchGap so forged kids cannot hammer the endpoint.
	if c.lastRefetch.IsZero() || now.Sub(c.lastRefetch) >= keyRefetchGap {
		c.lastRefetch = now
		c.refresh(ctx, now)
		if k, ok := c.lookup(kid); ok {
			return k, nil
		}
	}
	return signingKey{}, fmt.Errorf("kid %q: %w", kid, errUnknownKey)
}

// lookup finds kid in the current key set, stale or not: stale keys beat
// none while the endpoint is down.
func (c *keyCache) lookup(kid string) (signingKey, bool) {
	s := c.cur.Load()
	if s == nil {
		return signingKey{}, false
	}
	k, ok := s.keys[kid]
	return k, ok
}

// refresh fetches the key set; on failure the old set (if any) stays:
// stale keys beat none while the endpoint is down.
func (c *keyCache) refresh(ctx context.Context, now time.Time) {
	if err := c.fetchLocked(ctx, now); err != nil {
		c.log.WarnContext(ctx, "teams: refresh signing keys", "err", err)
	}
}

// warm fetches the keys if none are cached yet.
func (c *keyCache) warm(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur.Load() != nil {
		return nil
	}
	return c.fetchLocked(ctx, c.now())
}

func (c *keyCache) fetchLocked(ctx context.Context, now time.Time) error {
	err := c.fetchKeysLocked(ctx, now)
	if err != nil {
		c.health.fail(err.Error())
	} else {
		c.health.succeed()
	}
	return err
}

func (c *keyCache) fetchKeysLocked(ctx context.Context, now time.Time) error {
	c.lastAttempt = now
	// Detached from the caller: one impatient request must not spoil the
	// fetch (and the refetch budget) for everyone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyFetchTimeout)
	defer cancel()
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := c.getJSON(ctx, c.metadataURL, &meta); err != nil {
		return fmt.Errorf("fetch OpenID metadata: %w", err)
	}
	if err := checkHTTPS(meta.JWKSURI); err != nil {
		return fmt.Errorf("OpenID metadata jwks_uri: %w", err)
	}
	var set jwkSet
	if err := c.getJSON(ctx, meta.JWKSURI, &set); err != nil {
		return fmt.Errorf("fetch signing keys: %w", err)
	}
	keys := set.rsaKeys()
	if len(keys) == 0 {
		return errors.New("fetch signing keys: no usable RSA key in the key set")
	}
	c.cur.Store(&keySet{keys: keys, fetchedAt: now})
	c.log.DebugContext(ctx, "teams: signing keys fetched", "count", len(keys))
	return nil
}

func (c *keyCache) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDocBytes))
	if err != nil {
		return fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %s: %w", url, err)
	}
	return nil
}

// jwkSet is the part of a JSON Web Key Set we use.
type jwkSet struct {
	Keys []jwk `json:"keys"`
}

// jwk is one key of the set. Bot Framework keys carry a non-standard
// "endorsements" list of channel ids.
type jwk struct {
	Kty          string   `json:"kty"`
	Use          string   `json:"use"`
	Kid          string   `json:"kid"`
	N            string   `json:"n"`
	E            string   `json:"e"`
	Endorsements []string `json:"endorsements"`
}

// rsaKeys returns the usable RSA signing keys by kid; malformed ones are
// skipped so one bad entry cannot lock every request out.
func (s jwkSet) rsaKeys() map[string]signingKey {
	out := make(map[string]signingKey, len(s.Keys))
	for _, k := range s.Keys {
		if k.Kty != "RSA" || k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(n) < 256 || len(e) == 0 || len(e) > 4 {
			continue // under 2048 bits or not a key at all
		}
		exp := new(big.Int).SetBytes(e)
		if !exp.IsInt64() || exp.Int64() < 3 {
			continue
		}
		out[k.Kid] = signingKey{
			pub:          &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())},
			endorsements: slices.Clone(k.Endorsements),
		}
	}
	return out
}
