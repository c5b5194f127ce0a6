package botbench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// JobMeasurements are the durable-job figures: what the journal costs an
// approved kick (against the same DELETEs through the Qlik client alone,
// measured in the same run), the store writes of a 1,000-session job,
// and how long a kick killed at about 300 done takes to finish after a
// restart.
func JobMeasurements(o qlikbench.Options) []qlikbench.Measurement {
	k := kickSize(o)
	return []qlikbench.Measurement{
		{ID: "journal", Name: fmt.Sprintf("the job journal: %s, against the same DELETEs through the Qlik client alone", k),
			Run:  measureJournal,
			Keys: []string{"delete_1000_direct_seconds", "delete_1000_journal_seconds", "delete_journal_overhead_pct", "audit_writes_per_1000"}},
		{ID: "resume", Name: fmt.Sprintf("resume: %s, the process \"killed\" at about %d done (store closed, Qlik calls frozen), the state file reopened by a new engine", k, resumeAt(k)),
			Run:  measureResume,
			Keys: []string{"resume_1000_seconds", "resume_done_before", "resume_deleted_twice"}},
	}
}

// resumeAt is where the resume scenario kills the job: 30% done.
func resumeAt(k kickScenario) int { return k.Sessions * 3 / 10 }

func measureJournal(ctx context.Context, o qlikbench.Options) ([]qlikbench.Figure, error) {
	k := kickSize(o)
	var direct, journal []time.Duration
	writes := 0
	// Alternated, so that drift of the machine hits both alike.
	for range min(o.RunsOr(3), 3) {
		d, err := runDirectDelete(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("direct deletes: %w", err)
		}
		j, w, err := runCountedKick(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("journaled kick: %w", err)
		}
		direct, journal, writes = append(direct, d), append(journal, j), w
	}
	dm, jm := qlikbench.Median(direct), qlikbench.Median(journal)
	return []qlikbench.Figure{
		{Key: "delete_1000_direct_seconds", Label: fmt.Sprintf("%d DELETEs through the Qlik client alone (median of %d)", k.Sessions, len(direct)), Value: dm.Seconds(), Unit: "s"},
		{Key: "delete_1000_journal_seconds", Label: fmt.Sprintf("approve click to reply, the job journaled in bolt (median of %d)", len(journal)), Value: jm.Seconds(), Unit: "s"},
		{Key: "delete_journal_overhead_pct", Label: "the approved kick's time over the DELETEs' own", Value: 100 * (jm.Seconds()/dm.Seconds() - 1), Unit: "%"},
		{Key: "audit_writes_per_1000", Label: fmt.Sprintf("store writes from the approve click to the reply, %d sessions", k.Sessions), Value: float64(writes), Unit: "writes"},
	}, nil
}

// kickLab is the site of the kick scenarios: k.Sessions on vp2, as many on
// the default virtual proxy.
func kickLab(k kickScenario) qliksim.Lab {
	return qliksim.Generate(qliksim.GenOptions{Users: 2 * k.Sessions / 5, Sessions: 2 * k.Sessions, VirtualProxies: 2, Nodes: 2, Seed: 3})
}

// runDirectDelete ends vp2's sessions with one DeleteSessions call of a
// Qlik client limited as the kick's is: the floor of any approved kick.
func runDirectDelete(ctx context.Context, k kickScenario) (time.Duration, error) {
	sim, err := startSim(kickLab(k), k.Latency)
	if err != nil {
		return 0, err
	}
	defer sim.Close()
	qcfg := qlikbench.ClientConfig(sim, qlikbench.Shipped{})
	qcfg.RequestsPerSecond = k.RPS
	qc, err := qlik.New(qcfg)
	if err != nil {
		return 0, err
	}
	defer qc.Close()
	var ts []qlik.DeleteTarget
	for _, h := range sim.Hosts() {
		for _, s := range sim.Sessions(h, kickVP) {
			ts = append(ts, qlik.DeleteTarget{Prefix: kickVP, Host: h, SessionID: s.ID, User: qlik.UserRef{Directory: s.UserDirectory, ID: s.UserID}})
		}
	}
	if len(ts) != k.Sessions {
		return 0, fmt.Errorf("%d sessions on %s, want %d", len(ts), kickVP, k.Sessions)
	}
	if _, err := qc.Topology(ctx); err != nil { // warm, as the engine's is after the request's list
		return 0, err
	}
	start := time.Now()
	outs := qc.DeleteSessions(ctx, ts)
	took := time.Since(start)
	for i, o := range outs {
		if o.Status != qlik.Deleted {
			return 0, fmt.Errorf("session %d: %v %v", i, o.Status, o.Err)
		}
	}
	return took, nil
}

