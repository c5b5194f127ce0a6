package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = testkit.Buffer

var (
	curlURL     = regexp.MustCompile(`'(https://[^']+/qps/[^']+)'`)
	curlResolve = regexp.MustCompile(`--resolve ([^: ]+):(\d+):([0-9.]+) -H 'X-Qlik-Xrfkey`)
)

func TestRunPrintsAWorkingRecipe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        []string
		wantResolve bool
		wantPrefix  string
		wantCount   int
	}{
		{"seed lab with FQDNs", nil, true, "/qps/finance/session", 2},
		{"generated lab, advertise loopback", []string{"--advertise-loopback", "--nodes", "2", "--vproxies", "3", "--users", "10", "--sessions", "12"}, false, "/qps/vp2/session", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "certs")
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var stdout, stderr syncBuffer
			done := make(chan int, 1)
			args := append([]string{"--certs", dir, "--qrs-port", "0", "--qps-port", "0", "--engine-port", "0"}, tc.args...)
			go func() { done <- run(ctx, args, &stdout, &stderr) }()

			waitFor(t, "the usage text", done, func() bool { return strings.Contains(stdout.String(), "Press Ctrl-C") })
			out := stdout.String()
			m := curlURL.FindStringSubmatch(out)
			if m == nil || !strings.Contains(m[1], tc.wantPrefix) {
				t.Fatalf("no curl line for %s in:\n%s", tc.wantPrefix, out)
			}
			resolve := map[string]string{}
			if r := curlResolve.FindStringSubmatch(out); r != nil {
				resolve[r[1]] = r[3]
			}
			if (len(resolve) > 0) != tc.wantResolve {
				t.Fatalf("--resolve in curl line: %v, want %v\n%s", resolve, tc.wantResolve, out)
			}
			c := clientFromDir(t, dir, resolve)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, m[1], nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Qlik-Xrfkey", "abcdefghijklmnop")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("the printed recipe fails: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var sessions []map[string]any
			if err := json.Unmarshal(body, &sessions); err != nil || resp.StatusCode != 200 || len(sessions) != tc.wantCount {
				t.Fatalf("status %d, %d sessions (%v), want 200 and %d: %s", resp.StatusCode, len(sessions), err, tc.wantCount, body)
			}

			cancel() // as SIGINT does
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit code %d, stderr:\n%s", code, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("run did not stop after the signal")
			}
		})
	}
}

func TestRunBadFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"--nope"}},
		{"negative latency", []string{"--latency", "-1s"}},
		{"negative size", []string{"--users", "-3"}},
		{"stray argument", []string{"extra"}},
		{"negative capacity", []string{"--qps-capacity", "-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr syncBuffer
			if code := run(t.Context(), tc.args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit code %d, want 2", code)
			}
			if stderr.String() == "" {
				t.Fatal("no explanation on stderr")
			}
		})
	}
}

