package qlik_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

// TestSessionsPartial: one node failing gives the other node's sessions
// plus one PairError per failed pair, with a message that says what to do.
func TestSessionsPartial(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fault qliksim.Fault
		mod   func(*qlik.Config)
		sel   qlik.Selection
		warm  bool // list once first: topology cached, connections open
		// want: sessions from the healthy node and failed pairs on dev1
		wantSessions, wantErrors int
		check                    func(t *testing.T, pe *qlik.PairError)
	}{
		{name: "node down", fault: qliksim.Fault{Down: true}, wantSessions: 5, wantErrors: 5, check: func(t *testing.T, pe *qlik.PairError) {
			var ce *qlik.ConnError
			if !errors.As(pe, &ce) {
				t.Fatalf("err = %v, want *ConnError", pe)
			}
			mustContain(t, pe.Error(), dev1, "nothing accepts connections at "+ce.Addr, "down", "xrfkey=REDACTED")
		}},
		// Few pairs, so the healthy ones finish well within the timeout even
		// on a loaded machine: butler on both nodes, win on central.
		{name: "node slower than the timeout", fault: qliksim.Fault{Latency: time.Minute}, warm: true,
			sel: qlik.Selection{Prefixes: []string{"butler", "win"}}, wantSessions: 2, wantErrors: 1,
			mod: func(c *qlik.Config) { c.Timeout, c.ReadRetries, c.TopologyTTL = 2*time.Second, -1, time.Hour },
			check: func(t *testing.T, pe *qlik.PairError) {
				var ce *qlik.ConnError
				if !errors.As(pe, &ce) || !ce.Timeout() || !errors.Is(pe, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want a timeout *ConnError", pe)
				}
				mustContain(t, pe.Error(), dev1, "no answer from", "within the timeout of 2s", "xrfkey=REDACTED")
			}},
		{name: "node answering 500", fault: qliksim.Fault{ErrorRate: 1}, wantSessions: 5, wantErrors: 5,
			mod: func(c *qlik.Config) { c.ReadRetries = 0 }, // the default: 2
			check: func(t *testing.T, pe *qlik.PairError) {
				var he *qlik.HTTPError
				if !errors.As(pe, &he) || he.Status != http.StatusInternalServerError {
					t.Fatalf("err = %v, want a 500 *HTTPError", pe)
				}
				mustContain(t, pe.Error(), "after 3 attempts", "xrfkey=REDACTED")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startSim(t)
			c := newClient(t, s, tt.mod)
			if tt.warm {
				if _, err := c.Sessions(t.Context(), tt.sel); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SetFault(dev1, tt.fault); err != nil {
				t.Fatal(err)
			}
			list, err := c.Sessions(t.Context(), tt.sel)
			if err != nil {
				t.Fatalf("Sessions: %v", err)
			}
			if got := len(list.Sessions); got != tt.wantSessions {
				t.Errorf("%d sessions from the healthy node, want %d", got, tt.wantSessions)
			}
			if got := len(list.Errors); got != tt.wantErrors {
				t.Fatalf("%d pair errors, want %d (the pairs on %s): %v", got, tt.wantErrors, dev1, list.Errors)
			}
			for _, pe := range list.Errors {
				if pe.Proxy.Node.HostName != dev1 {
					t.Errorf("pair error on %s, want only %s", pe.Proxy.Node.HostName, dev1)
				}
				tt.check(t, pe)
			}
		})
	}
}

// TestForbiddenXrfkey drops the Xrfkey header on the way out so the
// simulator answers its real 403, and checks the error explains it.
func TestForbiddenXrfkey(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	qlik.SetBeforeSend(c, func(r *http.Request) { r.Header.Del("X-Qlik-Xrfkey") })
	_, err := c.Topology(t.Context())
	var he *qlik.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden || !errors.Is(err, qlik.ErrForbidden) {
		t.Fatalf("err = %v, want a 403 *HTTPError that Is ErrForbidden", err)
	}
	mustContain(t, err.Error(), "XSRF prevention check failed", "Xrfkey", "X-Qlik-Xrfkey", "client certificate", "xrfkey=REDACTED")
	if errors.Is(err, qlik.ErrNotFound) {
		t.Error("a 403 must not be ErrNotFound")
	}
	// A 403 is not retried.
	if n := count(s.Requests(), isQRS); n != 2 {
		t.Errorf("%d QRS calls, want 2 (no retries on 403)", n)
	}
}

