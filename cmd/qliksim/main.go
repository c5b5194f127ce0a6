// Command qliksim runs the Qlik Sense QRS/QPS simulator standalone: it
// writes its CA and client certificates to a folder and prints how to point
// a client (qlikbot, curl, Ctrl-Q) at it. It stops on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	listenIPs         string
	qrsPort, qpsPort  int
	advertiseLoopback bool
	users, sessions   int
	vproxies, nodes   int
	seed              int64
	latency, jitter   time.Duration
	certs             string
	verbose           bool
	portsExplicit     bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("qliksim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listenIPs, "listen-ips", "", "comma-separated IP per node (default 127.0.0.1, 127.0.0.2, ...)")
	fs.IntVar(&o.qrsPort, "qrs-port", 4242, "QRS port (falls back to a free port if the default is taken)")
	fs.IntVar(&o.qpsPort, "qps-port", 4243, "QPS port on every node address (same fallback)")
	fs.BoolVar(&o.advertiseLoopback, "advertise-loopback", false, "advertise node IPs instead of the lab's FQDNs (no --resolve needed)")
	fs.IntVar(&o.users, "users", 0, "generated lab: users (default: enough for 5 sessions each); all sizes 0 = the seed lab")
	fs.IntVar(&o.sessions, "sessions", 0, "generated lab: sessions")
	fs.IntVar(&o.vproxies, "vproxies", 0, "generated lab: virtual proxies (default 10)")
	fs.IntVar(&o.nodes, "nodes", 0, "generated lab: nodes (default 2)")
	fs.Int64Var(&o.seed, "seed", 1, "seed for the generated lab and the fault RNG")
	fs.DurationVar(&o.latency, "latency", 0, "latency added to every request")
	fs.DurationVar(&o.jitter, "jitter", 0, "random extra latency in [0, jitter)")
	fs.StringVar(&o.certs, "certs", "./qliksim-certs", "folder to write client.pem, client_key.pem and root.pem to")
	fs.BoolVar(&o.verbose, "v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "qrs-port" || f.Name == "qps-port" {
			o.portsExplicit = true
		}
	})
	if o.latency < 0 || o.jitter < 0 {
		return o, errors.New("--latency and --jitter must not be negative")
	}
	for _, n := range []int{o.users, o.sessions, o.vproxies, o.nodes} {
		if n < 0 {
			return o, errors.New("--users, --sessions, --vproxies and --nodes must not be negative")
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "qliksim:", err)
		return 2
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	lab, labName := qliksim.SeedLab(), "the seed lab"
	if o.users+o.sessions+o.vproxies+o.nodes > 0 {
		lab = qliksim.Generate(genOptions(o))
		labName = "a generated lab"
	}
	opts := []qliksim.Option{qliksim.WithLab(lab), qliksim.WithLogger(logger),
		qliksim.WithSeed(o.seed), qliksim.WithRequestLogLimit(10000)}
	if o.advertiseLoopback {
		opts = append(opts, qliksim.WithAdvertiseLoopback())
	}
	if o.listenIPs != "" {
		ips := strings.Split(o.listenIPs, ",")
		for i := range ips {
			ips[i] = strings.TrimSpace(ips[i]) // "127.0.0.1, 127.0.0.2" too
		}
		opts = append(opts, qliksim.WithListenIPs(ips...))
	}
	s, err := qliksim.Start(append(opts, qliksim.WithPorts(o.qrsPort, o.qpsPort))...)
	if err != nil && !o.portsExplicit {
		fmt.Fprintf(stderr, "qliksim: ports %d/%d are not free (%v); using free ports instead\n", o.qrsPort, o.qpsPort, err)
		s, err = qliksim.Start(append(opts, qliksim.WithPorts(0, 0))...)
	}
	if err != nil {
		fmt.Fprintln(stderr, "qliksim:", err)
		return 1
	}
	defer s.Close()
	if o.latency > 0 || o.jitter > 0 {
		s.SetFaultAll(qliksim.Fault{Latency: o.latency, Jitter: o.jitter})
	}
	if err := s.WriteCerts(o.certs); err != nil {
		fmt.Fprintln(stderr, "qliksim:", err)
		return 1
	}
	printUsage(stdout, s, lab, labName, o.certs)
	<-ctx.Done()
	fmt.Fprintln(stdout, "qliksim: stopping")
	return 0
}

