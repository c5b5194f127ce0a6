package qlik_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestSessionsSelection(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	topo, err := c.Topology(t.Context())
	if err != nil {
		t.Fatalf("Topology: %v", err)
	}
	var winID string
	for _, vp := range topo.VirtualProxies {
		if vp.Prefix == "win" {
			winID = vp.ID
		}
	}
	tests := []struct {
		name         string
		sel          qlik.Selection
		wantIDs      []string
		wantPairs    int
		wantUnlinked []string
	}{
		{name: "all", sel: qlik.Selection{},
			wantIDs:      []string{goranID, testuser1ID, testuser2ID, testuser3ID, testuser4ID},
			wantPairs:    29,
			wantUnlinked: []string{"mobile|X-Qlik-Session-mob", "hdr|X-Qlik-Session-hdr-dev", "hdr-access1|X-Qlik-Session-hdr-access1"}},
		// finance is linked to both nodes (the seed's "dev1: ...: 0").
		{name: "prefix finance", sel: qlik.Selection{Prefixes: []string{"finance"}},
			wantIDs: []string{testuser1ID, testuser2ID}, wantPairs: 2},
		{name: "prefix case-insensitive", sel: qlik.Selection{Prefixes: []string{"FINANCE"}},
			wantIDs: []string{testuser1ID, testuser2ID}, wantPairs: 2},
		{name: "default proxy", sel: qlik.Selection{Prefixes: []string{""}},
			wantIDs: []string{goranID}, wantPairs: 1},
		{name: "two prefixes in topology order", sel: qlik.Selection{Prefixes: []string{"win", ""}},
			wantIDs: []string{goranID, testuser3ID, testuser4ID}, wantPairs: 2},
		{name: "duplicate prefix hdr lists both", sel: qlik.Selection{Prefixes: []string{"hdr"}},
			wantPairs: 1, wantUnlinked: []string{"hdr|X-Qlik-Session-hdr-dev"}},
		{name: "by virtual proxy id", sel: qlik.Selection{VirtualProxyIDs: []string{winID}},
			wantIDs: []string{testuser3ID, testuser4ID}, wantPairs: 1},
		{name: "by host dev1", sel: qlik.Selection{Hosts: []string{dev1}}, wantPairs: 5,
			wantUnlinked: []string{"mobile|X-Qlik-Session-mob", "hdr|X-Qlik-Session-hdr-dev", "hdr-access1|X-Qlik-Session-hdr-access1"}},
		{name: "by host central and prefix", sel: qlik.Selection{Hosts: []string{central}, Prefixes: []string{"butler", "win"}},
			wantIDs: []string{testuser3ID, testuser4ID}, wantPairs: 2},
		{name: "by user", sel: qlik.Selection{User: &qlik.UserRef{Directory: "LAB", ID: "testuser_3"}},
			wantIDs: []string{testuser3ID}, wantPairs: 29,
			wantUnlinked: []string{"mobile|X-Qlik-Session-mob", "hdr|X-Qlik-Session-hdr-dev", "hdr-access1|X-Qlik-Session-hdr-access1"}},
		{name: "by user and prefix", sel: qlik.Selection{User: &qlik.UserRef{Directory: "LAB", ID: "testuser_1"}, Prefixes: []string{"finance"}},
			wantIDs: []string{testuser1ID}, wantPairs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Sessions(t.Context(), tt.sel)
			if err != nil {
				t.Fatalf("Sessions: %v", err)
			}
			if ids := sessionIDs(got.Sessions); !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("session ids = %v, want %v", ids, tt.wantIDs)
			}
			if len(got.Selected) != tt.wantPairs {
				t.Errorf("asked %d pairs, want %d", len(got.Selected), tt.wantPairs)
			}
			if u := prefixesOf(got.Unlinked); !slices.Equal(u, tt.wantUnlinked) {
				t.Errorf("unlinked = %v, want %v", u, tt.wantUnlinked)
			}
			if len(got.Errors) != 0 {
				t.Errorf("errors: %v", got.Errors)
			}
			for _, ls := range got.Sessions {
				if !strings.EqualFold(ls.VirtualProxy.Prefix, prefixOfID(ls.ID)) || ls.Proxy.Node.HostName != central {
					t.Errorf("session %s located at %q on %s", ls.ID, ls.VirtualProxy.Prefix, ls.Proxy.Node.HostName)
				}
			}
		})
	}
}

func prefixOfID(id string) string {
	switch id {
	case goranID:
		return ""
	case testuser1ID, testuser2ID:
		return "finance"
	default:
		return "win"
	}
}

