package qliksim_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestRequestLog(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := newClient(t, s, tlsConfig(t, s))
	mustCall(t, c, http.MethodGet, qrsURL(s, "/qrs/virtualproxyconfig/full?filter=prefix%20eq%20%27win%27"), nil, 200)
	mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps//session"), nil, 200)
	mustCall(t, c, http.MethodDelete, qpsURL(s, central, "/qps/win/session/"+testuser3), nil, 200)
	mustCall(t, c, http.MethodGet, qpsURL(s, dev1, "/qps/nope/session"), nil, 404)

	want := []qliksim.Request{
		{Node: central, Service: "qrs", Method: "GET", Path: "/qrs/virtualproxyconfig/full", Query: "filter=prefix%20eq%20%27win%27&xrfkey=" + xrf, Status: 200},
		{Node: central, Service: "qps", Method: "GET", Path: "/qps//session", Query: "xrfkey=" + xrf, Status: 200},
		{Node: central, Service: "qps", Method: "DELETE", Path: "/qps/win/session/" + testuser3, Query: "xrfkey=" + xrf, Status: 200},
		{Node: dev1, Service: "qps", Method: "GET", Path: "/qps/nope/session", Query: "xrfkey=" + xrf, Status: 404},
	}
	got := s.Requests()
	if len(got) != len(want) {
		t.Fatalf("%d requests logged, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Time.IsZero() || g.User != "UserDirectory=INTERNAL; UserId=sa_api" {
			t.Fatalf("request %d: time %v, user %q", i, g.Time, g.User)
		}
		if i > 0 && g.Time.Before(got[i-1].Time) {
			t.Fatalf("request %d logged out of order", i)
		}
		g.Time, g.User = w.Time, w.User
		if g != w {
			t.Fatalf("request %d = %+v, want %+v", i, g, w)
		}
	}
	got[0].Path = "changed" // a copy: the log is not affected
	if s.Requests()[0].Path != "/qrs/virtualproxyconfig/full" {
		t.Fatal("Requests returned the log itself, not a copy")
	}
	s.ResetRequests()
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("%d requests after ResetRequests", n)
	}
}

func TestRequestLogLimit(t *testing.T) {
	t.Parallel()
	s := start(t, qliksim.WithRequestLogLimit(4))
	c := newClient(t, s, tlsConfig(t, s))
	for i := range 10 {
		mustCall(t, c, http.MethodGet, qpsURL(s, central, fmt.Sprintf("/qps/win/session/%d", i)), nil, 404)
	}
	got := s.Requests()
	if len(got) < 2 || len(got) > 4 || got[len(got)-1].Path != "/qps/win/session/9" {
		t.Fatalf("log kept %+v, want the newest 2..4", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	lab := qliksim.Generate(qliksim.GenOptions{Users: 40, Sessions: 200, VirtualProxies: 4, Nodes: 2, Seed: 3})
	s := start(t, qliksim.WithLab(lab))
	c := newClient(t, s, tlsConfig(t, s))

	// Two workers race to delete every session; each must be deleted once.
	type target struct{ host, path string }
	var targets []target
	for _, ls := range lab.Sessions {
		targets = append(targets, target{ls.NodeHost, "/qps/" + ls.Prefix + "/session/" + ls.Session.ID})
	}
	var mu sync.Mutex
	deleted := map[string]int{}
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := range targets {
				tg := targets[(i+w*50)%len(targets)]
				if w%2 == 1 && i%4 != 0 {
					continue
				}
				if w%2 == 1 { // half of the workers only read
					resp, err := call(t.Context(), c, http.MethodGet, qpsURL(s, tg.host, "/qps/vp2/session"), nil)
					if err != nil || resp.status != 200 {
						errs <- fmt.Errorf("list: %d %v", resp.status, err)
						return
					}
					_ = s.Sessions(tg.host, "vp2")
					_ = s.Requests()
					continue
				}
				resp, err := call(t.Context(), c, http.MethodDelete, qpsURL(s, tg.host, tg.path), nil)
				if err != nil || (resp.status != 200 && resp.status != 404) {
					errs <- fmt.Errorf("delete: %d %v", resp.status, err)
					return
				}
				if resp.status == 200 {
					mu.Lock()
					deleted[tg.path]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() { // concurrent fault changes and adds
		for i := range 50 {
			s.SetFaultAll(qliksim.Fault{ErrorRate: 0})
			if _, err := s.AddSession("node1.sim.qlik.test", "vp3", qliksim.Session{UserDirectory: "EXTRA", UserID: fmt.Sprint("u", i)}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(deleted) != len(targets) {
		t.Fatalf("%d of %d sessions deleted", len(deleted), len(targets))
	}
	for p, n := range deleted {
		if n != 1 {
			t.Fatalf("%s deleted %d times", p, n)
		}
	}
	if got := s.AllSessions(); got != 50 {
		t.Fatalf("AllSessions = %d, want the 50 added", got)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	seed := qliksim.SeedLab()
	dupPrefix := qliksim.SeedLab()
	dupPrefix.VirtualProxies[27].LinkedTo = []string{seed.Nodes[0].ID} // the second "hdr", onto Central
	badSession := qliksim.SeedLab()
	badSession.Sessions[0].Prefix = "mobile" // not linked
	tests := []struct {
		name string
		opts []qliksim.Option
		want string
	}{
		{"empty lab", []qliksim.Option{qliksim.WithLab(qliksim.Lab{})}, "no nodes"},
		{"one listen IP for two nodes", []qliksim.Option{qliksim.WithListenIPs("127.0.0.1")}, "listen IPs"},
		{"not an IP", []qliksim.Option{qliksim.WithListenIPs("localhost", "127.0.0.2")}, "not an IP"},
		{"two linked virtual proxies share a prefix", []qliksim.Option{qliksim.WithLab(dupPrefix)}, "share prefix"},
		{"lab session on an unlinked proxy", []qliksim.Option{qliksim.WithLab(badSession)}, "no virtual proxy"},
		{"same port twice", []qliksim.Option{qliksim.WithPorts(5000, 5000)}, "different ports"},
		{"nil logger", []qliksim.Option{qliksim.WithLogger(nil)}, "nil logger"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := qliksim.Start(tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %q, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	a := start(t)
	_, err := qliksim.Start(qliksim.WithPorts(0, a.QPSPort()))
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second simulator on the same QPS port: %v, want address in use", err)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	s, err := qliksim.Start()
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, tlsConfig(t, s))
	mustCall(t, c, http.MethodGet, qpsURL(s, central, "/qps//session"), nil, 200)
	s.Close()
	s.Close() // idempotent
	for _, u := range []string{qpsURL(s, central, "/qps//session"), qpsURL(s, dev1, "/qps/dev/session"), qrsURL(s, "/qrs/about")} {
		if _, err := call(t.Context(), c, http.MethodGet, u, nil); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("GET %s after Close: %v, want connection refused", u, err)
		}
	}
	// Healing a closed server does not reopen it.
	s.SetFaultAll(qliksim.Fault{})
	if _, err := call(t.Context(), c, http.MethodGet, qrsURL(s, "/qrs/about"), nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET after Close and SetFaultAll: %v, want connection refused", err)
	}
}
