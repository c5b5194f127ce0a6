package qliksim

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Request is one request the simulator answered, for assertions (the rate
// a client kept, one DELETE per session, which node was asked).
type Request struct {
	Time    time.Time // when it arrived
	Node    string    // advertised host name of the node that received it
	Service string    // "qrs", "qps" or "engine"
	Method  string
	Path    string // raw path as received, e.g. "/qps//session"
	Query   string // raw query
	Status  int
	User    string // X-Qlik-User header as received
	// Resumed: the TLS connection it came on was resumed from an earlier
	// session (an abbreviated handshake, no certificate exchange).
	Resumed bool
}

type requestLog struct {
	mu    sync.Mutex
	limit int // 0: unlimited
	reqs  []Request
}

func (s *Server) record(n *node, service string, r *http.Request, start time.Time, status int) {
	path, query, _ := strings.Cut(r.RequestURI, "?")
	req := Request{
		Time: start, Node: n.advertised, Service: service, Method: r.Method,
		Path: path, Query: query, Status: status, User: r.Header.Get("X-Qlik-User"),
		Resumed: r.TLS != nil && r.TLS.DidResume,
	}
	l := s.reqlog
	l.mu.Lock()
	l.reqs = append(l.reqs, req)
	if l.limit > 0 && len(l.reqs) > l.limit {
		// Drop the oldest half at once so trimming stays amortised O(1).
		keep := max(l.limit/2, 1)
		l.reqs = append([]Request(nil), l.reqs[len(l.reqs)-keep:]...)
	}
	l.mu.Unlock()
	// The query is not logged: it holds the xrfkey.
	s.log.Debug("request", "service", service, "node", n.advertised, "method", r.Method,
		"path", loggedPath(service, path), "status", status, "took", time.Since(start))
}

// loggedPath is path as the log shows it: a session id (the segment after
// "session" in a QPS path) cut to its first 8 characters. The demo runs
// the simulator in-process, logging into qlikbot's log, where a full id
// (its user's session cookie) must never appear.
func loggedPath(service, path string) string {
	if service != "qps" {
		return path
	}
	segs := strings.Split(path, "/")
	for i := 1; i < len(segs); i++ {
		if strings.EqualFold(segs[i-1], "session") && len(segs[i]) > 8 {
			segs[i] = segs[i][:8] + "…"
		}
	}
	return strings.Join(segs, "/")
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.reqlog.mu.Lock()
	defer s.reqlog.mu.Unlock()
	return append([]Request(nil), s.reqlog.reqs...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.reqlog.mu.Lock()
	defer s.reqlog.mu.Unlock()
	s.reqlog.reqs = nil
}
