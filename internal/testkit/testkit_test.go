package testkit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestBufferConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b Buffer
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() { fmt.Fprintf(&b, "%02d\n", i) })
	}
	wg.Wait()
	if b.Len() != 60 || len(b.String()) != 60 {
		t.Fatalf("Len %d, String %d bytes, want 60", b.Len(), len(b.String()))
	}
}

func TestClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	c.Advance(90 * time.Second)
	if got := c.Now(); !got.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("after Advance: %v", got)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("after Set: %v", got)
	}
}
