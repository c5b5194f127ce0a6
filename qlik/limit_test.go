package qlik

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
)

func newFakeClock() *testkit.Clock {
	return testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// take admits n calls at once, failing the test if one has to wait.
func take(t *testing.T, l *nodeLimit, n int) []limitSlot {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // a call that would wait fails at once instead
	out := make([]limitSlot, n)
	for i := range out {
		s, err := l.acquire(ctx)
		if err != nil {
			t.Fatalf("call %d of %d not admitted (limit %d): %v", i+1, n, l.current(), err)
		}
		out[i] = s
	}
	return out
}

// busy keeps l full, as a long list does: every answer's slot is taken
// again at once.
type busy struct {
	t     *testing.T
	l     *nodeLimit
	slots []limitSlot // oldest first
}

func (b *busy) fill() {
	for !full(b.l) {
		b.slots = append(b.slots, take(b.t, b.l, 1)...)
	}
}

// answer ends the n oldest calls with rtt, refilling after each.
func (b *busy) answer(n int, rtt time.Duration) {
	for range n {
		b.fill()
		s := b.slots[0]
		b.slots = b.slots[1:]
		s.done(answered, "", rtt)
	}
	b.fill()
}

// drain ends every call without a signal.
func (b *busy) drain() {
	for _, s := range b.slots {
		s.done(unrelated, "", 0)
	}
	b.slots = nil
}

// queued is how many callers wait for l.
func queued(l *nodeLimit) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.waiting)
}

// full reports whether one more call would have to wait.
func full(l *nodeLimit) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight >= l.cap()
}

func TestLimitStartsGenerousUnderTheCeiling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		ceiling, want int
	}{
		{name: "default ceiling: 32, a 30 x 2 site in one wave", ceiling: 64, want: 32},
		{name: "a lower ceiling wins", ceiling: 8, want: 8},
		{name: "at least one", ceiling: 0, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newNodeLimit(tt.ceiling, newFakeClock().Now)
			if got := l.current(); got != tt.want {
				t.Fatalf("limit %d, want %d", got, tt.want)
			}
			take(t, l, tt.want)
			if !full(l) {
				t.Errorf("%d in flight and room for more", tt.want)
			}
		})
	}
}

// TestLimitGrowsAndBacksOff drives one limit through a list's life with
// injected round trips: growth while answers are fast, one cut per round
// trip when they slow down, a deeper cut on overload, slow growth after.
func TestLimitGrowsAndBacksOff(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newNodeLimit(64, clock.Now)
	const base = 50 * time.Millisecond

	// Fast answers with the limit in use: +0.5 each until the first cut.
	b := &busy{t: t, l: l}
	b.answer(16, base)
	if got := l.current(); got != 40 {
		t.Fatalf("after 16 fast answers: limit %d, want 40", got)
	}
	// A little slower (within the band between growing and cutting):
	// no change.
	b.answer(20, base*14/10)
	if got := l.current(); got != 40 {
		t.Fatalf("after answers at 1.4x the baseline: limit %d, want 40 (unchanged)", got)
	}
	b.answer(60, base)
	if got := l.current(); got != 64 {
		t.Fatalf("limit %d, want the ceiling 64", got)
	}
	b.drain()

	// Answers three times slower than the baseline: calls queue on the
	// node. The first cuts to 90%; the others of the same wave, sent before
	// that cut, do not cut again.
	wave := take(t, l, 20)
	clock.Advance(base)
	for _, s := range wave {
		s.done(answered, "", 3*base)
	}
	if got := l.current(); got != 57 {
		t.Fatalf("after a slow wave: limit %d, want 57 (64 x 0.9, once)", got)
	}
	// A call sent after the cut and slow again cuts again.
	s := take(t, l, 1)[0]
	clock.Advance(base)
	s.done(answered, "", 3*base)
	if got := l.current(); got != 51 {
		t.Fatalf("after a second slow round trip: limit %d, want 51", got)
	}

	// A 503: half.
	s = take(t, l, 1)[0]
	clock.Advance(base)
	s.done(overloaded, "", 0)
	if got := l.current(); got != 25 {
		t.Fatalf("after a 503: limit %d, want 25", got)
	}

	// Unrelated failures change nothing.
	for _, s := range take(t, l, 20) {
		s.done(unrelated, "", 0)
	}
	if got := l.current(); got != 25 {
		t.Fatalf("after unrelated failures: limit %d, want 25", got)
	}

	// After a cut, fast answers grow it by about one per round trip (25
	// answers at a limit of 25) instead of one per answer.
	b.answer(25+26+27, base)
	if got := l.current(); got != 28 {
		t.Fatalf("after three fast round trips: limit %d, want 28", got)
	}
	b.drain()

	// Answers while the limit is mostly idle say nothing about room for
	// more: no growth.
	for range 50 {
		take(t, l, 1)[0].done(answered, "", base)
	}
	if got := l.current(); got != 28 {
		t.Errorf("after answers at 1 in flight: limit %d, want 28 (unchanged)", got)
	}
}

