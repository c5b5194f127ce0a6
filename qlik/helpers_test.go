package qlik_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

const (
	central = "pro2-win1.lab.ptarmiganlabs.net"
	dev1    = "pro2-win2.lab.ptarmiganlabs.net"

	goranID     = "a906ee6b-a8da-4c66-9700-48036c96de7b"
	testuser1ID = "55142b14-8d2d-43b3-a522-4b2fb46b2798"
	testuser2ID = "d1b5d953-4312-4cf2-a106-1992a84dd82b"
	testuser3ID = "e9a9c1d3-2d75-4559-9a68-48d1180b3859"
	testuser4ID = "6ac3b0ea-7d87-41d6-bede-89eb43c63e38"
)

// startSim starts a simulator (seed lab unless opts say otherwise) that
// closes with the test.
func startSim(t testing.TB, opts ...qliksim.Option) *qliksim.Server {
	t.Helper()
	s, err := qliksim.Start(append([]qliksim.Option{qliksim.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// simConfig points a client at s over mutual TLS, reaching the lab's host
// names through s.Resolve().
func simConfig(s *qliksim.Server) qlik.Config {
	return qlik.Config{
		QRSHost: s.QRSHost(),
		QRSPort: s.QRSPort(),
		QPSPort: s.QPSPort(),
		CertPEM: s.CertPEM(),
		KeyPEM:  s.KeyPEM(),
		RootPEM: s.RootPEM(),
		Resolve: s.Resolve(),
		// A loaded 2-core machine running -race can take seconds per call;
		// tests that count calls must not see a retry caused by that.
		Timeout:           30 * time.Second,
		ReadRetries:       -1,
		RequestsPerSecond: -1, // most tests are not about the rate limit
		RetryBackoff:      time.Millisecond,
		Logger:            slog.New(slog.DiscardHandler),
	}
}

func newClient(t testing.TB, s *qliksim.Server, mod func(*qlik.Config)) *qlik.Client {
	t.Helper()
	cfg := simConfig(s)
	if mod != nil {
		mod(&cfg)
	}
	c, err := qlik.New(cfg)
	if err != nil {
		t.Fatalf("qlik.New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// count returns how many logged requests match.
func count(reqs []qliksim.Request, match func(qliksim.Request) bool) int {
	n := 0
	for _, r := range reqs {
		if match(r) {
			n++
		}
	}
	return n
}

func isQRS(r qliksim.Request) bool { return r.Service == "qrs" }
func isQPS(r qliksim.Request) bool { return r.Service == "qps" }

func method(m string) func(qliksim.Request) bool {
	return func(r qliksim.Request) bool { return r.Method == m }
}

// sessionIDs lists the ids in order.
func sessionIDs(ls []qlik.LocatedSession) []string {
	out := make([]string, len(ls))
	for i, s := range ls {
		out[i] = s.ID
	}
	return out
}

func prefixesOf(vps []qlik.VirtualProxy) []string {
	out := make([]string, len(vps))
	for i, vp := range vps {
		out[i] = vp.Prefix + "|" + vp.SessionCookieHeader
	}
	return out
}

func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q does not contain %q", s, sub)
		}
	}
}
