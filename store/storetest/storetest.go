// Package storetest is the test suite every store backend must pass, and a
// helper that starts a real redis-server for the tests of other packages.
// It is a normal package so backend tests (and future backends) share one
// definition of correct.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// AuditLimit is the audit limit the suite expects: open must return a store
// made with store.WithAuditLimit(AuditLimit), so the limit can be tested
// without writing the default ten thousand events.
const AuditLimit = 25

// Concurrent callers in the race tests.
const racers = 50

// base is the suite's "now": every time is derived from it, so no test
// depends on the wall clock.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs the suite. open must return a fresh, empty store for each call
// (a new file, or a new key prefix), built with WithAuditLimit(AuditLimit),
// and close it in t.Cleanup; Close must tolerate being called twice.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateDuplicate", testCreateDuplicate},
		{"CreateInvalid", testCreateInvalid},
		{"NotFound", testNotFound},
		{"Claim", testClaim},
		{"ClaimDecidedSaysWho", testClaimDecided},
		{"ClaimInvalid", testClaimInvalid},
		{"ClaimExpired", testClaimExpired},
		{"ClaimConcurrent", testClaimConcurrent},
		{"ExpireDue", testExpireDue},
		{"ExpireDueConcurrent", testExpireDueConcurrent},
		{"ClaimRacesExpiry", testClaimRacesExpiry},
		{"AuditOrder", testAuditOrder},
		{"AuditLimit", testAuditLimit},
		{"AuditInvalid", testAuditInvalid},
		{"AuditBatch", testAuditBatch},
		{"SeenBefore", testSeenBefore},
		{"SeenBeforeConcurrent", testSeenBeforeConcurrent},
		{"SeenBeforeInvalid", testSeenBeforeInvalid},
		{"Lease", testLease},
		{"LeaseTokensGrow", testLeaseTokensGrow},
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseConcurrent", testLeaseConcurrent},
		{"LeaseInvalid", testLeaseInvalid},
		{"JobLifecycle", testJobLifecycle},
		{"StartJobRefused", testStartJobRefused},
		{"StartJobConcurrent", testStartJobConcurrent},
		{"JobFencing", testJobFencing},
		{"JobBatchesConcurrent", testJobBatchesConcurrent},
		{"ListJobs", testListJobs},
		{"JobRetention", testJobRetention},
		{"BlobRoundTrip", testBlobRoundTrip},
		{"BlobNotFound", testBlobNotFound},
		{"BlobInvalid", testBlobInvalid},
		{"HistoryRoundTrip", testHistoryRoundTrip},
		{"HistoryFencing", testHistoryFencing},
		{"HistoryOrder", testHistoryOrder},
		{"HistoryInvalid", testHistoryInvalid},
		{"HistoryCompact", testHistoryCompact},
		{"HistoryCompactConcurrent", testHistoryCompactConcurrent},
		{"HistoryClockAhead", testHistoryClockAhead},
		{"AlertLifecycle", testAlertLifecycle},
		{"AlertFencing", testAlertFencing},
		{"AlertRace", testAlertRace},
		{"AlertInvalid", testAlertInvalid},
		{"AlertRetention", testAlertRetention},
		{"SweepCompacts", testSweepCompacts},
		{"Subscriptions", testSubscriptions},
		{"Silences", testSilences},
		{"CanceledContext", testCanceled},
		{"PingClose", testPingClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open)
		})
	}
}

func newPending(id string, ttl time.Duration) store.Pending {
	return store.Pending{
		ID:        id,
		CreatedAt: base,
		ExpiresAt: base.Add(ttl),
		Data:      []byte(`{"kick":"finance","by":"slack:U1"}` + id),
	}
}

func mustCreate(t *testing.T, s store.Store, p store.Pending) {
	t.Helper()
	if err := s.CreatePending(t.Context(), p); err != nil {
		t.Fatalf("CreatePending(%s): %v", p.ID, err)
	}
}

func mustGet(t *testing.T, s store.Store, id string) store.Pending {
	t.Helper()
	p, err := s.GetPending(t.Context(), id)
	if err != nil {
		t.Fatalf("GetPending(%s): %v", id, err)
	}
	return p
}

