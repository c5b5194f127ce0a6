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
// samples; when it stops, the other samples within two intervals; never
// both at once, and the alert is posted once.
func TestRunTakeover(t *testing.T) {
	t.Parallel()
	st := redisStore(t)
	clk := testkit.NewClock(t0)
	r := newRig(t, st, clk)
	addUser(t, r.sim, "win", "kiosk", 5)
	const interval = 500 * time.Millisecond

	var mu sync.Mutex
	samples := map[string][]time.Time{}
	observer := func(name string) watch.Option {
		return watch.WithObserver(func(watch.Reading) {
			mu.Lock()
			samples[name] = append(samples[name], time.Now())
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

	waitUntil(t, 10*time.Second, "a's third sample", func() bool { return count("a") >= 3 })
	if n := count("b"); n != 0 {
		t.Fatalf("b sampled %d times while a held the lease", n)
	}
	// a stops without releasing its lease (a crash): b waits for it to
	// lapse (an interval and a half) and takes it at its next try.
	stopA()
	<-doneA
	stopped := time.Now()
	waitUntil(t, 5*time.Second, "b's second sample", func() bool { return count("b") >= 2 })
	mu.Lock()
	gap := samples["b"][0].Sub(stopped)
	lastA := samples["a"][len(samples["a"])-1]
	mu.Unlock()
	if gap > 2*interval+interval/2 {
		t.Errorf("b took over %v after a stopped, want within about two intervals (%v)", gap, 2*interval)
	}
	if samples["b"][0].Before(lastA) {
		t.Error("b sampled before a's last sample")
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
