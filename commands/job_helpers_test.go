package commands

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

// Job tests run a kick of jobSessions sessions on vp2 of a generated site
// (as many again on the default virtual proxy, which must survive) in
// batches of jobTestBatch, two in flight.
const (
	jobSessions  = 250
	jobTestBatch = 25
)

// jobEnv is an env on a generated site, for job tests.
func jobEnv(t *testing.T) *env {
	t.Helper()
	lab := qliksim.Generate(qliksim.GenOptions{Users: 50, Sessions: 2 * jobSessions, VirtualProxies: 2, Nodes: 2, Seed: 17})
	return newEnv(t, envConfig{lab: &lab})
}

// hookQlik is the real client with hooks around each DeleteSessions call
// (numbered from 1): before runs before the call reaches Qlik, after once
// Qlik answered and before the engine sees the outcomes; either may block
// (as a frozen or dying process would).
type hookQlik struct {
	*qlik.Client
	calls  atomic.Int64
	before func(ctx context.Context, n int)
	after  func(ctx context.Context, n int)
}

func (h *hookQlik) DeleteSessions(ctx context.Context, ts []qlik.DeleteTarget) []qlik.Outcome {
	n := int(h.calls.Add(1))
	if h.before != nil {
		h.before(ctx, n)
	}
	out := h.Client.DeleteSessions(ctx, ts)
	if h.after != nil {
		h.after(ctx, n)
	}
	return out
}

// deadStore is a store this process can no longer reach once dead is set
// (the process is gone, as far as the store is concerned).
type deadStore struct {
	Store
	dead *atomic.Bool
}

var errDead = errors.New("process gone")

func (d deadStore) RecordJobBatch(ctx context.Context, l store.Lease, id string, b []byte, evs []store.Event) error {
	if d.dead.Load() {
		return errDead
	}
	return d.Store.RecordJobBatch(ctx, l, id, b, evs)
}

func (d deadStore) FinishJob(ctx context.Context, l store.Lease, id string, now time.Time, res []byte, evs []store.Event) error {
	if d.dead.Load() {
		return errDead
	}
	return d.Store.FinishJob(ctx, l, id, now, res, evs)
}

func (d deadStore) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if d.dead.Load() {
		return store.Lease{}, errDead
	}
	return d.Store.RenewLease(ctx, l, ttl)
}

func (d deadStore) ReleaseLease(ctx context.Context, l store.Lease) error {
	if d.dead.Load() {
		return errDead
	}
	return d.Store.ReleaseLease(ctx, l)
}

func (d deadStore) GetJob(ctx context.Context, id string) (store.Job, [][]byte, error) {
	if d.dead.Load() {
		return store.Job{}, nil, errDead
	}
	return d.Store.GetJob(ctx, id)
}

// jobEngine is an engine of e on q and st, in batches of jobTestBatch.
func (e *env) jobEngine(t *testing.T, q Qlik, st Store, opts ...Option) *Engine {
	t.Helper()
	opts = append([]Option{WithClock(e.clk.Now), WithSealer(e.sealer), withBatch(jobTestBatch)}, opts...)
	eng, err := New(q, st, authz.NewStatic(e.pol), opts...)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	return eng
}

// delivered is one Deliver call.
type delivered struct {
	dst bot.Destination
	r   bot.Reply
}

// deliveries records what a Deliverer is handed; final is closed on the
// first reply that is not progress.
type deliveries struct {
	mu    sync.Mutex
	got   []delivered
	final chan struct{}
	once  sync.Once
}

func newDeliveries() *deliveries { return &deliveries{final: make(chan struct{})} }

func (d *deliveries) Deliver(_ context.Context, dst bot.Destination, r bot.Reply) (bot.Destination, error) {
	d.mu.Lock()
	d.got = append(d.got, delivered{dst, r})
	d.mu.Unlock()
	if r.Kind != bot.Pending {
		d.once.Do(func() { close(d.final) })
	}
	return dst, nil
}

// jobFitRows is how many rows the test platform shows in one message.
const jobFitRows = 7

