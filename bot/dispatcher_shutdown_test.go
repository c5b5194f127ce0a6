package bot

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestDispatcherDo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		text        string
		occupy      bool // a submitted request holds the only worker
		shutdown    bool
		wantKind    Kind
		wantTitle   string
		wantOutcome string
	}{
		{name: "answers in the call", text: "echo", wantKind: Success, wantTitle: "done echo for teams:aad-1", wantOutcome: OutcomeOK},
		{name: "panic becomes an error reply", text: "panic", wantKind: Error, wantTitle: "internal error, logged as ", wantOutcome: OutcomePanic},
		{name: "deadline reaches the handler", text: "wait", wantKind: Error, wantTitle: "handler saw request deadline exceeded", wantOutcome: OutcomeTimeout},
		{name: "no free worker within the deadline is busy", text: "echo", occupy: true, wantKind: Warning, wantTitle: "Busy", wantOutcome: OutcomeBusy},
		{name: "after shutdown", text: "echo", shutdown: true, wantKind: Error, wantTitle: "qlikbot is shutting down", wantOutcome: OutcomeClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGate()
			h := HandlerFunc(func(ctx context.Context, req Request) Reply {
				switch req.Text {
				case "panic":
					panic("do panic")
				case "hold": // ignores its deadline, so the worker stays taken
					g.started <- req
					<-g.release
					return Reply{Title: "held"}
				case "wait":
					<-ctx.Done()
					return Reply{Kind: Error, Title: "handler saw " + context.Cause(ctx).Error()}
				}
				return g.Handle(ctx, req)
			})
			var evs events
			d := startDispatcher(t, h, WithWorkers(1), WithTimeout(30*time.Millisecond), WithObserver(evs.observe))
			if tt.occupy {
				r := newTestResponder()
				if err := d.Submit(t.Context(), request("other", "hold", r)); err != nil {
					t.Fatalf("Submit: %v", err)
				}
				g.waitStarted(t)
				defer func() { close(g.release); r.wait(t) }()
			}
			if tt.shutdown {
				if err := d.Shutdown(t.Context()); err != nil {
					t.Fatalf("Shutdown: %v", err)
				}
			}
			req := Request{Platform: Teams, User: User{ID: "aad-1"}, Text: tt.text}
			rep := d.Do(t.Context(), req)
			if rep.Kind != tt.wantKind || !strings.HasPrefix(rep.Title, tt.wantTitle) {
				t.Errorf("Do = %v %q, want %v %q...", rep.Kind, rep.Title, tt.wantKind, tt.wantTitle)
			}
			if ev := evs.all(); len(ev) == 0 || ev[len(ev)-1].Outcome != tt.wantOutcome {
				t.Errorf("events = %+v, want last outcome %s", ev, tt.wantOutcome)
			}
		})
	}
}

func TestDispatcherDoRateLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	d := startDispatcher(t, newGate(), WithUserRate(rate.Every(2*time.Second), 1), WithClock(clock.Now))
	req := Request{Platform: Teams, User: User{ID: "aad-1"}, Text: "echo"}
	if rep := d.Do(t.Context(), req); rep.Kind != Success {
		t.Fatalf("first Do = %v %q", rep.Kind, rep.Title)
	}
	if rep := d.Do(t.Context(), req); rep.Kind != Usage || rep.Title != "Slow down: too many requests; try again in 2s." {
		t.Errorf("second Do = %v %q, want a slow-down in 2s", rep.Kind, rep.Title)
	}
	// Do and Submit share the user's bucket.
	r := newTestResponder()
	mustErr(t, d.Submit(t.Context(), Request{Platform: Teams, User: User{ID: "aad-1"}, ReplyTo: r}), ErrRateLimited)
	r.wait(t)
	clock.Advance(2 * time.Second)
	if rep := d.Do(t.Context(), req); rep.Kind != Success {
		t.Errorf("Do after 2s = %v %q", rep.Kind, rep.Title)
	}
}

func TestDispatcherShutdownDrainsThenRefuses(t *testing.T) {
	t.Parallel()
	g := newGate()
	d, err := NewDispatcher(g, WithWorkers(1), WithUserRate(rate.Inf, 0))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(t.Context()) }()

	inflight := newTestResponder()
	if err := d.Submit(t.Context(), request("a", "block", inflight)); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	g.waitStarted(t)
	queued := newTestResponder()
	if err := d.Submit(t.Context(), request("b", "queued", queued)); err != nil {
		t.Fatalf("Submit: %v", err)
	}

	shutErr := make(chan error, 1)
	go func() { shutErr <- d.Shutdown(t.Context()) }()
	select {
	case <-d.stopping:
	case <-time.After(waitLimit):
		t.Fatal("Shutdown did not stop intake")
	}
	mustErr(t, d.Submit(t.Context(), request("c", "late", newTestResponder())), ErrClosed)
	select {
	case err := <-shutErr:
		t.Fatalf("Shutdown returned %v with a request still running", err)
	default:
	}

	close(g.release)
	if err := <-shutErr; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Shutdown returned, so both requests are fully answered already.
	for _, tc := range []struct {
		r    *testResponder
		want string
	}{{inflight, "done block for slack:a"}, {queued, "done queued for slack:b"}} {
		if !tc.r.finished() {
			t.Fatalf("Shutdown returned before %q was answered", tc.want)
		}
		if rep := tc.r.one(t); rep.Title != tc.want {
			t.Errorf("reply = %q, want %q", rep.Title, tc.want)
		}
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after Shutdown")
	}
}

func TestDispatcherShutdownDeadlineAbandons(t *testing.T) {
	t.Parallel()
	g := newGate()
	var evs events
	d, err := NewDispatcher(g, WithWorkers(1), WithUserRate(rate.Inf, 0), WithObserver(evs.observe))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(t.Context()) }()

	inflight, queued := newTestResponder(), newTestResponder()
	if err := d.Submit(t.Context(), request("a", "block", inflight)); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	g.waitStarted(t)
	if err := d.Submit(t.Context(), request("b", "queued", queued)); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // no patience at all: in-flight work is cancelled, queued work dropped
	if err := d.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	if rep := inflight.one(t); rep.Title != "cancelled: "+errAbandoned.Error() {
		t.Errorf("in-flight reply = %q, want the handler to see the shutdown", rep.Title)
	}
	if reps := queued.wait(t); len(reps) != 0 {
		t.Errorf("queued request got %+v, want it dropped", reps)
	}
	select {
	case <-runErr:
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
	}
	if got := evs.outcomes(); got[OutcomeClosed] != 2 {
		t.Errorf("outcomes = %v, want 2 closed", got)
	}
}

func TestDispatcherRunTwice(t *testing.T) {
	t.Parallel()
	d, err := NewDispatcher(newGate())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { first <- d.Run(ctx) }()
	deadline := time.Now().Add(waitLimit)
	for !d.running.Load() {
		if time.Now().After(deadline) {
			t.Fatal("Run never started")
		}
		runtime.Gosched()
	}
	if err := d.Run(ctx); err == nil {
		t.Error("second Run returned nil, want an error")
	}
	cancel()
	select {
	case err := <-first:
		if err != nil {
			t.Errorf("first Run = %v, want nil after cancel", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Run did not return after its ctx was cancelled")
	}
	mustErr(t, d.Submit(t.Context(), request("u", "x", newTestResponder())), ErrClosed)
}
