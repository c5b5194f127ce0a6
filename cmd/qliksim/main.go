// Command qliksim runs the Qlik Sense simulator (QRS, QPS, engine health
// checks) standalone: it writes its CA and client certificates to a folder
// and prints how to point a client (qlikbot, curl, Ctrl-Q) at it, with the
// QLIKBOT_QLIK_* settings ready to paste. It stops on SIGINT/SIGTERM.
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

	"github.com/qlikbot/qlikbot/authz"
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
	enginePort        int
	capacity          [3]int // QPS, QRS, engine: served at once per node, 0 no limit
	advertiseLoopback bool
	users, sessions   int
	vproxies, nodes   int
	seed              int64
	latency, jitter   time.Duration
	certs             string
	verbose           bool
	portSet           map[string]bool // port flags given explicitly
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("qliksim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listenIPs, "listen-ips", "", "comma-separated IP per node (default 127.0.0.1, 127.0.0.2, ...)")
	fs.IntVar(&o.qrsPort, "qrs-port", 4242, "QRS port (falls back to a free port if the default is taken)")
	fs.IntVar(&o.qpsPort, "qps-port", 4243, "QPS port on every node address (same fallback)")
	fs.IntVar(&o.enginePort, "engine-port", 4747, "engine health check port on every node address (same fallback)")
	def := qliksim.DefaultCapacities()
	fs.IntVar(&o.capacity[0], "qps-capacity", def.QPS.InFlight, "QPS requests one node serves at once; twice as many wait, more get 503 (0: no limit; a model, not Qlik's figure)")
	fs.IntVar(&o.capacity[1], "qrs-capacity", def.QRS.InFlight, "QRS requests served at once, as --qps-capacity")
	fs.IntVar(&o.capacity[2], "engine-capacity", def.Engine.InFlight, "engine health checks one node serves at once, as --qps-capacity")
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
	o.portSet = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.portSet[f.Name] = true })
	if o.latency < 0 || o.jitter < 0 {
		return o, errors.New("--latency and --jitter must not be negative")
	}
	for _, n := range []int{o.users, o.sessions, o.vproxies, o.nodes} {
		if n < 0 {
			return o, errors.New("--users, --sessions, --vproxies and --nodes must not be negative")
		}
	}
	for _, n := range o.capacity {
		if n < 0 {
			return o, errors.New("--qps-capacity, --qrs-capacity and --engine-capacity must not be negative")
		}
	}
	return o, nil
}

// capacities turns the capacity flags into the simulator's model: each
// service queues twice what it serves at once.
func (o options) capacities() qliksim.Capacities {
	c := func(n int) qliksim.Capacity { return qliksim.Capacity{InFlight: n, Queue: 2 * n} }
	return qliksim.Capacities{QPS: c(o.capacity[0]), QRS: c(o.capacity[1]), Engine: c(o.capacity[2])}
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
		qliksim.WithSeed(o.seed), qliksim.WithRequestLogLimit(10000), qliksim.WithCapacity(o.capacities())}
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
	s, err := qliksim.Start(append(opts, qliksim.WithPorts(o.qrsPort, o.qpsPort), qliksim.WithEnginePort(o.enginePort))...)
	if fb := o.fallbackPorts(); err != nil && fb != (ports{o.qrsPort, o.qpsPort, o.enginePort}) {
		fmt.Fprintf(stderr, "qliksim: ports %d/%d/%d are not all free (%v); using free ports for the ones not given\n", o.qrsPort, o.qpsPort, o.enginePort, err)
		s, err = qliksim.Start(append(opts, qliksim.WithPorts(fb.qrsPort, fb.qpsPort), qliksim.WithEnginePort(fb.enginePort))...)
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
	// qlikbot wants a policy once QLIKBOT_QLIK_HOST is set: the demo one,
	// beside the certificates, makes the printed settings complete.
	if err := os.WriteFile(filepath.Join(o.certs, demoPolicyFile), authz.DemoPolicyYAML(), 0o644); err != nil {
		fmt.Fprintln(stderr, "qliksim: write the demo policy:", err)
		return 1
	}
	printUsage(stdout, s, lab, labName, o.certs)
	<-ctx.Done()
	fmt.Fprintln(stdout, "qliksim: stopping")
	return 0
}

// fallbackPorts returns o with every port not given on the command line
// set to 0 (any free port): a default port in use is no reason to fail,
// an explicit one is.
func (o options) fallbackPorts() ports {
	p := ports{o.qrsPort, o.qpsPort, o.enginePort}
	if !o.portSet["qrs-port"] {
		p.qrsPort = 0
	}
	if !o.portSet["qps-port"] {
		p.qpsPort = 0
	}
	if !o.portSet["engine-port"] {
		p.enginePort = 0
	}
	return p
}

type ports struct{ qrsPort, qpsPort, enginePort int }

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

// demoPolicyFile is the demo policy's name in the certificate directory.
const demoPolicyFile = "demo-policy.yaml"

