package qlik_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/qlikbench"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestDeleteSessions(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	targets := []qlik.DeleteTarget{
		{Prefix: "finance", Host: central, SessionID: testuser1ID},
		{Prefix: "", Host: central, SessionID: goranID},
		{Prefix: "finance", Host: central, SessionID: "no-such-session"},
		{Prefix: "finance", Host: "qlik.example.com", SessionID: testuser2ID},
		{Prefix: "win", Host: dev1, SessionID: testuser3ID}, // win is not linked to dev1
		{Prefix: "nope", Host: central, SessionID: testuser2ID},
		{Prefix: "win", Host: central, SessionID: ".."},
	}
	got := c.DeleteSessions(t.Context(), targets)
	want := []qlik.Status{qlik.Deleted, qlik.Deleted, qlik.AlreadyGone, qlik.Failed, qlik.Failed, qlik.Failed, qlik.Failed}
	if len(got) != len(targets) {
		t.Fatalf("%d outcomes for %d targets", len(got), len(targets))
	}
	for i, o := range got {
		if o.Target != targets[i] {
			t.Errorf("outcome %d is for %+v, want %+v (same order as the targets)", i, o.Target, targets[i])
		}
		if o.Status != want[i] {
			t.Errorf("outcome %d (%s): %s (%v), want %s", i, targets[i].SessionID, o.Status, o.Err, want[i])
		}
		if (o.Err != nil) != (o.Status == qlik.Failed) {
			t.Errorf("outcome %d: status %s with err %v", i, o.Status, o.Err)
		}
	}
	var he *qlik.UnknownHostError
	if !errors.As(got[3].Err, &he) {
		t.Errorf("unknown host: %v, want *UnknownHostError", got[3].Err)
	}
	mustContain(t, got[4].Err.Error(), "not linked", dev1)
	var pe *qlik.UnknownPrefixError
	if !errors.As(got[5].Err, &pe) {
		t.Errorf("unknown prefix: %v, want *UnknownPrefixError", got[5].Err)
	}
	mustContain(t, got[6].Err.Error(), "invalid session id")

	// One DELETE per valid target, none for the rejected ones.
	dels := s.Requests()
	var paths []string
	for _, r := range dels {
		if r.Method == http.MethodDelete {
			paths = append(paths, r.Path)
		}
	}
	sort.Strings(paths)
	wantPaths := []string{"/qps//session/" + goranID, "/qps/finance/session/" + testuser1ID, "/qps/finance/session/no-such-session"}
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("DELETEs sent: %v, want %v", paths, wantPaths)
	}
	if left := s.Sessions(central, "finance"); len(left) != 1 || left[0].ID != testuser2ID {
		t.Errorf("finance sessions left: %+v, want only testuser_2's", left)
	}

	// Deleting again: already gone.
	if o := c.DeleteSession(t.Context(), targets[0]); o.Status != qlik.AlreadyGone || o.Err != nil {
		t.Errorf("second delete: %s %v, want already gone", o.Status, o.Err)
	}
}