func TestLimitNeverBelowOne(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newNodeLimit(64, clock.Now)
	for range 20 {
		s := take(t, l, 1)[0]
		clock.Advance(time.Millisecond)
		s.done(overloaded, "", 0)
	}
	if got := l.current(); got != 1 {
		t.Fatalf("limit %d after 20 overloads, want 1", got)
	}
	take(t, l, 1)
	if !full(l) {
		t.Error("room for a second call at a limit of 1")
	}
}

// TestLimitBaselineForgets: a node that becomes slower for reasons of its
// own (every answer now at 2x the old round trip) is cut at first; once
// the old round trips are two windows old, the slower one is the new
// baseline and the limit grows again.
func TestLimitBaselineForgets(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newNodeLimit(64, clock.Now)
	take(t, l, 1)[0].done(answered, "", 10*time.Millisecond)
	step := func() {
		s := take(t, l, 1)[0]
		clock.Advance(100 * time.Millisecond)
		s.done(answered, "", 20*time.Millisecond)
	}
	for range 10 {
		step()
	}
	if got := l.current(); got >= 32 {
		t.Fatalf("limit %d after answers at twice the baseline, want cut below 32", got)
	}
	for range 200 { // 20 s: two baseline windows
		step()
	}
	low := l.current()
	l.mu.Lock()
	base := l.baseline("").observe(20*time.Millisecond, clock.Now())
	l.mu.Unlock()
	if base != 20*time.Millisecond {
		t.Fatalf("baseline %v after two windows of 20ms answers, want 20ms", base)
	}
	// Now a full round trip at the new normal grows it.
	b := &busy{t: t, l: l}
	b.answer(low, 20*time.Millisecond)
	b.drain()
	if got := l.current(); got <= low {
		t.Errorf("limit %d after a fast round trip at the new baseline, want above %d", got, low)
	}
}

