package commands

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik/qliksim"
	"github.com/qlikbot/qlikbot/store"
)

// Chaos tests: Qlik slow or half down, the state store restarting. Each
// ends on what a user sees (reply kind, text, warnings) and on the
// simulator's request log: nothing lost, nothing done twice.

// TestChaosNodeDownList: with dev1 down (QRS lives on Central and stays
// up), lists give Central's sessions and a warning naming dev1.
func TestChaosNodeDownList(t *testing.T) {
	t.Parallel()
	c := newChaos(t, chaosConfig{})
	onCentral := c.addSessions(t, central, "butler", 2)
	c.addSessions(t, dev1, "butler", 2)
	if err := c.sim.SetFault(dev1, qliksim.Fault{Down: true}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		text    string
		wantIDs []string
	}{
		{"virtual proxy on both nodes", "sessions butler", onCentral},
		{"every virtual proxy", "sessions", append([]string{goranID, user1ID, user2ID, user3ID, user4ID}, onCentral...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := c.ask(t, "UVIEWER", tc.text)
			if r.Kind != bot.Warning {
				t.Fatalf("kind %v, want warning: %s", r.Kind, joined(r))
			}
			if got := sorted(column(t, r, "Session")); !slices.Equal(got, sorted(hs(tc.wantIDs...))) {
				t.Errorf("sessions %v, want Central's %v", got, sorted(tc.wantIDs))
			}
			warn := strings.Join(r.Warnings, "\n")
			if !strings.Contains(warn, "No answer") || !strings.Contains(warn, dev1) || !strings.Contains(warn, "nothing accepts connections") {
				t.Errorf("warnings do not name the node that is down and why:\n%s", warn)
			}
			if strings.Contains(warn, central) {
				t.Errorf("a warning names Central, which answered:\n%s", warn)
			}
		})
	}
}

// TestChaosNodeDownApproval: a kick approved while one of its nodes is
// down ends what it can, reports every other session as failed, and never
// sends a DELETE twice (not even on a second click).
func TestChaosNodeDownApproval(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// downBeforeRequest: dev1 is down when the kick is asked (its
		// sessions are left out of the snapshot with a warning); otherwise
		// it goes down between the request and the approval.
		downBeforeRequest bool
	}{
		{"node goes down after the request", false},
		{"node down before the request", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newChaos(t, chaosConfig{})
			onCentral := c.addSessions(t, central, "butler", 2)
			onDev1 := c.addSessions(t, dev1, "butler", 2)
			down := func() {
				if err := c.sim.SetFault(dev1, qliksim.Fault{Down: true}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.downBeforeRequest {
				down()
			}
			req := c.ask(t, "UADMIN", "kick butler")
			id := pendingID(t, req)
			snapshot := sorted(column(t, req, "Session"))
			if tc.downBeforeRequest {
				if !slices.Equal(snapshot, sorted(hs(onCentral...))) {
					t.Errorf("snapshot %v, want Central's %v", snapshot, sorted(onCentral))
				}
				if w := strings.Join(req.Warnings, "\n"); !strings.Contains(w, "Not included, no answer from dev1") || !strings.Contains(w, dev1) {
					t.Errorf("the approval request does not say dev1's sessions are left out:\n%s", w)
				}
			} else {
				if !slices.Equal(snapshot, sorted(hs(append(slices.Clone(onCentral), onDev1...)...))) {
					t.Errorf("snapshot %v, want both nodes' sessions", snapshot)
				}
				down()
			}

			r := c.approve(t, "UADMIN2", id)
			out := outcomes(t, r, append(slices.Clone(onCentral), onDev1...))
			for _, s := range onCentral {
				if out[s] != "deleted" {
					t.Errorf("Central session %s: outcome %q, want deleted", s, out[s])
				}
			}
			if tc.downBeforeRequest {
				if r.Kind != bot.Success || !strings.Contains(joined(r), "Deleted 2, already gone 0, failed 0") {
					t.Errorf("approval: %v %s", r.Kind, joined(r))
				}
				if len(out) != 2 {
					t.Errorf("outcomes for %d sessions, want the 2 of the snapshot: %v", len(out), out)
				}
			} else {
				if r.Kind != bot.Warning || !strings.Contains(joined(r), "Deleted 2, already gone 0, failed 2") ||
					!strings.Contains(strings.Join(r.Warnings, "\n"), "2 sessions could not be ended") {
					t.Errorf("approval on a half-down site: %v %s", r.Kind, joined(r))
				}
				for _, s := range onDev1 {
					if !strings.HasPrefix(out[s], "failed") || !strings.Contains(out[s], dev1) {
						t.Errorf("dev1 session %s: outcome %q, want failed naming %s", s, out[s], dev1)
					}
				}
			}
			again := c.approve(t, "UADMIN2", id) // the approver clicks again
			if again.Title != "Already decided" {
				t.Errorf("second click: %v %s", again.Kind, joined(again))
			}

			perSession, _ := c.deleteLog()
			for _, s := range onCentral {
				if perSession[s] != 1 {
					t.Errorf("Central session %s got %d DELETEs, want 1", s, perSession[s])
				}
			}
			wantDev1 := 2 // one attempt each, refused at the door, not retried
			if tc.downBeforeRequest {
				wantDev1 = 0 // not in the snapshot: never tried
			}
			if n := c.attempts.count("DELETE", dev1); n != wantDev1 {
				t.Errorf("%d DELETE attempts on dev1, want %d", n, wantDev1)
			}
			if n := c.attempts.count("DELETE", central); n != 2 {
				t.Errorf("%d DELETE attempts on Central, want 2", n)
			}
			if left := c.remaining(dev1, "butler", onDev1); len(left) != 2 {
				t.Errorf("dev1 sessions left %v, want both", left)
			}
			if left := c.remaining(central, "butler", onCentral); len(left) != 0 {
				t.Errorf("Central sessions left %v, want none", left)
			}
		})
	}
}

