package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// leaseWait bounds how long a test waits for a short lease to run out;
// it normally takes a few milliseconds.
const leaseWait = 10 * time.Second

func mustAcquire(t *testing.T, s store.Store, name, holder string, ttl time.Duration) store.Lease {
	t.Helper()
	l, err := s.AcquireLease(t.Context(), name, holder, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%s, %s): %v", name, holder, err)
	}
	if l.Name != name || l.Holder != holder || l.Token == 0 {
		t.Fatalf("AcquireLease(%s, %s) = %+v", name, holder, l)
	}
	return l
}

// awaitLease polls until holder gets the lease name: an earlier one must
// run out first. Any answer but ErrLeaseHeld fails the test.
func awaitLease(t *testing.T, s store.Store, name, holder string, ttl time.Duration) store.Lease {
	t.Helper()
	deadline := time.Now().Add(leaseWait)
	for {
		l, err := s.AcquireLease(t.Context(), name, holder, ttl)
		if err == nil {
			return l
		}
		if !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("AcquireLease(%s, %s) while waiting: %v", name, holder, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease %s still held after %s: %v", name, leaseWait, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testLease(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	before := time.Now()
	a := mustAcquire(t, s, "watcher", "replica-a", time.Minute)
	if !a.Expires.After(before) {
		t.Errorf("Expires %v is not after the call", a.Expires)
	}
	// Held: by another holder, and by the same one (re-acquiring would
	// fence its own running work).
	for _, holder := range []string{"replica-b", "replica-a"} {
		cur, err := s.AcquireLease(ctx, "watcher", holder, time.Minute)
		if !errors.Is(err, store.ErrLeaseHeld) {
			t.Fatalf("AcquireLease by %s of a held lease = %v, want ErrLeaseHeld", holder, err)
		}
		if cur.Holder != "replica-a" || cur.Token != 0 {
			t.Errorf("ErrLeaseHeld came with %+v, want holder replica-a and no token", cur)
		}
		if !strings.Contains(err.Error(), "replica-a") {
			t.Errorf("ErrLeaseHeld does not name the holder: %v", err)
		}
	}
	other := mustAcquire(t, s, "job:j1", "replica-b", time.Minute)
	if other.Token <= a.Token {
		t.Errorf("token %d after %d: want strictly larger", other.Token, a.Token)
	}
	renewed, err := s.RenewLease(ctx, a, 2*time.Minute)
	if err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	if renewed.Token != a.Token || renewed.Holder != a.Holder || renewed.Expires.Before(a.Expires) {
		t.Errorf("RenewLease = %+v from %+v: want the same token, a later expiry", renewed, a)
	}
	if err := s.ReleaseLease(ctx, a); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	b := mustAcquire(t, s, "watcher", "replica-b", time.Minute)
	if b.Token <= other.Token {
		t.Errorf("token %d after %d: want strictly larger", b.Token, other.Token)
	}
	// a is gone: every use of it is refused and changes nothing.
	if _, err := s.RenewLease(ctx, a, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease of a released lease = %v, want ErrLeaseLost", err)
	}
	if err := s.ReleaseLease(ctx, a); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ReleaseLease twice = %v, want ErrLeaseLost", err)
	}
	// A lease with the right token but another holder is not b.
	forged := b
	forged.Holder = "replica-a"
	if _, err := s.RenewLease(ctx, forged, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease with b's token under another holder = %v, want ErrLeaseLost", err)
	}
	if _, err := s.RenewLease(ctx, b, time.Minute); err != nil {
		t.Errorf("b lost its lease to refused calls: %v", err)
	}
}

func testLeaseTokensGrow(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	var last uint64
	for i := range 20 {
		name := fmt.Sprintf("job:%d", i%3)
		l := mustAcquire(t, s, name, fmt.Sprintf("h%d", i), time.Minute)
		if l.Token <= last {
			t.Fatalf("acquisition %d got token %d after %d", i, l.Token, last)
		}
		last = l.Token
		if err := s.ReleaseLease(t.Context(), l); err != nil {
			t.Fatalf("ReleaseLease: %v", err)
		}
	}
}

func testLeaseExpiry(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	a := mustAcquire(t, s, "watcher", "replica-a", time.Millisecond)
	b := awaitLease(t, s, "watcher", "replica-b", time.Minute)
	if b.Token <= a.Token {
		t.Fatalf("token %d after %d: want strictly larger", b.Token, a.Token)
	}
	if _, err := s.RenewLease(ctx, a, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RenewLease of an expired, taken-over lease = %v, want ErrLeaseLost", err)
	}
	if err := s.ReleaseLease(ctx, a); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("ReleaseLease of a taken-over lease = %v, want ErrLeaseLost", err)
	}
	if _, err := s.RenewLease(ctx, b, time.Minute); err != nil {
		t.Errorf("the new holder's lease: %v", err)
	}
	// Expired and not taken over is lost too: the holder cannot know
	// whether someone acted in between.
	c := mustAcquire(t, s, "solo", "replica-a", time.Millisecond)
	deadline := time.Now().Add(leaseWait)
	for {
		time.Sleep(5 * time.Millisecond)
		renewed, err := s.RenewLease(ctx, c, time.Millisecond)
		if errors.Is(err, store.ErrLeaseLost) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("RenewLease of an expired lease = %v, want ErrLeaseLost", err)
		}
		c = renewed // renewed before it ran out (a slow machine): again
	}
}

func testLeaseConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	leases := make([]store.Lease, racers)
	errs := make([]error, racers)
	together(racers, func(i int) {
		leases[i], errs[i] = s.AcquireLease(t.Context(), "job:race", fmt.Sprintf("h%02d", i), time.Minute)
	})
	winner := -1
	for i := range racers {
		if errs[i] == nil {
			if winner >= 0 {
				t.Fatalf("holders %d and %d both acquired the lease", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no holder acquired the lease")
	}
	for i := range racers {
		if i == winner {
			continue
		}
		if !errors.Is(errs[i], store.ErrLeaseHeld) || leases[i].Holder != leases[winner].Holder {
			t.Errorf("loser %d: %+v, %v; want ErrLeaseHeld naming %s", i, leases[i], errs[i], leases[winner].Holder)
		}
	}
}

func testLeaseInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	long := strings.Repeat("n", 2000)
	acquire := []struct {
		name, lease, holder string
		ttl                 time.Duration
	}{
		{"empty name", "", "h", time.Minute},
		{"long name", long, "h", time.Minute},
		{"empty holder", "n", "", time.Minute},
		{"long holder", "n", long, time.Minute},
		{"zero ttl", "n", "h", 0},
		{"negative ttl", "n", "h", -time.Second},
	}
	for _, tc := range acquire {
		_, err := s.AcquireLease(ctx, tc.lease, tc.holder, tc.ttl)
		if err == nil || errors.Is(err, store.ErrLeaseHeld) {
			t.Errorf("%s: AcquireLease = %v, want an input error", tc.name, err)
		}
	}
	// Nothing was taken by the refused calls.
	l := mustAcquire(t, s, "n", "h", time.Minute)
	if _, err := s.RenewLease(ctx, l, 0); err == nil {
		t.Error("RenewLease with a zero ttl succeeded")
	}
	for name, bad := range map[string]store.Lease{
		"no token":     {Name: "n", Holder: "h"},
		"never issued": {Name: "n", Holder: "h", Token: l.Token + 1000},
		"other name":   {Name: "m", Holder: "h", Token: l.Token},
	} {
		if _, err := s.RenewLease(ctx, bad, time.Minute); err == nil {
			t.Errorf("%s: RenewLease succeeded", name)
		}
		if err := s.ReleaseLease(ctx, bad); err == nil {
			t.Errorf("%s: ReleaseLease succeeded", name)
		}
	}
	if _, err := s.RenewLease(ctx, l, time.Minute); err != nil {
		t.Errorf("the real lease after refused calls: %v", err)
	}
}
