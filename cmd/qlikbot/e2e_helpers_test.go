package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/commands"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// binDir holds the program built once for the tests that run it as a
// separate process; TestMain removes it.
var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qlikbot-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir for the qlikbot binary:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// qlikbotBinary builds the real program once per test run and returns its
// path. It is built with -race exactly when the tests are: compiling the
// test binary has then just put every dependency's race build in the cache,
// so this build only compiles main and links (seconds), where a build
// without -race on a cold cache (CI) compiles everything again (~100 s on
// 2 cores). The race detector then also watches the real program end to
// end; a race makes it exit 66, which fails the test that ran it.
func qlikbotBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		// go test puts its own GOROOT/bin first on the PATH of tests.
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("find the go command to build qlikbot: %w", err)
			return
		}
		name := "qlikbot"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		binPath = filepath.Join(binDir, name)
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/qlikbot: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cleanEnv is the environment of a child qlikbot: no QLIKBOT_* variable
// and nothing else that envconfig might read (see the report on its
// unprefixed fallback), plus extra.
func cleanEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if d := os.Getenv("TMPDIR"); d != "" {
		env = append(env, "TMPDIR="+d)
	}
	return append(env, extra...)
}

// result is what one run of the binary left behind.
type result struct {
	stdout, stderr string
	code           int
}

// runBinary runs qlikbot to completion with env, stdin and args; one that
// has not ended within a minute (a server started by mistake) is killed.
func runBinary(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qlikbotBinary(t), args...)
	cmd.Env = env
	cmd.Dir = t.TempDir() // a stray qlikbot.db or cert folder must not land in the source tree
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("run qlikbot %v: %v", args, err)
		}
		code = exit.ExitCode()
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = testkit.Buffer

// defaultConfig is Config with every default tag applied, as loadConfig
// gives it for an empty environment, without reading the environment
// (tests run in parallel; t.Setenv cannot).
func defaultConfig(t testing.TB) Config {
	t.Helper()
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		def, ok := f.Tag.Lookup("default")
		if !ok {
			continue
		}
		fv := v.Field(i)
		var err error
		switch {
		case f.Type == reflect.TypeFor[time.Duration]():
			var d time.Duration
			d, err = time.ParseDuration(def)
			fv.SetInt(int64(d))
		case f.Type.Kind() == reflect.String:
			fv.SetString(def)
		case f.Type.Kind() == reflect.Int:
			var n int
			n, err = strconv.Atoi(def)
			fv.SetInt(int64(n))
		case f.Type.Kind() == reflect.Bool:
			var b bool
			b, err = strconv.ParseBool(def)
			fv.SetBool(b)
		case f.Type.Kind() == reflect.Float64:
			var x float64
			x, err = strconv.ParseFloat(def, 64)
			fv.SetFloat(x)
		default:
			t.Fatalf("defaultConfig: no parser for %s (%s)", f.Name, f.Type)
		}
		if err != nil {
			t.Fatalf("defaultConfig: %s default %q: %v", f.Name, def, err)
		}
	}
	if err := c.validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	return c
}

// testPolicy: oncall sees, the finance lead acts on finance (kick needs an
// approval), the admins may do everything.
const testPolicy = `roles:
  viewer: [list, health]
  lead:   [list, delete, kick, logout, approve]
  admin:  [list, delete, kick, logout, approve, audit]
grants:
  - subjects: ["console:oncall"]
    roles: [viewer]
    virtualProxies: ["*"]
  - subjects: ["console:lead", "slack:U0LEAD"]
    roles: [lead]
    virtualProxies: ["finance"]
  - subjects: ["console:admin", "console:admin2", "slack:U0ADMIN"]
    roles: [admin]
    virtualProxies: ["*"]
approval:
  required: [kick, logout]
  ttl: 30m
`

// testStateKey is the QLIKBOT_STATE_KEY of tests on Redis (32 bytes, base64).
const testStateKey = "dGVzdC1zdGF0ZS1rZXktMzItYnl0ZXMtbG9uZy4uLi4="

