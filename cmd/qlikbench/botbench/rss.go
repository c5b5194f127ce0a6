package botbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/internal/qlikbench"
	"github.com/qlikbot/qlikbot/qlik"
)

// ChildArg, as a program's first argument, makes it run RunChild: the
// memory measurement re-executes the bench binary (or test binary) with
// it, so the simulator stays in the parent and out of the figure.
const ChildArg = "-qlikbench-child=rss"

// rssScenario: a running bot lists a generated site.
type rssScenario struct{ siteSize }

func rssSize(o qlikbench.Options) rssScenario { return rssScenario{largeSite(o)} }

func (r rssScenario) String() string {
	return fmt.Sprintf("resident memory (VmRSS) of a running bot in a child process: Qlik client, bolt store, engine, dispatcher, "+
		"Slack adapter and its HTTP server, plus the fake Slack it posts to; the simulator (%d sessions, %d virtual proxies x %d nodes) runs in the parent",
		r.Sessions, r.VirtualProxies, r.Nodes)
}

// childSpec is what the parent tells the child: where the simulator is.
type childSpec struct {
	QRSHost                  string
	QRSPort, QPSPort         int
	CertPEM, KeyPEM, RootPEM []byte
	Resolve                  map[string]string
	Sessions                 int
	Shipped                  qlikbench.Shipped
}

// childResult is what the child reports, in kB as /proc says.
type childResult struct {
	IdleKB, AfterKB, PeakKB int64
}

func measureRSS(ctx context.Context, o qlikbench.Options) ([]qlikbench.Figure, error) {
	rs := rssSize(o)
	sim, err := startSim(rs.lab(6), 0)
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	spec, err := json.Marshal(childSpec{QRSHost: sim.QRSHost(), QRSPort: sim.QRSPort(), QPSPort: sim.QPSPort(),
		CertPEM: sim.CertPEM(), KeyPEM: sim.KeyPEM(), RootPEM: sim.RootPEM(), Resolve: sim.Resolve(), Sessions: rs.Sessions, Shipped: o.Shipped})
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the bench binary: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, ChildArg)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(spec), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("memory child: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var res childResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("memory child said %q: %w", stdout.String(), err)
	}
	const kb = 1024
	k := "rss_" + qlikbench.SizeKey(rs.Sessions)
	return []qlikbench.Figure{
		{Key: "rss_idle_mb", Label: "idle, after wiring", Value: float64(res.IdleKB) / kb, Unit: "MB"},
		{Key: k + "_mb", Label: fmt.Sprintf("after listing %d sessions (reply and CSV posted)", rs.Sessions), Value: float64(res.AfterKB) / kb, Unit: "MB"},
		{Key: k + "_peak_mb", Label: "peak (VmHWM)", Value: float64(res.PeakKB) / kb, Unit: "MB"},
	}, nil
}

// RunChild is the child side of the memory measurement: it reads a
// childSpec from in, wires the bot against that simulator with qlikbot's
// shipped limits, reads VmRSS, asks for every session through a signed
// slash command, waits for the answer and its CSV at the fake Slack, reads
// VmRSS again and writes a childResult to out.
func RunChild(ctx context.Context, in io.Reader, out io.Writer) error {
	var spec childSpec
	if err := json.NewDecoder(in).Decode(&spec); err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	qcfg := qlik.Config{
		QRSHost: spec.QRSHost, QRSPort: spec.QRSPort, QPSPort: spec.QPSPort,
		CertPEM: spec.CertPEM, KeyPEM: spec.KeyPEM, RootPEM: spec.RootPEM, Resolve: spec.Resolve,
		Concurrency: spec.Shipped.Concurrency, RequestsPerSecond: spec.Shipped.RequestsPerSecond, // 0: package qlik's defaults
		Logger: slog.New(slog.DiscardHandler),
	}
	b, err := startSlackBot(qcfg, policyYAML(grant{"viewer", []string{"slack:UVIEWER"}}), bot.DefaultWorkers, bot.DefaultQueueSize)
	if err != nil {
		return err
	}
	defer b.close()
	var res childResult
	if res.IdleKB, err = procStatus("VmRSS"); err != nil {
		return err
	}
	if _, err := b.command(ctx, "UVIEWER", "CBENCH", "sessions", "rss"); err != nil {
		return err
	}
	wait, cancel := context.WithTimeoutCause(ctx, time.Minute, fmt.Errorf("%w: the list or its CSV never reached the fake Slack", errNoAnswer))
	defer cancel()
	if err := b.fake.waitFor(wait, func() bool { return len(b.fake.hooks) >= 1 && b.fake.uploads >= 1 }); err != nil {
		return err
	}
	want := fmt.Sprintf("Total sessions: %d", spec.Sessions)
	if posts := b.fake.posts(); !strings.Contains(posts[0].Text, want) {
		return fmt.Errorf("the answer lacks %q", want)
	}
	if res.AfterKB, err = procStatus("VmRSS"); err != nil {
		return err
	}
	if res.PeakKB, err = procStatus("VmHWM"); err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(res)
}

// procStatus reads a "kB" field of /proc/self/status (Linux only).
func procStatus(field string) (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read memory use (Linux only): %w", err)
	}
	defer f.Close()
	return parseStatus(f, field)
}

func parseStatus(r io.Reader, field string) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(rest), " ")
		if unit != "kB" {
			return 0, fmt.Errorf("%s: unit %q, want kB", field, unit)
		}
		return strconv.ParseInt(num, 10, 64)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New(field + " not in /proc/self/status")
}
