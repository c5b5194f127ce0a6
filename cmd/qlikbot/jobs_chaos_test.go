package main

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// The job chaos tests run an approved kick of bigKick sessions (vp2 of a
// generated site; as many again on the default virtual proxy, which must
// survive) in the real program, at 200 Qlik calls per second (about 5 s
// of DELETEs), and break something after about cutAt of them.
const (
	bigKick = 1000
	cutAt   = 300
	// inFlight bounds the sessions that get a second DELETE after a kill:
	// the job's two batches of 50 in flight.
	inFlight = 100
	// outcomeTitle is the outcome of the kick, wherever it is printed.
	outcomeTitle = "Approved: end 1000 sessions on vp2"
)

var (
	jobCountsRE = regexp.MustCompile(`Deleted (\d+), already gone (\d+), failed (\d+)`)
	jobIDRE     = regexp.MustCompile(`approve ([0-9a-f]{32})`)
)

// bigKickSim starts the simulator of the job chaos tests and returns the
// ids of the sessions the kick ends.
func bigKickSim(t *testing.T) (*qliksim.Server, []string) {
	t.Helper()
	sim := startSim(t, qliksim.WithLab(qliksim.Generate(qliksim.GenOptions{Users: 400, Sessions: 2 * bigKick, VirtualProxies: 2, Nodes: 2, Seed: 23})))
	ids := vp2IDs(sim)
	if len(ids) != bigKick {
		t.Fatalf("generated site has %d vp2 sessions, want %d", len(ids), bigKick)
	}
	return sim, ids
}

