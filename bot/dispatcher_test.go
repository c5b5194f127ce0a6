package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestNewDispatcherRejectsBadOptions(t *testing.T) {
	t.Parallel()
	h := HandlerFunc(func(context.Context, Request) Reply { return Reply{} })
	tests := []struct {
		name string
		h    Handler
		opt  DispatcherOption
	}{
		{"nil handler", nil, WithWorkers(1)},
		{"zero workers", h, WithWorkers(0)},
		{"negative queue", h, WithQueueSize(-1)},
		{"negative rate", h, WithUserRate(-1, 1)},
		{"zero burst", h, WithUserRate(1, 0)},
		{"zero timeout", h, WithTimeout(0)},
		{"nil logger", h, WithLogger(nil)},
		{"nil clock", h, WithClock(nil)},
		{"nil observer", h, WithObserver(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := NewDispatcher(tt.h, tt.opt)
			if err == nil || d != nil {
				t.Fatalf("NewDispatcher = %v, %v; want an error", d, err)
			}
		})
	}
	if _, err := NewDispatcher(h, WithUserRate(rate.Inf, 0), WithQueueSize(0)); err != nil {
		t.Errorf("unlimited rate with burst 0 and queue 0 should be accepted: %v", err)
	}
}

func TestDispatcherRateLimitPerUser(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var evs events
	g := newGate()
	d := startDispatcher(t, g, WithUserRate(1, 2), WithClock(clock.Now), WithObserver(evs.observe))

	steps := []struct {
		name      string
		user      string
		advance   time.Duration
		wantErr   error
		wantKind  Kind
		wantTitle string
	}{
		{name: "alice first of burst", user: "alice", wantKind: Success, wantTitle: "done whoami for slack:alice"},
		{name: "alice second of burst", user: "alice", wantKind: Success, wantTitle: "done whoami"},
		{name: "alice over the rate", user: "alice", wantErr: ErrRateLimited, wantKind: Usage, wantTitle: "Slow down: too many requests; try again in 1s."},
		{name: "bob is independent", user: "bob", wantKind: Success, wantTitle: "done whoami for slack:bob"},
		{name: "alice still limited without time passing", user: "alice", wantErr: ErrRateLimited, wantKind: Usage, wantTitle: "Slow down"},
		{name: "alice after one second", user: "alice", advance: time.Second, wantKind: Success, wantTitle: "done whoami for slack:alice"},
		{name: "alice spent the new token", user: "alice", wantErr: ErrRateLimited, wantKind: Usage, wantTitle: "Slow down"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) { // sequential: each step depends on the last
			clock.Advance(s.advance)
			r := newTestResponder()
			err := d.Submit(t.Context(), request(s.user, "whoami", r))
			if s.wantErr == nil && err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if s.wantErr != nil {
				mustErr(t, err, s.wantErr)
			}
			rep := r.one(t)
			if rep.Kind != s.wantKind || !strings.HasPrefix(rep.Title, s.wantTitle) {
				t.Errorf("reply = %v %q, want %v %q...", rep.Kind, rep.Title, s.wantKind, s.wantTitle)
			}
		})
	}
	if got := evs.outcomes(); got[OutcomeOK] != 4 || got[OutcomeRateLimited] != 3 {
		t.Errorf("outcomes = %v, want 4 ok and 3 rate_limited", got)
	}
}

