package bot

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestLimitersForgetIdleKeys(t *testing.T) {
	t.Parallel()
	l := NewLimiters[string](rate.Limit(1), 2, userPruneAbove)
	clock := newFakeClock()
	for i := range userPruneAbove {
		if ok, _ := l.Allow("u"+strconv.Itoa(i), clock.Now()); !ok {
			t.Fatal("first request refused")
		}
	}
	clock.Advance(2 * time.Second) // every bucket is full again
	l.Allow("newcomer", clock.Now())
	if n := l.Len(); n != 1 {
		t.Errorf("tracked %d keys after pruning, want 1", n)
	}
}

// TestLimitersPruneOncePerDoubling: while every key is busy, pruning finds
// nothing to drop; it is not tried again for each newcomer (a scan of the
// whole map under the lock) but once the map has doubled.
func TestLimitersPruneOncePerDoubling(t *testing.T) {
	t.Parallel()
	const above = 8
	l := NewLimiters[int](rate.Limit(1), 2, above)
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for i := range above {
		l.Allow(i, now) // busy: one token of two used
	}
	l.Allow(above, now) // scans, drops nothing, next scan at 2*8
	if l.nextPrune != 2*above || l.Len() != above+1 {
		t.Fatalf("after a fruitless prune: next at %d with %d keys; want %d, %d", l.nextPrune, l.Len(), 2*above, above+1)
	}
	later := now.Add(2 * time.Second) // all idle again
	for i := above + 1; i < 2*above; i++ {
		l.mu.Lock()
		l.getLocked(i, later) // known but unused: idle
		l.mu.Unlock()
	}
	if l.Len() != 2*above {
		t.Fatalf("pruned before the map doubled: %d keys", l.Len())
	}
	l.Allow(2*above, later) // the map doubled: idle keys go
	if l.Len() != 1 || l.nextPrune != above {
		t.Fatalf("after pruning idle keys: %d keys, next at %d; want 1, %d", l.Len(), l.nextPrune, above)
	}
}

func TestLimitersAllow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	l := NewLimiters[string](rate.Limit(2), 1, 16)
	if ok, _ := l.Allow("a", now); !ok {
		t.Fatal("first token refused")
	}
	if ok, retry := l.Allow("a", now); ok || retry != 500*time.Millisecond {
		t.Fatalf("second token at once: ok=%v retry=%v; want refused, 500ms", ok, retry)
	}
	if ok, _ := l.Allow("b", now); !ok {
		t.Fatal("another key shares a's bucket")
	}
	off := NewLimiters[string](rate.Inf, 0, 16)
	for range 100 {
		if ok, _ := off.Allow("a", now); !ok {
			t.Fatal("rate.Inf refused")
		}
	}
	if off.Len() != 0 {
		t.Fatalf("rate.Inf keeps %d buckets", off.Len())
	}
	none := NewLimiters[string](0, 1, 16)
	none.Allow("a", now)
	if ok, retry := none.Allow("a", now); ok || retry != 0 {
		t.Fatalf("rate 0: ok=%v retry=%v", ok, retry)
	}
}

// TestLimitersWait: Wait takes the token under the lock, so the bucket it
// came from is busy and survives a prune: the next Wait on that key is
// paced by it, not by a fresh bucket. Waits that would outlast their
// deadline or see their ctx end return an error at once.
func TestLimitersWait(t *testing.T) {
	t.Parallel()
	l := NewLimiters[string](rate.Every(time.Hour), 1, 1)
	if err := l.Wait(t.Context(), "a"); err != nil {
		t.Fatalf("first Wait: %v", err)
	}
	for i := range 10 {
		l.Allow("k"+strconv.Itoa(i), time.Now()) // prunes idle buckets
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := l.Wait(ctx, "a"); err == nil {
		t.Fatal("a second token within the hour: the bucket was forgotten while busy")
	}
	done, stop := context.WithCancel(t.Context())
	stop()
	if err := NewLimiters[string](rate.Every(time.Hour), 1, 16).Wait(done, "b"); err != nil {
		t.Fatalf("a token at hand is not refused for an ended ctx: %v", err)
	}
}

// TestLimitersWaitRace: many Waits on one key while other keys churn the
// map (and prune it) get one token of a burst of one between them.
func TestLimitersWaitRace(t *testing.T) {
	t.Parallel()
	l := NewLimiters[string](rate.Every(time.Hour), 1, 2)
	var got atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if l.Wait(ctx, "a") == nil {
				got.Add(1)
			}
		})
		wg.Go(func() { l.Allow("k"+strconv.Itoa(i), time.Now()) })
	}
	wg.Wait()
	if n := got.Load(); n != 1 {
		t.Fatalf("%d Waits got a token of a burst of 1", n)
	}
}
