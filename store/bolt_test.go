package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock tests move by hand.
type fakeClock = testkit.Clock

func openBolt(t *testing.T, path string, opts ...store.Option) *store.Bolt {
	t.Helper()
	b, err := store.OpenBolt(path, opts...)
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBoltSuite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store {
		return openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithAuditLimit(storetest.AuditLimit))
	})
}

func TestBoltRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	clock := testkit.NewClock(t0)
	b := openBolt(t, path, store.WithClock(clock.Now))
	p := store.Pending{ID: "kick-1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Data: []byte("snapshot")}
	if err := b.CreatePending(ctx, p); err != nil {
		t.Fatalf("CreatePending: %v", err)
	}
	if err := b.AppendAudit(ctx, store.Event{Time: t0, Action: "request-approval", Pending: "kick-1"}); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if _, err := b.SeenBefore(ctx, "slack:evt-1", time.Hour); err != nil {
		t.Fatalf("SeenBefore: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b2 := openBolt(t, path, store.WithClock(clock.Now))
	got, err := b2.Claim(ctx, "kick-1", store.StateApproved, "slack:ULEAD", t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("Claim after reopen: %v", err)
	}
	if got.State != store.StateApproved || string(got.Data) != "snapshot" {
		t.Fatalf("Claim after reopen = %+v", got)
	}
	events, err := b2.RecentAudit(ctx, 10)
	if err != nil || len(events) != 1 || events[0].Pending != "kick-1" {
		t.Fatalf("audit after reopen = %+v, %v", events, err)
	}
	if seen, err := b2.SeenBefore(ctx, "slack:evt-1", time.Hour); err != nil || !seen {
		t.Fatalf("replay key after reopen: seen=%v err=%v, want seen", seen, err)
	}
}

func TestBoltSeenBeforeExpiry(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock(t0)
	b := openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithClock(clock.Now))
	steps := []struct {
		name    string
		at      time.Duration // clock offset from t0
		key     string
		want    bool
		entries int // replay keys stored afterwards
	}{
		{"first sight", 0, "a", false, 1},
		{"replay inside ttl", 30 * time.Second, "a", true, 1},
		{"second key", 40 * time.Second, "b", false, 2},
		{"replay one tick before expiry", time.Minute - time.Nanosecond, "a", true, 2},
		{"expired at ttl: new again", time.Minute, "a", false, 2},
		{"third key", 90 * time.Second, "c", false, 3},
		{"b pruned by another call", 110 * time.Second, "d", false, 3},
		{"a fresh from its renewal", 115 * time.Second, "a", true, 3},
		{"everything old pruned", time.Hour, "d", false, 1},
	}
	for _, st := range steps {
		clock.Set(t0.Add(st.at))
		got, err := b.SeenBefore(t.Context(), st.key, time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Fatalf("%s: SeenBefore(%s) = %v, want %v", st.name, st.key, got, st.want)
		}
		for _, bucket := range []string{"seen", "seen_exp"} {
			n, err := store.BoltCount(b, bucket)
			if err != nil {
				t.Fatalf("%s: count %s: %v", st.name, bucket, err)
			}
			if n != st.entries {
				t.Fatalf("%s: %d entries in %s, want %d", st.name, n, bucket, st.entries)
			}
		}
	}
}

func TestBoltRetention(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const keep = 48 * time.Hour
	b := openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithRetention(keep))
	for _, id := range []string{"approved", "expired", "pending"} {
		p := store.Pending{ID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if id == "pending" {
			p.ExpiresAt = t0.Add(1000 * time.Hour)
		}
		if err := b.CreatePending(ctx, p); err != nil {
			t.Fatalf("CreatePending: %v", err)
		}
	}
	if _, err := b.Claim(ctx, "approved", store.StateApproved, "slack:U1", t0.Add(time.Minute)); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	expiredAt := t0.Add(2 * time.Hour)
	if got, err := b.ExpireDue(ctx, expiredAt, nil); err != nil || len(got) != 1 || got[0].ID != "expired" {
		t.Fatalf("ExpireDue = %v, %v; want the expired action", got, err)
	}
	steps := []struct {
		name string
		now  time.Time
		gone []string
	}{
		{"approved kept just inside retention", t0.Add(time.Minute + keep), nil},
		{"approved pruned past retention", t0.Add(time.Minute + keep + time.Nanosecond), []string{"approved"}},
		{"expired pruned past retention", expiredAt.Add(keep + time.Second), []string{"approved", "expired"}},
	}
	for _, st := range steps {
		if _, err := b.ExpireDue(ctx, st.now, nil); err != nil {
			t.Fatalf("%s: ExpireDue: %v", st.name, err)
		}
		gone := map[string]bool{}
		for _, id := range st.gone {
			gone[id] = true
		}
		for _, id := range []string{"approved", "expired", "pending"} {
			_, err := b.GetPending(ctx, id)
			if gone[id] != errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: GetPending(%s) = %v, want gone=%v", st.name, id, err, gone[id])
			}
		}
	}
	if n, err := store.BoltCount(b, "retire"); err != nil || n != 0 {
		t.Errorf("retire index holds %d entries (%v), want 0", n, err)
	}
	// A pruned id may be used again.
	if err := b.CreatePending(ctx, store.Pending{ID: "approved", ExpiresAt: t0.Add(5000 * time.Hour)}); err != nil {
		t.Errorf("CreatePending of a pruned id: %v", err)
	}
}

func TestBoltLockedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	openBolt(t, path)
	// bbolt locks the file, so a second bot on the same file fails clearly
	// instead of corrupting it.
	if b, err := store.OpenBolt(path, store.WithBoltTimeout(50*time.Millisecond)); err == nil {
		_ = b.Close()
		t.Fatal("second OpenBolt of a locked file succeeded")
	}
}

// TestBoltLeasesAcrossReopen: a job's lease dies with the process that held
// it (the file lock proves it gone), so a restart resumes at once; the job,
// its journal and the token counter survive.
func TestBoltLeasesAcrossReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	clock := testkit.NewClock(t0)
	b := openBolt(t, path, store.WithClock(clock.Now))
	if err := b.CreatePending(ctx, store.Pending{ID: "kick", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatalf("CreatePending: %v", err)
	}
	_, l, err := b.StartJob(ctx, store.JobStart{PendingID: "kick", By: "slack:ULEAD", Now: t0, Data: []byte("job"),
		Holder: "pid-1", LeaseTTL: time.Hour})
	if err != nil {
		t.Fatalf("StartJob: %v", err)
	}
	if err := b.RecordJobBatch(ctx, l, "kick", []byte("b1"), nil); err != nil {
		t.Fatalf("RecordJobBatch: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b2 := openBolt(t, path, store.WithClock(clock.Now))
	jobs, err := b2.ListJobs(ctx, true, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Holder != "" || jobs[0].Batches != 1 {
		t.Fatalf("unfinished jobs after reopen = %+v, %v; want kick, 1 batch, nobody holding it", jobs, err)
	}
	// No waiting for the old lease's hour: the clock has not moved.
	l2, err := b2.AcquireLease(ctx, store.JobLease("kick"), "pid-2", time.Minute)
	if err != nil {
		t.Fatalf("AcquireLease after reopen: %v", err)
	}
	if l2.Token <= l.Token {
		t.Errorf("token after reopen %d, want more than %d", l2.Token, l.Token)
	}
	if err := b2.RecordJobBatch(ctx, l, "kick", []byte("stale"), nil); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("the dead process's lease = %v, want ErrLeaseLost", err)
	}
	if err := b2.RecordJobBatch(ctx, l2, "kick", []byte("b2"), nil); err != nil {
		t.Fatalf("RecordJobBatch after reopen: %v", err)
	}
	_, batches, err := b2.GetJob(ctx, "kick")
	if err != nil || len(batches) != 2 || string(batches[0]) != "b1" || string(batches[1]) != "b2" {
		t.Fatalf("journal after reopen = %q, %v", batches, err)
	}
}

// TestBoltLeaseClock: bolt leases run on the store clock, to the
// nanosecond: held until Expires, free at it.
func TestBoltLeaseClock(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := testkit.NewClock(t0)
	b := openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithClock(clock.Now))
	a, err := b.AcquireLease(ctx, "watcher", "a", time.Minute)
	if err != nil || !a.Expires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("AcquireLease = %+v, %v; want expiry at t0+1m", a, err)
	}
	steps := []struct {
		name    string
		at      time.Duration
		renewOK bool
		takeErr error
	}{
		{"one tick before expiry", time.Minute - time.Nanosecond, true, store.ErrLeaseHeld},
		// Renewed at t0+1m-1ns for a minute: it ends at t0+2m-1ns.
		{"at the renewed expiry", 2*time.Minute - time.Nanosecond, false, nil},
	}
	for _, st := range steps {
		clock.Set(t0.Add(st.at))
		_, renewErr := b.RenewLease(ctx, a, time.Minute)
		if (renewErr == nil) != st.renewOK {
			t.Fatalf("%s: RenewLease = %v, want ok=%v", st.name, renewErr, st.renewOK)
		}
		if renewErr != nil && !errors.Is(renewErr, store.ErrLeaseLost) {
			t.Fatalf("%s: RenewLease = %v, want ErrLeaseLost", st.name, renewErr)
		}
		_, err := b.AcquireLease(ctx, "watcher", "b", time.Minute)
		if !errors.Is(err, st.takeErr) {
			t.Fatalf("%s: AcquireLease by b = %v, want %v", st.name, err, st.takeErr)
		}
	}
}
