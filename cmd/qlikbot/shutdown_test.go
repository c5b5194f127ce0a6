package main

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// TestGracefulShutdown sends SIGTERM to the real program while a delete is
// on the wire: the delete finishes, its reply is printed, the process exits
// 0 within QLIKBOT_SHUTDOWN_TIMEOUT, and input typed after the signal is
// not run.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const (
		latency         = 1500 * time.Millisecond
		shutdownTimeout = 20 * time.Second
	)
	// Two nodes, one virtual proxy: sessions alternate between the nodes.
	sim := startSim(t, qliksim.WithLab(qliksim.Generate(qliksim.GenOptions{Nodes: 2, VirtualProxies: 1, Sessions: 3, Users: 3, Seed: 7})))
	fast, slow := sim.Hosts()[0], sim.Hosts()[1]
	onFast, onSlow := sim.Sessions(fast, ""), sim.Sessions(slow, "")
	if len(onFast) != 2 || len(onSlow) != 1 {
		t.Fatalf("generated lab: %d sessions on %s and %d on %s, want 2 and 1", len(onFast), fast, len(onSlow), slow)
	}
	first, late, slowID := onFast[0].ID, onFast[1].ID, onSlow[0].ID
	// The slow node answers after latency: its DELETE is still running when
	// the fast node's DELETE (sent at the same time) is in the log.
	if err := sim.SetFault(slow, qliksim.Fault{Latency: latency}); err != nil {
		t.Fatal(err)
	}

	env, dir := binaryEnv(t, sim,
		"QLIKBOT_CONSOLE_USER=admin",
		"QLIKBOT_SHUTDOWN_TIMEOUT="+shutdownTimeout.String(),
	)

	cmd := exec.Command(qlikbotBinary(t))
	cmd.Env, cmd.Dir = env, dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})

	writeLine(t, stdin, "/qlik delete default "+first+" "+slowID)
	waitFor(t, 15*time.Second, "the fast node's DELETE in the simulator's log", func() bool {
		return deletesPerSession(sim.Requests())[first] == 1
	})
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	waitFor(t, 10*time.Second, `the "shutting down" log line`, func() bool {
		return strings.Contains(stderr.String(), `"shutting down"`)
	})
	// Typed after the signal: must not run. The write may fail if the
	// process is already gone, which is fine.
	_, _ = io.WriteString(stdin, "/qlik delete default "+late+"\n")

	select {
	case err := <-exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) || err != nil {
			t.Fatalf("qlikbot exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(shutdownTimeout):
		t.Fatalf("qlikbot still running %v after SIGTERM (QLIKBOT_SHUTDOWN_TIMEOUT)", shutdownTimeout)
	}
	t.Logf("exited %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))

	var slowDelete *qliksim.Request
	for _, r := range sim.Requests() {
		if r.Method == "DELETE" && strings.HasSuffix(r.Path, "/"+slowID) {
			slowDelete = &r
		}
	}
	switch {
	case slowDelete == nil:
		t.Errorf("no DELETE of %s reached the slow node", slowID)
	case !slowDelete.Time.Add(latency).After(signalled):
		// The log records arrival times; the slow node answers latency
		// later. Whether the request left just before or just after the
		// signal does not matter: the delete command was running (its fast
		// half done), and it must run to the end.
		t.Errorf("the slow DELETE finished before SIGTERM; the test meant to signal while it was running")
	case slowDelete.Status/100 != 2:
		t.Errorf("the slow DELETE ended with status %d, want 2xx (not abandoned)", slowDelete.Status)
	}
	if left := sim.Sessions(slow, ""); len(left) != 0 {
		t.Errorf("session %s still on %s after shutdown: the in-flight delete was cut short", slowID, slow)
	}
	if !strings.Contains(stdout.String(), "Deleted 2") {
		t.Errorf("the delete's reply was not printed:\n%s", stdout.String())
	}
	if n := deletesPerSession(sim.Requests())[late]; n != 0 || len(sim.Sessions(fast, "")) != 1 {
		t.Errorf("input after SIGTERM ran: %d DELETEs of %s, %d sessions left on %s", n, late, len(sim.Sessions(fast, "")), fast)
	}
}

func writeLine(t *testing.T, w io.Writer, line string) {
	t.Helper()
	if _, err := fmt.Fprintln(w, line); err != nil {
		t.Fatalf("write %q to qlikbot: %v", line, err)
	}
}
