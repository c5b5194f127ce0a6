package storetest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
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

// StartRedis starts a private redis-server on a free loopback port (no
// persistence, data in t.TempDir()), waits until it answers PING, stops it in
// t.Cleanup and returns its "host:port". It skips the test when
// redis-server is not on PATH, unless QLIKBOT_TEST_REQUIRE_REDIS is set
// (CI sets it), when it fails instead. Any package's tests may use it.
func StartRedis(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireRedisEnv) != "" {
			t.Fatalf("%s is set but redis-server is not on PATH", RequireRedisEnv)
		}
		t.Skip(RedisSkipMessage)
	}
	// The free port is found by listening and closing, so another process
	// may take it first: try a few ports before giving up.
	var errs []error
	for range 3 {
		addr, err := startRedis(t, bin)
		if err == nil {
			return addr
		}
		errs = append(errs, err)
	}
	t.Fatalf("start redis-server: %v", errors.Join(errs...))
	return ""
}

func startRedis(t testing.TB, bin string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	dir := t.TempDir()
	logFile := filepath.Join(dir, "redis.log")
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--dir", dir,
		"--logfile", logFile,
	)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	deadline := time.NewTimer(redisReadyWithin)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ping(addr) == nil {
			t.Cleanup(stop)
			return addr, nil
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("redis-server on %s exited (%v): %s", addr, err, tail(logFile))
		case <-deadline.C:
			stop()
			return "", fmt.Errorf("redis-server on %s did not answer PING within %s: %s", addr, redisReadyWithin, tail(logFile))
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

// ping speaks just enough RESP to tell a ready server from a starting one.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
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
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
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
