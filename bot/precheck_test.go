package bot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
)

// prechecking answers prechecks with refusal (when set) and records what
// reached it; Handle answers every request "done".
type prechecking struct {
	refusal *Reply
	panics  bool

	mu        sync.Mutex
	checked   []Request
	deadlines []bool
	ids       []string
	handled   int
}

func (h *prechecking) Handle(context.Context, Request) Reply {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handled++
	return Reply{Title: "done"}
}

func (h *prechecking) Precheck(ctx context.Context, req Request) (Reply, bool) {
	h.mu.Lock()
	_, hasDeadline := ctx.Deadline()
	h.checked = append(h.checked, req)
	h.deadlines = append(h.deadlines, hasDeadline)
	h.ids = append(h.ids, RequestID(ctx))
	h.mu.Unlock()
	if h.panics {
		panic("precheck exploded")
	}
	if h.refusal == nil {
		return Reply{}, false
	}
	return *h.refusal, true
}

func TestDispatcherPrecheck(t *testing.T) {
	t.Parallel()
	refusal := Reply{Kind: Denied, Title: "Not allowed"}
	click := Request{Platform: Console, User: User{ID: "lead"}, Channel: "console", Action: &Action{ID: "qlik.approve", Value: "p1"}}
	tests := []struct {
		name        string
		h           Handler
		wantRefused bool
		wantLog     string
	}{
		{"refused", &prechecking{refusal: &refusal}, true, ""},
		{"may go through", &prechecking{}, false, ""},
		{"panics: cannot tell", &prechecking{panics: true}, false, "precheck panicked"},
		{"handler without prechecks", HandlerFunc(func(context.Context, Request) Reply { return Reply{Title: "done"} }), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := &testkit.Buffer{}
			d := startDispatcher(t, tc.h, WithUserRate(1, 1),
				WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			rep, refused := d.Precheck(t.Context(), click)
			if refused != tc.wantRefused || (refused && rep.Title != refusal.Title) || (!refused && !rep.IsEmpty()) {
				t.Errorf("Precheck = %q, %v; want refused %v", rep.Title, refused, tc.wantRefused)
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs)
			}
			if h, ok := tc.h.(*prechecking); ok {
				h.mu.Lock()
				if len(h.checked) != 1 || h.checked[0].ID == "" || h.ids[0] != h.checked[0].ID || !h.deadlines[0] ||
					h.checked[0].ReceivedAt.IsZero() || h.checked[0].Action.Value != "p1" {
					t.Errorf("the precheck got %+v (deadline %v, ctx request id %v): want one request with an id, in ctx too, stamped, under a deadline",
						h.checked, h.deadlines, h.ids)
				}
				if h.handled != 0 {
					t.Errorf("a precheck ran the handler %d times", h.handled)
				}
				h.mu.Unlock()
			}
			// A precheck takes nothing from the user's rate: the click
			// after it (burst 1) is let in.
			r := newTestResponder()
			req := click
			req.ReplyTo = r
			if err := d.Submit(t.Context(), req); errors.Is(err, ErrRateLimited) || err != nil {
				t.Fatalf("the click after the precheck: %v", err)
			}
			r.one(t)
		})
	}
}

// TestDispatcherPrecheckDeadline: a precheck is bounded by the request
// deadline.
func TestDispatcherPrecheckDeadline(t *testing.T) {
	t.Parallel()
	var h slowPrecheck
	d := startDispatcher(t, &h, WithTimeout(50*time.Millisecond))
	if _, refused := d.Precheck(t.Context(), Request{User: User{ID: "u"}, Action: &Action{ID: "x"}}); refused {
		t.Fatal("a precheck cut by its deadline refused the click")
	}
	if !errors.Is(h.err, context.DeadlineExceeded) {
		t.Fatalf("the precheck's context ended with %v, want its deadline", h.err)
	}
}

// slowPrecheck waits for its context to end.
type slowPrecheck struct{ err error }

func (*slowPrecheck) Handle(context.Context, Request) Reply { return Reply{} }

func (s *slowPrecheck) Precheck(ctx context.Context, _ Request) (Reply, bool) {
	select {
	case <-ctx.Done():
	case <-time.After(waitLimit):
	}
	s.err = ctx.Err()
	return Reply{}, false
}