// TestTLSErrors: certificate trouble is reported with what to check.
func TestTLSErrors(t *testing.T) {
	t.Parallel()
	other := startSim(t)
	tests := []struct {
		name  string
		setup func(s *qliksim.Server, cfg *qlik.Config) error
		check func(t *testing.T, err error)
	}{
		{name: "wrong root", setup: func(s *qliksim.Server, cfg *qlik.Config) error {
			cfg.RootPEM = other.RootPEM()
			return nil
		}, check: unknownAuthority},
		{name: "server certificates replaced", setup: func(s *qliksim.Server, cfg *qlik.Config) error {
			return s.ReplaceServerCerts()
		}, check: unknownAuthority},
		{name: "host name not in the certificate", setup: func(s *qliksim.Server, cfg *qlik.Config) error {
			// Dial central's address for dev1's name: central presents its
			// own certificate, which does not name dev1.
			cfg.Resolve = map[string]string{central: s.Resolve()[central], dev1: s.Resolve()[central]}
			return nil
		}, check: func(t *testing.T, err error) {
			var he x509.HostnameError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v, want x509.HostnameError", err)
			}
			mustContain(t, err.Error(), "not issued for that name", central, dev1, "Resolve")
		}},
		{name: "client certificate from another site", setup: func(s *qliksim.Server, cfg *qlik.Config) error {
			cfg.CertPEM, cfg.KeyPEM = other.CertPEM(), other.KeyPEM()
			return nil
		}, check: func(t *testing.T, err error) {
			mustContain(t, err.Error(), "refused our TLS client certificate", "client.pem")
		}},
		{name: "skip verify reaches a replaced certificate", setup: func(s *qliksim.Server, cfg *qlik.Config) error {
			cfg.InsecureSkipVerify = true
			return s.ReplaceServerCerts()
		}, check: func(t *testing.T, err error) {
			if err != nil {
				t.Fatalf("with InsecureSkipVerify: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startSim(t)
			cfg := simConfig(s)
			if err := tt.setup(s, &cfg); err != nil {
				t.Fatal(err)
			}
			c, err := qlik.New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer c.Close()
			// Topology reaches QRS on central; the dev1 pairs reach QPS on dev1.
			list, err := c.Sessions(t.Context(), qlik.Selection{Hosts: []string{dev1}})
			if err == nil && len(list.Errors) > 0 {
				err = list.Errors[0]
			}
			tt.check(t, err)
		})
	}
}

func unknownAuthority(t *testing.T, err error) {
	t.Helper()
	var ua x509.UnknownAuthorityError
	var ce *qlik.ConnError
	if !errors.As(err, &ua) || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *ConnError wrapping x509.UnknownAuthorityError", err)
	}
	mustContain(t, err.Error(), "not signed by the configured root certificate", "root.pem", central)
}

// TestRetries: reads are retried on 5xx, deletes and logouts never.
func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		retries   int
		call      func(ctx context.Context, c *qlik.Client) error
		method    string
		wantCalls int
	}{
		{name: "get retried twice by default", method: http.MethodGet, wantCalls: 3, call: func(ctx context.Context, c *qlik.Client) error {
			_, err := c.Session(ctx, "finance", central, testuser1ID)
			return err
		}},
		{name: "get with retries off", retries: -1, method: http.MethodGet, wantCalls: 1, call: func(ctx context.Context, c *qlik.Client) error {
			_, err := c.UserSessions(ctx, "finance", central, qlik.UserRef{Directory: "LAB", ID: "testuser_1"})
			return err
		}},
		{name: "delete never retried", method: http.MethodDelete, wantCalls: 1, call: func(ctx context.Context, c *qlik.Client) error {
			return c.DeleteSession(ctx, qlik.DeleteTarget{Prefix: "finance", Host: central, SessionID: testuser1ID}).Err
		}},
		{name: "logout never retried", method: http.MethodDelete, wantCalls: 1, call: func(ctx context.Context, c *qlik.Client) error {
			_, err := c.Logout(ctx, "finance", central, qlik.UserRef{Directory: "LAB", ID: "testuser_1"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startSim(t)
			c := newClient(t, s, func(c *qlik.Config) { c.ReadRetries = tt.retries })
			if _, err := c.Topology(t.Context()); err != nil { // warm the cache before breaking the QRS node
				t.Fatal(err)
			}
			if err := s.SetFault(central, qliksim.Fault{ErrorRate: 1}); err != nil {
				t.Fatal(err)
			}
			s.ResetRequests()
			err := tt.call(t.Context(), c)
			var he *qlik.HTTPError
			if !errors.As(err, &he) || he.Status != 500 {
				t.Fatalf("err = %v, want a 500 *HTTPError", err)
			}
			reqs := s.Requests()
			if n := count(reqs, method(tt.method)); n != tt.wantCalls || len(reqs) != n {
				t.Errorf("%d %s calls (%d in all), want %d", n, tt.method, len(reqs), tt.wantCalls)
			}
			if got := s.Sessions(central, "finance"); !slices.ContainsFunc(got, func(x qliksim.Session) bool { return x.ID == testuser1ID }) {
				t.Error("a failed call changed the sessions")
			}
		})
	}
}

func TestPing(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.SetFault(central, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	c.Close() // drop the warm connection so the next call dials
	err := c.Ping(t.Context())
	var ce *qlik.ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("Ping with QRS down = %v, want *ConnError", err)
	}
	mustContain(t, err.Error(), "ping QRS", "nothing accepts connections")
}