func vp2IDs(sim *qliksim.Server) []string {
	var ids []string
	for _, h := range sim.Hosts() {
		for _, s := range sim.Sessions(h, "vp2") {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// jobEnv is binaryEnv at 200 Qlik calls per second, plus extra.
func jobBinaryEnv(t *testing.T, sim *qliksim.Server, extra ...string) ([]string, string) {
	t.Helper()
	return binaryEnv(t, sim, append([]string{"QLIKBOT_QLIK_RPS=200", "QLIKBOT_SHUTDOWN_TIMEOUT=30s"}, extra...)...)
}

// askAndApprove has admin ask for the kick in p and admin2 click Approve;
// it returns the approval id.
func askAndApprove(t *testing.T, p *botProc) string {
	t.Helper()
	writeLine(t, p.stdin, "/as admin")
	writeLine(t, p.stdin, "/qlik kick vp2")
	var id string
	waitFor(t, 60*time.Second, "the approval request", func() bool {
		if m := jobIDRE.FindStringSubmatch(p.stdout.String()); m != nil {
			id = m[1]
		}
		return id != ""
	})
	writeLine(t, p.stdin, "/as admin2")
	writeLine(t, p.stdin, "/click 1")
	writeLine(t, p.stdin, "y")
	return id
}

// deleteTotal counts the DELETEs the simulator received.
func deleteTotal(sim *qliksim.Server) int {
	n := 0
	for _, c := range deletesPerSession(sim.Requests()) {
		n += c
	}
	return n
}

// waitDeletes waits until the simulator has received at least n DELETEs,
// polling at a pace that leaves the simulator its CPU.
func waitDeletes(t *testing.T, sim *qliksim.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for deleteTotal(sim) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the simulator saw %d DELETEs in 60s, want %d", deleteTotal(sim), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkDeletes: every kicked session got one DELETE, at most inFlight got
// a second one (sent before a kill, never recorded), no other session got
// any. It returns how many got two.
func checkDeletes(t *testing.T, sim *qliksim.Server, ids []string, maxTwice int) int {
	t.Helper()
	d := deletesPerSession(sim.Requests())
	twice := 0
	for _, id := range ids {
		switch d[id] {
		case 1:
		case 2:
			twice++
		default:
			t.Errorf("session %s got %d DELETEs", handle(id), d[id])
		}
	}
	if len(d) != len(ids) {
		t.Errorf("DELETEs reached %d sessions, want the %d kicked", len(d), len(ids))
	}
	t.Logf("%d of %d sessions got a second DELETE (in flight when the process was killed)", twice, len(ids))
	if twice > maxTwice {
		t.Errorf("%d sessions got a second DELETE, want at most %d", twice, maxTwice)
	}
	if left := vp2IDs(sim); len(left) != 0 {
		t.Errorf("%d vp2 sessions left", len(left))
	}
	if n := sim.AllSessions(); n != bigKick {
		t.Errorf("%d sessions on the site, want the default virtual proxy's %d", n, bigKick)
	}
	return twice
}

// checkOutcome: out shows the outcome exactly once, resumed or not, with
// counts that add up, gone of them already gone.
func checkOutcome(t *testing.T, out string, resumed bool, gone int) {
	t.Helper()
	if n := strings.Count(out, outcomeTitle); n != 1 {
		t.Errorf("the outcome is printed %d times, want once", n)
	}
	block := out[strings.Index(out, outcomeTitle):]
	if resumed != strings.Contains(block, "Resumed after an interruption:") {
		t.Errorf("outcome says resumed %v, want %v:\n%.600s", !resumed, resumed, block)
	}
	m := jobCountsRE.FindStringSubmatch(block)
	if m == nil {
		t.Fatalf("no counts in the outcome:\n%.600s", block)
	}
	d, _ := strconv.Atoi(m[1])
	g, _ := strconv.Atoi(m[2])
	f, _ := strconv.Atoi(m[3])
	if d+g != bigKick || f != 0 || g != gone {
		t.Errorf("outcome deleted %d, already gone %d, failed %d; want %d in all, %d already gone", d, g, f, bigKick, gone)
	}
}

// finishIn waits for p to print the kick's outcome with every session
// ended, stops it, and checks the DELETEs (at most maxTwice sent twice)
// and the outcome (resumed or not; the ones sent twice already gone).
func finishIn(t *testing.T, p *botProc, sim *qliksim.Server, ids []string, maxTwice int, resumed bool) {
	t.Helper()
	waitFor(t, 90*time.Second, "the kick's outcome", func() bool {
		return strings.Contains(p.stdout.String(), outcomeTitle) && len(vp2IDs(sim)) == 0
	})
	term(t, p)
	twice := checkDeletes(t, sim, ids, maxTwice)
	checkOutcome(t, p.stdout.String(), resumed, twice)
}

// boltStore opens the state file in dir (its process has exited).
func boltStore(t *testing.T, dir string) auditStore {
	t.Helper()
	st, err := store.OpenBolt(dir + "/state.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// redisStore is a store client of the Redis at addr.
func redisStore(t *testing.T, addr string) auditStore {
	t.Helper()
	st, err := store.NewRedis(&redis.Options{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// auditStore is what the audit check reads.
type auditStore interface {
	RecentAudit(ctx context.Context, n int) ([]store.Event, error)
}

// checkJobAudit: the trail holds one delete row per kicked session for
// approval id, one approve row and one finished job row.
func checkJobAudit(t *testing.T, st auditStore, id string, ids []string) {
	t.Helper()
	evs, err := st.RecentAudit(t.Context(), 100000)
	if err != nil {
		t.Fatal(err)
	}
	perTarget := map[string]int{}
	rows := map[string]int{}
	for _, ev := range evs {
		if ev.Pending != id {
			continue
		}
		rows[ev.Action]++
		if ev.Action == "delete" {
			perTarget[strings.Fields(ev.Target)[0]]++
		}
	}
	if rows["delete"] != bigKick || rows["approve"] != 1 || rows["job"] != 1 {
		t.Errorf("audit rows for the approval: %v; want %d delete, 1 approve, 1 job", rows, bigKick)
	}
	for _, s := range ids {
		if perTarget[handle(s)] != 1 {
			t.Errorf("session %s has %d delete rows, want 1", handle(s), perTarget[handle(s)])
		}
	}
}

// TestChaosKill9MidJob: an approved 1,000-session kick, the process killed
// with SIGKILL after about 300 DELETEs, started again on the same state
// file with no one typing anything: it resumes at once, ends every
// session, prints one outcome saying it resumed, and the audit trail
// holds 1,000 outcomes for the approval. The simulator sees one DELETE per
// session plus the few in flight at the kill.
func TestChaosKill9MidJob(t *testing.T) {
	t.Parallel()
	sim, ids := bigKickSim(t)
	env, dir := jobBinaryEnv(t, sim)
	p1 := startBot(t, env, dir)
	id := askAndApprove(t, p1)
	waitDeletes(t, sim, cutAt)
	p1.kill(t)
	if strings.Contains(p1.stdout.String(), outcomeTitle) {
		t.Fatal("the killed process printed an outcome")
	}

	p2 := startBot(t, env, dir) // nobody types anything
	finishIn(t, p2, sim, ids, inFlight, true)
	checkJobAudit(t, boltStore(t, dir), id, ids)
}

// TestChaosTwoProcessesOneRedisKillMidJob: two real processes on one real
// redis-server; the kick is asked for and approved in A, A is killed
// mid-job, and B (idle all along) finishes it by itself once A's lease
// lapses.
func TestChaosTwoProcessesOneRedisKillMidJob(t *testing.T) {
	t.Parallel()
	addr := storetest.StartRedis(t)
	sim, ids := bigKickSim(t)
	env, dir := jobBinaryEnv(t, sim, "QLIKBOT_STORE=redis://"+addr+"/0", "QLIKBOT_STATE_KEY="+testStateKey)
	a := startBot(t, env, dir)
	b := startBot(t, env, dir)
	id := askAndApprove(t, a)
	waitDeletes(t, sim, cutAt)
	a.kill(t)
	finishIn(t, b, sim, ids, inFlight, true)
	if strings.Contains(a.stdout.String(), outcomeTitle) {
		t.Error("the killed process printed an outcome")
	}
	checkJobAudit(t, redisStore(t, addr), id, ids)
}

// TestChaosSIGTERMMidJob: SIGTERM (a rollout) during the kick: the process
// finishes its batches in flight, records them, says on the approval
// message that the job goes on, and exits 0 within the shutdown timeout;
// the next start finishes the job. Nothing is sent twice.
func TestChaosSIGTERMMidJob(t *testing.T) {
	t.Parallel()
	sim, ids := bigKickSim(t)
	env, dir := jobBinaryEnv(t, sim)
	p1 := startBot(t, env, dir)
	id := askAndApprove(t, p1)
	waitDeletes(t, sim, cutAt)
	term(t, p1)
	if out := p1.stdout.String(); !strings.Contains(out, "Interrupted: qlikbot is restarting") || strings.Contains(out, outcomeTitle) {
		t.Errorf("the stopped process does not say the job goes on (or printed an outcome):\n%.2000s", out)
	}
	if left := len(vp2IDs(sim)); left == 0 || left == bigKick {
		t.Fatalf("%d of %d sessions left after SIGTERM: want the job stopped half-way", left, bigKick)
	}

	p2 := startBot(t, env, dir)
	finishIn(t, p2, sim, ids, 0, true)
	checkJobAudit(t, boltStore(t, dir), id, ids)
}

// TestChaosRedisKilledMidJob: the redis-server (append-only, fsync per
// write) is killed with SIGKILL during the kick and started again: the
// job waits for it, completes in the same process, and nothing is sent
// or recorded twice.
func TestChaosRedisKilledMidJob(t *testing.T) {
	t.Parallel()
	rs := storetest.StartRedisServer(t, storetest.RedisConfig{Persist: true})
	sim, ids := bigKickSim(t)
	env, dir := jobBinaryEnv(t, sim, "QLIKBOT_STORE=redis://"+rs.Addr+"/0", "QLIKBOT_STATE_KEY="+testStateKey)
	p := startBot(t, env, dir)
	id := askAndApprove(t, p)
	waitDeletes(t, sim, cutAt)
	rs.Kill(t)
	waitFor(t, 30*time.Second, "the job to notice", func() bool {
		return strings.Contains(p.stderr.String(), "store write failed; retrying") ||
			strings.Contains(p.stderr.String(), "lease not renewed")
	})
	rs.Start(t)
	finishIn(t, p, sim, ids, 0, false)
	checkJobAudit(t, redisStore(t, rs.Addr), id, ids)
}

// term stops p with SIGTERM, as a service manager does, and waits for a
// clean exit within the shutdown timeout (30s).
func term(t *testing.T, p *botProc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still running 30s (QLIKBOT_SHUTDOWN_TIMEOUT) after SIGTERM")
	}
}
