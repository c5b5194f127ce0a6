package store

import (
	"testing"
	"time"
)

// TestSteadyClock: the store's default clock moves by the elapsed time
// alone, whatever the wall clock does meanwhile: here the wall clock is
// not asked at all after the start.
func TestSteadyClock(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var elapsed time.Duration
	now := steadyClock(start, func() time.Duration { return elapsed })
	if got := now(); !got.Equal(start) {
		t.Fatalf("at the start: %v", got)
	}
	elapsed = 90 * time.Second
	if got := now(); !got.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("after 90s: %v", got)
	}
	c := SteadyClock()
	a := c()
	time.Sleep(time.Millisecond)
	if b := c(); !b.After(a) || b.Round(0) != b {
		t.Errorf("SteadyClock: %v then %v; want later, with no monotonic reading", a, b)
	}
	if o, err := newOptions(nil); err != nil || o.clock == nil {
		t.Fatalf("default options: %v", err)
	}
}
