package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func startupMeasurement() qlikbench.Measurement {
	return qlikbench.Measurement{
		ID: "startup",
		Name: "start-up of the qlikbot binary (built once): process start to its HTTP listener answering /healthz; " +
			"Qlik configured (a simulator), a bolt store, the console on a pipe",
		Keys: []string{"startup_ms"}, Shipped: true, Run: measureStartup,
	}
}

// startupEnv is everything a qlikbot process needs to run against sim:
// its certificates and policy written to dir, the state in a bolt file.
type startupEnv struct {
	dir string
	env []string
}

func newStartupEnv(sim *qliksim.Server, dir string) (*startupEnv, error) {
	certs := filepath.Join(dir, "cert")
	if err := sim.WriteCerts(certs); err != nil {
		return nil, err
	}
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, authz.DemoPolicyYAML(), 0o600); err != nil {
		return nil, fmt.Errorf("write the policy: %w", err)
	}
	var resolve []string
	for h, ip := range sim.Resolve() {
		resolve = append(resolve, h+":"+ip)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if d := os.Getenv("TMPDIR"); d != "" {
		env = append(env, "TMPDIR="+d)
	}
	env = append(env,
		"QLIKBOT_QLIK_HOST="+sim.QRSHost(),
		"QLIKBOT_QLIK_QRS_PORT="+strconv.Itoa(sim.QRSPort()),
		"QLIKBOT_QLIK_QPS_PORT="+strconv.Itoa(sim.QPSPort()),
		"QLIKBOT_QLIK_CERT="+filepath.Join(certs, "client.pem"),
		"QLIKBOT_QLIK_KEY="+filepath.Join(certs, "client_key.pem"),
		"QLIKBOT_QLIK_ROOT="+filepath.Join(certs, "root.pem"),
		"QLIKBOT_QLIK_RESOLVE="+strings.Join(resolve, ","),
		"QLIKBOT_POLICY="+policy,
		"QLIKBOT_STORE=bolt://"+filepath.Join(dir, "state.db"),
		"QLIKBOT_LOG_FORMAT=json",
		"QLIKBOT_ADMIN_ADDR=off", // a fixed port: parallel runs would collide
	)
	return &startupEnv{dir: dir, env: env}, nil
}

// freePort returns a loopback port nobody listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startOnce starts bin, waits until its /healthz answers 200 and returns
// how long that took from the process start. Then it ends the console's
// input and waits for a clean exit.
func (e *startupEnv) startOnce(ctx context.Context, bin string) (time.Duration, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin)
	cmd.Env = append(e.env, "QLIKBOT_HTTP_ADDR="+addr)
	cmd.Dir = e.dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	exited := make(chan error, 1)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start qlikbot: %w", err)
	}
	go func() { exited <- cmd.Wait() }()
	ready, err := waitHealthy(ctx, client, "http://"+addr+"/healthz", exited)
	took := ready.Sub(start)
	// One command, then the end of input: qlikbot answers and shuts down
	// (input that ends with nothing in it would be a configuration error:
	// no chat platform and nothing to do).
	_, _ = io.WriteString(stdin, "/qlik whoami\n")
	_ = stdin.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return 0, fmt.Errorf("%w; qlikbot said:\n%s", err, tail(out.String(), 2000))
	}
	select {
	case err := <-exited:
		if err != nil {
			return 0, fmt.Errorf("qlikbot exited with %w after its input ended:\n%s", err, tail(out.String(), 2000))
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return 0, errors.New("qlikbot did not stop within 30 s of its input ending")
	}
	return took, nil
}

// waitHealthy polls url until it answers 200 and returns when it did. It
// fails when the process exits first or ctx ends.
func waitHealthy(ctx context.Context, client *http.Client, url string, exited <-chan error) (time.Time, error) {
	deadline := time.After(time.Minute)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return time.Time{}, err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		select {
		case err := <-exited:
			return time.Time{}, fmt.Errorf("qlikbot exited before it was ready: %v", err)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-deadline:
			return time.Time{}, errors.New("qlikbot's /healthz did not answer within a minute")
		case <-time.After(200 * time.Microsecond): // the resolution of the figure
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// measureStartup starts the qlikbot binary runs times (after one untimed
// start that creates the state file and warms the page cache, as a
// restart finds them) and reports the median.
func measureStartup(ctx context.Context, o qlikbench.Options) ([]qlikbench.Figure, error) {
	if o.Qlikbot == "" {
		return nil, errors.New("no qlikbot binary to start")
	}
	sim, err := qliksim.Start(qliksim.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	dir, err := os.MkdirTemp("", "qlikbench-startup-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	e, err := newStartupEnv(sim, dir)
	if err != nil {
		return nil, err
	}
	if _, err := e.startOnce(ctx, o.Qlikbot); err != nil {
		return nil, err
	}
	ds := make([]time.Duration, o.RunsOr(5))
	for i := range ds {
		if ds[i], err = e.startOnce(ctx, o.Qlikbot); err != nil {
			return nil, err
		}
	}
	return []qlikbench.Figure{{Key: "startup_ms", Label: "process start to /healthz answering (median)", Value: qlikbench.MS(qlikbench.Median(ds)), Unit: "ms"}}, nil
}
