package qliksim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault is what goes wrong on one node. The zero Fault is a healthy node.
// Latency, Jitter, Down, ErrorRate and HandshakeDelay apply to every
// service of the node (QPS, its engine, and QRS on the first node); the
// last three change only what the engine health check reports.
type Fault struct {
	Latency        time.Duration // added to every request on that node (while it holds a capacity slot)
	Jitter         time.Duration // + uniform random [0, Jitter)
	Down           bool          // node refuses connections (listeners closed; reopened when cleared)
	ErrorRate      float64       // fraction of requests answered 500 (deterministic: seeded RNG)
	HandshakeDelay time.Duration // delay before the TLS handshake completes

	Saturated bool // the engine reports "saturated": true
	HighCPU   bool // the engine reports cpu.total 97
	LowMemory bool // the engine reports 3% of its physical memory free
}

func (f Fault) validate() error {
	switch {
	case f.Latency < 0 || f.Jitter < 0 || f.HandshakeDelay < 0:
		return fmt.Errorf("negative duration in fault %+v", f)
	case f.ErrorRate < 0 || f.ErrorRate > 1 || f.ErrorRate != f.ErrorRate:
		return fmt.Errorf("error rate %v is not within [0, 1]", f.ErrorRate)
	}
	return nil
}

// faults holds every node's Fault and the seeded RNG that decides jitter
// and injected errors.
type faults struct {
	mu     sync.Mutex
	byNode []Fault
	rng    *rand.Rand

	// toggle serialises Down transitions (listener close / reopen).
	toggle sync.Mutex
}

func newFaults(nodes int, seed int64) *faults {
	return &faults{byNode: make([]Fault, nodes), rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

func (f *faults) get(i int) Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byNode[i]
}

// roll decides one request's fate on node i: how long to stall and whether
// to answer 500.
func (f *faults) roll(i int) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft := f.byNode[i]
	d := ft.Latency
	if ft.Jitter > 0 {
		d += time.Duration(f.rng.Int64N(int64(ft.Jitter)))
	}
	fail := ft.ErrorRate > 0 && f.rng.Float64() < ft.ErrorRate
	return d, fail
}

// SetFault sets the fault of the node with this advertised host name,
// replacing the previous one. A zero Fault heals the node.
func (s *Server) SetFault(host string, f Fault) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("set fault on %s: %w", host, err)
	}
	n := s.nodeByHost(host)
	if n == nil {
		return fmt.Errorf("set fault: unknown host %q (valid: %s)", host, strings.Join(s.Hosts(), ", "))
	}
	return s.applyFault(n, f)
}

// SetFaultAll sets the same fault on every node. An invalid fault (negative
// duration, ErrorRate outside [0, 1]) is ignored and logged.
func (s *Server) SetFaultAll(f Fault) {
	if err := f.validate(); err != nil {
		s.log.Error("set fault on all nodes", "err", err)
		return
	}
	for _, n := range s.nodes {
		if err := s.applyFault(n, f); err != nil {
			s.log.Error("set fault", "node", n.advertised, "err", err)
		}
	}
}

func (s *Server) applyFault(n *node, f Fault) error {
	s.faults.toggle.Lock()
	defer s.faults.toggle.Unlock()
	s.faults.mu.Lock()
	s.faults.byNode[n.idx] = f
	s.faults.mu.Unlock()

	eps := []*endpoint{s.qps[n.idx], s.engine[n.idx]}
	if n.idx == 0 { // QRS runs on the first node: it goes down with it
		eps = append(eps, s.qrs)
	}
	for _, e := range eps {
		if f.Down {
			e.stop()
			continue
		}
		if err := e.start(); err != nil {
			return fmt.Errorf("bring %s back up: %w", n.advertised, err)
		}
	}
	s.log.Info("fault set", "node", n.advertised, "fault", fmt.Sprintf("%+v", f))
	return nil
}

// statusClientGone is logged when the client gave up during injected
// latency (nginx's convention; nothing is sent).
const statusClientGone = 499

const xrfFailure = "XSRF prevention check failed. Possible XSRF discovered."

// wrap applies, in order: request logging, the capacity gate (see
// Capacity), faults, the Xrfkey check (not on the engine, whose health
// check Butler SOS calls without one), then h.
func (s *Server) wrap(n *node, service string, g *gate, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.enter() {
			http.Error(w, "simulator closed", http.StatusServiceUnavailable)
			return
		}
		defer s.active.Done()
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() { s.record(n, service, r, start, sw.code()) }()

		if err := g.acquire(r.Context(), s.closed); err != nil {
			s.refuse(sw, r, n, service, err)
			return
		}
		defer g.release()
		delay, fail := s.faults.roll(n.idx)
		if delay > 0 {
			if err := s.pause(r.Context(), delay); err != nil {
				s.refuse(sw, r, n, service, err)
				return
			}
		}
		if fail {
			http.Error(sw, "Internal server error (qliksim injected fault)", http.StatusInternalServerError)
			return
		}
		if service != "engine" && !validXrfkey(r) {
			http.Error(sw, xrfFailure, http.StatusForbidden)
			return
		}
		h.ServeHTTP(sw, r)
	})
}

// refuse ends a request that waited in vain: 503 when the queue was full
// or the simulator closed; when the client gave up, the connection is
// aborted and 499 logged.
func (s *Server) refuse(sw *statusWriter, r *http.Request, n *node, service string, err error) {
	switch {
	case errors.Is(err, errOverloaded):
		sw.Header().Set("Retry-After", "1")
		http.Error(sw, fmt.Sprintf("Service unavailable: %s on %s is at capacity (qliksim model)", service, n.advertised), http.StatusServiceUnavailable)
	case r.Context().Err() != nil:
		sw.status = statusClientGone
		// Abort the connection: returning would send an implicit empty
		// 200, which a client past its deadline can still receive. The
		// deferred record logs the 499.
		panic(http.ErrAbortHandler)
	default:
		http.Error(sw, "simulator closed", http.StatusServiceUnavailable)
	}
}

// validXrfkey: a query parameter named xrfkey in any case, exactly 16
// characters of [0-9A-Za-z], equal to the X-Qlik-Xrfkey header.
func validXrfkey(r *http.Request) bool {
	key, found := "", false
	for name, vals := range r.URL.Query() {
		if !strings.EqualFold(name, "xrfkey") {
			continue
		}
		if found || len(vals) != 1 {
			return false
		}
		key, found = vals[0], true
	}
	if !found || len(key) != 16 {
		return false
	}
	for _, c := range key {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	hdr := r.Header.Values("X-Qlik-Xrfkey")
	return len(hdr) == 1 && hdr[0] == key
}

// statusWriter remembers the status code sent.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