// countingStore counts the store writes the engine makes.
type countingStore struct {
	commands.Store
	writes atomic.Int64
}

func (c *countingStore) CreatePending(ctx context.Context, p store.Pending) error {
	c.writes.Add(1)
	return c.Store.CreatePending(ctx, p)
}

func (c *countingStore) Claim(ctx context.Context, id string, d store.State, by string, now time.Time) (store.Pending, error) {
	c.writes.Add(1)
	return c.Store.Claim(ctx, id, d, by, now)
}

func (c *countingStore) AppendAudit(ctx context.Context, evs ...store.Event) error {
	c.writes.Add(1)
	return c.Store.AppendAudit(ctx, evs...)
}

func (c *countingStore) StartJob(ctx context.Context, s store.JobStart) (store.Pending, store.Lease, error) {
	c.writes.Add(1)
	return c.Store.StartJob(ctx, s)
}

func (c *countingStore) RecordJobBatch(ctx context.Context, l store.Lease, id string, b []byte, evs []store.Event) error {
	c.writes.Add(1)
	return c.Store.RecordJobBatch(ctx, l, id, b, evs)
}

func (c *countingStore) FinishJob(ctx context.Context, l store.Lease, id string, now time.Time, res []byte, evs []store.Event) error {
	c.writes.Add(1)
	return c.Store.FinishJob(ctx, l, id, now, res, evs)
}

func (c *countingStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, error) {
	c.writes.Add(1)
	return c.Store.AcquireLease(ctx, name, holder, ttl)
}

func (c *countingStore) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	c.writes.Add(1)
	return c.Store.RenewLease(ctx, l, ttl)
}

func (c *countingStore) ReleaseLease(ctx context.Context, l store.Lease) error {
	c.writes.Add(1)
	return c.Store.ReleaseLease(ctx, l)
}

// jobBot is an engine over a bolt file in its own folder.
type jobBot struct {
	dir    string
	st     *store.Bolt
	qc     *qlik.Client
	engine *commands.Engine
}

var jobPolicy = policyYAML(grant{"lead", subjects(bot.Slack, []string{requester, approver})})

// newJobBot opens the bolt file in dir (made when "") and an engine on q
// (the bot's own client when nil), with the store wrapped by wrap.
func newJobBot(dir string, qcfg qlik.Config, sealer *seal.Sealer, q func(*qlik.Client) commands.Qlik, wrap func(commands.Store) commands.Store, opts ...commands.Option) (*jobBot, error) {
	b := &jobBot{dir: dir}
	var err error
	if b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "qlikbench-jobs-"); err != nil {
			return nil, err
		}
	}
	pol, err := authz.Parse(jobPolicy)
	if err != nil {
		return nil, err
	}
	if b.qc, err = qlik.New(qcfg); err != nil {
		return nil, err
	}
	if b.st, err = store.OpenBolt(filepath.Join(b.dir, "state.db"), store.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		b.qc.Close()
		return nil, err
	}
	var qq commands.Qlik = b.qc
	if q != nil {
		qq = q(b.qc)
	}
	var st commands.Store = b.st
	if wrap != nil {
		st = wrap(st)
	}
	opts = append([]commands.Option{commands.WithSealer(sealer)}, opts...)
	if b.engine, err = commands.New(qq, st, authz.NewStatic(pol), opts...); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *jobBot) close() {
	if b.st != nil {
		_ = b.st.Close()
	}
	b.qc.Close()
}

