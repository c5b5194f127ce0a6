package commands

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// chaosEnv is an engine on real parts whose Qlik client is set up as in
// production (retries on, per-call timeout) and whose every HTTP attempt is
// recorded, including the ones that never reached the simulator (a node
// that is down leaves no trace in the simulator's own log).
type chaosEnv struct {
	sim      *qliksim.Server
	client   *qlik.Client
	eng      *Engine
	attempts *attemptLog
}

type chaosConfig struct {
	timeout time.Duration // per Qlik call; default 5s
	retries int           // ReadRetries; 0: the client's default (2)
	seed    int64         // simulator RNG seed; 0: its default
	st      Store         // nil: a fresh bolt file
}

// attemptLog records qlik.Config.Observe calls.
type attemptLog struct {
	mu    sync.Mutex
	calls []qlik.Call
}

func (l *attemptLog) observe(c qlik.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// count returns the attempts with this method on this node.
func (l *attemptLog) count(method, node string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.calls {
		if c.Method == method && c.Node == node {
			n++
		}
	}
	return n
}

func newChaos(t *testing.T, cfg chaosConfig) *chaosEnv {
	t.Helper()
	var opts []qliksim.Option
	if cfg.seed != 0 {
		opts = append(opts, qliksim.WithSeed(cfg.seed))
	}
	sim, err := qliksim.Start(opts...)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	if cfg.timeout == 0 {
		cfg.timeout = 5 * time.Second
	}
	log := &attemptLog{}
	client, err := qlik.New(qlik.Config{
		QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(),
		Resolve: sim.Resolve(), Timeout: cfg.timeout, ReadRetries: cfg.retries,
		RetryBackoff: 5 * time.Millisecond, TopologyTTL: -1, RequestsPerSecond: -1, Concurrency: 8,
		Observe: log.observe,
	})
	if err != nil {
		t.Fatalf("qlik client: %v", err)
	}
	t.Cleanup(client.Close)
	st := cfg.st
	if st == nil {
		b, err := store.OpenBolt(filepath.Join(t.TempDir(), "state.db"))
		if err != nil {
			t.Fatalf("open bolt: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		st = b
	}
	pol, err := authz.Parse([]byte(testPolicy))
	if err != nil {
		t.Fatalf("parse policy: %v", err)
	}
	eng, err := New(client, st, authz.NewStatic(pol))
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	return &chaosEnv{sim: sim, client: client, eng: eng, attempts: log}
}

func (c *chaosEnv) ask(t *testing.T, user, text string) bot.Reply {
	t.Helper()
	return c.eng.Handle(t.Context(), bot.Request{ID: "req-" + user, Platform: bot.Slack, User: bot.User{ID: user, Name: strings.ToLower(user)}, Channel: "C1", Text: text})
}

func (c *chaosEnv) approve(t *testing.T, user, id string) bot.Reply {
	t.Helper()
	return c.eng.Handle(t.Context(), bot.Request{ID: "click-" + user, Platform: bot.Slack, User: bot.User{ID: user, Name: strings.ToLower(user)}, Channel: "C1",
		Action: &bot.Action{ID: ActionApprove, Value: id, MessageRef: "m1"}})
}

// addSessions puts n sessions of distinct users on (host, prefix) and
// returns their ids.
func (c *chaosEnv) addSessions(t *testing.T, host, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		s, err := c.sim.AddSession(host, prefix, qliksim.Session{UserDirectory: "CHAOS", UserID: fmt.Sprintf("%s_%s_%d", prefix, strings.SplitN(host, ".", 2)[0], i)})
		if err != nil {
			t.Fatalf("add session: %v", err)
		}
		ids = append(ids, s.ID)
	}
	return ids
}

// deleteLog counts the DELETEs the simulator received per session id, and
// per status.
func (c *chaosEnv) deleteLog() (perSession map[string]int, perStatus map[int]int) {
	perSession, perStatus = map[string]int{}, map[int]int{}
	for _, r := range c.sim.Requests() {
		if r.Service == "qps" && r.Method == "DELETE" {
			perSession[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
			perStatus[r.Status]++
		}
	}
	return perSession, perStatus
}

// remaining returns the ids among ids the simulator still holds on
// (host, prefix).
func (c *chaosEnv) remaining(host, prefix string, ids []string) []string {
	var out []string
	for _, s := range c.sim.Sessions(host, prefix) {
		if slices.Contains(ids, s.ID) {
			out = append(out, s.ID)
		}
	}
	slices.Sort(out)
	return out
}

// outcomes maps session id to the Outcome column of an outcome table.
// ids are the sessions the test expects there: the table shows handles.
func outcomes(t *testing.T, r bot.Reply, ids []string) map[string]string {
	t.Helper()
	handles, outs := column(t, r, "Session"), column(t, r, "Outcome")
	m := map[string]string{}
	for i, h := range handles {
		j := slices.IndexFunc(ids, func(id string) bool { return hd(id) == h })
		if j < 0 {
			t.Errorf("outcome table shows session %s, not one of the expected %v", h, hs(ids...))
			continue
		}
		m[ids[j]] = outs[i]
	}
	return m
}

// pemBody is a distinctive chunk of a PEM block's base64.
func pemBody(p []byte) string {
	lines := strings.Split(string(p), "\n")
	if len(lines) < 3 {
		return string(p)
	}
	return lines[1]
}

func sorted(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// redisProc is a real redis-server with append-only persistence (as
// deploy/k8s/ha/redis.yaml runs it) that a test can stop and start again
// on the same port and data directory.
type redisProc struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	exited   chan error
}

// startRedisAOF starts the server or skips the test when redis-server is
// missing (fails instead when QLIKBOT_TEST_REQUIRE_REDIS is set, as for
// storetest.StartRedis).
func startRedisAOF(t *testing.T) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(storetest.RequireRedisEnv) != "" {
			t.Fatalf("%s is set but redis-server is not on PATH", storetest.RequireRedisEnv)
		}
		t.Skip(storetest.RedisSkipMessage)
	}
	p := &redisProc{bin: bin, dir: t.TempDir()}
	var errs []error
	for range 3 { // a free port found by listen-and-close may be taken meanwhile
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		p.port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		err = p.start(t)
		if err == nil {
			t.Cleanup(func() { p.stop(t) })
			return p
		}
		errs = append(errs, err)
	}
	t.Fatalf("start redis-server: %v", errors.Join(errs...))
	return nil
}

func (p *redisProc) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// start runs redis-server on p.port and p.dir and waits (bounded) until it
// answers PING.
func (p *redisProc) start(t *testing.T) error {
	t.Helper()
	p.cmd = exec.Command(p.bin, "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1", "--dir", p.dir,
		"--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", filepath.Join(p.dir, "redis.log"))
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("run redis-server: %w", err)
	}
	p.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, ch chan error) { ch <- cmd.Wait() }(p.cmd, p.exited)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pingRedis(p.addr()) == nil {
			return nil
		}
		select {
		case err := <-p.exited:
			p.cmd = nil
			return fmt.Errorf("redis-server on %s exited: %v", p.addr(), err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop(t)
			return fmt.Errorf("redis-server on %s did not answer PING within 10s", p.addr())
		}
	}
}

// stop ends the server as Kubernetes does (SIGTERM: Redis flushes its
// append-only file) and waits for it to exit.
func (p *redisProc) stop(t *testing.T) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("redis-server did not stop within 10s of SIGTERM")
	}
	p.cmd = nil
}

func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(string(buf[:n]), "+PONG") {
		return fmt.Errorf("PING answered %q", buf[:n])
	}
	return nil
}
