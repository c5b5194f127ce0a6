package bot

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiters hands out one token bucket per key (a user's subject, a Slack
// channel, a Teams conversation) and forgets the idle ones, so memory
// follows the keys in use, not every key ever seen. A bucket that has
// refilled to its burst behaves exactly like a new one, so forgetting it
// changes nothing for its key. Safe for concurrent use.
type Limiters[K comparable] struct {
	r          rate.Limit
	burst      int
	pruneAbove int

	mu sync.Mutex
	m  map[K]*rate.Limiter
	// nextPrune is the size at which idle buckets are looked for again.
	// It doubles past keys that were all busy, so a crowd of active keys
	// costs one scan per doubling, not one per newcomer.
	nextPrune int
}

// NewLimiters returns buckets of rate r and burst burst, pruned of idle
// ones once more than pruneAbove keys are held.
func NewLimiters[K comparable](r rate.Limit, burst, pruneAbove int) *Limiters[K] {
	pruneAbove = max(pruneAbove, 1)
	return &Limiters[K]{r: r, burst: burst, pruneAbove: pruneAbove, m: make(map[K]*rate.Limiter), nextPrune: pruneAbove}
}

// Wait blocks until key's bucket gives a token (on the real clock) or ctx
// ends. The token is reserved under the lock: a bucket handed out and
// waited on later could be pruned in between (it looked full, so idle),
// and the next caller would get a fresh one, two sends in one slot.
func (l *Limiters[K]) Wait(ctx context.Context, key K) error {
	l.mu.Lock()
	now := time.Now()
	res := l.getLocked(key, now).ReserveN(now, 1)
	l.mu.Unlock()
	if !res.OK() {
		return fmt.Errorf("rate limit: a token is never available (burst %d)", l.burst)
	}
	delay := res.DelayFrom(now)
	if delay == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(delay).After(dl) {
		res.CancelAt(now)
		return fmt.Errorf("rate limit: the wait of %v would outlast the deadline", delay)
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return ctx.Err()
	}
}

func (l *Limiters[K]) getLocked(key K, now time.Time) *rate.Limiter {
	lim, ok := l.m[key]
	if ok {
		return lim
	}
	if len(l.m) >= l.nextPrune {
		for k, old := range l.m {
			if old.TokensAt(now) >= float64(l.burst) {
				delete(l.m, k)
			}
		}
		l.nextPrune = max(l.pruneAbove, 2*len(l.m))
	}
	lim = rate.NewLimiter(l.r, l.burst)
	l.m[key] = lim
	return lim
}

// Allow takes one token from key's bucket at now. When refused it also
// says how long until the next token.
func (l *Limiters[K]) Allow(key K, now time.Time) (ok bool, retryIn time.Duration) {
	if l.r == rate.Inf {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.getLocked(key, now)
	if lim.AllowN(now, 1) {
		return true, 0
	}
	if l.r == 0 {
		return false, 0
	}
	missing := 1 - lim.TokensAt(now)
	return false, time.Duration(math.Ceil(missing / float64(l.r) * float64(time.Second)))
}

// Len reports how many keys are held.
func (l *Limiters[K]) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// Sleep waits d, or until ctx ends (its error then): the pause between
// retries that a shutdown must be able to cut short.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
