package commands

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
	"github.com/qlikbot/qlikbot/store/storetest"
)

var (
	countsRE  = regexp.MustCompile(`Deleted (\d+), already gone (\d+), failed (\d+)`)
	resumedRE = regexp.MustCompile(`Resumed after an interruption: (\d+) of (\d+) sessions had been done before it\.`)
)

// outcomeCounts reads "Deleted D, already gone G, failed F" from a reply.
func outcomeCounts(t *testing.T, r bot.Reply) (deleted, gone, failed int) {
	t.Helper()
	m := countsRE.FindStringSubmatch(joined(r))
	if m == nil {
		t.Fatalf("no outcome counts in %q", joined(r))
	}
	deleted, _ = strconv.Atoi(m[1])
	gone, _ = strconv.Atoi(m[2])
	failed, _ = strconv.Atoi(m[3])
	return deleted, gone, failed
}

// TestJobResumesAfterACrash: the process running an approved kick dies
// (its store writes and lease renewals stop; two batches were sent to
// Qlik and never recorded) after a few batches. Another engine on the
// same store takes the job once the lease lapses and finishes it with no
// one typing anything: every session ends, the re-sent ones (in flight at
// the crash) report "already gone", nothing else is sent twice, the
// outcome replaces the approval message once, and the trail holds one
// outcome per session. On bolt (the restarted process) and on a real
// Redis (another replica).
func TestJobResumesAfterACrash(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name string
		open func(t *testing.T, e *env) Store
	}{
		{"bolt", func(t *testing.T, e *env) Store { return e.st }},
		{"redis", func(t *testing.T, e *env) Store {
			st, err := store.NewRedis(&redis.Options{Addr: storetest.StartRedis(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
	}
	for _, tc := range stores {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := jobEnv(t)
			st := tc.open(t, e)
			ids := vp2(e)
			asker := e.jobEngine(t, e.client, st)
			pending := pendingID(t, asker.Handle(t.Context(), bot.Request{ID: "req-kick", Platform: bot.Slack, User: bot.User{ID: "UADMIN", Name: "admin"}, Channel: "C1", Text: "kick vp2"}))

			// Process A: batches 4 and 5 reach Qlik, then the process
			// freezes for good: nothing it does reaches the store again.
			var dead atomic.Bool
			crashed := make(chan struct{})
			var once atomic.Bool
			qa := &hookQlik{Client: e.client, after: func(ctx context.Context, n int) {
				if n < 4 {
					return
				}
				dead.Store(true)
				if once.CompareAndSwap(false, true) {
					close(crashed)
				}
				<-ctx.Done() // frozen until its lease is lost
			}}
			a := e.jobEngine(t, qa, deadStore{Store: st, dead: &dead}, WithJobLease(900*time.Millisecond))
			clicked := approveJob(t, a, pending, &recorder{})
			await(t, crashed, 30*time.Second, "the crash")
			if r := awaitReply(t, clicked, 30*time.Second, "process A to give the job up"); !r.IsEmpty() {
				t.Errorf("process A answered after losing its lease: %v %s", r.Kind, joined(r))
			}

			// Process B resumes it by itself once the lease lapses.
			b := e.jobEngine(t, e.client, st, WithJobLease(900*time.Millisecond))
			out := newDeliveries()
			deadline := time.Now().Add(30 * time.Second)
			for {
				n, err := b.ResumeJobs(t.Context(), out)
				if err != nil {
					t.Fatalf("ResumeJobs: %v", err)
				}
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the job was not resumed within 30s of its lease lapsing")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if n, _ := b.ResumeJobs(t.Context(), out); n != 0 {
				t.Errorf("a second ResumeJobs took the job again (%d)", n)
			}
			await(t, out.final, 60*time.Second, "the resumed job's outcome")

			if left := vp2(e); len(left) != 0 {
				t.Errorf("%d vp2 sessions left", len(left))
			}
			if n := e.sim.AllSessions(); n != jobSessions {
				t.Errorf("%d sessions on the site, want the default virtual proxy's %d", n, jobSessions)
			}
			twice := 0
			dels := e.deleteCounts()
			for _, id := range ids {
				switch dels[id] {
				case 1:
				case 2:
					twice++
				default:
					t.Errorf("session %s got %d DELETEs", hd(id), dels[id])
				}
			}
			if len(dels) != len(ids) {
				t.Errorf("DELETEs reached %d sessions, want the %d kicked", len(dels), len(ids))
			}
			// In flight at the crash: batches 4 and 5, and 3 if its
			// record was cut off.
			if twice > 3*jobTestBatch {
				t.Errorf("%d sessions got a second DELETE, want at most the %d in flight at the crash", twice, 3*jobTestBatch)
			}

			f := finalOf(t, out.all())
			if f.dst != jobOrigin {
				t.Errorf("outcome delivered to %+v, want the approval message %+v", f.dst, jobOrigin)
			}
			if f.r.Kind != bot.Success || f.r.Title != "Approved: end 250 sessions on vp2" || !f.r.ReplaceOriginal {
				t.Errorf("outcome %v %q replace %v", f.r.Kind, f.r.Title, f.r.ReplaceOriginal)
			}
			deleted, gone, failed := outcomeCounts(t, f.r)
			if deleted+gone != jobSessions || failed != 0 || gone != twice {
				t.Errorf("outcome deleted %d, gone %d, failed %d; want %d in all, the %d sent twice already gone", deleted, gone, failed, jobSessions, twice)
			}
			m := resumedRE.FindStringSubmatch(joined(f.r))
			if m == nil {
				t.Fatalf("the outcome does not say the job resumed:\n%s", joined(f.r))
			}
			// Every batch A sent reached Qlik: what it recorded was not
			// sent again, the rest was.
			sent := int(qa.calls.Load()) * jobTestBatch
			if before, _ := strconv.Atoi(m[1]); before < 2*jobTestBatch || before+twice != sent {
				t.Errorf("done before the crash %d, sent twice %d: want at least 50 recorded and the rest of the %d A sent re-sent", before, twice, sent)
			}
			// Paged for the platform it goes to; the CSV holds every row.
			if f.r.Table == nil || len(f.r.Table.Rows) != jobFitRows || len(f.r.Files) != 1 ||
				strings.Count(string(f.r.Files[0].Data), "\n") != jobSessions+1 {
				t.Errorf("outcome table of %d rows with %d files, want %d rows and the CSV of all %d", len(f.r.Table.Rows), len(f.r.Files), jobFitRows, jobSessions)
			}
			checkNoFullIDs(t, e.sessionIDs(t), joined(f.r)+string(bot.TableCSV(f.r.Table))+string(f.r.Files[0].Data))

			rows := jobAudit(t, st, pending)
			checkOneOutcomePerTarget(t, rows["delete"], ids)
			if len(rows["approve"]) != 1 || len(rows["job"]) != 1 || !strings.HasPrefix(rows["job"][0].Outcome, "finished: deleted") ||
				!strings.Contains(rows["job"][0].Reason, "resumed after an interruption") {
				t.Errorf("approve rows %d, job rows %+v", len(rows["approve"]), rows["job"])
			}
			j, _, err := st.GetJob(t.Context(), pending)
			if err != nil || !j.Finished() || j.Holder != "" {
				t.Fatalf("job after the outcome: finished %v, holder %q, %v", j.Finished(), j.Holder, err)
			}
			res, err := b.openResult(pending, j.Result)
			if err != nil || res.Deleted != deleted || res.Gone != gone || !res.Resumed {
				t.Errorf("result %+v, %v", res, err)
			}
		})
	}
}

// TestJobStopsAtShutdownAndResumes: StopJobs (SIGTERM) while a kick runs:
// the batches in flight finish and are recorded, the approval message
// says the job goes on elsewhere, the lease is released so another
// engine takes the job at once, and every session gets exactly one
// DELETE. The stopped engine takes no new work. A forged batch written
// meanwhile (claiming the rest "deleted") is disregarded and audited.
func TestJobStopsAtShutdownAndResumes(t *testing.T) {
	t.Parallel()
	e := jobEnv(t)
	ids := vp2(e)
	reached, release := make(chan struct{}), make(chan struct{})
	qa := &hookQlik{Client: e.client, before: func(ctx context.Context, n int) {
		if n == 4 {
			close(reached)
			<-release
		}
	}}
	a := e.jobEngine(t, qa, e.st, withWindow(1)) // batch by batch: the stop comes with batch 4 in flight
	pending := pendingID(t, a.Handle(t.Context(), bot.Request{ID: "req-kick", Platform: bot.Slack, User: bot.User{ID: "UADMIN", Name: "admin"}, Channel: "C1", Text: "kick vp2"}))
	rec := &recorder{}
	clicked := approveJob(t, a, pending, rec)
	await(t, reached, 30*time.Second, "the fourth batch")
	stopped := make(chan error, 1)
	go func() { stopped <- a.StopJobs(context.WithoutCancel(t.Context())) }()
	waitUntil(t, 10*time.Second, "StopJobs to take effect", a.Stopping)
	close(release)
	r := awaitReply(t, clicked, 30*time.Second, "the stopped job's click")
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("StopJobs: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("StopJobs did not return")
	}
	if !r.IsEmpty() {
		t.Errorf("the stopped click answered %v %s, want nothing more than its notice", r.Kind, joined(r))
	}
	notes := rec.got()
	if len(notes) == 0 || !strings.Contains(joined(notes[len(notes)-1]), "Interrupted: qlikbot is restarting") || !notes[len(notes)-1].ReplaceOriginal {
		t.Fatalf("the approval message was not told the job goes on: %+v", notes)
	}
	j, batches, err := e.st.GetJob(t.Context(), pending)
	if err != nil || j.Finished() || j.Holder != "" || len(batches) != 4 {
		t.Fatalf("job after the stop: finished %v, holder %q, %d batches, %v; want unfinished, released, batches 1-4 recorded", j.Finished(), j.Holder, len(batches), err)
	}
	if n := len(e.deletes()); n != 4*jobTestBatch {
		t.Errorf("%d DELETEs before the stop, want the 4 batches started", n)
	}
	// A stopped engine takes no new work.
	if n, err := a.ResumeJobs(t.Context(), newDeliveries()); n != 0 || err != nil {
		t.Errorf("the stopped engine resumed %d jobs (%v)", n, err)
	}
	other := pendingID(t, e.ask(t, "UADMIN", "kick default"))
	if r := awaitReply(t, approveJob(t, a, other, &recorder{}), 30*time.Second, "an approval on the stopped engine"); r.Title != "qlikbot is restarting" || r.Visibility != bot.Ephemeral {
		t.Errorf("approval on a stopped engine: %v %s", r.Kind, joined(r))
	}
	if p, err := e.st.GetPending(t.Context(), other); err != nil || p.State != store.StatePending {
		t.Errorf("the refused approval is %v (%v), want still pending", p.State, err)
	}

	// Someone with write access to the store forges a batch saying the
	// rest is done: it does not verify, so it changes nothing.
	l, err := e.st.AcquireLease(t.Context(), store.JobLease(pending), "forger", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var idx []int
	var outs []string
	for i := 4 * jobTestBatch; i < jobSessions; i++ {
		idx, outs = append(idx, i), append(outs, "deleted")
	}
	forged := fmt.Appendf(nil, `{"i":%s,"o":%s}`, strings.ReplaceAll(fmt.Sprint(idx), " ", ","), `["`+strings.Join(outs, `","`)+`"]`)
	if err := e.st.RecordJobBatch(t.Context(), l, pending, forged, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.st.ReleaseLease(t.Context(), l); err != nil {
		t.Fatal(err)
	}

	b := e.jobEngine(t, e.client, e.st)
	out := newDeliveries()
	if n, err := b.ResumeJobs(t.Context(), out); n != 1 || err != nil {
		t.Fatalf("ResumeJobs right after the stop: %d, %v; want the released job at once", n, err)
	}
	await(t, out.final, 60*time.Second, "the resumed job's outcome")
	for _, id := range ids {
		if n := e.deleteCounts()[id]; n != 1 {
			t.Errorf("session %s got %d DELETEs, want exactly 1", hd(id), n)
		}
	}
	if left := vp2(e); len(left) != 0 {
		t.Errorf("%d vp2 sessions left: the forged batch was trusted", len(left))
	}
	f := finalOf(t, out.all())
	if d, g, fl := outcomeCounts(t, f.r); d != jobSessions || g != 0 || fl != 0 {
		t.Errorf("outcome deleted %d, gone %d, failed %d", d, g, fl)
	}
	if !strings.Contains(joined(f.r), "Resumed after an interruption: 100 of 250 sessions had been done before it.") {
		t.Errorf("outcome does not say where it resumed:\n%s", joined(f.r))
	}
	rows := jobAudit(t, e.st, pending)
	checkOneOutcomePerTarget(t, rows["delete"], ids)
	if len(rows["tamper"]) != 1 || len(rows["job"]) != 1 {
		t.Errorf("tamper rows %d (want 1, the forged batch), job rows %d", len(rows["tamper"]), len(rows["job"]))
	}
}

// TestJobSurvivesRedisRestart: Redis (append-only, as deployed) restarts
// while a kick runs: the batch whose write failed is written again once
// Redis is back (not twice: its answer may have been lost), the job
// completes, and nothing is sent or recorded twice.
func TestJobSurvivesRedisRestart(t *testing.T) {
	t.Parallel()
	rp := startRedisAOF(t)
	st, err := store.NewRedis(&redis.Options{Addr: rp.addr(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := jobEnv(t)
	ids := vp2(e)
	var logs syncBuffer
	reached, release := make(chan struct{}), make(chan struct{})
	q := &hookQlik{Client: e.client, before: func(ctx context.Context, n int) {
		if n == 4 {
			close(reached)
			<-release
		}
	}}
	eng := e.jobEngine(t, q, st, WithLogger(newTextLogger(&logs)))
	pending := pendingID(t, eng.Handle(t.Context(), bot.Request{ID: "req-kick", Platform: bot.Slack, User: bot.User{ID: "UADMIN", Name: "admin"}, Channel: "C1", Text: "kick vp2"}))
	clicked := approveJob(t, eng, pending, &recorder{})
	await(t, reached, 30*time.Second, "the fourth batch")
	rp.stop(t)
	close(release)
	waitUntil(t, 30*time.Second, "a failed batch write", func() bool { return strings.Contains(logs.String(), "store write failed; retrying") })
	if err := rp.start(t); err != nil {
		t.Fatal(err)
	}
	r := awaitReply(t, clicked, 60*time.Second, "the job's outcome")
	if r.Kind != bot.Success || !strings.Contains(joined(r), "Deleted 250, already gone 0, failed 0") {
		t.Fatalf("outcome %v: %s", r.Kind, joined(r))
	}
	for _, id := range ids {
		if n := e.deleteCounts()[id]; n != 1 {
			t.Errorf("session %s got %d DELETEs, want exactly 1", hd(id), n)
		}
	}
	rows := jobAudit(t, st, pending)
	checkOneOutcomePerTarget(t, rows["delete"], ids)
	j, batches, err := st.GetJob(t.Context(), pending)
	if err != nil || !j.Finished() || len(batches) != jobSessions/jobTestBatch {
		t.Errorf("job finished %v with %d batches, %v; want finished with %d", j.Finished(), len(batches), err, jobSessions/jobTestBatch)
	}
}

// TestJobsList: /qlik jobs shows a running job with its progress (by
// approval id and scope, never a session id), then nothing once it is
// done; it needs the audit right.
func TestJobsList(t *testing.T) {
	t.Parallel()
	e := jobEnv(t)
	reached, release := make(chan struct{}), make(chan struct{})
	q := &hookQlik{Client: e.client, before: func(ctx context.Context, n int) {
		if n == 5 {
			close(reached)
			<-release
		}
	}}
	eng := e.jobEngine(t, q, e.st, withWindow(1))
	ask := func(user, text string) bot.Reply {
		return eng.Handle(t.Context(), bot.Request{ID: "req-" + user, Platform: bot.Slack, User: bot.User{ID: user, Name: strings.ToLower(user)}, Channel: "C1", Text: text})
	}
	pending := pendingID(t, ask("UADMIN", "kick vp2"))
	clicked := approveJob(t, eng, pending, &recorder{})
	await(t, reached, 30*time.Second, "the fifth batch")
	r := ask("UADMIN", "jobs")
	if r.Kind != bot.Info || r.Title != "Jobs" || r.Table == nil || len(r.Table.Rows) != 1 {
		t.Fatalf("jobs while one runs: %v %s %+v", r.Kind, joined(r), r.Table)
	}
	row := strings.Join(r.Table.Rows[0], " | ")
	for _, want := range []string{pending[:8], "end 250 sessions on vp2", "admin2 (slack:UADMIN2)", "100 of 250: deleted 100, already gone 0, failed 0", "running here"} {
		if !strings.Contains(row, want) {
			t.Errorf("jobs row lacks %q: %s", want, row)
		}
	}
	if strings.Contains(row, pending) || strings.Contains(joined(r), "1 job running, 0 jobs waiting") == false {
		t.Errorf("jobs reply: %s\n%s", joined(r), row)
	}
	checkNoFullIDs(t, e.sessionIDs(t), joined(r)+row)
	if d := ask("UVIEWER", "jobs"); d.Kind != bot.Denied {
		t.Errorf("a viewer may list jobs: %v %s", d.Kind, joined(d))
	}
	close(release)
	awaitReply(t, clicked, 60*time.Second, "the job's outcome")
	if r := ask("UADMIN", "jobs"); !strings.Contains(joined(r), "No approved work is running") {
		t.Errorf("jobs after the job: %s", joined(r))
	}
}

// TestForgedJobRefused: a job written into the store without the state
// key (here through StartJob itself, as a store attacker could) is
// refused when resumed: audited as tampering, closed, nothing deleted,
// nothing delivered.
func TestForgedJobRefused(t *testing.T) {
	t.Parallel()
	e := jobEnv(t)
	id := strings.Repeat("f0", 16)
	now := e.clk.Now()
	if err := e.st.CreatePending(t.Context(), store.Pending{ID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour), Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	forged := fmt.Appendf(nil, `{"action":{"kind":"kick","targets":[{"prefix":"vp2","host":%q,"sessionId":%q}]},"approver":{"subject":"slack:UEVIL"}}`,
		e.sim.Hosts()[0], vp2(e)[0])
	_, l, err := e.st.StartJob(t.Context(), store.JobStart{PendingID: id, By: "slack:UEVIL", Now: now, Data: forged, Holder: "forger", LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.ReleaseLease(t.Context(), l); err != nil {
		t.Fatal(err)
	}
	eng := e.jobEngine(t, e.client, e.st)
	out := newDeliveries()
	if n, err := eng.ResumeJobs(t.Context(), out); n != 1 || err != nil {
		t.Fatalf("ResumeJobs: %d, %v", n, err)
	}
	waitUntil(t, 30*time.Second, "the forged job to be closed", func() bool {
		j, _, err := e.st.GetJob(t.Context(), id)
		return err == nil && j.Finished()
	})
	if n := len(e.deletes()); n != 0 {
		t.Errorf("%d DELETEs for a forged job", n)
	}
	if d := out.all(); len(d) != 0 {
		t.Errorf("a forged job's outcome was delivered: %+v", d)
	}
	if rows := jobAudit(t, e.st, id); len(rows["tamper"]) != 1 {
		t.Errorf("tamper rows %d, want 1", len(rows["tamper"]))
	}
}

// waitUntil polls cond until it holds or within passes.
func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stuckResponder never answers: each reply waits until its context ends,
// and the time it was given is kept.
type stuckResponder struct {
	mu    sync.Mutex
	given []time.Duration
}

func (s *stuckResponder) Respond(ctx context.Context, _ bot.Reply) error {
	start := time.Now()
	dl, ok := ctx.Deadline()
	s.mu.Lock()
	if ok {
		s.given = append(s.given, dl.Sub(start))
	} else {
		s.given = append(s.given, -1)
	}
	s.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

// TestProgressBoundedByLease: a progress reply stuck at the platform is
// given at most what is left of the job's lease (past it, another
// process may resume the job and its replies must not be overtaken), and
// the outcome still comes, after it.
func TestProgressBoundedByLease(t *testing.T) {
	t.Parallel()
	e := jobEnv(t)
	q := &hookQlik{Client: e.client, before: func(context.Context, int) { e.clk.Advance(time.Minute) }}
	const ttl = 900 * time.Millisecond
	eng := e.jobEngine(t, q, e.st, WithJobLease(ttl), WithProgress(1, time.Second), withWindow(1))
	pending := pendingID(t, eng.Handle(t.Context(), bot.Request{ID: "req-kick", Platform: bot.Slack, User: bot.User{ID: "UADMIN", Name: "admin"}, Channel: "C1", Text: "kick vp2"}))
	stuck := &stuckResponder{}
	r := awaitReply(t, approveJob(t, eng, pending, stuck), 60*time.Second, "the outcome")
	if r.Kind != bot.Success || !strings.Contains(joined(r), "Deleted 250") {
		t.Fatalf("outcome %v: %s", r.Kind, joined(r))
	}
	stuck.mu.Lock()
	defer stuck.mu.Unlock()
	if len(stuck.given) == 0 {
		t.Fatal("no progress reply was tried")
	}
	for i, d := range stuck.given {
		if d < 0 || d > ttl {
			t.Errorf("progress reply %d was given %v, want at most the lease's %v", i+1, d, ttl)
		}
	}
}

// TestJobUnknownKeyLeftToKeyHolder: during a key rotation a replica that
// does not hold the key a job was sealed with neither runs it nor closes
// it as forged: it audits and logs that, hands the lease back, and the
// replica holding the key carries the job out.
func TestJobUnknownKeyLeftToKeyHolder(t *testing.T) {
	t.Parallel()
	e := jobEnv(t)
	newKey := seal.NewKey()
	holderSealer, err := seal.New(newKey, seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	holder := e.jobEngine(t, e.client, e.st, WithSealer(holderSealer), withWindow(2))
	pending := pendingID(t, askAs(t, holder, "UADMIN", "kick vp2"))
	p, err := e.st.GetPending(t.Context(), pending)
	if err != nil {
		t.Fatal(err)
	}
	a, err := holder.open(p)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clk.Now()
	rec := jobRecord{Action: a, Origin: jobOrigin, Approved: now, Approver: approver{Subject: "slack:UADMIN2", Name: "admin2", Platform: "slack", Channel: "C1"}}
	data, err := holder.sealJob(pending, rec)
	if err != nil {
		t.Fatal(err)
	}
	_, l, err := e.st.StartJob(t.Context(), store.JobStart{PendingID: pending, By: "slack:UADMIN2", Now: now, Data: data, Holder: "gone", LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.ReleaseLease(t.Context(), l); err != nil {
		t.Fatal(err)
	}

	var logs syncBuffer
	lacking := e.jobEngine(t, e.client, e.st, WithLogger(newTextLogger(&logs))) // e.sealer: not the job's key
	for range 2 {                                                               // the scan comes back: audited once, logged each time
		if n, err := lacking.ResumeJobs(t.Context(), newDeliveries()); n != 1 || err != nil {
			t.Fatalf("ResumeJobs without the key: %d, %v", n, err)
		}
		waitUntil(t, 30*time.Second, "the lease to be handed back", func() bool { return !lacking.jobs.isRunning(pending) })
	}
	j, _, err := e.st.GetJob(t.Context(), pending)
	if err != nil || j.Finished() || j.Holder != "" {
		t.Fatalf("job after the replica without the key: finished %v, holder %q, %v", j.Finished(), j.Holder, err)
	}
	rows := jobAudit(t, e.st, pending)
	if len(rows["tamper"]) != 0 || len(rows["job"]) != 1 || !strings.Contains(rows["job"][0].Outcome, "left to a replica that holds it") {
		t.Errorf("audit rows: tamper %+v, job %+v", rows["tamper"], rows["job"])
	}
	if n := strings.Count(logs.String(), "JOB NOT RUN"); n != 2 {
		t.Errorf("%d loud log lines, want 2:\n%s", n, logs.String())
	}
	if n := len(e.deletes()); n != 0 {
		t.Fatalf("%d DELETEs by the replica without the key", n)
	}
	// Its page there says so, and is not taken for tampering either.
	if r := askAs(t, lacking, "UADMIN", "approval "+pending); r.Title != "Cannot verify this job here" ||
		!strings.Contains(joined(r), "a replica that holds the key carries it out") {
		t.Errorf("approval %s without the key: %q %s", pending, r.Title, joined(r))
	}
	if rows := jobAudit(t, e.st, pending); len(rows["tamper"]) != 0 {
		t.Errorf("tamper rows after viewing the job without the key: %+v", rows["tamper"])
	}

	out := newDeliveries()
	if n, err := holder.ResumeJobs(t.Context(), out); n != 1 || err != nil {
		t.Fatalf("ResumeJobs with the key: %d, %v", n, err)
	}
	await(t, out.final, 60*time.Second, "the job's outcome")
	if f := finalOf(t, out.all()); f.r.Kind != bot.Success || !strings.Contains(joined(f.r), "Deleted 250, already gone 0, failed 0") {
		t.Errorf("outcome %v: %s", f.r.Kind, joined(f.r))
	}
}