// TestLimitQueuesInOrder: beyond the limit callers wait in arrival order;
// one that gives up leaves the queue; growth admits waiters.
func TestLimitQueuesInOrder(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newNodeLimit(2, clock.Now)
	held := take(t, l, 2)
	order := make(chan int, 3)
	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	// Waiter 0 keeps its slot until the end: the second admission must
	// come from held[1] alone.
	hold0 := make(chan struct{})
	defer close(hold0)
	for i := range 3 {
		c := t.Context()
		if i == 1 {
			c = ctx
		}
		go func() {
			s, err := l.acquire(c)
			if err != nil {
				gaveUp <- err
				return
			}
			order <- i
			if i == 0 {
				<-hold0
			}
			s.done(unrelated, "", 0)
		}()
		for queued(l) != i+1 { // wait for it to queue, so arrival order is known
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter that gave up: %v", err)
	}
	if n := queued(l); n != 2 {
		t.Fatalf("%d waiting after one gave up, want 2", n)
	}
	held[0].done(unrelated, "", 0)
	if got := next(t, order); got != 0 {
		t.Fatalf("first admitted: %d, want 0", got)
	}
	held[1].done(unrelated, "", 0)
	if got := next(t, order); got != 2 {
		t.Fatalf("second admitted: %d, want 2 (1 gave up)", got)
	}
}

// next is the next waiter admitted, failing the test if none is within
// 10 s (a bound for a hang, not a timing).
func next(t *testing.T, order <-chan int) int {
	t.Helper()
	select {
	case i := <-order:
		return i
	case <-time.After(10 * time.Second):
		t.Fatal("nobody admitted")
		return -1
	}
}

// TestLimitBaselinePerEndpoint: a node kept busy with two kinds of calls,
// small reads at 5ms and large lists at 60ms, both steady. Each endpoint
// is measured against its own baseline, so the mix is no sign of queueing:
// the limit grows and is never cut. Against one baseline for the node the
// lists would read as 12x slower and cut it on every round trip.
func TestLimitBaselinePerEndpoint(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newNodeLimit(64, clock.Now)
	start := l.current()
	b := &busy{t: t, l: l}
	for range 40 {
		b.fill()
		for _, c := range []struct {
			endpoint string
			rtt      time.Duration
		}{{"qrs.small", 5 * time.Millisecond}, {"qps.session.list", 60 * time.Millisecond}} {
			s := b.slots[0]
			b.slots = b.slots[1:]
			clock.Advance(c.rtt)
			s.done(answered, c.endpoint, c.rtt)
			b.fill()
		}
	}
	b.drain()
	l.mu.Lock()
	cut := l.cut
	l.mu.Unlock()
	if got := l.current(); cut || got <= start {
		t.Errorf("limit %d (cut: %v) after steady answers of two sizes, want grown above %d and never cut", got, cut, start)
	}
}

// TestLimitHungNodeBreaker: a call that timed out with no answer from the
// node since it was sent fails the waiting calls at once and leaves the
// limit as it was; one call at a time probes the node until one answers.
// A timeout while the node answers other calls is overload: a cut.
func TestLimitHungNodeBreaker(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newNodeLimit(4, clock.Now)
	held := take(t, l, 4)
	results := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := l.acquire(t.Context())
			if err == nil {
				s.done(unrelated, "", 0)
			}
			results <- err
		}()
	}
	for queued(l) != 3 {
		time.Sleep(time.Millisecond)
	}
	clock.Advance(10 * time.Second)
	// The calls that find the node hung may retry once (a probe); the
	// waiters fail at once.
	if held[0].done(timedOut, "qps.session.list", 0) {
		t.Error("the first timeout reported as a failed probe")
	}
	for range 3 {
		if err := <-results; !errors.Is(err, ErrNodeUnresponsive) {
			t.Errorf("waiter: %v, want ErrNodeUnresponsive", err)
		}
	}
	for _, s := range held[1:] {
		if s.done(timedOut, "qps.session.list", 0) {
			t.Error("a timeout of the first wave reported as a failed probe")
		}
	}
	// Hung: one probe at a time. One that times out is reported, not to
	// be retried.
	probe := take(t, l, 1)[0]
	if !full(l) {
		t.Fatal("room for a second call while the first probes a hung node")
	}
	clock.Advance(10 * time.Second)
	if !probe.done(timedOut, "qps.session.list", 0) {
		t.Error("a probe that timed out not reported hung")
	}
	probe = take(t, l, 1)[0]
	if !full(l) {
		t.Fatal("room for a second call while the first probes a hung node")
	}
	second := make(chan error, 1)
	go func() {
		s, err := l.acquire(t.Context())
		if err == nil {
			s.done(answered, "qps.session.list", time.Millisecond)
		}
		second <- err
	}()
	for queued(l) != 1 {
		time.Sleep(time.Millisecond)
	}
	// The probe is answered: the breaker closes, the waiter goes, and the
	// limit is the 4 it was.
	clock.Advance(time.Millisecond)
	if probe.done(answered, "qps.session.list", time.Millisecond) {
		t.Error("an answer reported hung")
	}
	if err := <-second; err != nil {
		t.Errorf("waiter behind an answered probe: %v", err)
	}
	if got := l.current(); got != 4 {
		t.Errorf("limit %d after the node answered again, want 4 (timeouts of a hung node cut nothing)", got)
	}

	// Busy, not hung: a call times out after another was answered.
	slow, quick := take(t, l, 1)[0], take(t, l, 1)[0]
	clock.Advance(time.Millisecond)
	quick.done(answered, "qps.session.list", time.Millisecond)
	clock.Advance(10 * time.Second)
	if slow.done(timedOut, "qps.session.list", 0) {
		t.Error("a timeout after an answer reported hung")
	}
	if got := l.current(); got != 2 {
		t.Errorf("limit %d after a timeout on a busy node, want 2 (halved)", got)
	}
}