// ask asks for the kick and returns the Approve click.
func (b *jobBot) ask(ctx context.Context, k kickScenario) (bot.Request, error) {
	pending := b.engine.Handle(ctx, bot.Request{ID: "bench-kick", Platform: bot.Slack, User: bot.User{ID: requester, Name: "requester"}, Channel: "CBENCH", Text: "kick " + kickVP})
	if pending.Kind != bot.Pending || len(pending.Buttons) == 0 || pending.Buttons[0].ActionID != commands.ActionApprove || pending.Table == nil || pending.Table.TotalRows != k.Sessions {
		return bot.Request{}, fmt.Errorf("kick %s: want an approval request of %d sessions, got %s %q", kickVP, k.Sessions, pending.Kind, pending.Title)
	}
	return bot.Request{ID: "bench-approve", Platform: bot.Slack, User: bot.User{ID: approver, Name: "approver"}, Channel: "CBENCH",
		Action: &bot.Action{ID: commands.ActionApprove, Value: pending.Buttons[0].Value, MessageRef: "CBENCH/1700000000.000001"},
		Origin: bot.Destination{Platform: bot.Slack, Channel: "CBENCH", Message: "1700000000.000001"}}, nil
}

// checkKicked checks vp2 is empty and the default virtual proxy intact.
func checkKicked(sim *qliksim.Server, k kickScenario) error {
	for _, h := range sim.Hosts() {
		if n := len(sim.Sessions(h, kickVP)); n != 0 {
			return fmt.Errorf("%d sessions left on %s@%s", n, kickVP, h)
		}
	}
	if left := sim.AllSessions(); left != k.Sessions {
		return fmt.Errorf("%d sessions left on the site, want the other virtual proxy's %d", left, k.Sessions)
	}
	return nil
}

// runCountedKick approves the kick through an engine whose store counts
// writes; it returns the click's time and the writes it made.
func runCountedKick(ctx context.Context, k kickScenario) (time.Duration, int, error) {
	sim, err := startSim(kickLab(k), k.Latency)
	if err != nil {
		return 0, 0, err
	}
	defer sim.Close()
	qcfg := qlikbench.ClientConfig(sim, qlikbench.Shipped{})
	qcfg.RequestsPerSecond = k.RPS
	var counted *countingStore
	b, err := newJobBot("", qcfg, seal.Random(), nil, func(s commands.Store) commands.Store {
		counted = &countingStore{Store: s}
		return counted
	})
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(b.dir)
	defer b.close()
	click, err := b.ask(ctx, k)
	if err != nil {
		return 0, 0, err
	}
	counted.writes.Store(0)
	start := time.Now()
	done := b.engine.Handle(ctx, click)
	took := time.Since(start)
	writes := int(counted.writes.Load())
	want := fmt.Sprintf("Deleted %d, already gone 0, failed 0", k.Sessions)
	if done.Kind != bot.Success || !strings.Contains(strings.Join(done.Summary, "\n"), want) {
		return 0, 0, fmt.Errorf("approve: want %q, got %s %q %v", want, done.Kind, done.Title, done.Summary)
	}
	return took, writes, checkKicked(sim, k)
}

// frozenQlik passes DELETEs to Qlik until limit sessions were sent; the
// call that reaches it is sent, then it and every later call hang until
// their context ends: a process frozen (and then killed) mid-job, with a
// batch in flight.
type frozenQlik struct {
	commands.Qlik
	limit  int
	sent   atomic.Int64
	once   sync.Once
	frozen chan struct{}
}

func (f *frozenQlik) DeleteSessions(ctx context.Context, ts []qlik.DeleteTarget) []qlik.Outcome {
	select {
	case <-f.frozen:
		<-ctx.Done()
		return make([]qlik.Outcome, len(ts))
	default:
	}
	out := f.Qlik.DeleteSessions(ctx, ts)
	if int(f.sent.Add(int64(len(ts)))) >= f.limit {
		f.once.Do(func() { close(f.frozen) })
		<-ctx.Done()
	}
	return out
}

// outcomeOnce records the first outcome (not progress) delivered.
type outcomeOnce struct {
	once sync.Once
	got  chan bot.Reply
}

func (o *outcomeOnce) Deliver(_ context.Context, dst bot.Destination, r bot.Reply) (bot.Destination, error) {
	if r.Kind != bot.Pending {
		o.once.Do(func() { o.got <- r })
	}
	return dst, nil
}

// ResumeResult is one killed and resumed kick.
type ResumeResult struct {
	Elapsed    time.Duration // state file reopened -> the outcome (last session ended)
	DoneBefore int           // outcomes the killed process had recorded
	Twice      int           // sessions that got a second DELETE
}