// simConfig points a Config at sim the way an operator would: cert files
// exported from "the QMC", a resolve map, a policy file and a store URL.
func simConfig(t testing.TB, sim *qliksim.Server, storeURL string) Config {
	t.Helper()
	dir := t.TempDir()
	if err := sim.WriteCerts(dir); err != nil {
		t.Fatalf("write certs: %v", err)
	}
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(testPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	if storeURL == "" {
		storeURL = "bolt://" + filepath.Join(dir, "state.db")
	}
	c := defaultConfig(t)
	c.QlikHost, c.QlikQRSPort, c.QlikQPSPort = sim.QRSHost(), sim.QRSPort(), sim.QPSPort()
	c.QlikCert = filepath.Join(dir, "client.pem")
	c.QlikKey = filepath.Join(dir, "client_key.pem")
	c.QlikRoot = filepath.Join(dir, "root.pem")
	c.QlikResolve = sim.Resolve()
	c.QlikTimeout = 3 * time.Second
	c.Policy = policy
	c.Store = storeURL
	if kind, _ := storeTarget(storeURL); kind != "bolt" {
		c.StateKey = testStateKey // replicas share it
	}
	// Tests run apps side by side: the admin listener takes any free port.
	c.AdminAddr = "127.0.0.1:0"
	// Many requests of one user at once are the point of some tests.
	c.UserRate, c.UserBurst = 1000, 1000
	c.LogFormat = "json"
	c.ShutdownDrain = 0 // tests stop apps often; the drain has its own test
	if err := c.validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	return c
}

// binaryEnv is simConfig as the environment of the real binary, plus
// extra QLIKBOT_* settings; dir holds the certificates, the policy and the
// bolt file.
func binaryEnv(t testing.TB, sim *qliksim.Server, extra ...string) (env []string, dir string) {
	t.Helper()
	c := simConfig(t, sim, "")
	var resolve []string
	for host, ip := range c.QlikResolve {
		resolve = append(resolve, host+":"+ip)
	}
	slices.Sort(resolve)
	env = cleanEnv(
		"QLIKBOT_QLIK_HOST="+c.QlikHost,
		"QLIKBOT_QLIK_QRS_PORT="+strconv.Itoa(c.QlikQRSPort),
		"QLIKBOT_QLIK_QPS_PORT="+strconv.Itoa(c.QlikQPSPort),
		"QLIKBOT_QLIK_CERT="+c.QlikCert,
		"QLIKBOT_QLIK_KEY="+c.QlikKey,
		"QLIKBOT_QLIK_ROOT="+c.QlikRoot,
		"QLIKBOT_QLIK_RESOLVE="+strings.Join(resolve, ","),
		"QLIKBOT_POLICY="+c.Policy,
		"QLIKBOT_STORE="+c.Store,
		"QLIKBOT_LOG_FORMAT="+c.LogFormat,
		"QLIKBOT_SHUTDOWN_DRAIN=0",
	)
	return append(env, extra...), filepath.Dir(c.Policy)
}

func startSim(t testing.TB, opts ...qliksim.Option) *qliksim.Server {
	t.Helper()
	sim, err := qliksim.Start(opts...)
	if err != nil {
		t.Fatalf("start qliksim: %v", err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// testApp is an app built by newApp and running its real run loop.
type testApp struct {
	*app
	in   *io.PipeWriter // console input
	out  *syncBuffer    // console output
	logs *syncBuffer
	stop context.CancelFunc
	done chan error
}

// startApp builds cfg with newApp and runs it until the test ends. Its
// console (when it has one) reads a pipe that stays open, so the app runs
// until stopped. logs, when nil, is a fresh buffer shown if the test fails.
func startApp(t *testing.T, cfg Config, logs *syncBuffer) *testApp {
	t.Helper()
	if logs == nil {
		logs = &syncBuffer{}
	}
	ctx, stop := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	out := &syncBuffer{}
	a, err := newApp(ctx, cfg, newLogger(cfg, logs), pr, out, logs)
	if err != nil {
		stop()
		t.Fatalf("newApp: %v", err)
	}
	ta := &testApp{app: a, in: pw, out: out, logs: logs, stop: stop, done: make(chan error, 1)}
	go func() { ta.done <- a.run(ctx) }()
	t.Cleanup(func() {
		ta.shutdown(t)
		pw.Close()
		if t.Failed() {
			t.Logf("app logs:\n%s", logs.String())
		}
	})
	return ta
}

// shutdown stops the app and waits (bounded) for its run loop to return.
func (ta *testApp) shutdown(t *testing.T) {
	t.Helper()
	ta.stop()
	select {
	case err, ok := <-ta.done:
		if ok && err != nil {
			t.Errorf("run returned %v", err)
		}
		if ok {
			close(ta.done)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("app did not stop within 30s of its context ending")
	}
}

// ask runs one command line as a console user through the app's
// dispatcher, the road every adapter's requests take.
func (ta *testApp) ask(ctx context.Context, user, text string) bot.Reply {
	return ta.disp.Do(ctx, bot.Request{Platform: bot.Console, User: bot.User{ID: user}, Channel: "console",
		Text: text, ReplyTo: discardResponder})
}

// click sends a button click as a console user.
func (ta *testApp) click(ctx context.Context, user string, b bot.Button) bot.Reply {
	return ta.disp.Do(ctx, bot.Request{Platform: bot.Console, User: bot.User{ID: user}, Channel: "console",
		Action: &bot.Action{ID: b.ActionID, Value: b.Value}, ReplyTo: discardResponder})
}

var discardResponder = bot.ResponderFunc(func(context.Context, bot.Reply) error { return nil })

// button returns the reply's button with this action id.
func button(t *testing.T, r bot.Reply, actionID string) bot.Button {
	t.Helper()
	for _, b := range r.Buttons {
		if b.ActionID == actionID {
			return b
		}
	}
	t.Fatalf("reply %q has no %s button:\n%s", r.Title, actionID, bot.PlainText(r))
	return bot.Button{}
}

// approveButton is the Approve button of a pending reply.
func approveButton(t *testing.T, r bot.Reply) bot.Button {
	t.Helper()
	if r.Kind != bot.Pending {
		t.Fatalf("want a pending reply, got %v %q:\n%s", r.Kind, r.Title, bot.PlainText(r))
	}
	return button(t, r, commands.ActionApprove)
}

// deletesPerSession counts the simulator's successful-or-not DELETE calls
// per session id (the last path element).
func deletesPerSession(reqs []qliksim.Request) map[string]int {
	n := map[string]int{}
	for _, r := range reqs {
		if r.Service == "qps" && r.Method == "DELETE" {
			n[r.Path[strings.LastIndex(r.Path, "/")+1:]]++
		}
	}
	return n
}

// waitFor polls cond every few milliseconds until it holds or the bounded
// deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended waiting for %s", what)
		case <-tick.C:
		}
	}
}

// botProc is one run of the real qlikbot binary with its console on a
// pipe.
type botProc struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr *syncBuffer
	exited         chan error
}

func startBot(t *testing.T, env []string, dir string) *botProc {
	t.Helper()
	cmd := exec.Command(qlikbotBinary(t))
	cmd.Env, cmd.Dir = env, dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &botProc{cmd: cmd, stdin: stdin, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("qlikbot stdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (p *botProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("qlikbot still running 10s after SIGKILL")
	}
}

// quit closes the console's input and waits for a clean exit.
func (p *botProc) quit(t *testing.T) {
	t.Helper()
	_ = p.stdin.Close()
	p.exitsCleanly(t, "its input ended")
}

// terminate sends SIGTERM and waits for the graceful shutdown's clean exit.
func (p *botProc) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	p.exitsCleanly(t, "SIGTERM")
}

// exitsCleanly waits (bounded) for the process to exit 0 after what.
func (p *botProc) exitsCleanly(t *testing.T, after string) {
	t.Helper()
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("qlikbot exited with %v after %s, want 0", err, after)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("qlikbot still running 60s after %s", after)
	}
}
