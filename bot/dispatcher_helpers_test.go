package bot

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
)

// waitLimit guards against hangs only; no test asserts on elapsed time.
const waitLimit = 10 * time.Second

// testResponder records replies and the dispatcher's Finish call.
type testResponder struct {
	mu      sync.Mutex
	replies []Reply
	got     chan struct{} // one token per reply
	done    chan struct{}
	once    sync.Once
}

func newTestResponder() *testResponder {
	return &testResponder{got: make(chan struct{}, 16), done: make(chan struct{})}
}

func (r *testResponder) Respond(_ context.Context, rep Reply) error {
	r.mu.Lock()
	r.replies = append(r.replies, rep)
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
	return nil
}

func (r *testResponder) Finish() { r.once.Do(func() { close(r.done) }) }

// wait blocks until the dispatcher is finished with the request and
// returns every reply it sent.
func (r *testResponder) wait(t *testing.T) []Reply {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(waitLimit):
		t.Fatal("request never finished")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Reply(nil), r.replies...)
}

// one waits and expects exactly one reply.
func (r *testResponder) one(t *testing.T) Reply {
	t.Helper()
	reps := r.wait(t)
	if len(reps) != 1 {
		t.Fatalf("got %d replies, want 1: %+v", len(reps), reps)
	}
	return reps[0]
}

func (r *testResponder) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock = testkit.Clock

func newFakeClock() *fakeClock {
	return testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
}

// events collects DispatchEvents, safe for concurrent use.
type events struct {
	mu  sync.Mutex
	evs []DispatchEvent
}

func (e *events) observe(ev DispatchEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *events) outcomes() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[string]int)
	for _, ev := range e.evs {
		m[ev.Outcome]++
	}
	return m
}

func (e *events) all() []DispatchEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]DispatchEvent(nil), e.evs...)
}

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer = testkit.Buffer

// startDispatcher builds a dispatcher, runs it until the test ends and
// checks that Run returns.
func startDispatcher(t *testing.T, h Handler, opts ...DispatcherOption) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(h, opts...)
	if err != nil {
		t.Fatalf("NewDispatcher: %v", err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- d.Run(context.Background()) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case err := <-runErr:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(waitLimit):
			t.Error("Run did not return after Shutdown")
		}
	})
	return d
}

func request(user, text string, to Responder) Request {
	return Request{Platform: Slack, User: User{ID: user}, Channel: "C1", Text: text, ReplyTo: to}
}

// gate is a handler that blocks on requests whose text is "block" until
// released, and echoes everything else.
type gate struct {
	started chan Request
	release chan struct{}
}

func newGate() *gate {
	return &gate{started: make(chan Request, 64), release: make(chan struct{})}
}

func (g *gate) Handle(ctx context.Context, req Request) Reply {
	if req.Text == "block" {
		g.started <- req
		select {
		case <-g.release:
		case <-ctx.Done():
			return Reply{Kind: Error, Title: "cancelled: " + context.Cause(ctx).Error()}
		}
	}
	return Reply{Kind: Success, Title: "done " + req.Text + " for " + req.Subject()}
}

func (g *gate) waitStarted(t *testing.T) Request {
	t.Helper()
	select {
	case r := <-g.started:
		return r
	case <-time.After(waitLimit):
		t.Fatal("handler never started")
		return Request{}
	}
}

func mustErr(t *testing.T, got, want error) {
	t.Helper()
	if !errors.Is(got, want) {
		t.Fatalf("err = %v, want %v", got, want)
	}
}