// RunResume approves the kick in engine A, "kills" it at about 30% done
// (its Qlik calls freeze, its bolt file is closed), then reopens the file
// in engine B (new Qlik client, same state key), which resumes the job by
// itself; it times B from the reopen to the outcome.
func RunResume(ctx context.Context, k kickScenario) (ResumeResult, error) {
	sim, err := startSim(kickLab(k), k.Latency)
	if err != nil {
		return ResumeResult{}, err
	}
	defer sim.Close()
	qcfg := qlikbench.ClientConfig(sim, qlikbench.Shipped{})
	qcfg.RequestsPerSecond = k.RPS
	sealer := seal.Random() // the key file, which survives the kill
	frozen := &frozenQlik{limit: resumeAt(k), frozen: make(chan struct{})}
	a, err := newJobBot("", qcfg, sealer, func(c *qlik.Client) commands.Qlik { frozen.Qlik = c; return frozen }, nil,
		commands.WithJobLease(time.Second)) // so that A gives up soon after its "death"
	if err != nil {
		return ResumeResult{}, err
	}
	defer os.RemoveAll(a.dir)
	click, err := a.ask(ctx, k)
	if err != nil {
		a.close()
		return ResumeResult{}, err
	}
	aDone := make(chan bot.Reply, 1)
	go func() { aDone <- a.engine.Handle(context.WithoutCancel(ctx), click) }()
	select {
	case <-frozen.frozen:
	case <-time.After(time.Minute):
		a.close()
		return ResumeResult{}, errors.New("the kick did not reach the kill point within a minute")
	}
	_ = a.st.Close() // the kill: nothing A does reaches the state file again
	a.st = nil

	start := time.Now()
	b, err := newJobBot(a.dir, qcfg, sealer, nil, nil)
	if err != nil {
		a.close()
		return ResumeResult{}, err
	}
	defer b.close()
	out := &outcomeOnce{got: make(chan bot.Reply, 1)}
	if n, err := b.engine.ResumeJobs(ctx, out); err != nil || n != 1 {
		a.close()
		return ResumeResult{}, fmt.Errorf("resume: took %d jobs, %v; want 1", n, err)
	}
	var rep bot.Reply
	select {
	case rep = <-out.got:
	case <-time.After(2 * time.Minute):
		a.close()
		return ResumeResult{}, errors.New("no outcome within 2 minutes of the restart")
	}
	res := ResumeResult{Elapsed: time.Since(start)}
	// A notices its "death" (its lease cannot be renewed) and stops.
	select {
	case <-aDone:
	case <-time.After(time.Minute):
		return ResumeResult{}, errors.New("the killed engine did not stop within a minute")
	}
	a.close()
	if err := checkKicked(sim, k); err != nil {
		return res, err
	}
	text := bot.PlainText(rep)
	if _, err := fmt.Sscanf(text[strings.Index(text, "Resumed after an interruption: "):], "Resumed after an interruption: %d of", &res.DoneBefore); err != nil {
		return res, fmt.Errorf("the outcome does not say it resumed: %q", text)
	}
	perSession := map[string]int{}
	for _, r := range sim.Requests() {
		if r.Method == "DELETE" {
			perSession[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
		}
	}
	for _, n := range perSession {
		if n == 2 {
			res.Twice++
		} else if n != 1 {
			return res, fmt.Errorf("a session got %d DELETEs", n)
		}
	}
	if len(perSession) != k.Sessions {
		return res, fmt.Errorf("DELETEs reached %d sessions, want %d", len(perSession), k.Sessions)
	}
	return res, nil
}

func measureResume(ctx context.Context, o qlikbench.Options) ([]qlikbench.Figure, error) {
	k := kickSize(o)
	r, err := RunResume(ctx, k)
	if err != nil {
		return nil, err
	}
	return []qlikbench.Figure{
		{Key: "resume_1000_seconds", Label: fmt.Sprintf("state file reopened to the last of %d sessions ended (1 run)", k.Sessions), Value: r.Elapsed.Seconds(), Unit: "s"},
		{Key: "resume_done_before", Label: "outcomes recorded before the kill", Value: float64(r.DoneBefore), Unit: "sessions"},
		{Key: "resume_deleted_twice", Label: "sessions sent a second DELETE (in flight at the kill; reported already gone)", Value: float64(r.Twice), Unit: "sessions"},
	}, nil
}
