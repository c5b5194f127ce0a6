package commands

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// withBatch sets the sessions per DeleteSessions call (and journal
// batch) of a job, so a test sees several batches without thousands of
// sessions.
func withBatch(n int) Option {
	return func(o *options) error { o.batch = n; return nil }
}

// withWindow sets how many batches of a job are in flight at once (1: one
// after the other, so a test's clock moves batch by batch).
func withWindow(n int) Option {
	return func(o *options) error { o.window = n; return nil }
}

// steppingQlik is the real client whose every DeleteSessions call moves
// the engine's clock on by step, as a slow Qlik site would. It records
// the clock after each call, by the number of sessions done so far.
type steppingQlik struct {
	*qlik.Client
	clk  *clock
	step time.Duration

	mu    sync.Mutex
	done  int
	at    map[int]time.Time
	sizes []int
}

func (s *steppingQlik) DeleteSessions(ctx context.Context, ts []qlik.DeleteTarget) []qlik.Outcome {
	out := s.Client.DeleteSessions(ctx, ts)
	s.clk.Advance(s.step)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done += len(ts)
	s.at[s.done] = s.clk.Now()
	s.sizes = append(s.sizes, len(ts))
	return out
}

// recorder is a Responder that keeps what it is sent.
type recorder struct {
	mu      sync.Mutex
	replies []bot.Reply
}

func (r *recorder) Respond(_ context.Context, rep bot.Reply) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replies = append(r.replies, rep)
	return nil
}

func (r *recorder) got() []bot.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Reply(nil), r.replies...)
}

// TestProgressOfLongApproval approves a 250-session kick by a click with a
// Responder in the request, on a Qlik site that takes 2 s (by the injected
// clock) per batch of 25: progress updates the approval message at least
// once, never sooner than every after the start or the previous one, and
// the final reply, the DELETEs and the audit trail are what they are
// without progress. Under the threshold nothing but the final reply comes.
func TestProgressOfLongApproval(t *testing.T) {
	t.Parallel()
	const sessions, every = 250, 5 * time.Second
	cases := []struct {
		name      string
		threshold int
		progress  bool
	}{
		{"over the threshold", 100, true},
		{"at the threshold", sessions, false},
	}
	finals := make([]bot.Reply, len(cases))
	for i, tc := range cases {
		lab := qliksim.Generate(qliksim.GenOptions{Users: 50, Sessions: 2 * sessions, VirtualProxies: 2, Nodes: 2, Seed: 11})
		e := newEnv(t, envConfig{lab: &lab})
		q := &steppingQlik{Client: e.client, clk: e.clk, step: 2 * time.Second, at: map[int]time.Time{}}
		eng, err := New(q, e.st, authz.NewStatic(e.pol), WithClock(e.clk.Now), WithProgress(tc.threshold, every), withBatch(25), withWindow(1))
		if err != nil {
			t.Fatalf("%s: new engine: %v", tc.name, err)
		}
		asked := eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UADMIN", Name: "admin"}, Channel: "C1", Text: "kick vp2"})
		id := pendingID(t, asked)
		if asked.Table.TotalRows != sessions {
			t.Fatalf("%s: %d targets, want %d", tc.name, asked.Table.TotalRows, sessions)
		}
		rec := &recorder{}
		start := e.clk.Now()
		final := eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UADMIN2", Name: "admin2"}, Channel: "C1",
			Action: &bot.Action{ID: ActionApprove, Value: id, MessageRef: "C1/1.2"}, ReplyTo: rec})
		finals[i] = final
		// Next pages this approval: the same but for its id.
		for j, b := range finals[i].Buttons {
			finals[i].Buttons[j].Value = strings.ReplaceAll(b.Value, id, "ID")
		}

		if final.Kind != bot.Success || !final.ReplaceOriginal || final.Title != "Approved: end 250 sessions on vp2" ||
			!strings.Contains(joined(final), "Deleted 250, already gone 0, failed 0") {
			t.Errorf("%s: final %v replace %v: %s", tc.name, final.Kind, final.ReplaceOriginal, joined(final))
		}
		seen := map[string]int{}
		for _, d := range e.deletes() {
			seen[d.Path]++
		}
		if len(seen) != sessions || len(e.deletes()) != sessions || e.sim.AllSessions() != sessions {
			t.Errorf("%s: %d DELETEs of %d distinct sessions, %d left; want %d, %d, %d", tc.name, len(e.deletes()), len(seen), e.sim.AllSessions(), sessions, sessions, sessions)
		}
		if n := countAudit(e.audit(t), "delete", "deleted"); n != sessions {
			t.Errorf("%s: audited deletes %d, want %d", tc.name, n, sessions)
		}

		progress := rec.got()
		if !tc.progress {
			if len(progress) != 0 || len(q.sizes) != sessions/25 {
				t.Errorf("%s: %d progress replies, batches %v; want none and %d batches of 25", tc.name, len(progress), q.sizes, sessions/25)
			}
			continue
		}
		if len(q.sizes) != sessions/25 {
			t.Errorf("%s: batches %v, want %d of 25", tc.name, q.sizes, sessions/25)
		}
		if len(progress) == 0 {
			t.Fatalf("%s: no progress reply", tc.name)
		}
		prev, prevDone := start, 0
		for _, p := range progress {
			done := progressDone(t, p, sessions)
			at, ok := q.at[done]
			if !ok || done <= prevDone || done >= sessions {
				t.Fatalf("%s: progress at %d done after %d: not a batch boundary before the end", tc.name, done, prevDone)
			}
			if gap := at.Sub(prev); gap < every {
				t.Errorf("%s: progress at %d done came %v after the previous one, want at least %v", tc.name, done, gap, every)
			}
			want := []string{"Approved by admin2 (slack:UADMIN2); requested by admin (slack:UADMIN)",
				fmt.Sprintf("So far: deleted %d, already gone 0, failed 0; %d to go", done, sessions-done)}
			if p.Kind != bot.Pending || p.Visibility != bot.InChannel || !p.ReplaceOriginal || len(p.Buttons) != 0 || !reflect.DeepEqual(p.Summary, want) {
				t.Errorf("%s: progress reply %+v, want pending, in channel, replacing, no buttons, summary %q", tc.name, p, want)
			}
			prev, prevDone = at, done
		}
	}
	if !reflect.DeepEqual(finals[0], finals[1]) {
		t.Errorf("the final reply differs with progress:\n%+v\nwithout:\n%+v", finals[0], finals[1])
	}
}

// progressDone reads N from a title "Ending 250 sessions on vp2: N done".
func progressDone(t *testing.T, r bot.Reply, total int) int {
	t.Helper()
	head := fmt.Sprintf("Ending %d sessions on vp2: ", total)
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.Title, head), " done"))
	if !strings.HasPrefix(r.Title, head) || !strings.HasSuffix(r.Title, " done") || err != nil {
		t.Fatalf("progress title %q, want %q N done", r.Title, head)
	}
	return n
}