func TestDispatcherFullQueueAnswersBusy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		queue  int
		accept int // requests accepted while the only worker is blocked
	}{
		{"queue of one", 1, 1},
		{"queue of three", 3, 3},
		{"no queue", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var evs events
			g := newGate()
			d := startDispatcher(t, g, WithWorkers(1), WithQueueSize(tt.queue),
				WithUserRate(rate.Inf, 0), WithObserver(evs.observe))

			// Without a queue a request is taken only by a waiting worker,
			// and the workers may not be waiting yet: retry, bounded.
			var first *testResponder
			retries := 0
			for deadline := time.Now().Add(waitLimit); ; {
				first = newTestResponder()
				err := d.Submit(t.Context(), request("u0", "block", first))
				if err == nil {
					break
				}
				if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
					t.Fatalf("Submit first: %v", err)
				}
				first.wait(t)
				retries++
				runtime.Gosched()
			}
			g.waitStarted(t)
			var queued []*testResponder
			for i := range tt.accept {
				r := newTestResponder()
				if err := d.Submit(t.Context(), request(fmt.Sprint("u", i+1), "echo", r)); err != nil {
					t.Fatalf("Submit %d: %v", i+1, err)
				}
				queued = append(queued, r)
			}
			busy := newTestResponder()
			// Submit returns at once even though nothing can take the request.
			mustErr(t, d.Submit(t.Context(), request("late", "echo", busy)), ErrBusy)
			if rep := busy.one(t); rep.Kind != Warning || rep.Title != "Busy, try again in a moment." {
				t.Errorf("busy reply = %v %q", rep.Kind, rep.Title)
			}
			if first.finished() {
				t.Fatal("blocked request finished before release")
			}
			close(g.release)
			if rep := first.one(t); rep.Title != "done block for slack:u0" {
				t.Errorf("first reply = %q", rep.Title)
			}
			for i, r := range queued {
				if rep := r.one(t); rep.Title != fmt.Sprintf("done echo for slack:u%d", i+1) {
					t.Errorf("queued reply %d = %q", i+1, rep.Title)
				}
			}
			if got := evs.outcomes(); got[OutcomeBusy] != 1+retries || got[OutcomeOK] != 1+tt.accept {
				t.Errorf("outcomes = %v", got)
			}
		})
	}
}

func TestDispatcherDeadlineReachesHandler(t *testing.T) {
	t.Parallel()
	type key struct{}
	tests := []struct {
		name      string
		reply     Reply // what the handler returns once its ctx is done
		wantTitle string
	}{
		{"zero reply becomes a timeout reply", Reply{}, "Timed out after 20ms (request req-1)."},
		{"handler's own reply is kept", Reply{Kind: Error, Title: "Qlik did not answer in time"}, "Qlik did not answer in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var evs events
			type seen struct {
				hasDeadline bool
				cause       error
				value       any
			}
			got := make(chan seen, 1)
			h := HandlerFunc(func(ctx context.Context, req Request) Reply {
				_, ok := ctx.Deadline()
				<-ctx.Done() // the test ends only if the deadline arrives
				got <- seen{ok, context.Cause(ctx), ctx.Value(key{})}
				return tt.reply
			})
			d := startDispatcher(t, h, WithTimeout(20*time.Millisecond), WithObserver(evs.observe))
			r := newTestResponder()
			ctx, cancel := context.WithCancel(context.WithValue(t.Context(), key{}, "trace-7"))
			req := request("u", "sessions", r)
			req.ID = "req-1"
			if err := d.Submit(ctx, req); err != nil {
				t.Fatalf("Submit: %v", err)
			}
			cancel() // the adapter's HTTP request ends; the work must go on
			rep := r.one(t)
			s := <-got
			if !s.hasDeadline || !errors.Is(s.cause, errTimeout) {
				t.Errorf("handler ctx: deadline=%v cause=%v, want a deadline and errTimeout", s.hasDeadline, s.cause)
			}
			if s.value != "trace-7" {
				t.Errorf("handler ctx lost the submitter's values: %v", s.value)
			}
			if rep.Kind != Error || rep.Title != tt.wantTitle {
				t.Errorf("reply = %v %q, want error %q", rep.Kind, rep.Title, tt.wantTitle)
			}
			if ev := evs.all(); len(ev) != 1 || ev[0].Outcome != OutcomeTimeout || ev[0].Command != "sessions" {
				t.Errorf("events = %+v, want one timeout for sessions", ev)
			}
		})
	}
}

