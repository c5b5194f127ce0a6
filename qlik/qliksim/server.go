package qliksim

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a running simulated Qlik Sense site. It is safe for concurrent use.
type Server struct {
	log              *slog.Logger
	nodes            []*node
	vps              []VirtualProxy
	qrs              *endpoint
	qps              []*endpoint // one per node, same index
	engine           []*endpoint // one per node, same index
	qrsPort, qpsPort int
	enginePort       int
	capacities       Capacities
	started          time.Time // reported by the engine health check

	ca        *authority
	client    *issued
	clientCAs *x509.CertPool

	state  *state
	faults *faults
	reqlog *requestLog

	// Close bookkeeping: handlers register under hmu unless closing, so
	// Close can wait for them without racing WaitGroup.Add against Wait.
	hmu       sync.Mutex
	closing   bool
	active    sync.WaitGroup
	closed    chan struct{}
	closeOnce sync.Once
}

// node is one simulated server node with its proxy service.
type node struct {
	idx        int
	lab        Node
	advertised string
	ip         string
	proxy      ProxyService
	cert       atomic.Pointer[tls.Certificate]
}

// Start generates a CA and certificates in memory, binds every listener on
// loopback and starts serving. Close it when done.
func Start(opts ...Option) (*Server, error) {
	cfg := config{seed: 1, capacities: DefaultCapacities()}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("qliksim option: %w", err)
		}
	}
	if p := cfg.enginePort; p != 0 && (p == cfg.qrsPort || p == cfg.qpsPort) {
		return nil, fmt.Errorf("qliksim option: the engine port %d is taken by QRS or QPS", p)
	}
	if !cfg.labSet {
		cfg.lab = SeedLab()
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		log:        cfg.logger.With("component", "qliksim"),
		closed:     make(chan struct{}),
		reqlog:     &requestLog{limit: cfg.logLimit},
		capacities: cfg.capacities,
		started:    time.Now(),
	}
	if err := s.build(cfg); err != nil {
		return nil, err
	}
	if err := s.listen(cfg); err != nil {
		return nil, err
	}
	s.log.Info("qliksim started", "qrs", net.JoinHostPort(s.nodes[0].ip, strconv.Itoa(s.qrsPort)),
		"qps_port", s.qpsPort, "engine_port", s.enginePort, "nodes", s.Hosts())
	return s, nil
}

// build validates the lab, creates nodes, certificates and state.
func (s *Server) build(cfg config) error {
	lab := cfg.lab
	if len(lab.Nodes) == 0 {
		return errors.New("qliksim: lab has no nodes")
	}
	ips := cfg.listenIPs
	if len(ips) == 0 {
		if len(lab.Nodes) > 254 {
			return fmt.Errorf("qliksim: %d nodes do not fit in 127.0.0.0/24; give WithListenIPs", len(lab.Nodes))
		}
		for i := range lab.Nodes {
			ips = append(ips, "127.0.0."+strconv.Itoa(i+1))
		}
	}
	if len(ips) != len(lab.Nodes) {
		return fmt.Errorf("qliksim: %d listen IPs for %d nodes", len(ips), len(lab.Nodes))
	}
	proxyByNode := map[string]ProxyService{}
	for _, ps := range lab.ProxyServices {
		proxyByNode[ps.NodeID] = ps
	}
	nodeIdx := map[string]int{}
	seenIP := map[string]bool{}
	for i, n := range lab.Nodes {
		ps, ok := proxyByNode[n.ID]
		if !ok {
			return fmt.Errorf("qliksim: node %q has no proxy service", n.HostName)
		}
		if _, dup := nodeIdx[n.ID]; dup {
			return fmt.Errorf("qliksim: duplicate node id %q", n.ID)
		}
		if seenIP[ips[i]] {
			return fmt.Errorf("qliksim: listen IP %s given twice", ips[i])
		}
		seenIP[ips[i]] = true
		nodeIdx[n.ID] = i
		adv := n.HostName
		if cfg.advertiseLoopback {
			adv = ips[i]
		}
		s.nodes = append(s.nodes, &node{idx: i, lab: n, advertised: adv, ip: ips[i], proxy: ps})
	}
	// A proxy cannot route two linked virtual proxies with one prefix.
	linkedPrefix := map[string]string{}
	for _, vp := range lab.VirtualProxies {
		for _, id := range vp.LinkedTo {
			if _, ok := nodeIdx[id]; !ok {
				return fmt.Errorf("qliksim: virtual proxy %q linked to unknown node id %q", vp.Prefix, id)
			}
			k := id + "\x00" + strings.ToLower(vp.Prefix)
			if other, dup := linkedPrefix[k]; dup {
				return fmt.Errorf("qliksim: virtual proxies %s and %s share prefix %q on one node", other, vp.ID, vp.Prefix)
			}
			linkedPrefix[k] = vp.ID
		}
	}
	s.vps = cloneVPs(lab.VirtualProxies)

	var err error
	if s.ca, err = newAuthority("qliksim root CA"); err != nil {
		return fmt.Errorf("qliksim: %w", err)
	}
	if s.client, err = s.ca.issue("QlikClient", true, nil, nil); err != nil {
		return fmt.Errorf("qliksim: %w", err)
	}
	s.clientCAs = x509.NewCertPool()
	s.clientCAs.AddCert(s.ca.cert)
	if err := s.issueServerCerts(s.ca); err != nil {
		return err
	}

	s.state = newState()
	for _, ls := range lab.Sessions {
		n := s.nodeByHost(ls.NodeHost)
		if n == nil {
			return fmt.Errorf("qliksim: lab session %s on unknown host %q", ls.Session.ID, ls.NodeHost)
		}
		vp, ok := s.linkedVP(n, ls.Prefix)
		if !ok {
			return fmt.Errorf("qliksim: lab session %s: no virtual proxy %q linked to %s", ls.Session.ID, ls.Prefix, ls.NodeHost)
		}
		if _, err := s.state.add(n.idx, vp.ID, ls.Session, false); err != nil {
			return fmt.Errorf("qliksim: lab session on %s/%s: %w", ls.NodeHost, ls.Prefix, err)
		}
	}
	s.faults = newFaults(len(s.nodes), cfg.seed)
	return nil
}

