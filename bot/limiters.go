package bot

import (
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

// Get returns key's bucket, making it if needed. now is the time base the
// caller's buckets use (the injected clock for AllowN, time.Now for Wait).
func (l *Limiters[K]) Get(key K, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.getLocked(key, now)
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
