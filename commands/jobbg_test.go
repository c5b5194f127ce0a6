package commands

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// TestApprovedJobRunsInBackground: with a Deliverer, an approved kick of
// 250 sessions does not hold the request: the click is answered with the
// first progress message (through its ReplyTo; a typed approve gets it as
// its reply) while the first batch is still held at Qlik, the job runs
// under the job tracker, and its outcome replaces the approval message
// through the Deliverer (a typed approve's comes as a new message).
func TestApprovedJobRunsInBackground(t *testing.T) {
	t.Parallel()
	for _, typed := range []bool{false, true} {
		name := map[bool]string{false: "click", true: "typed"}[typed]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := jobEnv(t)
			reached, release := make(chan struct{}), make(chan struct{})
			q := &hookQlik{Client: e.client, before: func(ctx context.Context, n int) {
				if n == 1 {
					close(reached)
					<-release
				}
			}}
			out := newDeliveries()
			eng := e.jobEngine(t, q, e.st, WithDeliverer(out), withWindow(1))
			pending := pendingID(t, askAs(t, eng, "UADMIN", "kick vp2"))
			ids := vp2(e)
			rec := &recorder{}
			var done <-chan bot.Reply
			if typed {
				ch := make(chan bot.Reply, 1)
				go func() { ch <- askAs(t, eng, "UADMIN2", "approve "+pending) }()
				done = ch
			} else {
				done = approveJob(t, eng, pending, rec)
			}
			await(t, reached, 30*time.Second, "the first batch")
			r := awaitReply(t, done, 30*time.Second, "the approval's answer while its first batch is held")
			first := r
			if !typed {
				if !r.IsEmpty() || len(rec.got()) != 1 {
					t.Fatalf("a click answered %q and said %d things through ReplyTo; want the progress through ReplyTo alone", r.Title, len(rec.got()))
				}
				first = rec.got()[0]
			}
			if first.Kind != bot.Pending || first.Title != "Ending 250 sessions on vp2: 0 done" || first.ReplaceOriginal == typed {
				t.Errorf("first progress message %v %q (replace %v): %s", first.Kind, first.Title, first.ReplaceOriginal, joined(first))
			}
			if !eng.jobs.isRunning(pending) {
				t.Error("the job is not under the job tracker")
			}
			close(release)
			await(t, out.final, 60*time.Second, "the job's outcome")
			f := finalOf(t, out.all())
			want := jobOrigin
			if typed {
				want.Message = ""
			}
			if f.dst != want || f.r.Kind != bot.Success || f.r.Title != "Approved: end 250 sessions on vp2" ||
				!strings.Contains(joined(f.r), "Deleted 250, already gone 0, failed 0") {
				t.Errorf("outcome to %+v: %v %q %s", f.dst, f.r.Kind, f.r.Title, joined(f.r))
			}
			if err := eng.StopJobs(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if n := e.deleteCounts()[id]; n != 1 {
					t.Errorf("session %s got %d DELETEs, want 1", hd(id), n)
				}
			}
			checkOneOutcomePerTarget(t, jobAudit(t, e.st, pending)["delete"], ids)
		})
	}
}

// lostAnswerStore writes StartJob but loses its answer (as a connection
// cut after the write would).
type lostAnswerStore struct{ Store }

func (s lostAnswerStore) StartJob(ctx context.Context, js store.JobStart) (store.Pending, store.Lease, error) {
	if _, _, err := s.Store.StartJob(ctx, js); err != nil {
		return store.Pending{}, store.Lease{}, err
	}
	return store.Pending{}, store.Lease{}, errors.New("read tcp: connection reset by peer")
}

// TestStartJobAnswerLost: when StartJob's write lands but its answer is
// lost, the approval is not reported as "nothing was done": the job is
// read back, the reply says it runs by itself, no second command row is
// written, and ResumeJobs carries it out once the lease lapses, each
// session deleted once.
func TestStartJobAnswerLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	pending := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	eng := e.jobEngine(t, e.client, lostAnswerStore{e.st}, WithJobLease(300*time.Millisecond))
	r := clickAs(t, eng, "ULEAD2", ActionApprove, pending)
	if r.Kind != bot.Pending || !strings.Contains(joined(r), "the job is recorded: it starts by itself") || len(e.deletes()) != 0 {
		t.Fatalf("approve with its answer lost: %v %s; DELETEs %d", r.Kind, joined(r), len(e.deletes()))
	}
	rows := 0
	for _, ev := range e.audit(t) {
		if ev.Action == "command" && ev.RequestID == "click-ULEAD2" {
			rows++
		}
	}
	if rows != 1 {
		t.Errorf("%d command rows for the click, want 1", rows)
	}
	out := newDeliveries()
	waitUntil(t, 30*time.Second, "the job to be resumed", func() bool {
		n, err := e.jobEngine(t, e.client, e.st).ResumeJobs(t.Context(), out)
		return n == 1 && err == nil
	})
	await(t, out.final, 30*time.Second, "the job's outcome")
	if f := finalOf(t, out.all()); f.r.Kind != bot.Success || !strings.Contains(joined(f.r), "Deleted 2, already gone 0, failed 0") {
		t.Errorf("outcome %v: %s", f.r.Kind, joined(f.r))
	}
	for _, id := range []string{user1ID, user2ID} {
		if n := e.deleteCounts()[id]; n != 1 {
			t.Errorf("session %s got %d DELETEs, want 1", hd(id), n)
		}
	}
}

// lostClaimStore writes Claim but loses its answer.
type lostClaimStore struct{ Store }

