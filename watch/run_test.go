package watch_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/watch"
)

// TestRunTakeover runs two watchers on one real Redis with real time: one
// samples; when it stops, the other takes over once its lease lapses;
// never both at once (every sample of b comes after the last of a), and
// the alert is posted once. It asserts the order of the samples, not how
// long the takeover took.
func TestRunTakeover(t *testing.T) {
	t.Parallel()
	st := redisStore(t)
	clk := testkit.NewClock(t0)
	r := newRig(t, st, clk)
	addUser(t, r.sim, "win", "kiosk", 5)
	const interval = 500 * time.Millisecond

	var mu sync.Mutex
	seq := 0 // the samples of both watchers, numbered in the order taken
	samples := map[string][]int{}
	observer := func(name string) watch.Option {
		return watch.WithObserver(func(watch.Reading) {
			mu.Lock()
			seq++
			samples[name] = append(samples[name], seq)
			mu.Unlock()
			clk.Advance(time.Second) // every sample later than the last
		})
	}
	count := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(samples[name])
	}
	a := r.watcher(t, "a", watch.WithInterval(interval), observer("a"))
	b := r.watcher(t, "b", watch.WithInterval(interval), observer("b"))
	ctxA, stopA := context.WithCancel(t.Context())
	ctxB, stopB := context.WithCancel(t.Context())
	doneA, doneB := make(chan error, 1), make(chan error, 1)
	// a runs its rounds by hand, so that stopping it is a crash: its
	// lease is never released and must lapse.
	go func() {
		for ctxA.Err() == nil {
			start := time.Now()
			a.Step(ctxA)
			select {
			case <-ctxA.Done():
			case <-time.After(interval - time.Since(start)):
			}
		}
		doneA <- nil
	}()
	t.Cleanup(func() { stopA() })
	time.Sleep(interval / 2) // b starts second: a takes the lease first
	go func() { doneB <- b.Run(ctxB) }()
	t.Cleanup(func() { stopB(); <-doneB })

	waitUntil(t, 30*time.Second, "a's third sample", func() bool { return count("a") >= 3 })
	if n := count("b"); n != 0 {
		t.Fatalf("b sampled %d times while a held the lease", n)
	}
	// a stops without releasing its lease (a crash): b waits for it to
	// lapse (an interval and a half) and takes it at its next try.
	stopA()
	<-doneA
	waitUntil(t, 30*time.Second, "b's second sample", func() bool { return count("b") >= 2 })
	mu.Lock()
	lastA, firstB := samples["a"][len(samples["a"])-1], samples["b"][0]
	mu.Unlock()
	if firstB < lastA {
		t.Errorf("samples overlap: b's first is number %d, a's last %d", firstB, lastA)
	}
	h, err := st.QueryHistory(t.Context(), store.HistoryQuery{Site: "prod", From: t0, To: clk.Now().Add(time.Second),
		Series: store.SeriesMatch{Metrics: []string{watch.MetricUsers}, Proxies: []string{""}}})
	if err != nil || len(h.Series) != 1 || len(h.Series[0].Points) < count("a")+1 {
		t.Errorf("history: %+v, %v; want a point per sample of a and b", h, err)
	}
	if n := len(r.chat.all()); n != 1 {
		t.Errorf("%d posts across the takeover, want 1", n)
	}
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