func (s *Server) issueServerCerts(ca *authority) error {
	for _, n := range s.nodes {
		c, err := ca.serverCert(n.advertised, n.ip)
		if err != nil {
			return fmt.Errorf("qliksim: server certificate for %s: %w", n.advertised, err)
		}
		n.cert.Store(c)
	}
	return nil
}

// ReplaceServerCerts swaps every node's server certificate for one signed by
// a new CA that RootPEM does not contain. New handshakes see it at once;
// connections already open keep their certificate. Session tickets issued
// before are void (new ticket keys), as after a real server's restart:
// a resumed session would skip the new certificate.
func (s *Server) ReplaceServerCerts() error {
	ca, err := newAuthority("qliksim impostor CA")
	if err != nil {
		return fmt.Errorf("qliksim: %w", err)
	}
	if err := s.issueServerCerts(ca); err != nil {
		return err
	}
	var key [32]byte
	_, _ = rand.Read(key[:]) // crypto/rand.Read never fails (Go 1.24+)
	for _, e := range append(append([]*endpoint{s.qrs}, s.qps...), s.engine...) {
		e.tlsConf.SetSessionTicketKeys([][32]byte{key})
	}
	return nil
}

// Close stops every listener, ends open connections and waits for running
// handlers. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.hmu.Lock()
		s.closing = true
		s.hmu.Unlock()
		close(s.closed) // wakes injected latency and handshake delays
		s.qrs.stop()
		for _, e := range append(s.qps, s.engine...) {
			e.stop()
		}
		s.active.Wait()
		s.log.Info("qliksim stopped")
	})
}

// enter registers a running handler or serve loop; false once closing.
func (s *Server) enter() bool {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if s.closing {
		return false
	}
	s.active.Add(1)
	return true
}

// QRSHost is the host name QRS is reached at (the first node's advertised name).
func (s *Server) QRSHost() string { return s.nodes[0].advertised }

// QRSPort is the port QRS listens on.
func (s *Server) QRSPort() int { return s.qrsPort }

// QPSPort is the port QPS listens on, on every node address.
func (s *Server) QPSPort() int { return s.qpsPort }

// EnginePort is the port every node's engine health check listens on
// (Qlik's default is 4747; QRS reports it in settings.listenerPorts).
func (s *Server) EnginePort() int { return s.enginePort }

// Hosts returns the advertised node host names in lab order.
func (s *Server) Hosts() []string {
	out := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = n.advertised
	}
	return out
}

// Resolve maps each advertised host name to the IP it listens on (no port),
// like curl --resolve.
func (s *Server) Resolve() map[string]string {
	m := make(map[string]string, len(s.nodes))
	for _, n := range s.nodes {
		m[n.advertised] = n.ip
	}
	return m
}

// CertPEM is the client certificate (the QMC's client.pem).
func (s *Server) CertPEM() []byte { return clone(s.client.certPEM) }

// KeyPEM is the client key (client_key.pem), PKCS#8.
func (s *Server) KeyPEM() []byte { return clone(s.client.keyPEM) }

// RootPEM is the CA that signed the client and (original) server certificates (root.pem).
func (s *Server) RootPEM() []byte { return clone(s.ca.pem) }

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// nodeByHost finds a node by advertised host name, then by lab host name
// (both case-insensitive, as DNS names are).
func (s *Server) nodeByHost(host string) *node {
	for _, n := range s.nodes {
		if strings.EqualFold(n.advertised, host) {
			return n
		}
	}
	for _, n := range s.nodes {
		if strings.EqualFold(n.lab.HostName, host) {
			return n
		}
	}
	return nil
}

// linkedVP finds the virtual proxy with this prefix linked to node n.
func (s *Server) linkedVP(n *node, prefix string) (VirtualProxy, bool) {
	for _, vp := range s.vps {
		if strings.EqualFold(vp.Prefix, prefix) && containsID(vp.LinkedTo, n.lab.ID) {
			return vp, true
		}
	}
	return VirtualProxy{}, false
}

func containsID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func cloneVPs(in []VirtualProxy) []VirtualProxy {
	out := make([]VirtualProxy, len(in))
	for i, vp := range in {
		vp.LoadBalancingNodes = append([]string(nil), vp.LoadBalancingNodes...)
		vp.LinkedTo = append([]string(nil), vp.LinkedTo...)
		out[i] = vp
	}
	return out
}
