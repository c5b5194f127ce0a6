package qlik_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/qlik"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
)

func TestShortID(t *testing.T) {
	t.Parallel()
	tests := []struct{ id, want string }{
		{id: goranID, want: "a906ee6b..."},
		{id: "abcd", want: "ab..."},
		{id: "x", want: "..."},
		{id: "", want: "..."},
		{id: "ééééé", want: "éé..."},
	}
	for _, tt := range tests {
		if got := qlik.ShortID(tt.id); got != tt.want {
			t.Errorf("ShortID(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

// TestSessionIDsNeverWhole: a session id is a credential. Errors and log
// lines (debug level included) name a session by its first 8 characters,
// through failed deletes, retried reads, 404s and refused ids.
func TestSessionIDsNeverWhole(t *testing.T) {
	t.Parallel()
	s := startSim(t)
	var logs testkit.Buffer
	c := newClient(t, s, func(c *qlik.Config) {
		c.ReadRetries = 1
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	if _, err := c.Topology(t.Context()); err != nil {
		t.Fatal(err)
	}
	var errs []error
	// 404: not found on this node.
	_, err := c.Session(t.Context(), "finance", dev1, testuser1ID)
	errs = append(errs, err)
	// 500 on every call: a retried read and a failed delete.
	if err := s.SetFault(central, qliksim.Fault{ErrorRate: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Session(t.Context(), "finance", central, testuser2ID)
	errs = append(errs, err)
	outs := c.DeleteSessions(t.Context(), []qlik.DeleteTarget{
		{Prefix: "win", Host: central, SessionID: testuser3ID},
		{Prefix: "win", Host: central, SessionID: " " + testuser4ID}, // refused before sending
	})
	for _, o := range outs {
		if o.Status != qlik.Failed {
			t.Fatalf("%s: %s, want failed", qlik.ShortID(o.Target.SessionID), o.Status)
		}
		errs = append(errs, o.Err)
	}
	ids := []string{testuser1ID, testuser2ID, testuser3ID, testuser4ID}
	passed := []string{testuser1ID, testuser2ID, testuser3ID, " " + testuser4ID}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		msg := err.Error()
		for _, id := range ids {
			if strings.Contains(msg, id) {
				t.Errorf("error names session %s in full: %s", qlik.ShortID(id), msg)
			}
		}
		if want := qlik.ShortID(passed[i]); !strings.Contains(msg, want) {
			t.Errorf("error %q does not name the session as %s", msg, want)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "retrying Qlik call") {
		t.Fatalf("no retry was logged; the check below would prove nothing:\n%s", out)
	}
	for _, id := range ids {
		if strings.Contains(out, id) {
			t.Errorf("a log line names session %s in full:\n%s", qlik.ShortID(id), out)
		}
	}
	// The simulator got the whole id, of course.
	if n := count(s.Requests(), func(r qliksim.Request) bool { return strings.HasSuffix(r.Path, "/session/"+testuser3ID) }); n != 1 {
		t.Errorf("%d DELETEs of the whole id, want 1", n)
	}
}
