package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// TestRedisStartedLate: qlikbot starts while its Redis is not there yet.
// It stays up; /readyz says the store has not answered; a command that
// needs the store says it is unavailable and does nothing; "store opened"
// is not logged. Once a real redis-server comes up on that address,
// qlikbot finds it by itself, logs "store opened", turns ready, and the
// same command works.
func TestRedisStartedLate(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(storetest.RequireRedisEnv) != "" {
			t.Fatalf("%s is set but redis-server is not on PATH", storetest.RequireRedisEnv)
		}
		t.Skip(storetest.RedisSkipMessage)
	}
	addr := freeAddr(t)
	sim := startSim(t)
	cfg := simConfig(t, sim, "redis://"+addr+"/0")
	cfg.HTTPAddr = "127.0.0.1:0"
	logs := &syncBuffer{}
	a := startApp(t, cfg, logs)
	admin := "http://" + a.admin.Addr().String()
	ctx := t.Context()

	waitFor(t, 10*time.Second, "a failed attempt to reach the store", func() bool {
		return strings.Contains(logs.String(), "store does not answer")
	})
	resp, body := get(t, admin+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "store: not answered since start-up") {
		t.Errorf("/readyz without Redis: %s %q, want 503 saying the store has not answered", resp.Status, body)
	}
	if r := a.ask(ctx, "lead", "kick finance"); r.Title != "State store unavailable" {
		t.Errorf("kick without Redis: %v %q, want State store unavailable\n%s", r.Kind, r.Title, bot.PlainText(r))
	}
	if n := len(deletesPerSession(sim.Requests())); n != 0 {
		t.Errorf("%d sessions deleted while the store was down", n)
	}
	if strings.Contains(logs.String(), `"msg":"store opened"`) {
		t.Errorf("store opened logged before the store answered:\n%s", logs.String())
	}

	startRedisOn(t, bin, addr)
	waitFor(t, 30*time.Second, "store opened once Redis is up", func() bool {
		return strings.Contains(logs.String(), `"msg":"store opened"`)
	})
	waitReady(t, admin) // fails the test if it never turns ready
	if r := a.ask(ctx, "lead", "kick finance"); r.Kind != bot.Pending {
		t.Errorf("kick with Redis up: %v %q, want an approval request\n%s", r.Kind, r.Title, bot.PlainText(r))
	}
}

// freeAddr returns a loopback address nothing listens on (just now).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// startRedisOn runs a private redis-server on addr until the test ends.
func startRedisOn(t *testing.T, bin, addr string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", port, "--bind", host, "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
}

// BenchmarkNewApp is the start-up work between reading the settings and
// serving: certificates, the bolt store and its key, the policy, the chat
// adapter, both listeners (issue 16: start-up at most 100 ms; measured end
// to end by cmd/qlikbench's startup_ms).
func BenchmarkNewApp(b *testing.B) {
	sim, err := qliksim.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	cfg := simConfig(b, sim, "")
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.SlackMode, cfg.SlackBotToken, cfg.SlackSigningSecret = "http", "xoxb-bench", "bench-signing-secret"
	log := slog.New(slog.DiscardHandler)
	for i := 0; b.Loop(); i++ {
		cfg.Store = "bolt://" + filepath.Join(b.TempDir(), "state.db") // a first start: new file, new key
		a, err := newApp(b.Context(), cfg, log, strings.NewReader(""), io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		a.close()
	}
}