func TestSessionAndEscaping(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	got, err := c.Session(t.Context(), "win", central, testuser3ID)
	if err != nil || got.ID != testuser3ID || got.User() != (qlik.UserRef{Directory: "LAB", ID: "testuser_3"}) {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	// An id that tries to walk out of its segment stays in it and is
	// simply not found.
	_, err = c.Session(t.Context(), "win", central, "../../user/LAB/testuser_3?x=1")
	if !errors.Is(err, qlik.ErrNotFound) {
		t.Fatalf("escaping id: %v, want ErrNotFound", err)
	}
	reqs := s.Requests()
	want := "/qps/win/session/..%2F..%2Fuser%2FLAB%2Ftestuser_3%3Fx=1"
	if !slices.ContainsFunc(reqs, func(r qliksim.Request) bool { return r.Path == want }) {
		t.Errorf("no request with path %s in %v", want, reqs)
	}
}

func TestUserSessionsAndLogout(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, nil)
	u := qlik.UserRef{Directory: "LAB", ID: "testuser_3"}
	for range 2 {
		if _, err := s.AddSession(central, "win", qliksim.Session{UserDirectory: "LAB", UserID: "testuser_3"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddSession(central, "", qliksim.Session{UserDirectory: "LAB", UserID: "testuser_3"}); err != nil {
		t.Fatal(err)
	}
	ss, err := c.UserSessions(t.Context(), "win", central, u)
	if err != nil || len(ss) != 3 {
		t.Fatalf("UserSessions = %d sessions, %v; want 3", len(ss), err)
	}
	ended, err := c.Logout(t.Context(), "win", central, u)
	if err != nil || len(ended) != 3 {
		t.Fatalf("Logout = %d sessions, %v; want 3", len(ended), err)
	}
	if !slices.Equal(ids(ended), ids(ss)) {
		t.Errorf("ended %v, listed %v", ids(ended), ids(ss))
	}
	if ss, err := c.UserSessions(t.Context(), "win", central, u); err != nil || len(ss) != 0 {
		t.Errorf("after logout: %d sessions, %v", len(ss), err)
	}
	// Logout is per virtual proxy: the default proxy's session stays.
	if left := s.Sessions(central, ""); len(left) != 2 {
		t.Errorf("default proxy holds %d sessions, want 2 (goran's and testuser_3's)", len(left))
	}
	if _, err := c.Logout(t.Context(), "win", "qlik.example.com", u); !errors.As(err, new(*qlik.UnknownHostError)) {
		t.Errorf("logout on unknown host: %v", err)
	}
}

func ids(ss []qlik.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

// TestRateLimit: the simulator never logs more than RequestsPerSecond
// DELETEs in any one-second window, burst included.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	const rps = 20
	s := startSim(t)
	c := newClient(t, s, func(c *qlik.Config) { c.RequestsPerSecond, c.Concurrency = rps, 8 })
	if _, err := c.Topology(t.Context()); err != nil {
		t.Fatal(err)
	}
	var ts []qlik.DeleteTarget
	for i := range 2*rps + 5 {
		ts = append(ts, qlik.DeleteTarget{Prefix: "finance", Host: central, SessionID: fmt.Sprintf("gone-%d", i)})
	}
	for i, o := range c.DeleteSessions(t.Context(), ts) {
		if o.Status != qlik.AlreadyGone {
			t.Errorf("target %d: %s %v", i, o.Status, o.Err)
		}
	}
	reqs := s.Requests()
	if len(reqs) != len(ts)+2 {
		t.Errorf("%d requests logged, want %d", len(reqs), len(ts)+2)
	}
	var dels []qliksim.Request
	for _, r := range reqs {
		if r.Method == http.MethodDelete {
			dels = append(dels, r)
		}
	}
	if peak := qlikbench.PeakPerSecond(dels); peak > rps {
		t.Errorf("peak %d requests in one second, limit %d", peak, rps)
	} else {
		t.Logf("peak %d requests in one second (limit %d)", peak, rps)
	}
}

// TestReadsAreNotPaced: the rate limit paces writes only. At one write
// per thousand seconds a list of the whole seed lab (26 pairs, 2 QRS
// calls) still completes; a paced one would take hours.
func TestReadsAreNotPaced(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	c := newClient(t, s, func(c *qlik.Config) { c.RequestsPerSecond, c.Burst = 0.001, 1 })
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	list, err := c.Sessions(ctx, qlik.Selection{})
	if err != nil || len(list.Errors) > 0 {
		t.Fatalf("Sessions: %v %v", err, list.Errors)
	}
	if len(list.Sessions) != 5 {
		t.Errorf("%d sessions, want the seed lab's 5", len(list.Sessions))
	}
	// The writes are paced: one goes through on the burst, the next waits
	// far past its deadline and says so.
	if o := c.DeleteSession(ctx, qlik.DeleteTarget{Prefix: "win", Host: central, SessionID: testuser3ID}); o.Status != qlik.Deleted {
		t.Fatalf("first delete: %s %v", o.Status, o.Err)
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	o := c.DeleteSession(short, qlik.DeleteTarget{Prefix: "win", Host: central, SessionID: testuser4ID})
	if o.Status != qlik.Failed || !strings.Contains(o.Err.Error(), "rate limit") {
		t.Errorf("second delete: %s %v, want a failure waiting for the rate limit", o.Status, o.Err)
	}
	if n := count(s.Requests(), method(http.MethodDelete)); n != 1 {
		t.Errorf("%d DELETEs reached Qlik, want 1", n)
	}
}