func TestDispatcherRecoversPanics(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	var evs events
	h := HandlerFunc(func(_ context.Context, req Request) Reply {
		if req.Action != nil && req.Action.ID == "approve" {
			panic("boom in approve")
		}
		return Reply{Title: "fine"}
	})
	d := startDispatcher(t, h, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))), WithObserver(evs.observe))

	r := newTestResponder()
	req := Request{Platform: Teams, User: User{ID: "aad-1"}, ReplyTo: r, Action: &Action{ID: "approve", Value: "p1"}}
	if err := d.Submit(t.Context(), req); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	rep := r.one(t)
	id, ok := strings.CutPrefix(rep.Title, "internal error, logged as ")
	if rep.Kind != Error || !ok || id == "" {
		t.Fatalf("reply = %v %q, want an internal error with a request id", rep.Kind, rep.Title)
	}
	log := logs.String()
	for _, want := range []string{`"msg":"handler panicked"`, `"request_id":"` + id + `"`, `"panic":"boom in approve"`,
		`"subject":"teams:aad-1"`, `"command":"approve"`, "TestDispatcherRecoversPanics"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if ev := evs.all(); len(ev) != 1 || ev[0].Outcome != OutcomePanic || ev[0].Kind != Error {
		t.Errorf("events = %+v, want one panic", ev)
	}
	// The worker survived.
	r2 := newTestResponder()
	if err := d.Submit(t.Context(), request("u", "x", r2)); err != nil {
		t.Fatalf("Submit after panic: %v", err)
	}
	if rep := r2.one(t); rep.Title != "fine" {
		t.Errorf("reply after panic = %q", rep.Title)
	}
}

func TestDispatcherSubmitRejectsBadInput(t *testing.T) {
	t.Parallel()
	d := startDispatcher(t, newGate())
	if err := d.Submit(t.Context(), Request{Platform: Slack, User: User{ID: "u"}}); !errors.Is(err, errNoReplyTo) {
		t.Errorf("Submit without ReplyTo = %v, want errNoReplyTo", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := d.Submit(ctx, request("u", "x", newTestResponder())); !errors.Is(err, context.Canceled) {
		t.Errorf("Submit with a dead ctx = %v, want context.Canceled", err)
	}
}

func TestDispatcherManyConcurrentSubmits(t *testing.T) {
	t.Parallel()
	const senders, each = 16, 40
	var handled atomic.Int64
	var evs events
	h := HandlerFunc(func(_ context.Context, req Request) Reply {
		handled.Add(1)
		return Reply{Title: req.Text}
	})
	d := startDispatcher(t, h, WithWorkers(4), WithQueueSize(8), WithUserRate(rate.Limit(1), 3),
		WithClock(newFakeClock().Now), WithObserver(evs.observe))

	var wg sync.WaitGroup
	var mu sync.Mutex
	results := make(map[error]int)
	var all []*testResponder
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				r := newTestResponder()
				err := d.Submit(t.Context(), request(fmt.Sprintf("u%d", (s*each+i)%50), fmt.Sprint(i), r))
				mu.Lock()
				results[err]++
				all = append(all, r)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, r := range all {
		r.wait(t) // every request is finished, none hangs
	}
	total := senders * each
	if got := results[nil] + results[ErrBusy] + results[ErrRateLimited]; got != total {
		t.Fatalf("results = %v, want only nil, ErrBusy and ErrRateLimited over %d submits", results, total)
	}
	// The clock never moves: 50 users with a burst of 3 each.
	if results[nil]+results[ErrBusy] != 150 || results[ErrRateLimited] != total-150 {
		t.Errorf("results = %v, want 150 admitted by the rate limit", results)
	}
	if int(handled.Load()) != results[nil] {
		t.Errorf("handled %d, accepted %d", handled.Load(), results[nil])
	}
	out := evs.outcomes()
	if out[OutcomeOK] != results[nil] || out[OutcomeBusy] != results[ErrBusy] || out[OutcomeRateLimited] != results[ErrRateLimited] {
		t.Errorf("outcomes %v do not match results %v", out, results)
	}
}