func printUsage(w io.Writer, s *qliksim.Server, lab qliksim.Lab, labName, certDir string) {
	abs, err := filepath.Abs(certDir)
	if err != nil {
		abs = certDir
	}
	resolve := s.Resolve()
	fmt.Fprintf(w, "qliksim: Qlik Sense simulator running with %s (%d nodes, %d virtual proxies, %d sessions)\n",
		labName, len(lab.Nodes), len(lab.VirtualProxies), s.AllSessions())
	fmt.Fprintf(w, "  QRS     https://%s:%d  (listening on %s)\n", s.QRSHost(), s.QRSPort(), resolve[s.QRSHost()])
	fmt.Fprintf(w, "  QPS     port %d, engine health checks port %d, on every node:\n", s.QPSPort(), s.EnginePort())
	for _, h := range s.Hosts() {
		fmt.Fprintf(w, "            %s -> %s\n", h, resolve[h])
	}
	fmt.Fprintf(w, "  certs (as the QMC exports them) in %s: client.pem client_key.pem root.pem\n", abs)
	fmt.Fprintf(w, "  capacity per node (a model for testing, not Qlik's figures): %s\n\n", capacityText(s))

	// qlikbot's resolve map: host:address pairs (curl --resolve's order).
	var resolvePairs []string
	for _, h := range s.Hosts() {
		if h != resolve[h] {
			resolvePairs = append(resolvePairs, h+":"+resolve[h])
		}
	}
	fmt.Fprintln(w, "Point qlikbot at it (paste into its environment):")
	settings := []string{
		"QLIKBOT_QLIK_HOST=" + s.QRSHost(),
		fmt.Sprintf("QLIKBOT_QLIK_QRS_PORT=%d", s.QRSPort()),
		fmt.Sprintf("QLIKBOT_QLIK_QPS_PORT=%d", s.QPSPort()),
		"QLIKBOT_QLIK_CERT=" + shellQuote(filepath.Join(abs, "client.pem")),
		"QLIKBOT_QLIK_KEY=" + shellQuote(filepath.Join(abs, "client_key.pem")),
		"QLIKBOT_QLIK_ROOT=" + shellQuote(filepath.Join(abs, "root.pem")),
		"QLIKBOT_POLICY=" + shellQuote(filepath.Join(abs, demoPolicyFile)),
	}
	if len(resolvePairs) > 0 {
		settings = append(settings, "QLIKBOT_QLIK_RESOLVE="+strings.Join(resolvePairs, ","))
	}
	for _, line := range settings {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintf(w, "  (%s is qlikbot's demo policy: console users oncall, lead, admin, deputy, tester; add your Slack or Teams ids to try it there)\n", demoPolicyFile)
	if len(resolvePairs) > 0 {
		fmt.Fprintln(w, "  (the host names are not in DNS: QLIKBOT_QLIK_RESOLVE maps them to the loopback IPs; or restart with --advertise-loopback)")
	}
	fmt.Fprintln(w)

	prefix := samplePrefix(lab)
	first := s.Hosts()[0]
	curlResolve := func(host string, port int) string {
		if host == resolve[host] {
			return ""
		}
		return fmt.Sprintf(" --resolve %s:%d:%s", host, port, resolve[host])
	}
	fmt.Fprintf(w, "List the %q sessions on %s over mutual TLS:\n", prefix, first)
	fmt.Fprintf(w, "  cd %s && curl --cert client.pem --key client_key.pem --cacert root.pem%s -H 'X-Qlik-Xrfkey: abcdefghijklmnop' 'https://%s:%d/qps/%s/session?xrfkey=abcdefghijklmnop'\n\n",
		shellQuote(abs), curlResolve(first, s.QPSPort()), first, s.QPSPort(), prefix)
	fmt.Fprintf(w, "List the virtual proxies (QRS):\n")
	fmt.Fprintf(w, "  cd %s && curl --cert client.pem --key client_key.pem --cacert root.pem%s -H 'X-Qlik-Xrfkey: abcdefghijklmnop' -H 'X-Qlik-User: UserDirectory=INTERNAL; UserId=sa_api' 'https://%s:%d/qrs/virtualproxyconfig/full?xrfkey=abcdefghijklmnop'\n\n",
		shellQuote(abs), curlResolve(s.QRSHost(), s.QRSPort()), s.QRSHost(), s.QRSPort())
	fmt.Fprintf(w, "The engine health of %s:\n", first)
	fmt.Fprintf(w, "  cd %s && curl --cert client.pem --key client_key.pem --cacert root.pem%s 'https://%s:%d/engine/healthcheck/'\n\n",
		shellQuote(abs), curlResolve(first, s.EnginePort()), first, s.EnginePort())
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

func capacityText(s *qliksim.Server) string {
	c := s.Capacities()
	one := func(name string, x qliksim.Capacity) string {
		if x.InFlight == 0 {
			return name + " no limit"
		}
		return fmt.Sprintf("%s %d at once, %d waiting", name, x.InFlight, x.Queue)
	}
	return one("QPS", c.QPS) + "; " + one("QRS", c.QRS) + "; " + one("engine", c.Engine)
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
