package qliksim

import (
	"context"
	"errors"
	"testing"
	"time"
)

// queued reports how many requests wait at g.
func (g *gate) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

// waitQueued blocks until n requests wait at g (the waiters are
// goroutines of the test; this waits for them to arrive, not for time).
func waitQueued(t *testing.T, g *gate, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for g.queued() != n {
		select {
		case <-deadline:
			t.Fatalf("%d waiting, want %d", g.queued(), n)
		case <-time.After(time.Millisecond):
		}
	}
}

func TestGateAdmitsQueuesRefuses(t *testing.T) {
	t.Parallel()
	g := newGate(Capacity{InFlight: 2, Queue: 1})
	ctx := t.Context()
	for i := range 2 {
		if err := g.acquire(ctx, nil); err != nil {
			t.Fatalf("request %d: %v, want admitted", i+1, err)
		}
	}
	third := make(chan error, 1)
	go func() { third <- g.acquire(ctx, nil) }()
	waitQueued(t, g, 1)
	// Bounded, so a gate that queues instead of refusing fails the test
	// rather than hanging it.
	fourth, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := g.acquire(fourth, nil); !errors.Is(err, errOverloaded) {
		t.Fatalf("fourth request: %v, want errOverloaded (queue full)", err)
	}
	select {
	case err := <-third:
		t.Fatalf("third request admitted (%v) while both slots are taken", err)
	default:
	}
	g.release()
	if err := <-third; err != nil {
		t.Fatalf("third request: %v, want admitted after a release", err)
	}
	want := Load{PeakInFlight: 2, PeakQueued: 1, Rejected: 1}
	if got := g.snapshot(); got != want {
		t.Errorf("load %+v, want %+v", got, want)
	}
	// The handed-over slot is still one request: two releases free both.
	g.release()
	g.release()
	if g.inFlight != 0 {
		t.Errorf("%d in flight after every release, want 0", g.inFlight)
	}
	g.reset()
	if got := g.snapshot(); got != (Load{}) {
		t.Errorf("after reset: %+v", got)
	}
}

func TestGateServesInArrivalOrder(t *testing.T) {
	t.Parallel()
	g := newGate(Capacity{InFlight: 1, Queue: 3})
	if err := g.acquire(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	for i := range 3 {
		go func() {
			if err := g.acquire(t.Context(), nil); err == nil {
				order <- i
			}
		}()
		waitQueued(t, g, i+1) // the next one arrives after this one
	}
	for want := range 3 {
		g.release()
		if got := <-order; got != want {
			t.Fatalf("admitted waiter %d, want %d (first come, first served)", got, want)
		}
	}
}

func TestGateWaiterGivesUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stop    func(cancel context.CancelFunc, closed chan struct{})
		wantErr error
	}{
		{name: "client leaves", stop: func(cancel context.CancelFunc, _ chan struct{}) { cancel() }, wantErr: context.Canceled},
		{name: "simulator closes", stop: func(_ context.CancelFunc, closed chan struct{}) { close(closed) }, wantErr: errClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGate(Capacity{InFlight: 1, Queue: 1})
			if err := g.acquire(t.Context(), nil); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			closed := make(chan struct{})
			done := make(chan error, 1)
			go func() { done <- g.acquire(ctx, closed) }()
			waitQueued(t, g, 1)
			tt.stop(cancel, closed)
			if err := <-done; !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if n := g.queued(); n != 0 {
				t.Errorf("%d still waiting after giving up", n)
			}
			g.release()
			if g.inFlight != 0 {
				t.Errorf("%d in flight, want 0: the one who left took no slot", g.inFlight)
			}
		})
	}
}

func TestGateWithoutLimitCountsPeak(t *testing.T) {
	t.Parallel()
	g := newGate(Capacity{})
	for range 100 {
		if err := g.acquire(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := g.snapshot(); got != (Load{PeakInFlight: 100}) {
		t.Errorf("load %+v, want 100 in flight and nothing queued or refused", got)
	}
}
