package commands

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
)

func TestClicksAndErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		action *bot.Action
		text   string
		user   string
		kind   bot.Kind
		want   string
	}{
		{name: "approve with a path for id", action: &bot.Action{ID: ActionApprove, Value: "../../etc"}, user: "UADMIN", kind: bot.Usage, want: "does not name an approval"},
		{name: "approve unknown id", action: &bot.Action{ID: ActionApprove, Value: strings.Repeat("ab", 16)}, user: "UADMIN", kind: bot.Info, want: "unknown or expired"},
		{name: "unknown button", action: &bot.Action{ID: "x.y"}, user: "UADMIN", kind: bot.Usage, want: "not one of mine"},
		{name: "run button runs as the clicker", action: &bot.Action{ID: ActionRun, Value: "delete finance " + user1ID}, user: "UVIEWER", kind: bot.Denied, want: "Your id: slack:UVIEWER"},
		{name: "usage error", text: "sessions --foo", user: "UVIEWER", kind: bot.Usage, want: "Usage: /qlik sessions [PREFIX ...]"},
		{name: "unknown prefix", text: "sessions nope", user: "UVIEWER", kind: bot.Usage, want: `no virtual proxy has the prefix "nope"; prefixes you may see: default, finance`},
		{name: "unknown prefix reveals nothing to outsiders", text: "sessions nope", user: "UNOBODY", kind: bot.Usage, want: `prefixes you may see: none`},
		{name: "unknown prefix for a finance viewer", text: "sessions nope", user: "UFIN", kind: bot.Usage, want: "prefixes you may see: finance\nUsage:"},
		{name: "unknown host", text: "sessions --proxy nowhere.example.com", user: "UVIEWER", kind: bot.Usage, want: "the proxy nodes are: Central (" + central + "), dev1 (" + dev1 + ")"},
		{name: "misspelt node", text: "sessions --proxy dev2", user: "UVIEWER", kind: bot.Usage, want: `unknown proxy node "dev2"; did you mean dev1?`},
		{name: "misspelt prefix", text: "sessions financ", user: "UVIEWER", kind: bot.Usage, want: `no virtual proxy has the prefix "financ"; did you mean finance?`},
		{name: "no suggestion beyond the caller's rights", text: "sessions wim", user: "UFIN", kind: bot.Usage, want: `no virtual proxy has the prefix "wim"; prefixes you may see: finance`},
		{name: "literal default", text: "sessions =default", user: "UVIEWER", kind: bot.Usage,
			want: `no virtual proxy has the prefix "default" itself (that is what =default asks for); the default virtual proxy, which has no prefix, is written default`},
		{name: "help", text: "help", user: "UNOBODY", kind: bot.Info, want: "qlikbot commands"},
		{name: "help kick", text: "help kick", user: "UNOBODY", kind: bot.Info, want: `Example: /qlik kick --user LAB\testuser_1`},
		{name: "nothing to kick", text: "kick dev", user: "UADMIN", kind: bot.Info, want: "No sessions to end"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{})
			r := e.eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: tc.user}, Channel: "C1", Text: tc.text, Action: tc.action})
			if r.Kind != tc.kind || !strings.Contains(joined(r), tc.want) {
				t.Fatalf("kind %v, want %v; text lacks %q:\n%s", r.Kind, tc.kind, tc.want, joined(r))
			}
			if tc.kind == bot.Usage && r.Visibility != bot.Ephemeral {
				t.Errorf("usage reply not ephemeral")
			}
			if len(e.deletes()) != 0 || (tc.kind == bot.Usage && len(e.qpsCalls()) != 0) {
				t.Errorf("Qlik touched: DELETEs %d, QPS calls %d", len(e.deletes()), len(e.qpsCalls()))
			}
		})
	}
}

func TestQlikDownIsAnErrorWithoutSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	e.sim.Close()
	r := e.ask(t, "UADMIN", "sessions finance")
	if r.Kind != bot.Error || r.Visibility != bot.Ephemeral {
		t.Fatalf("kind %v: %s", r.Kind, joined(r))
	}
	s := joined(r)
	if strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, "goroutine") || strings.Contains(s, string(e.sim.KeyPEM())) {
		t.Errorf("error reply leaks: %s", s)
	}
	if !strings.Contains(s, central) {
		t.Errorf("error does not say which host failed: %s", s)
	}
}

// failingStore fails every audit write, and when startJob is set every
// StartJob too (as a store that went away would).
type failingStore struct {
	Store
	startJob bool
}

func (failingStore) AppendAudit(context.Context, ...store.Event) error {
	return errors.New("disk full")
}