// checkPending compares field by field: times with Equal (the stored form
// may carry another location), Data byte for byte.
func checkPending(t *testing.T, got, want store.Pending) {
	t.Helper()
	switch {
	case got.ID != want.ID:
		t.Errorf("ID = %q, want %q", got.ID, want.ID)
	case !got.CreatedAt.Equal(want.CreatedAt):
		t.Errorf("%s CreatedAt = %v, want %v", want.ID, got.CreatedAt, want.CreatedAt)
	case !got.ExpiresAt.Equal(want.ExpiresAt):
		t.Errorf("%s ExpiresAt = %v, want %v", want.ID, got.ExpiresAt, want.ExpiresAt)
	case got.State != want.State:
		t.Errorf("%s State = %q, want %q", want.ID, got.State, want.State)
	case got.DecidedBy != want.DecidedBy:
		t.Errorf("%s DecidedBy = %q, want %q", want.ID, got.DecidedBy, want.DecidedBy)
	case !got.DecidedAt.Equal(want.DecidedAt):
		t.Errorf("%s DecidedAt = %v, want %v", want.ID, got.DecidedAt, want.DecidedAt)
	case !bytes.Equal(got.Data, want.Data):
		t.Errorf("%s Data = %q, want %q", want.ID, got.Data, want.Data)
	}
}

func testCreateGet(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	p := newPending("p1", time.Hour)
	// The caller's State and decision are ignored: a new action is pending.
	in := p
	in.State, in.DecidedBy, in.DecidedAt = store.StateApproved, "slack:U9", base
	mustCreate(t, s, in)
	want := p
	want.State = store.StatePending
	checkPending(t, mustGet(t, s, "p1"), want)

	empty := store.Pending{ID: "p2", CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	mustCreate(t, s, empty)
	empty.State = store.StatePending
	checkPending(t, mustGet(t, s, "p2"), empty)
}

func testCreateDuplicate(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	first := newPending("dup", time.Hour)
	mustCreate(t, s, first)
	second := first
	second.Data = []byte("other")
	second.ExpiresAt = base.Add(2 * time.Hour)
	if err := s.CreatePending(t.Context(), second); err == nil {
		t.Fatal("second CreatePending with the same id succeeded")
	}
	first.State = store.StatePending
	checkPending(t, mustGet(t, s, "dup"), first)
	// Still a duplicate once decided.
	if _, err := s.Claim(t.Context(), "dup", store.StateApproved, "slack:U2", base); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if err := s.CreatePending(t.Context(), second); err == nil {
		t.Fatal("CreatePending over a decided action succeeded")
	}
}

func testCreateInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	long := string(bytes.Repeat([]byte("x"), 600))
	tests := []struct {
		name string
		p    store.Pending
	}{
		{"empty id", store.Pending{ExpiresAt: base}},
		{"long id", store.Pending{ID: long, ExpiresAt: base}},
		{"no expiry", store.Pending{ID: "noexp", CreatedAt: base}},
		{"expiry out of range", store.Pending{ID: "far", ExpiresAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.CreatePending(t.Context(), tt.p); err == nil {
				t.Fatal("CreatePending succeeded")
			}
			if _, err := s.GetPending(t.Context(), tt.p.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GetPending after refused create: %v, want ErrNotFound", err)
			}
		})
	}
	if got, err := s.ExpireDue(t.Context(), base.Add(24*time.Hour), nil); err != nil || len(got) != 0 {
		t.Fatalf("ExpireDue after refused creates = %v, %v; want nothing", got, err)
	}
}

func testNotFound(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustCreate(t, s, newPending("known", time.Hour))
	for _, id := range []string{"unknown", "", "known2", string(bytes.Repeat([]byte("y"), 600))} {
		if _, err := s.GetPending(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetPending(%.20q) = %v, want ErrNotFound", id, err)
		}
		if _, err := s.Claim(t.Context(), id, store.StateApproved, "slack:U1", base); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Claim(%.20q) = %v, want ErrNotFound", id, err)
		}
	}
}

func testClaim(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	tests := []struct {
		name     string
		decision store.State
		at       time.Duration // after base; the action expires at base+1h
	}{
		{"approve", store.StateApproved, time.Minute},
		{"reject", store.StateRejected, 2 * time.Minute},
		{"approve at the expiry instant", store.StateApproved, time.Hour},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("c%d", i)
			p := newPending(id, time.Hour)
			mustCreate(t, s, p)
			now := base.Add(tt.at)
			by := fmt.Sprintf("teams:lead-%d", i)
			got, err := s.Claim(t.Context(), id, tt.decision, by, now)
			if err != nil {
				t.Fatalf("Claim: %v", err)
			}
			p.State, p.DecidedBy, p.DecidedAt = tt.decision, by, now
			checkPending(t, got, p)
			checkPending(t, mustGet(t, s, id), p)
		})
	}
}

