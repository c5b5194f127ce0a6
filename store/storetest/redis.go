package storetest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RedisSkipMessage is what StartRedis skips with when there is no server.
const RedisSkipMessage = "redis-server not on PATH; install it (apt-get install redis-server) to run the Redis suite"

// RequireRedisEnv, when set, turns the skip for a missing redis-server into
// a failure, so a CI run cannot pass without the Redis suite.
const RequireRedisEnv = "QLIKBOT_TEST_REQUIRE_REDIS"

// redisReadyWithin bounds the wait for a fresh redis-server to answer PING;
// it normally takes a few milliseconds.
const redisReadyWithin = 10 * time.Second

// RedisConfig says how StartRedisServer runs redis-server. The zero value is
// a private in-memory server without a password.
type RedisConfig struct {
	// Persist turns on the append-only file with an fsync per write
	// ("appendonly yes", "appendfsync always"), so whatever the server
	// acknowledged survives Kill and Start.
	Persist bool
	// Password is the default user's password (requirepass).
	Password string
	// Users are ACL rules, one user each, as in redis.conf after "user",
	// e.g. "qlikbot on >secret ~qlikbot:* +@all".
	Users []string
	// TLS serves TLS only, with a server certificate for 127.0.0.1 signed
	// by a CA made for the test (RedisServer.CAFile).
	TLS bool
}

// RedisServer is a redis-server a test started: on a free loopback port,
// data in its own t.TempDir(), stopped in t.Cleanup.
type RedisServer struct {
	Addr   string // host:port
	Dir    string // data directory (and the log, redis.log)
	CAFile string // PEM of the CA that signed the server certificate (TLS only)

	cfg    RedisConfig
	bin    string
	args   []string
	cmd    *exec.Cmd
	exited chan error
}

// StartRedis starts a private in-memory redis-server and returns its
// "host:port"; see StartRedisServer.
func StartRedis(t testing.TB) string {
	t.Helper()
	return StartRedisServer(t, RedisConfig{}).Addr
}

// StartRedisServer starts redis-server as cfg says, waits until it answers,
// and stops it in t.Cleanup. It skips the test when redis-server is not on
// PATH, unless QLIKBOT_TEST_REQUIRE_REDIS is set (CI sets it), when it fails
// instead. Any package's tests may use it.
func StartRedisServer(t testing.TB, cfg RedisConfig) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireRedisEnv) != "" {
			t.Fatalf("%s is set but redis-server is not on PATH", RequireRedisEnv)
		}
		t.Skip(RedisSkipMessage)
	}
	s := &RedisServer{Dir: t.TempDir(), cfg: cfg, bin: bin}
	if cfg.TLS {
		if s.CAFile, err = writeServerCert(s.Dir); err != nil {
			t.Fatalf("make TLS certificates: %v", err)
		}
	}
	t.Cleanup(func() { s.kill() })
	// The free port is found by listening and closing, so another process
	// may take it first: try a few ports before giving up.
	var errs []error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s.args = s.serverArgs(port)
		if err = s.start(); err == nil {
			return s
		}
		if cfg.TLS && strings.Contains(err.Error(), "tls-port") {
			skipNoTLS(t, err)
		}
		errs = append(errs, err)
	}
	t.Fatalf("start redis-server: %v", errors.Join(errs...))
	return nil
}

// skipNoTLS: a redis-server built without TLS cannot run the TLS cases;
// outside CI that is a skip that says why, in CI a failure.
func skipNoTLS(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("this redis-server cannot serve TLS, which CI needs: %v", err)
	}
	t.Skipf("this redis-server was built without TLS support; TLS cases skipped (%v)", err)
}

func (s *RedisServer) serverArgs(port int) []string {
	args := []string{
		"--bind", "127.0.0.1",
		"--save", "",
		"--daemonize", "no",
		"--dir", s.Dir,
		"--logfile", filepath.Join(s.Dir, "redis.log"),
	}
	if s.cfg.TLS {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", filepath.Join(s.Dir, "server.pem"),
			"--tls-key-file", filepath.Join(s.Dir, "server-key.pem"),
			"--tls-ca-cert-file", s.CAFile,
			"--tls-auth-clients", "no")
	} else {
		args = append(args, "--port", strconv.Itoa(port))
	}
	if s.cfg.Persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	if s.cfg.Password != "" {
		args = append(args, "--requirepass", s.cfg.Password)
	}
	for _, u := range s.cfg.Users {
		args = append(args, "--user")
		args = append(args, strings.Fields(u)...)
	}
	return args
}

// URL returns a redis:// (rediss:// with TLS) URL for the server, database
// 0, with user and password when given.
func (s *RedisServer) URL(user, password string) string {
	u := url.URL{Scheme: "redis", Host: s.Addr, Path: "/0"}
	if s.cfg.TLS {
		u.Scheme = "rediss"
	}
	switch {
	case password != "":
		u.User = url.UserPassword(user, password)
	case user != "":
		u.User = url.User(user)
	}
	return u.String()
}

// Kill stops the server with SIGKILL, as a crash would: nothing is flushed
// that was not already written.
func (s *RedisServer) Kill(t testing.TB) {
	t.Helper()
	if !s.kill() {
		t.Fatal("Kill: redis-server is not running")
	}
}

// Start runs the server again after Kill, on the same port and data
// directory, and waits until it answers.
func (s *RedisServer) Start(t testing.TB) {
	t.Helper()
	if s.cmd != nil {
		t.Fatal("Start: redis-server is already running")
	}
	if err := s.start(); err != nil {
		t.Fatalf("restart redis-server: %v", err)
	}
}

func (s *RedisServer) kill() bool {
	if s.cmd == nil {
		return false
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
	return true
}

func (s *RedisServer) start() error {
	cmd := exec.Command(s.bin, s.args...)
	// Configuration errors go to stderr, before the log file is opened.
	outFile := filepath.Join(s.Dir, "redis.out")
	out, err := os.Create(outFile)
	if err != nil {
		return fmt.Errorf("redis-server output file: %w", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.cmd, s.exited = cmd, exited
	logFile := filepath.Join(s.Dir, "redis.log")

	deadline := time.NewTimer(redisReadyWithin)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.ping() == nil {
			return nil
		}
		select {
		case err := <-exited:
			s.cmd = nil
			return fmt.Errorf("redis-server on %s exited (%v): %s %s", s.Addr, err, tail(outFile), tail(logFile))
		case <-deadline.C:
			s.kill()
			return fmt.Errorf("redis-server on %s did not answer PING within %s: %s", s.Addr, redisReadyWithin, tail(logFile))
		case <-tick.C:
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ping speaks just enough RESP to tell a ready server from a starting one
// (which answers -LOADING while it reads its append-only file). A server
// that wants a password is ready when it says so.
func (s *RedisServer) ping() error {
	d := &net.Dialer{Timeout: time.Second}
	var (
		c   net.Conn
		err error
	)
	if s.cfg.TLS {
		pool := x509.NewCertPool()
		if pem, rerr := os.ReadFile(s.CAFile); rerr == nil {
			pool.AppendCertsFromPEM(pem)
		}
		c, err = tls.DialWithDialer(d, "tcp", s.Addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	} else {
		c, err = d.Dial("tcp", s.Addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// tail returns the end of the server's log for an error message.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log: " + err.Error()
	}
	const keep = 800
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return strings.TrimSpace(string(b))
}