// genOptions fills sizes left at 0: 2 nodes, 10 virtual proxies, and
// enough users that nobody passes the 5-session limit.
func genOptions(o options) qliksim.GenOptions {
	g := qliksim.GenOptions{Users: o.users, Sessions: o.sessions, VirtualProxies: o.vproxies, Nodes: o.nodes, Seed: o.seed}
	if g.Nodes == 0 {
		g.Nodes = 2
	}
	if g.VirtualProxies == 0 {
		g.VirtualProxies = 10
	}
	if g.Users == 0 {
		g.Users = max(1, (g.Sessions+qliksim.SessionLimit-1)/qliksim.SessionLimit)
	}
	return g
}

func printUsage(w io.Writer, s *qliksim.Server, lab qliksim.Lab, labName, certDir string) {
	abs, err := filepath.Abs(certDir)
	if err != nil {
		abs = certDir
	}
	resolve := s.Resolve()
	fmt.Fprintf(w, "qliksim: Qlik Sense simulator running with %s (%d nodes, %d virtual proxies, %d sessions)\n",
		labName, len(lab.Nodes), len(lab.VirtualProxies), s.AllSessions())
	fmt.Fprintf(w, "  QRS  https://%s:%d  (listening on %s)\n", s.QRSHost(), s.QRSPort(), resolve[s.QRSHost()])
	fmt.Fprintf(w, "  QPS  port %d on every node:\n", s.QPSPort())
	for _, h := range s.Hosts() {
		fmt.Fprintf(w, "         %s -> %s\n", h, resolve[h])
	}
	fmt.Fprintf(w, "  certs (as the QMC exports them) in %s: client.pem client_key.pem root.pem\n\n", abs)

	var resolvePairs []string
	for _, h := range s.Hosts() {
		if h != resolve[h] {
			resolvePairs = append(resolvePairs, h+"="+resolve[h])
		}
	}
	if len(resolvePairs) > 0 {
		fmt.Fprintf(w, "Host names are not in DNS: map them to the loopback IPs (or restart with --advertise-loopback):\n  %s\n\n",
			strings.Join(resolvePairs, ","))
	}
	prefix := samplePrefix(lab)
	first := s.Hosts()[0]
	curlResolve := ""
	if first != resolve[first] {
		curlResolve = fmt.Sprintf(" --resolve %s:%d:%s", first, s.QPSPort(), resolve[first])
	}
	fmt.Fprintf(w, "List the %q sessions on %s over mutual TLS:\n", prefix, first)
	fmt.Fprintf(w, "  cd %s && curl --cert client.pem --key client_key.pem --cacert root.pem%s -H 'X-Qlik-Xrfkey: abcdefghijklmnop' 'https://%s:%d/qps/%s/session?xrfkey=abcdefghijklmnop'\n\n",
		shellQuote(abs), curlResolve, first, s.QPSPort(), prefix)
	qrsResolve := ""
	if s.QRSHost() != resolve[s.QRSHost()] {
		qrsResolve = fmt.Sprintf(" --resolve %s:%d:%s", s.QRSHost(), s.QRSPort(), resolve[s.QRSHost()])
	}
	fmt.Fprintf(w, "List the virtual proxies (QRS):\n")
	fmt.Fprintf(w, "  cd %s && curl --cert client.pem --key client_key.pem --cacert root.pem%s -H 'X-Qlik-Xrfkey: abcdefghijklmnop' -H 'X-Qlik-User: UserDirectory=INTERNAL; UserId=sa_api' 'https://%s:%d/qrs/virtualproxyconfig/full?xrfkey=abcdefghijklmnop'\n\n",
		shellQuote(abs), qrsResolve, s.QRSHost(), s.QRSPort())
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

// samplePrefix picks "finance" in the seed lab, else the first linked
// non-default prefix, else the default one.
func samplePrefix(lab qliksim.Lab) string {
	pick := ""
	for _, vp := range lab.VirtualProxies {
		if vp.Prefix == "finance" {
			return vp.Prefix
		}
		if pick == "" && vp.Prefix != "" && len(vp.LinkedTo) > 0 {
			pick = vp.Prefix
		}
	}
	return pick
}

func shellQuote(s string) string {
	if strings.ContainsAny(s, " '\"$`\\") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
