package qlik

import (
	"context"
	"errors"
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
//   - A round trip runs from the moment the call has its connection to the
//     first byte of the answer: reading a large body is not the node being
//     busy. Each endpoint has its own baseline (its fastest round trip of
//     the last one or two baselineWindows): a session list of a big
//     virtual proxy or an engine health check is not compared with a
//     small QRS read.
//   - An answer whose round trip stays within growTolerance times its
//     endpoint's baseline while the limit was at least half used raises
//     the limit: by slowStartGrowth per answer until the first cut (x1.5
//     per round trip), by 1/limit per answer after it (one per round trip).
//   - An answer slower than cutTolerance times the baseline means calls
//     queue on the node: the limit is cut to latencyBackoff of itself. In
//     between, nothing changes: calls that met a short queue on their way
//     in (they arrive spread out) neither grow nor cut it. A 503 or 429, or
//     a call that timed out while the node answered others, cuts it to
//     overloadBackoff of itself.
//   - Only calls sent after the last cut can cut again, so one wave of slow
//     answers is one cut, not one per answer.
//   - Failures that say nothing about load (refused connections, 4xx, 500)
//     neither raise nor cut it.
//
// A node that answers nothing at all is hung, not overloaded: a call that
// timed out with no answer from the node since it was sent trips the
// node's breaker. The limit keeps its value; the calls waiting for the
// node fail at once (ErrNodeUnresponsive) instead of each waiting out a
// timeout of its own, and until the node answers again one call at a time
// probes it while the others wait on that probe's fate. A call that finds
// the node hung may retry once (the retry is a probe); a probe that times
// out is not retried. Any answer, even one that stalls after its first
// byte, closes the breaker.
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
	answered      outcome = iota // an answer: its round trip counts
	overloaded                   // 503 or 429: back off
	timedOut                     // no answer within the call's timeout
	answeredError                // an answer without a load signal (4xx, 500)
	unrelated                    // no answer and no signal: refused, the caller gave up
)

// ErrNodeUnresponsive: a call to the node timed out and the node has
// answered nothing since, so calls waiting for it fail at once rather than
// each waiting out its own timeout. Not retried.
var ErrNodeUnresponsive = errors.New("the node has answered nothing since a call to it timed out")

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

	baselines map[string]*baseline // by endpoint

	lastAnswer time.Time // the node's last answer of any kind
	tripped    bool      // hung: one call at a time probes it
}

// baseline is the fastest round trip of one endpoint in this window and
// the last: 0 is none yet.
type baseline struct {
	winStart        time.Time
	winMin, prevMin time.Duration
}

type limitWaiter struct {
	ready    chan struct{} // closed when admitted or failed
	inFlight int           // calls in flight once admitted, itself included
	probe    bool          // admitted while the node was hung
	err      error         // set before ready closes: not admitted
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
	probe    bool // admitted while the node was hung
}

// acquire admits a call within the limit or waits its turn. It returns
// ctx's error if ctx ends first.
func (l *nodeLimit) acquire(ctx context.Context) (limitSlot, error) {
	l.mu.Lock()
	if len(l.waiting) == 0 && l.inFlight < l.cap() {
		l.inFlight++
		s := limitSlot{l: l, start: l.now(), inFlight: l.inFlight, probe: l.tripped}
		l.mu.Unlock()
		return s, nil
	}
	w := &limitWaiter{ready: make(chan struct{})}
	l.waiting = append(l.waiting, w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		if w.err != nil {
			return limitSlot{}, w.err
		}
		return limitSlot{l: l, start: l.now(), inFlight: w.inFlight, probe: w.probe}, nil
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
	failedMeanwhile := w.err != nil
	l.mu.Unlock()
	if !failedMeanwhile {
		// Admitted while giving up: hand the slot on.
		limitSlot{l: l, start: l.now()}.done(unrelated, "", 0)
	}
	return limitSlot{}, ctx.Err()
}

// cap is the limit as a whole number of calls: 1 while the node is hung
// (one probe at a time). l.mu held.
func (l *nodeLimit) cap() int {
	if l.tripped {
		return minLimit
	}
	return max(int(l.limit), minLimit)
}

// done ends the call, adjusts the limit by what it says (rtt: from the
// moment the call had its connection to the first byte of its answer, so
// dialing, TLS handshakes and reading the body do not count as the node's
// latency; compared with endpoint's baseline) and admits the callers the
// limit now has room for. It reports whether the call probed a node known
// to be hung and found it still is (it timed out, nothing answered since
// it was sent): not worth a retry. The call that first finds a node hung
// may retry once: its retry is the probe.
func (s limitSlot) done(o outcome, endpoint string, rtt time.Duration) (hung bool) {
	l := s.l
	if l == nil {
		return false
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// The limit was in use if it was half full when the call was admitted
	// or when it ended (a wave admitted at once ends in some order).
	inUse := max(s.inFlight, l.inFlight)
	l.inFlight--
	if o == answered || o == overloaded || o == answeredError {
		l.lastAnswer, l.tripped = now, false
	}
	switch o {
	case timedOut:
		if l.lastAnswer.After(s.start) {
			// The node answers others: it is busy, not hung.
			l.cutTo(overloadBackoff, s.start, now)
			break
		}
		hung, l.tripped = s.probe, true
		for _, w := range l.waiting {
			w.err = ErrNodeUnresponsive
			close(w.ready)
		}
		l.waiting = nil
	case overloaded:
		l.cutTo(overloadBackoff, s.start, now)
	case answered:
		base := l.baseline(endpoint).observe(max(rtt, 1), now) // 0 would read as "none yet"
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
		w.inFlight, w.probe = l.inFlight, l.tripped
		close(w.ready)
	}
	return hung
}

// baseline returns endpoint's baseline, made on first use. l.mu held.
func (l *nodeLimit) baseline(endpoint string) *baseline {
	b, ok := l.baselines[endpoint]
	if !ok {
		if l.baselines == nil {
			l.baselines = map[string]*baseline{}
		}
		b = &baseline{}
		l.baselines[endpoint] = b
	}
	return b
}

// observe records a round trip and returns the baseline: the fastest
// round trip of the current window and the one before.
func (b *baseline) observe(rtt time.Duration, now time.Time) time.Duration {
	if age := now.Sub(b.winStart); age >= baselineWindow {
		b.prevMin = b.winMin
		if age >= 2*baselineWindow {
			b.prevMin = 0 // idle for a while: the old window says nothing now
		}
		b.winMin, b.winStart = 0, now
	}
	if b.winMin == 0 || rtt < b.winMin {
		b.winMin = rtt
	}
	if b.prevMin > 0 && b.prevMin < b.winMin {
		return b.prevMin
	}
	return b.winMin
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
