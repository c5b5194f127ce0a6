package qlik

import (
	"context"
	"sync"
	"time"
)

// The adaptive concurrency limit, one per node and port (QRS, QPS on each
// node, each engine). It finds how many calls a node takes at once the
// way TCP finds a path's capacity, and as Netflix's concurrency-limits
// library does for servers:
//
//   - It starts at initialLimit (or the ceiling, Config.Concurrency, when
//     that is lower): a 30 x 2 site is one wave.
//   - An answer whose round trip stays within growTolerance times the
//     node's baseline (its fastest round trip of the last one or two
//     baselineWindows) while the limit was at least half used raises the
//     limit: by slowStartGrowth per answer until the first cut (x1.5 per
//     round trip), by 1/limit per answer after it (one per round trip).
//   - An answer slower than cutTolerance times the baseline means calls
//     queue on the node: the limit is cut to latencyBackoff of itself. In
//     between, nothing changes: calls that met a short queue on their way
//     in (they arrive spread out) neither grow nor cut it. A 503 or 429 or
//     a call that timed out cuts it to overloadBackoff of itself.
//   - Only calls sent after the last cut can cut again, so one wave of slow
//     answers is one cut, not one per answer.
//   - Failures that say nothing about load (refused connections, 4xx, 500)
//     neither raise nor cut it.
//
// Because the baseline forgets round trips older than two windows, a node
// that becomes slower for reasons of its own is not throttled for ever.
const (
	initialLimit    = 32
	minLimit        = 1
	slowStartGrowth = 0.5
	growTolerance   = 1.25
	cutTolerance    = 1.5
	latencyBackoff  = 0.9
	overloadBackoff = 0.5
	baselineWindow  = 10 * time.Second
)

// outcome is what one call says about the node's load.
type outcome int

const (
	answered   outcome = iota // an answer: its round trip counts
	overloaded                // 503, 429 or timed out: back off
	unrelated                 // failed for another reason: no signal
)

// nodeLimit is the adaptive limit of one node and port. Callers beyond the
// limit wait in arrival order. It is safe for concurrent use.
type nodeLimit struct {
	now func() time.Time

	mu       sync.Mutex
	limit    float64
	ceiling  float64
	inFlight int
	waiting  []*limitWaiter
	lastCut  time.Time // calls sent before it do not cut again
	cut      bool      // cut at least once: growth is one per round trip

	// The baseline is the fastest round trip of this window and the last:
	// 0 is none yet.
	winStart        time.Time
	winMin, prevMin time.Duration
}

type limitWaiter struct {
	ready    chan struct{} // closed when admitted
	inFlight int           // calls in flight once admitted, itself included
}

func newNodeLimit(ceiling int, now func() time.Time) *nodeLimit {
	c := float64(max(ceiling, minLimit))
	return &nodeLimit{now: now, limit: min(initialLimit, c), ceiling: c}
}

// limitSlot is one admitted call. End it with done, exactly once.
type limitSlot struct {
	l        *nodeLimit
	start    time.Time
	inFlight int
}

// acquire admits a call within the limit or waits its turn. It returns
// ctx's error if ctx ends first.
func (l *nodeLimit) acquire(ctx context.Context) (limitSlot, error) {
	l.mu.Lock()
	if len(l.waiting) == 0 && l.inFlight < l.cap() {
		l.inFlight++
		s := limitSlot{l: l, start: l.now(), inFlight: l.inFlight}
		l.mu.Unlock()
		return s, nil
	}
	w := &limitWaiter{ready: make(chan struct{})}
	l.waiting = append(l.waiting, w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return limitSlot{l: l, start: l.now(), inFlight: w.inFlight}, nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	for i, x := range l.waiting {
		if x == w {
			l.waiting = append(l.waiting[:i], l.waiting[i+1:]...)
			l.mu.Unlock()
			return limitSlot{}, ctx.Err()
		}
	}
	l.mu.Unlock()
	// Admitted while giving up: hand the slot on.
	limitSlot{l: l, start: l.now()}.done(unrelated, 0)
	return limitSlot{}, ctx.Err()
}

// cap is the limit as a whole number of calls; l.mu held.
func (l *nodeLimit) cap() int { return max(int(l.limit), minLimit) }

// done ends the call, adjusts the limit by what it says (rtt: from the
// moment the call had its connection to its answer, so dialing and TLS
// handshakes do not count as the node's latency) and admits the callers
// the limit now has room for.
func (s limitSlot) done(o outcome, rtt time.Duration) {
	l := s.l
	if l == nil {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// The limit was in use if it was half full when the call was admitted
	// or when it ended (a wave admitted at once ends in some order).
	inUse := max(s.inFlight, l.inFlight)
	l.inFlight--
	switch o {
	case overloaded:
		l.cutTo(overloadBackoff, s.start, now)
	case answered:
		base := l.observe(max(rtt, 1), now) // 0 would read as "none yet"
		switch {
		case float64(rtt) > cutTolerance*float64(base):
			l.cutTo(latencyBackoff, s.start, now)
		case float64(rtt) <= growTolerance*float64(base) && 2*inUse >= l.cap(): // fast, and the limit was in use
			if l.cut {
				l.limit += 1 / l.limit
			} else {
				l.limit += slowStartGrowth
			}
			l.limit = min(l.limit, l.ceiling)
		}
	}
	for len(l.waiting) > 0 && l.inFlight < l.cap() {
		w := l.waiting[0]
		l.waiting = l.waiting[1:]
		l.inFlight++
		w.inFlight = l.inFlight
		close(w.ready)
	}
}

// observe records a round trip and returns the baseline: the fastest
// round trip of the current window and the one before. l.mu held.
func (l *nodeLimit) observe(rtt time.Duration, now time.Time) time.Duration {
	if age := now.Sub(l.winStart); age >= baselineWindow {
		l.prevMin = l.winMin
		if age >= 2*baselineWindow {
			l.prevMin = 0 // idle for a while: the old window says nothing now
		}
		l.winMin, l.winStart = 0, now
	}
	if l.winMin == 0 || rtt < l.winMin {
		l.winMin = rtt
	}
	if l.prevMin > 0 && l.prevMin < l.winMin {
		return l.prevMin
	}
	return l.winMin
}

// cutTo lowers the limit to factor of itself, once per round trip: a call
// sent before the last cut has already been answered for. l.mu held.
func (l *nodeLimit) cutTo(factor float64, sent, now time.Time) {
	if sent.Before(l.lastCut) {
		return
	}
	l.limit = max(l.limit*factor, minLimit)
	l.lastCut, l.cut = now, true
}

// current returns the limit as a whole number of calls.
func (l *nodeLimit) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cap()
}

// limits holds one nodeLimit per node and port.
type limits struct {
	ceiling int
	now     func() time.Time

	mu     sync.Mutex
	byAddr map[string]*nodeLimit
}

func (ls *limits) of(addr string) *nodeLimit {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l, ok := ls.byAddr[addr]
	if !ok {
		if ls.byAddr == nil {
			ls.byAddr = map[string]*nodeLimit{}
		}
		l = newNodeLimit(ls.ceiling, ls.now)
		ls.byAddr[addr] = l
	}
	return l
}

// Limits returns the adaptive concurrency limit of every node and port the
// client has called, keyed by "host:port": how many calls it sends there
// at once now.
func (c *Client) Limits() map[string]int {
	c.limits.mu.Lock()
	defer c.limits.mu.Unlock()
	out := make(map[string]int, len(c.limits.byAddr))
	for addr, l := range c.limits.byAddr {
		out[addr] = l.current()
	}
	return out
}