// TestChaosErrorRate: dev1 answers 500 to 30% of calls (seeded). Lists
// still complete because reads are retried; deletes are never retried
// and the reply tells exactly which failed.
func TestChaosErrorRate(t *testing.T) {
	t.Parallel()
	// Seed 3 gives 500s both to the list GETs and to some of the DELETEs
	// (the checks below fail if it did not, so the seed cannot rot).
	c := newChaos(t, chaosConfig{seed: 3, retries: 8})
	onDev := c.addSessions(t, dev1, "dev", 5)
	onTest := c.addSessions(t, dev1, "test", 5)
	onButler := append(c.addSessions(t, central, "butler", 2), c.addSessions(t, dev1, "butler", 2)...)
	if err := c.sim.SetFault(dev1, qliksim.Fault{ErrorRate: 0.3}); err != nil {
		t.Fatal(err)
	}

	t.Run("list", func(t *testing.T) {
		r := c.ask(t, "UVIEWER", "sessions dev test butler")
		if r.Kind != bot.Info || len(r.Warnings) != 0 {
			t.Fatalf("list through 500s: %v %s", r.Kind, joined(r))
		}
		want := sorted(slices.Concat(onDev, onTest, onButler))
		if got := sorted(column(t, r, "Session")); !slices.Equal(got, sorted(hs(want...))) {
			t.Errorf("sessions %v, want %v", got, want)
		}
		failedGets, okGets := 0, map[string]int{}
		for _, q := range c.sim.Requests() {
			if q.Node != dev1 || q.Method != "GET" {
				continue
			}
			if q.Status == 500 {
				failedGets++
			} else {
				okGets[q.Path]++
			}
		}
		if failedGets == 0 {
			t.Errorf("no GET on dev1 met a 500: the fault did not bite (seed)")
		}
		for path, n := range okGets {
			if n != 1 {
				t.Errorf("%s answered %d times, want once", path, n)
			}
		}
		if len(okGets) != 3 {
			t.Errorf("dev1 answered lists of %d virtual proxies, want 3: %v", len(okGets), okGets)
		}
	})

	t.Run("approved kick", func(t *testing.T) {
		req := c.ask(t, "UADMIN", "kick dev")
		id := pendingID(t, req)
		if got := sorted(column(t, req, "Session")); !slices.Equal(got, sorted(hs(onDev...))) {
			t.Fatalf("snapshot %v, want %v", got, sorted(onDev))
		}
		r := c.approve(t, "UADMIN2", id)
		perSession, perStatus := c.deleteLog()
		for _, s := range onDev {
			if perSession[s] != 1 {
				t.Errorf("session %s got %d DELETEs, want exactly 1", s, perSession[s])
			}
		}
		if n := c.attempts.count("DELETE", dev1); n != len(onDev) {
			t.Errorf("%d DELETE attempts, want %d (never retried)", n, len(onDev))
		}
		failed, deleted := perStatus[500], perStatus[200]
		if failed == 0 || deleted == 0 || failed+deleted != len(onDev) {
			t.Fatalf("DELETE statuses %v: want some 200s and some 500s (seed)", perStatus)
		}
		if r.Kind != bot.Warning {
			t.Errorf("kind %v, want warning: %s", r.Kind, joined(r))
		}
		wantSummary := "Deleted " + strconv.Itoa(deleted) + ", already gone 0, failed " + strconv.Itoa(failed)
		if !strings.Contains(joined(r), wantSummary) {
			t.Errorf("summary does not match the simulator's log (%s):\n%s", wantSummary, joined(r))
		}
		left := c.remaining(dev1, "dev", onDev)
		if len(left) != failed {
			t.Errorf("%d sessions left, want the %d whose DELETE failed", len(left), failed)
		}
		for id, o := range outcomes(t, r, onDev) {
			switch {
			case slices.Contains(left, id) && !(strings.HasPrefix(o, "failed") && strings.Contains(o, "500")):
				t.Errorf("session %s is still there but its outcome says %q", id, o)
			case !slices.Contains(left, id) && o != "deleted":
				t.Errorf("session %s is gone but its outcome says %q", id, o)
			}
		}
	})
}