// TestSessionsWire checks what goes over the wire for one list: one QPS GET
// per pair, the default proxy as "/qps//session", a fresh valid Xrfkey and
// the X-Qlik-User header on every call.
func TestSessionsWire(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, func(c *qlik.Config) { c.UserDirectory, c.UserID = "LAB", "qlikbot" })
	list, err := c.Sessions(t.Context(), qlik.Selection{})
	if err != nil {
		t.Fatalf("Sessions: %v", err)
	}
	reqs := s.Requests()
	if n := count(reqs, isQPS); n != len(list.Selected) {
		t.Errorf("%d QPS calls for %d pairs", n, len(list.Selected))
	}
	if n := count(reqs, isQRS); n != 2 {
		t.Errorf("%d QRS calls, want 2", n)
	}
	if n := count(reqs, func(r qliksim.Request) bool { return r.Path == "/qps//session" }); n != 1 {
		t.Errorf("default proxy asked %d times as /qps//session, want 1", n)
	}
	keys := map[string]bool{}
	for _, r := range reqs {
		if r.Status != 200 {
			t.Errorf("%s %s: status %d", r.Method, r.Path, r.Status)
		}
		if r.User != "UserDirectory=LAB; UserId=qlikbot" {
			t.Errorf("X-Qlik-User = %q", r.User)
		}
		k := strings.TrimPrefix(r.Query, "xrfkey=")
		if len(k) != 16 || strings.ContainsFunc(k, func(c rune) bool {
			return !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z')
		}) {
			t.Errorf("query %q: no valid xrfkey", r.Query)
		}
		if keys[k] {
			t.Errorf("xrfkey %q reused", k)
		}
		keys[k] = true
	}
}

func TestSessionsBadSelection(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	tests := []struct {
		name  string
		sel   qlik.Selection
		check func(t *testing.T, err error)
	}{
		{name: "unknown prefix", sel: qlik.Selection{Prefixes: []string{"finance", "nope"}}, check: func(t *testing.T, err error) {
			var pe *qlik.UnknownPrefixError
			if !errors.As(err, &pe) || pe.Prefix != "nope" || !slices.Contains(pe.Valid, "finance") || !slices.Contains(pe.Valid, "") {
				t.Fatalf("err = %v, want *UnknownPrefixError for nope listing finance and the default", err)
			}
			mustContain(t, err.Error(), `"nope"`, `"finance"`, `"" (default)`)
		}},
		{name: "unknown host", sel: qlik.Selection{Hosts: []string{"qlik.example.com"}}, check: func(t *testing.T, err error) {
			var he *qlik.UnknownHostError
			if !errors.As(err, &he) || !slices.Equal(he.Valid, []string{central, dev1}) {
				t.Fatalf("err = %v, want *UnknownHostError listing both hosts", err)
			}
			mustContain(t, err.Error(), "qlik.example.com", central, dev1)
		}},
		{name: "unknown virtual proxy id", sel: qlik.Selection{VirtualProxyIDs: []string{"no-such-id"}}, check: func(t *testing.T, err error) {
			if !errors.Is(err, qlik.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		}},
		{name: "user with a dot-dot id", sel: qlik.Selection{User: &qlik.UserRef{Directory: "LAB", ID: ".."}}, check: func(t *testing.T, err error) {
			mustContain(t, err.Error(), "invalid user id")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			list, err := c.Sessions(t.Context(), tt.sel)
			if err == nil {
				t.Fatalf("Sessions = %d sessions, want an error", len(list.Sessions))
			}
			tt.check(t, err)
		})
	}
	// Bad selections are answered from the topology: no QPS call at all.
	// (Cleanup runs after the parallel subtests.)
	t.Cleanup(func() {
		if n := count(s.Requests(), isQPS); n != 0 {
			t.Errorf("%d QPS calls for bad selections", n)
		}
	})
}

// TestAdvertiseLoopback: a simulator that advertises plain addresses is
// reached without a Resolve map, and the certificates' IP names verify.
func TestAdvertiseLoopback(t *testing.T) {
	t.Parallel()
	s := startSim(t, qliksim.WithAdvertiseLoopback())
	c := newClient(t, s, func(c *qlik.Config) { c.Resolve = nil })
	list, err := c.Sessions(t.Context(), qlik.Selection{Prefixes: []string{"finance"}})
	if err != nil || len(list.Errors) > 0 {
		t.Fatalf("Sessions: %v %v", err, list.Errors)
	}
	if len(list.Sessions) != 2 || list.Sessions[0].Proxy.Node.HostName != s.Hosts()[0] {
		t.Errorf("got %d sessions on %v", len(list.Sessions), list.Selected)
	}
}

// TestCancelled: a caller that gave up gets its context's error and
// nothing is sent.
func TestCancelled(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Sessions(ctx, qlik.Selection{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Sessions: %v, want context.Canceled", err)
	}
	if o := c.DeleteSession(ctx, qlik.DeleteTarget{Prefix: "finance", Host: central, SessionID: testuser1ID}); o.Status != qlik.Failed || !errors.Is(o.Err, context.Canceled) {
		t.Errorf("DeleteSession: %s %v, want failed with context.Canceled", o.Status, o.Err)
	}
	if err := c.Ping(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Ping: %v, want context.Canceled", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests sent for cancelled calls", n)
	}
}
