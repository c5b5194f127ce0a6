package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
)

// TestBoltBlobExpiry moves the injected clock across a blob's expiry and
// checks ExpireDue removes expired blobs from the file.
func TestBoltBlobExpiry(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clock := testkit.NewClock(t0)
	b := openBolt(t, filepath.Join(t.TempDir(), "state.db"), store.WithClock(clock.Now))
	if err := b.PutBlob(ctx, "short", []byte("s"), time.Minute); err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	if err := b.PutBlob(ctx, "long", []byte("l"), time.Hour); err != nil {
		t.Fatalf("PutBlob: %v", err)
	}
	steps := []struct {
		name        string
		at          time.Duration
		short, long bool // still readable
	}{
		{"fresh", 0, true, true},
		{"one tick before expiry", time.Minute - time.Nanosecond, true, true},
		{"at expiry", time.Minute, false, true},
		{"long one expired too", time.Hour, false, false},
	}
	for _, st := range steps {
		clock.Set(t0.Add(st.at))
		for key, want := range map[string]bool{"short": st.short, "long": st.long} {
			_, err := b.GetBlob(ctx, key)
			if got := err == nil; got != want || (err != nil && !errors.Is(err, store.ErrNotFound)) {
				t.Errorf("%s: GetBlob(%s) = %v, want readable=%v (else ErrNotFound)", st.name, key, err, want)
			}
		}
	}
	countBlobs := func(want int) {
		t.Helper()
		for _, bucket := range []string{"blob", "blob_exp"} {
			if n, err := store.BoltCount(b, bucket); err != nil || n != want {
				t.Fatalf("%s holds %d entries (%v), want %d", bucket, n, err, want)
			}
		}
	}
	countBlobs(2)
	if _, err := b.ExpireDue(ctx, t0.Add(30*time.Minute), nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	countBlobs(1)
	// Replacing a blob moves its expiry instead of leaving a stale index entry.
	clock.Set(t0)
	if err := b.PutBlob(ctx, "long", []byte("l2"), 2*time.Hour); err != nil {
		t.Fatalf("PutBlob again: %v", err)
	}
	countBlobs(1)
	if _, err := b.ExpireDue(ctx, t0.Add(90*time.Minute), nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	if got, err := b.GetBlob(ctx, "long"); err != nil || string(got) != "l2" {
		t.Fatalf("renewed blob = %q, %v; want it kept by its new expiry", got, err)
	}
	if _, err := b.ExpireDue(ctx, t0.Add(2*time.Hour), nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	countBlobs(0)
}

// TestRedisBlobTTL reads the TTL Redis holds for a blob instead of waiting
// for it to run out.
func TestRedisBlobTTL(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	ctx := t.Context()
	prefix := srv.nextPrefix()
	r := srv.open(t, store.WithKeyPrefix(prefix))
	c := srv.client(t)
	cases := []struct {
		name     string
		key      string
		ttl      time.Duration
		min, max time.Duration
	}{
		{"an hour", "a", time.Hour, time.Hour - 10*time.Second, time.Hour},
		{"sub-millisecond rounds up", "b", 300 * time.Microsecond, 0, time.Millisecond},
	}
	for _, tc := range cases {
		if err := r.PutBlob(ctx, tc.key, []byte("data"), tc.ttl); err != nil {
			t.Fatalf("%s: PutBlob: %v", tc.name, err)
		}
		pttl, err := c.PTTL(ctx, prefix+"blob:"+tc.key).Result()
		if err != nil {
			t.Fatalf("%s: PTTL: %v", tc.name, err)
		}
		if pttl == -2*time.Nanosecond && tc.min == 0 {
			continue // already gone, as it should be soon
		}
		if pttl < tc.min || pttl > tc.max {
			t.Errorf("%s: blob TTL %s, want within [%s, %s]", tc.name, pttl, tc.min, tc.max)
		}
	}
	// Expiry as Redis enforces it: once the key is gone, GetBlob says so.
	if err := c.Del(ctx, prefix+"blob:a").Err(); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	if _, err := r.GetBlob(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetBlob of a dropped key = %v, want ErrNotFound", err)
	}
}
