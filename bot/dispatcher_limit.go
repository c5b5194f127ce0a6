package bot

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// pruneAbove is the number of tracked subjects above which idle limiters
// are dropped. A limiter that has refilled to its burst behaves exactly
// like a new one, so dropping it changes nothing for its user.
const pruneAbove = 1024

// userLimits holds one token bucket per subject. Safe for concurrent use.
type userLimits struct {
	r     rate.Limit
	burst int

	mu  sync.Mutex
	lim map[string]*rate.Limiter
}

func newUserLimits(r rate.Limit, burst int) *userLimits {
	return &userLimits{r: r, burst: burst, lim: make(map[string]*rate.Limiter)}
}

// allow takes one token from subject's bucket at now. When refused it also
// says how long until the next token.
func (u *userLimits) allow(subject string, now time.Time) (ok bool, retryIn time.Duration) {
	if u.r == rate.Inf {
		return true, 0
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	l, found := u.lim[subject]
	if !found {
		if len(u.lim) >= pruneAbove {
			u.prune(now)
		}
		l = rate.NewLimiter(u.r, u.burst)
		u.lim[subject] = l
	}
	if l.AllowN(now, 1) {
		return true, 0
	}
	if u.r == 0 {
		return false, 0
	}
	missing := 1 - l.TokensAt(now)
	return false, time.Duration(math.Ceil(missing / float64(u.r) * float64(time.Second)))
}

// prune drops the limiters that are full again. Callers hold u.mu.
func (u *userLimits) prune(now time.Time) {
	for s, l := range u.lim {
		if l.TokensAt(now) >= float64(u.burst) {
			delete(u.lim, s)
		}
	}
}

// size reports how many subjects are tracked (for tests).
func (u *userLimits) size() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.lim)
}