// TestChaosSlowNode: a node slower than the client timeout gives a
// warning saying it did not answer within the timeout, and the request
// ends well inside the dispatcher's deadline (the dispatcher reports
// "ok", not "timeout").
func TestChaosSlowNode(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name  string
		fault qliksim.Fault
	}{
		{"answers after the timeout", qliksim.Fault{Latency: time.Minute}},
		{"TLS handshake stalls", qliksim.Fault{HandshakeDelay: time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newChaos(t, chaosConfig{timeout: timeout, retries: 1})
			onCentral := c.addSessions(t, central, "butler", 1)
			c.addSessions(t, dev1, "butler", 1)
			if err := c.sim.SetFault(dev1, tc.fault); err != nil {
				t.Fatal(err)
			}
			events := make(chan bot.DispatchEvent, 1)
			d, err := bot.NewDispatcher(c.eng, bot.WithTimeout(30*time.Second), bot.WithObserver(func(ev bot.DispatchEvent) { events <- ev }))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go func() { _ = d.Run(ctx) }()

			r := d.Do(t.Context(), bot.Request{Platform: bot.Slack, User: bot.User{ID: "UVIEWER"}, Channel: "C1", Text: "sessions butler",
				ReplyTo: bot.ResponderFunc(func(context.Context, bot.Reply) error { return nil })})
			if r.Kind != bot.Warning {
				t.Fatalf("kind %v, want warning: %s", r.Kind, joined(r))
			}
			if got := column(t, r, "Session"); !slices.Equal(got, hs(onCentral...)) {
				t.Errorf("sessions %v, want Central's %v", got, onCentral)
			}
			warn := strings.Join(r.Warnings, "\n")
			if !strings.Contains(warn, dev1) || !strings.Contains(warn, "within the timeout of "+timeout.String()) {
				t.Errorf("warning does not say dev1 did not answer within %s:\n%s", timeout, warn)
			}
			if ev := <-events; ev.Outcome != bot.OutcomeOK {
				t.Errorf("dispatcher outcome %q, want %q: the request outlived its deadline", ev.Outcome, bot.OutcomeOK)
			}
			if n := c.attempts.count("GET", dev1); n != 2 {
				t.Errorf("%d GETs on dev1, want 2 (one retry of a timeout)", n)
			}
		})
	}
}

