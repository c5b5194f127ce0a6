package bot

import (
	"context"
	"sync"
	"time"
)

// TTLCache remembers one value per key for a fixed time, such as the
// e-mail address a chat platform vouched for, so a busy user costs one
// platform lookup per ttl. It holds at most max keys: when full, expired
// entries go first, and if none has expired everything is forgotten (a
// refill costs one lookup per key, which beats unbounded memory). Times
// are passed in, so tests drive it with their own clock. Safe for
// concurrent use.
type TTLCache[K comparable, V any] struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v     V
	until time.Time
}

// NewTTLCache returns an empty cache keeping values for ttl, at most size
// keys (at least 1).
func NewTTLCache[K comparable, V any](ttl time.Duration, size int) *TTLCache[K, V] {
	return &TTLCache[K, V]{ttl: ttl, max: max(size, 1), m: make(map[K]ttlEntry[V])}
}

// Get returns the value stored for k, unless it is older than the ttl at now.
func (c *TTLCache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.After(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v for k from now on.
func (c *TTLCache[K, V]) Put(k K, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for key, e := range c.m {
			if now.After(e.until) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[k] = ttlEntry[V]{v: v, until: now.Add(c.ttl)}
}

// Len reports how many keys are held, expired ones included.
func (c *TTLCache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// Fetch returns k's value: the cached one, else fetch's answer (given at
// most timeout), which is cached. A failed fetch is returned and not
// cached, so the next call tries again. The chat adapters look e-mails up
// with it.
func (c *TTLCache[K, V]) Fetch(ctx context.Context, k K, now time.Time, timeout time.Duration, fetch func(context.Context) (V, error)) (V, error) {
	if v, ok := c.Get(k, now); ok {
		return v, nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := fetch(ctx)
	if err != nil {
		var zero V
		return zero, err
	}
	c.Put(k, v, now)
	return v, nil
}
