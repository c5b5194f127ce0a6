package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

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
	got, err := s.ExpireDue(t.Context(), now)
	if err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("ExpireDue returned %d actions %v, want only %q", len(got), ids(got), "due")
	}
	due.State, due.DecidedAt = store.StateExpired, now
	checkPending(t, got[0], due)
	checkPending(t, mustGet(t, s, "due"), due)
	for _, id := range []string{"at-now", "later"} {
		if p := mustGet(t, s, id); p.State != store.StatePending {
			t.Errorf("%s: State = %q, want still pending", id, p.State)
		}
	}
	if p := mustGet(t, s, "decided"); p.State != store.StateRejected || p.DecidedBy != "slack:U7" {
		t.Errorf("decided action changed by the sweep: %+v", p)
	}
	if again, err := s.ExpireDue(t.Context(), now); err != nil || len(again) != 0 {
		t.Fatalf("second ExpireDue = %v, %v; want nothing", ids(again), err)
	}
	// Later sweeps pick up the rest, each once.
	got, err = s.ExpireDue(t.Context(), base.Add(2*time.Hour))
	if err != nil {
		t.Fatalf("ExpireDue later: %v", err)
	}
	if g := ids(got); len(g) != 2 || !g["at-now"] || !g["later"] {
		t.Fatalf("later ExpireDue returned %v, want at-now and later", g)
	}
	if _, err := s.Claim(t.Context(), "later", store.StateApproved, "slack:U1", base); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("Claim of a swept action = %v, want ErrExpired", err)
	}
}

func testExpireDueConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	const actions, sweepers = 30, 8
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
			results[i], errs[i] = s.ExpireDue(t.Context(), base.Add(time.Hour))
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
		swept, sweepErr = s.ExpireDue(t.Context(), base.Add(2*time.Minute))
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
}

func ids(ps []store.Pending) map[string]bool {
	m := make(map[string]bool, len(ps))
	for _, p := range ps {
		m[p.ID] = true
	}
	return m
}