func (s lostClaimStore) Claim(ctx context.Context, id string, decision store.State, by string, now time.Time) (store.Pending, error) {
	if _, err := s.Store.Claim(ctx, id, decision, by, now); err != nil {
		return store.Pending{}, err
	}
	return store.Pending{}, errors.New("read tcp: connection reset by peer")
}

// TestRejectAnswerLost: a reject whose Claim landed but whose answer was
// lost is read back and reported as rejected, not "nothing was done".
func TestRejectAnswerLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	pending := pendingID(t, e.ask(t, "ULEAD", "kick finance"))
	eng := e.jobEngine(t, e.client, lostClaimStore{e.st})
	r := clickAs(t, eng, "ULEAD2", ActionReject, pending)
	if r.Kind != bot.Info || !strings.HasPrefix(r.Title, "Rejected") {
		t.Fatalf("reject with its answer lost: %v %s", r.Kind, joined(r))
	}
	if p, err := e.st.GetPending(t.Context(), pending); err != nil || p.State != store.StateRejected {
		t.Errorf("state %v, %v", p.State, err)
	}
	if n := countAudit(e.audit(t), "reject", "rejected"); n != 1 {
		t.Errorf("%d reject rows, want 1", n)
	}
}

// noPendingStore cannot save approval requests.
type noPendingStore struct{ Store }

func (noPendingStore) CreatePending(context.Context, store.Pending) error {
	return errors.New("disk full")
}

// TestApprovalRequestRowsAndFailure: the command row and the
// request-approval row go in before the request is saved, in one write;
// when the request then cannot be saved, the failure is recorded after
// them, and Home offers nothing to approve.
func TestApprovalRequestRowsAndFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	eng := e.jobEngine(t, e.client, noPendingStore{e.st})
	r := askAs(t, eng, "ULEAD", "kick finance")
	if r.Kind != bot.Error || !strings.Contains(joined(r), "Could not save the approval request") {
		t.Fatalf("kick with the store refusing the request: %v %s", r.Kind, joined(r))
	}
	var acts []string
	for _, ev := range e.audit(t) { // newest first
		if ev.RequestID == "req-ULEAD" {
			acts = append(acts, ev.Action+":"+ev.Outcome)
		}
	}
	if len(acts) != 3 || acts[1] != "request-approval:2 sessions" || !strings.HasPrefix(acts[0], "outcome:error: Could not save the approval request") ||
		acts[2] != "command:" {
		t.Errorf("audit rows of the request (newest first): %q", acts)
	}
	if a := e.ask(t, "UADMIN", "audit --action outcome"); a.Table == nil || len(a.Table.Rows) != 1 ||
		!strings.Contains(strings.Join(a.Table.Rows[0], " "), "outcome finance") {
		t.Errorf("audit --action outcome: %s %+v", joined(a), a.Table)
	}
	home := eng.Home(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UADMIN2"}})
	if len(home.Buttons) != 0 {
		t.Errorf("home offers %+v for a request never saved", home.Buttons)
	}
}

// TestOpenJobChecksSite: a job sealed with the engine's own key whose site
// would not pass as typed is refused like an approval with one.
func TestOpenJobChecksSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	id := strings.Repeat("ab", 16)
	rec := jobRecord{Approver: approver{Subject: "slack:UADMIN"}, Action: action{Kind: "kick", Site: "bad/site",
		Targets: []target{{Prefix: "finance", Host: central, SessionID: user1ID}}}}
	data, err := e.eng.sealJob(id, rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.openJob(id, data); !errors.Is(err, errUnverified) {
		t.Errorf("openJob of a job for site %q: %v, want errUnverified", rec.Action.Site, err)
	}
	rec.Action.Site = "default"
	if data, err = e.eng.sealJob(id, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.openJob(id, data); err != nil {
		t.Errorf("openJob of a good job: %v", err)
	}
}

// failingResponder cannot answer the request (its response URL expired,
// the platform is down).
type failingResponder struct{}

func (failingResponder) Respond(context.Context, bot.Reply) error {
	return errors.New("response_url expired")
}

// TestBackgroundFirstProgressNeverCoversOutcome: when the click's
// ReplyTo cannot take the first progress message, it goes where the job's
// own updates go (the Deliverer), before the job starts, and is not
// returned as the click's reply: said once the job runs, it could land
// after the job's outcome and cover it.
func TestBackgroundFirstProgressNeverCoversOutcome(t *testing.T) {
	t.Parallel()
	e := jobEnv(t)
	out := newDeliveries()
	eng := e.jobEngine(t, e.client, e.st, WithDeliverer(out))
	pending := pendingID(t, askAs(t, eng, "UADMIN", "kick vp2"))
	r := awaitReply(t, approveJob(t, eng, pending, failingResponder{}), 30*time.Second, "the approval's answer")
	if !r.IsEmpty() {
		t.Errorf("the click answered %v %q (replace %v): a reply said after the job started may cover its outcome", r.Kind, r.Title, r.ReplaceOriginal)
	}
	await(t, out.final, 60*time.Second, "the job's outcome")
	if err := eng.StopJobs(t.Context()); err != nil {
		t.Fatal(err)
	}
	ds := out.all()
	if len(ds) < 2 || ds[0].r.Title != "Ending 250 sessions on vp2: 0 done" || ds[0].dst != jobOrigin {
		t.Errorf("first of %d deliveries: %q to %+v, want the first progress message on the approval message", len(ds), ds[0].r.Title, ds[0].dst)
	}
	if f := finalOf(t, ds); f.r.Kind != bot.Success {
		t.Errorf("outcome %v %q", f.r.Kind, f.r.Title)
	}
}