// FitFor is the test platform's Request.Fit: at most jobFitRows rows.
func (d *deliveries) FitFor(bot.Platform) func(bot.Reply) int {
	return func(r bot.Reply) int {
		if r.Table == nil {
			return 0
		}
		return min(len(r.Table.Rows), jobFitRows)
	}
}

func (d *deliveries) all() []delivered {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]delivered(nil), d.got...)
}

// await waits (bounded) for ch to close.
func await(t *testing.T, ch <-chan struct{}, within time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(within):
		t.Fatalf("timed out after %v waiting for %s", within, what)
	}
}

// awaitReply waits (bounded) for a Handle running on its own goroutine.
func awaitReply(t *testing.T, ch <-chan bot.Reply, within time.Duration, what string) bot.Reply {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(within):
		t.Fatalf("timed out after %v waiting for %s", within, what)
		return bot.Reply{}
	}
}

// jobOrigin is where the test approvals' outcomes go: the Slack message
// that carried the Approve button.
var jobOrigin = bot.Destination{Platform: bot.Slack, Channel: "C1", Message: "1700000000.000100"}

// approveJob clicks Approve on pending as UADMIN2 on eng, on a goroutine;
// replies made on the way (progress, notices) go to rec.
func approveJob(t *testing.T, eng *Engine, pending string, rec bot.Responder) <-chan bot.Reply {
	t.Helper()
	done := make(chan bot.Reply, 1)
	req := bot.Request{ID: "click-approve", Platform: bot.Slack, User: bot.User{ID: "UADMIN2", Name: "admin2"}, Channel: "C1",
		Action: &bot.Action{ID: ActionApprove, Value: pending, MessageRef: "C1/" + jobOrigin.Message}, ReplyTo: rec, Origin: jobOrigin}
	ctx := context.WithoutCancel(t.Context())
	go func() { done <- eng.Handle(ctx, req) }()
	return done
}

// vp2 returns the ids of the kicked sessions (vp2, every node).
func vp2(e *env) []string {
	var ids []string
	for _, h := range e.sim.Hosts() {
		for _, s := range e.sim.Sessions(h, "vp2") {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// deleteCounts counts the DELETEs the simulator received per session id.
func (e *env) deleteCounts() map[string]int {
	n := map[string]int{}
	for _, d := range e.deletes() {
		n[d.Path[strings.LastIndex(d.Path, "/")+1:]]++
	}
	return n
}

// jobAudit returns the audit events of approval id, by action.
func jobAudit(t *testing.T, st Store, id string) map[string][]store.Event {
	t.Helper()
	evs, err := st.RecentAudit(t.Context(), 100000)
	if err != nil {
		t.Fatalf("read audit: %v", err)
	}
	out := map[string][]store.Event{}
	for _, ev := range evs {
		if ev.Pending == id {
			out[ev.Action] = append(out[ev.Action], ev)
		}
	}
	return out
}

// checkOneOutcomePerTarget: the trail holds exactly one delete row per
// kicked session (by its handle), whatever run wrote it.
func checkOneOutcomePerTarget(t *testing.T, rows []store.Event, ids []string) {
	t.Helper()
	if len(rows) != len(ids) {
		t.Errorf("%d delete rows in the audit trail, want %d (one per session)", len(rows), len(ids))
	}
	seen := map[string]int{}
	for _, ev := range rows {
		seen[strings.Fields(ev.Target)[0]]++
	}
	for _, id := range ids {
		if seen[hd(id)] != 1 {
			t.Errorf("session %s has %d delete rows, want 1", hd(id), seen[hd(id)])
		}
	}
}

// finalOf returns the one non-progress delivery, failing on none or more.
func finalOf(t *testing.T, ds []delivered) delivered {
	t.Helper()
	var finals []delivered
	for i, d := range ds {
		if d.r.Kind != bot.Pending {
			finals = append(finals, d)
			if i != len(ds)-1 {
				t.Errorf("delivery %d of %d (%q) is not the last: a later one would overwrite the outcome", i+1, len(ds), d.r.Title)
			}
		}
	}
	if len(finals) != 1 {
		t.Fatalf("%d outcomes delivered, want exactly 1: %+v", len(finals), ds)
	}
	return finals[0]
}

func newTextLogger(w *syncBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