// TestChaosServerCertReplaced: Qlik's server certificates replaced by
// ones our root does not sign give an error that points the operator at
// root.pem and shows no key material.
func TestChaosServerCertReplaced(t *testing.T) {
	t.Parallel()
	c := newChaos(t, chaosConfig{retries: -1})
	if r := c.ask(t, "UVIEWER", "sessions finance"); r.Kind != bot.Info {
		t.Fatalf("before the swap: %v %s", r.Kind, joined(r))
	}
	if err := c.sim.ReplaceServerCerts(); err != nil {
		t.Fatal(err)
	}
	c.client.Close() // open connections keep the old certificate; new ones see the swap
	tests := []struct{ name, text string }{
		{"list", "sessions finance"},
		{"kick", "kick finance"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.ask(t, "UADMIN", tc.text)
			text := bot.PlainText(r)
			if r.Kind != bot.Error {
				t.Fatalf("kind %v, want error:\n%s", r.Kind, text)
			}
			for _, want := range []string{"root.pem", "not signed by the configured root certificate", central} {
				if !strings.Contains(text, want) {
					t.Errorf("reply lacks %q:\n%s", want, text)
				}
			}
			for _, secret := range []string{"PRIVATE KEY", "BEGIN", pemBody(c.sim.KeyPEM()), pemBody(c.sim.CertPEM())} {
				if strings.Contains(text, secret) {
					t.Errorf("reply shows key material %q", secret)
				}
			}
		})
	}
	if perSession, _ := c.deleteLog(); len(perSession) != 0 {
		t.Errorf("DELETEs sent: %v", perSession)
	}
}

// TestChaosRedisRestartMidApproval: a pending kick lives in a real Redis
// with append-only persistence. With Redis stopped an Approve click gets
// an error and nothing is deleted; with Redis back on the same port and
// data, the same click works and each session is deleted exactly once.
func TestChaosRedisRestartMidApproval(t *testing.T) {
	t.Parallel()
	rp := startRedisAOF(t)
	st, err := store.NewRedis(&redis.Options{Addr: rp.addr(), MaxRetries: 1, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	c := newChaos(t, chaosConfig{st: st})

	id := pendingID(t, c.ask(t, "ULEAD", "kick finance"))
	rp.stop(t)

	r := c.approve(t, "UADMIN", id)
	text := bot.PlainText(r)
	if r.Kind != bot.Error || !strings.Contains(text, "approval request") ||
		!strings.Contains(text, "state store is unavailable, so nothing was done") {
		t.Errorf("approve with Redis down: %v\n%s", r.Kind, text)
	}
	if strings.Contains(text, rp.addr()) || strings.Contains(text, "connection refused") {
		t.Errorf("reply leaks infrastructure details:\n%s", text)
	}
	if perSession, _ := c.deleteLog(); len(perSession) != 0 {
		t.Fatalf("DELETEs sent while the decision could not be recorded: %v", perSession)
	}
	if n := len(c.sim.Sessions(central, "finance")); n != 2 {
		t.Fatalf("%d finance sessions left, want 2", n)
	}

	if err := rp.start(t); err != nil {
		t.Fatalf("restart redis: %v", err)
	}
	r = c.approve(t, "UADMIN", id)
	if r.Kind != bot.Success || !strings.Contains(joined(r), "Deleted 2, already gone 0, failed 0") {
		t.Fatalf("approve after the restart: %v %s", r.Kind, joined(r))
	}
	if again := c.approve(t, "UADMIN2", id); again.Title != "Already decided" {
		t.Errorf("second click: %v %s", again.Kind, joined(again))
	}
	perSession, _ := c.deleteLog()
	for _, s := range []string{user1ID, user2ID} {
		if perSession[s] != 1 {
			t.Errorf("session %s got %d DELETEs, want 1", s, perSession[s])
		}
	}
	if len(perSession) != 2 {
		t.Errorf("DELETEs %v, want the two finance sessions only", perSession)
	}
}