func clientFromDir(t *testing.T, dir string, resolve map[string]string) *http.Client {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.pem"), filepath.Join(dir, "client_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, err := os.ReadFile(filepath.Join(dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	var d net.Dialer
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, _ := net.SplitHostPort(addr)
			if ip, ok := resolve[host]; ok {
				addr = net.JoinHostPort(ip, port)
			}
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// waitFor polls cond with a bounded deadline; it fails early if run exits.
func waitFor(t *testing.T, what string, done <-chan int, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case code := <-done:
			t.Fatalf("run exited with %d before %s", code, what)
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func TestGenOptionsDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                       string
		in                         options
		users, sessions, vps, node int
	}{
		{"only sessions", options{sessions: 101}, 21, 101, 10, 2},
		{"all given", options{users: 3, sessions: 9, vproxies: 4, nodes: 5}, 3, 9, 4, 5},
		{"only nodes", options{nodes: 3}, 1, 0, 10, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := genOptions(tc.in)
			if g.Users != tc.users || g.Sessions != tc.sessions || g.VirtualProxies != tc.vps || g.Nodes != tc.node {
				t.Fatalf("genOptions = %+v", g)
			}
		})
	}
}

// TestPrintedSettingsWork pastes the printed QLIKBOT_QLIK_* lines into a
// qlik client, as an operator pastes them into qlikbot's environment: it
// lists the seed lab's sessions and reads both engines' health.
func TestPrintedSettingsWork(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "certs")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--certs", dir, "--qrs-port", "0", "--qps-port", "0", "--engine-port", "0"}, &stdout, &stderr)
	}()
	waitFor(t, "the usage text", done, func() bool { return strings.Contains(stdout.String(), "Press Ctrl-C") })

	env := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && strings.HasPrefix(k, "QLIKBOT_") {
			env[k] = v
		}
	}
	for _, k := range []string{"QLIKBOT_QLIK_HOST", "QLIKBOT_QLIK_QRS_PORT", "QLIKBOT_QLIK_QPS_PORT", "QLIKBOT_QLIK_CERT", "QLIKBOT_QLIK_KEY", "QLIKBOT_QLIK_ROOT", "QLIKBOT_QLIK_RESOLVE", "QLIKBOT_POLICY"} {
		if env[k] == "" {
			t.Fatalf("no %s line in:\n%s", k, stdout.String())
		}
	}
	// qlikbot requires a policy with QLIKBOT_QLIK_HOST: the printed one is
	// the demo policy, by an absolute path.
	if !filepath.IsAbs(env["QLIKBOT_POLICY"]) {
		t.Errorf("QLIKBOT_POLICY=%s is not an absolute path", env["QLIKBOT_POLICY"])
	}
	if p, err := authz.LoadFile(env["QLIKBOT_POLICY"]); err != nil {
		t.Errorf("QLIKBOT_POLICY=%s: %v", env["QLIKBOT_POLICY"], err)
	} else if d := p.Decide([]string{"console:oncall"}, "list", authz.Scope{VirtualProxy: "*"}); !d.Allowed {
		t.Errorf("the printed policy is not the demo policy: oncall may not list: %s", d.Reason)
	}
	// host:address pairs, as QLIKBOT_QLIK_RESOLVE takes them.
	resolve := map[string]string{}
	for _, pair := range strings.Split(env["QLIKBOT_QLIK_RESOLVE"], ",") {
		host, addr, ok := strings.Cut(pair, ":")
		if !ok || net.ParseIP(addr) == nil {
			t.Fatalf("QLIKBOT_QLIK_RESOLVE item %q is not host:address", pair)
		}
		resolve[host] = addr
	}
	port := func(k string) int {
		p, err := strconv.Atoi(env[k])
		if err != nil {
			t.Fatalf("%s=%q: %v", k, env[k], err)
		}
		return p
	}
	c, err := qlik.New(qlik.Config{
		QRSHost: env["QLIKBOT_QLIK_HOST"], QRSPort: port("QLIKBOT_QLIK_QRS_PORT"), QPSPort: port("QLIKBOT_QLIK_QPS_PORT"),
		CertFile: env["QLIKBOT_QLIK_CERT"], KeyFile: env["QLIKBOT_QLIK_KEY"], RootFile: env["QLIKBOT_QLIK_ROOT"],
		Resolve: resolve,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	list, err := c.Sessions(t.Context(), qlik.Selection{})
	if err != nil || len(list.Errors) > 0 || len(list.Sessions) != 5 {
		t.Fatalf("sessions with the printed settings: %v %v, %d sessions; want the seed lab's 5", err, list.Errors, len(list.Sessions))
	}
	health, err := c.Health(t.Context(), nil)
	if err != nil || len(health.Errors) > 0 || len(health.Nodes) != 2 {
		t.Fatalf("engine health with the printed settings: %v %v", err, health.Errors)
	}
	if !strings.Contains(stdout.String(), "/engine/healthcheck/") || !strings.Contains(stdout.String(), "not Qlik's figures") {
		t.Errorf("the usage lacks the engine health recipe or the capacity note:\n%s", stdout.String())
	}
	cancel()
	<-done
}

func TestFallbackPorts(t *testing.T) {
	t.Parallel()
	o, err := parseFlags([]string{"--qps-port", "5000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.fallbackPorts(), (ports{0, 5000, 0}); got != want {
		t.Errorf("fallback %+v, want %+v: only the ports not given may move", got, want)
	}
}
