package qliksim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// endpoint is one listening service (QRS, or QPS on one node) that can be
// taken down and brought back up by a Down fault.
type endpoint struct {
	s       *Server
	n       *node
	service string // "qrs", "qps" or "engine"
	addr    string
	tlsConf *tls.Config
	handler http.Handler
	gate    *gate // outlives Down faults: its counters cover the whole run

	mu  sync.Mutex
	srv *http.Server // nil while down or closed
	ln  net.Listener // srv's listener, closed by stop even before Serve runs
}

// listen binds every listener (before serving anything, so a port clash
// fails Start cleanly) and starts the endpoints.
func (s *Server) listen(cfg config) error {
	ips := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		ips[i] = n.ip
	}
	qpsLns, port, err := listenAll(ips, cfg.qpsPort)
	if err != nil {
		return fmt.Errorf("qliksim: QPS: %w", err)
	}
	engLns, engPort, err := listenAll(ips, cfg.enginePort)
	if err != nil {
		closeAll(qpsLns)
		return fmt.Errorf("qliksim: engine: %w", err)
	}
	qrsLn, err := net.Listen("tcp", net.JoinHostPort(ips[0], strconv.Itoa(cfg.qrsPort)))
	if err != nil {
		closeAll(qpsLns)
		closeAll(engLns)
		return fmt.Errorf("qliksim: QRS: %w", err)
	}
	s.qpsPort, s.enginePort = port, engPort
	s.qrsPort = qrsLn.Addr().(*net.TCPAddr).Port

	s.qrs = s.newEndpoint(s.nodes[0], "qrs", qrsLn.Addr().String(), http.HandlerFunc(s.serveQRS))
	s.qrs.serve(qrsLn)
	for i, n := range s.nodes {
		e := s.newEndpoint(n, "qps", qpsLns[i].Addr().String(), s.qpsHandler(n))
		s.qps = append(s.qps, e)
		e.serve(qpsLns[i])
		e = s.newEndpoint(n, "engine", engLns[i].Addr().String(), s.engineHandler(n))
		s.engine = append(s.engine, e)
		e.serve(engLns[i])
	}
	return nil
}

// listenAll binds the same port on every IP. With port 0 it lets the kernel
// pick one on the first IP and retries if another IP has it taken.
func listenAll(ips []string, port int) ([]net.Listener, int, error) {
	attempts := 1
	if port == 0 {
		attempts = 20
	}
	var lastErr error
	for range attempts {
		lns, err := tryListenAll(ips, port)
		if err == nil {
			return lns, lns[0].Addr().(*net.TCPAddr).Port, nil
		}
		lastErr = err
	}
	return nil, 0, lastErr
}

func tryListenAll(ips []string, port int) ([]net.Listener, error) {
	var lns []net.Listener
	for _, ip := range ips {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			closeAll(lns)
			return nil, err
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		_ = ln.Close()
	}
}

func (s *Server) newEndpoint(n *node, service, addr string, h http.Handler) *endpoint {
	e := &endpoint{s: s, n: n, service: service, addr: addr, gate: newGate(s.capacities.of(service))}
	e.handler = s.wrap(n, service, e.gate, h)
	e.tlsConf = &tls.Config{
		MinVersion: tls.VersionTLS12,
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  s.clientCAs,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if d := s.faults.get(n.idx).HandshakeDelay; d > 0 {
				if err := s.pause(hello.Context(), d); err != nil {
					return nil, fmt.Errorf("handshake delay on %s: %w", n.advertised, err)
				}
			}
			return n.cert.Load(), nil
		},
	}
	return e
}

// serve starts serving on ln unless the server is closing.
func (e *endpoint) serve(ln net.Listener) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil || !e.s.enter() {
		_ = ln.Close()
		return
	}
	srv := &http.Server{
		Handler:           e.handler,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute, // a long-running simulator should not collect dead keep-alives
		// Handshake failures (a client without a certificate) are expected
		// in tests: debug level, not noise.
		ErrorLog: slog.NewLogLogger(e.s.log.With("service", e.service, "node", e.n.advertised).Handler(), slog.LevelDebug),
	}
	e.srv, e.ln = srv, ln
	go func() {
		defer e.s.active.Done()
		err := srv.Serve(tls.NewListener(ln, e.tlsConf))
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.s.log.Error("serve", "service", e.service, "addr", e.addr, "err", err)
		}
	}()
}

// stop closes the listener and every open connection (a node going down
// drops its keep-alive connections too).
func (e *endpoint) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		// Close the server first (so Serve reports ErrServerClosed), then
		// the listener too: a Serve goroutine that has not run yet would
		// leave it open, and the kernel would accept connections only to
		// reset them.
		_ = e.srv.Close()
		_ = e.ln.Close()
		e.srv, e.ln = nil, nil
	}
}

// start re-binds the endpoint's address after a Down fault is cleared.
func (e *endpoint) start() error {
	e.mu.Lock()
	up := e.srv != nil
	e.mu.Unlock()
	if up {
		return nil
	}
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		return fmt.Errorf("reopen %s on %s: %w", e.service, e.addr, err)
	}
	e.serve(ln)
	return nil
}

// pause waits d, or less if ctx ends or the server closes. It is the only
// deliberate waiting in the simulator (latency and handshake faults).
func (s *Server) pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return errClosed
	}
}

// errClosed: the simulator closed while a request waited.
var errClosed = errors.New("simulator closed")