func (f failingStore) StartJob(ctx context.Context, s store.JobStart) (store.Pending, store.Lease, error) {
	if f.startJob {
		return store.Pending{}, store.Lease{}, errors.New("disk full")
	}
	return f.Store.StartJob(ctx, s)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = testkit.Buffer

// TestAuditFailureStopsTheAction: a delete, a kick (its approval request),
// an approve and a reject do not start when their audit record cannot be
// written: the answer is the store's "nothing was done", no DELETE reaches
// Qlik, and a pending approval stays pending.
func TestAuditFailureStopsTheAction(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		startJob bool // StartJob fails too (the approve's audit rows go with it)
		do       func(t *testing.T, e *env, eng *Engine, pending string) bot.Reply
	}{
		{"delete", false, func(t *testing.T, e *env, eng *Engine, _ string) bot.Reply {
			return eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UADMIN"}, Channel: "C1", Text: "delete finance " + hd(user1ID)})
		}},
		{"kick asks for approval", false, func(t *testing.T, e *env, eng *Engine, _ string) bot.Reply {
			return eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "ULEAD"}, Channel: "C1", Text: "kick finance"})
		}},
		{"logout asks for approval", false, func(t *testing.T, e *env, eng *Engine, _ string) bot.Reply {
			return eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UADMIN"}, Channel: "C1", Text: `kick --user LAB\testuser_1`})
		}},
		{"approve", true, func(t *testing.T, e *env, eng *Engine, pending string) bot.Reply {
			return eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "ULEAD2"}, Channel: "C1", Action: &bot.Action{ID: ActionApprove, Value: pending}})
		}},
		{"reject", false, func(t *testing.T, e *env, eng *Engine, pending string) bot.Reply {
			return eng.Handle(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "ULEAD2"}, Channel: "C1", Action: &bot.Action{ID: ActionReject, Value: pending}})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{})
			pending := pendingID(t, e.ask(t, "ULEAD", "kick finance")) // asked while the store worked
			var logs syncBuffer
			eng, err := New(e.client, failingStore{Store: e.st, startJob: tc.startJob}, authz.NewStatic(e.pol), WithClock(e.clk.Now),
				WithSealer(e.sealer), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			r := tc.do(t, e, eng, pending)
			if r.Kind != bot.Error || r.Title != "State store unavailable" || !strings.Contains(joined(r), "nothing was done") {
				t.Errorf("reply %v: %s", r.Kind, joined(r))
			}
			if n := len(e.deletes()); n != 0 || sessionCount(e) != 5 {
				t.Errorf("%d DELETEs, %d sessions left: the action ran without its audit record", n, sessionCount(e))
			}
			if p, err := e.st.GetPending(t.Context(), pending); err != nil || p.State != store.StatePending {
				t.Errorf("approval %v, %v: want still pending", p.State, err)
			}
			if r.Buttons != nil {
				t.Errorf("an approval request was made without its audit record: %+v", r.Buttons)
			}
			if l := logs.String(); !strings.Contains(l, "disk full") {
				t.Errorf("the store failure is not logged:\n%s", l)
			}
		})
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	pol := authz.NewStatic(e.pol)
	cases := []struct {
		name string
		q    Qlik
		st   Store
		pol  Policies
		opts []Option
		ok   bool
	}{
		{"defaults", e.client, e.st, pol, nil, true},
		{"no qlik", nil, e.st, pol, nil, false},
		{"no store", e.client, nil, pol, nil, false},
		{"no policies", e.client, e.st, nil, nil, false},
		{"page size 0", e.client, e.st, pol, []Option{WithPageSize(0)}, false},
		{"page size 101", e.client, e.st, pol, []Option{WithPageSize(101)}, false},
		{"nil clock", e.client, e.st, pol, []Option{WithClock(nil)}, false},
		{"nil logger", e.client, e.st, pol, []Option{WithLogger(nil)}, false},
		{"nil sealer", e.client, e.st, pol, []Option{WithSealer(nil)}, false},
		{"all set", e.client, e.st, pol, []Option{WithPageSize(100), WithCommandName("/qs"), WithLogger(slog.New(slog.DiscardHandler)), WithObserver(nil)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			eng, err := New(tc.q, tc.st, tc.pol, tc.opts...)
			if (err == nil) != tc.ok || (eng != nil) != tc.ok {
				t.Fatalf("New: %v, %v; want ok=%v", eng, err, tc.ok)
			}
		})
	}
	eng, err := New(e.client, e.st, pol, WithCommandName("/qs"))
	if err != nil {
		t.Fatal(err)
	}
	r := eng.Handle(t.Context(), bot.Request{Platform: bot.Console, User: bot.User{ID: "x"}, Text: "kick finance win"})
	if r.Kind != bot.Usage || !strings.Contains(joined(r), "Usage: /qs kick PREFIX") {
		t.Errorf("usage with command name: %s", joined(r))
	}
	if n := len(e.sim.Requests()); n != 0 {
		t.Errorf("New or a usage error talked to Qlik: %d requests", n)
	}
}
