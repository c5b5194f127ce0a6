package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// expiryEvent is the audit row the suite's sweeps write for p.
func expiryEvent(p store.Pending) store.Event {
	return store.Event{Time: p.DecidedAt, Subject: "system", Action: "expire", Pending: p.ID,
		Outcome: "expired unanswered at " + p.ExpiresAt.Format(time.RFC3339)}
}

// checkExpiryAudit checks that the trail holds exactly one expiry row per
// action in expired, and nothing else.
func checkExpiryAudit(t *testing.T, s store.Store, expired map[string]bool) {
	t.Helper()
	rows := map[string]int{}
	for _, e := range auditOf(t, s) {
		if e.Action != "expire" {
			t.Errorf("unexpected audit row %+v", e)
		}
		rows[e.Pending]++
	}
	if len(rows) != len(expired) {
		t.Errorf("audit rows for %d actions, want %d", len(rows), len(expired))
	}
	for id := range expired {
		if rows[id] != 1 {
			t.Errorf("%s: %d expiry rows, want 1", id, rows[id])
		}
	}
}

func testExpireDue(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	due := newPending("due", 10*time.Minute)
	atNow := newPending("at-now", 30*time.Minute) // expires exactly at the sweep time
	later := newPending("later", time.Hour)
	decided := newPending("decided", 5*time.Minute)
	for _, p := range []store.Pending{due, atNow, later, decided} {
		mustCreate(t, s, p)
	}
	if _, err := s.Claim(t.Context(), "decided", store.StateRejected, "slack:U7", base.Add(time.Minute)); err != nil {
		t.Fatalf("Claim: %v", err)
	}

	now := base.Add(30 * time.Minute)
	got, err := s.ExpireDue(t.Context(), now, expiryEvent)
	if err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("ExpireDue returned %d actions %v, want only %q", len(got), ids(got), "due")
	}
	due.State, due.DecidedAt = store.StateExpired, now
	checkPending(t, got[0], due)
	checkPending(t, mustGet(t, s, "due"), due)
	checkAudit(t, s, expiryEvent(due))
	for _, id := range []string{"at-now", "later"} {
		if p := mustGet(t, s, id); p.State != store.StatePending {
			t.Errorf("%s: State = %q, want still pending", id, p.State)
		}
	}
	if p := mustGet(t, s, "decided"); p.State != store.StateRejected || p.DecidedBy != "slack:U7" {
		t.Errorf("decided action changed by the sweep: %+v", p)
	}
	if again, err := s.ExpireDue(t.Context(), now, expiryEvent); err != nil || len(again) != 0 {
		t.Fatalf("second ExpireDue = %v, %v; want nothing", ids(again), err)
	}
	// Later sweeps pick up the rest, each once.
	got, err = s.ExpireDue(t.Context(), base.Add(2*time.Hour), expiryEvent)
	if err != nil {
		t.Fatalf("ExpireDue later: %v", err)
	}
	if g := ids(got); len(g) != 2 || !g["at-now"] || !g["later"] {
		t.Fatalf("later ExpireDue returned %v, want at-now and later", g)
	}
	checkExpiryAudit(t, s, map[string]bool{"due": true, "at-now": true, "later": true})
	if _, err := s.Claim(t.Context(), "later", store.StateApproved, "slack:U1", base); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("Claim of a swept action = %v, want ErrExpired", err)
	}
}

func testExpireDueConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	const actions, sweepers = 20, 8 // at most AuditLimit actions: each leaves a row
	for i := range actions {
		mustCreate(t, s, newPending(fmt.Sprintf("e%02d", i), time.Duration(i+1)*time.Second))
	}
	results := make([][]store.Pending, sweepers)
	errs := make([]error, sweepers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range sweepers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.ExpireDue(t.Context(), base.Add(time.Hour), expiryEvent)
		})
	}
	close(start)
	wg.Wait()
	seen := map[string]int{}
	for i := range sweepers {
		if errs[i] != nil {
			t.Fatalf("sweeper %d: %v", i, errs[i])
		}
		for _, p := range results[i] {
			seen[p.ID]++
			if p.State != store.StateExpired {
				t.Errorf("%s returned in state %q", p.ID, p.State)
			}
		}
	}
	if len(seen) != actions {
		t.Errorf("%d distinct actions expired, want %d", len(seen), actions)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s returned by %d sweepers, want exactly 1", id, n)
		}
	}
	checkExpiryAudit(t, s, ids(flatten(results)))
}

func flatten(results [][]store.Pending) []store.Pending {
	var out []store.Pending
	for _, r := range results {
		out = append(out, r...)
	}
	return out
}

// testClaimRacesExpiry runs approvals (clocked before the expiry) against a
// sweep (clocked after it): each action ends either approved or expired,
// never both, and the sweep reports only the ones it expired.
func testClaimRacesExpiry(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	const actions = 20
	for i := range actions {
		mustCreate(t, s, newPending(fmt.Sprintf("r%02d", i), time.Minute))
	}
	claimErrs := make([]error, actions)
	var swept []store.Pending
	var sweepErr error
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range actions {
		wg.Go(func() {
			<-start
			_, claimErrs[i] = s.Claim(t.Context(), fmt.Sprintf("r%02d", i), store.StateApproved, "slack:U1", base.Add(30*time.Second))
		})
	}
	wg.Go(func() {
		<-start
		swept, sweepErr = s.ExpireDue(t.Context(), base.Add(2*time.Minute), expiryEvent)
	})
	close(start)
	wg.Wait()
	if sweepErr != nil {
		t.Fatalf("ExpireDue: %v", sweepErr)
	}
	expired := ids(swept)
	for i := range actions {
		id := fmt.Sprintf("r%02d", i)
		stored := mustGet(t, s, id)
		switch {
		case claimErrs[i] == nil && !expired[id] && stored.State == store.StateApproved:
		case errors.Is(claimErrs[i], store.ErrExpired) && expired[id] && stored.State == store.StateExpired:
		default:
			t.Errorf("%s: claim %v, swept %v, stored %q: want approved xor expired", id, claimErrs[i], expired[id], stored.State)
		}
	}
	checkExpiryAudit(t, s, expired)
}

func ids(ps []store.Pending) map[string]bool {
	m := make(map[string]bool, len(ps))
	for _, p := range ps {
		m[p.ID] = true
	}
	return m
}