func testClaimDecided(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	tests := []struct {
		name        string
		first, then store.State
	}{
		{"approved then rejected", store.StateApproved, store.StateRejected},
		{"approved then approved", store.StateApproved, store.StateApproved},
		{"rejected then approved", store.StateRejected, store.StateApproved},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("d%d", i)
			p := newPending(id, time.Hour)
			mustCreate(t, s, p)
			if _, err := s.Claim(t.Context(), id, tt.first, "slack:UFIRST", base.Add(time.Second)); err != nil {
				t.Fatalf("first Claim: %v", err)
			}
			got, err := s.Claim(t.Context(), id, tt.then, "slack:ULATE", base.Add(2*time.Second))
			if !errors.Is(err, store.ErrDecided) {
				t.Fatalf("second Claim = %v, want ErrDecided", err)
			}
			p.State, p.DecidedBy, p.DecidedAt = tt.first, "slack:UFIRST", base.Add(time.Second)
			checkPending(t, got, p)
			checkPending(t, mustGet(t, s, id), p)
			// Past the expiry a decided action stays decided.
			if _, err := s.Claim(t.Context(), id, tt.then, "slack:ULATE", base.Add(2*time.Hour)); !errors.Is(err, store.ErrDecided) {
				t.Fatalf("Claim after expiry time on a decided action = %v, want ErrDecided", err)
			}
		})
	}
}

func testClaimInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	p := newPending("inv", time.Hour)
	mustCreate(t, s, p)
	tests := []struct {
		name     string
		decision store.State
		by       string
		now      time.Time
	}{
		{"decision pending", store.StatePending, "slack:U1", base},
		{"decision expired", store.StateExpired, "slack:U1", base},
		{"decision unknown", store.State("maybe"), "slack:U1", base},
		{"no decider", store.StateApproved, "", base},
		{"zero time", store.StateApproved, "slack:U1", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Claim(t.Context(), "inv", tt.decision, tt.by, tt.now)
			if err == nil || errors.Is(err, store.ErrDecided) || errors.Is(err, store.ErrExpired) || errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Claim = %v, want a plain input error", err)
			}
		})
	}
	p.State = store.StatePending
	checkPending(t, mustGet(t, s, "inv"), p)
}

func testClaimExpired(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	p := newPending("exp", time.Hour)
	mustCreate(t, s, p)
	late := p.ExpiresAt.Add(time.Nanosecond)
	got, err := s.Claim(t.Context(), "exp", store.StateApproved, "slack:U1", late)
	if !errors.Is(err, store.ErrExpired) {
		t.Fatalf("Claim past expiry = %v, want ErrExpired", err)
	}
	want := p
	want.State, want.DecidedAt = store.StateExpired, late
	checkPending(t, got, want)
	checkPending(t, mustGet(t, s, "exp"), want)
	// Later callers, even with an earlier clock, are told the same.
	if _, err := s.Claim(t.Context(), "exp", store.StateRejected, "slack:U2", base); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("second Claim = %v, want ErrExpired", err)
	}
	// The expiry was already recorded by Claim: the sweep must not repeat it.
	if swept, err := s.ExpireDue(t.Context(), base.Add(2*time.Hour), nil); err != nil || len(swept) != 0 {
		t.Fatalf("ExpireDue after Claim expired it = %v, %v; want nothing", swept, err)
	}
}

func testClaimConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustCreate(t, s, newPending("race", time.Hour))
	ClaimRace(t, s, "race", racers, func(i int, by string) (store.Pending, error) {
		decision := store.StateApproved
		if i%2 == 1 {
			decision = store.StateRejected
		}
		return s.Claim(t.Context(), "race", decision, by, base.Add(time.Duration(i)*time.Second))
	})
}

// ClaimRace releases n concurrent callers at once, caller i running
// claim(i, by) with its own decider by, and checks the outcome: exactly
// one nil error, every other ErrDecided naming the winner, and the stored
// action id (read through s) agreeing. Backend tests use it for their
// cross-replica variants.
func ClaimRace(t *testing.T, s store.Store, id string, n int, claim func(i int, by string) (store.Pending, error)) {
	t.Helper()
	type result struct {
		by  string
		p   store.Pending
		err error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			by := fmt.Sprintf("slack:U%02d", i)
			<-start
			p, err := claim(i, by)
			results[i] = result{by, p, err}
		})
	}
	close(start)
	wg.Wait()

	var winner store.Pending
	wins := 0
	for i, r := range results {
		if r.err == nil {
			wins++
			winner = r.p
			if r.p.DecidedBy != r.by {
				t.Errorf("winner %d got DecidedBy %q, want its own %q", i, r.p.DecidedBy, r.by)
			}
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent claims succeeded, want exactly 1", wins, n)
	}
	for i, r := range results {
		if r.err == nil {
			continue
		}
		if !errors.Is(r.err, store.ErrDecided) {
			t.Errorf("loser %d: %v, want ErrDecided", i, r.err)
			continue
		}
		checkPending(t, r.p, winner)
	}
	checkPending(t, mustGet(t, s, id), winner)
}

// together runs fn(0) ... fn(n-1) on n goroutines released at the same
// moment, and returns when all are done.
func together(n int, fn func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}
