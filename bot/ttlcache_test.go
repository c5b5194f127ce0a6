package bot

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestTTLCache(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	c := NewTTLCache[string, string](time.Hour, 3)
	c.Put("U1", "u1@example.com", t0)
	steps := []struct {
		key    string
		at     time.Duration
		want   string
		wantOK bool
	}{
		{"U1", 0, "u1@example.com", true},
		{"U1", time.Hour, "u1@example.com", true}, // the ttl is inclusive
		{"U1", time.Hour + time.Nanosecond, "", false},
		{"U2", 0, "", false},
	}
	for _, s := range steps {
		if got, ok := c.Get(s.key, t0.Add(s.at)); got != s.want || ok != s.wantOK {
			t.Errorf("Get(%s) at +%v = %q, %v; want %q, %v", s.key, s.at, got, ok, s.want, s.wantOK)
		}
	}

	// Full: expired entries make room first, live ones stay.
	c.Put("U2", "u2", t0.Add(30*time.Minute))
	c.Put("U3", "u3", t0.Add(30*time.Minute))
	c.Put("U4", "u4", t0.Add(90*time.Minute)) // U1 expired at +60m
	if _, ok := c.Get("U2", t0.Add(90*time.Minute)); !ok || c.Len() != 3 {
		t.Fatalf("after making room: U2 kept %v, %d keys; want kept, 3", ok, c.Len())
	}
	// Full of live entries: everything goes, the bound holds.
	c.Put("U5", "u5", t0.Add(90*time.Minute))
	if c.Len() != 1 {
		t.Fatalf("%d keys after overflowing with live entries, want 1", c.Len())
	}
	// Updating a key of a full cache drops nothing.
	d := NewTTLCache[string, string](time.Hour, 3)
	for i := range 3 {
		d.Put(fmt.Sprint("V", i), "v", t0)
	}
	d.Put("V0", "again", t0)
	if got, _ := d.Get("V0", t0); got != "again" || d.Len() != 3 {
		t.Fatalf("after updating a key of a full cache: %q, %d keys; want again, 3", got, d.Len())
	}
}

// TestTTLCacheFetch: a value fetched is cached for the ttl; a failed
// fetch is returned and not cached; the fetch gets a bounded ctx.
func TestTTLCacheFetch(t *testing.T) {
	t.Parallel()
	c := NewTTLCache[string, string](time.Minute, 8)
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	calls := 0
	fetch := func(answer string, err error) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			calls++
			if _, ok := ctx.Deadline(); !ok {
				t.Error("fetch without a deadline")
			}
			return answer, err
		}
	}
	boom := errors.New("down")
	if _, err := c.Fetch(t.Context(), "u", now, time.Second, fetch("", boom)); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the fetch's", err)
	}
	if v, err := c.Fetch(t.Context(), "u", now, time.Second, fetch("a@x", nil)); err != nil || v != "a@x" || calls != 2 {
		t.Fatalf("after a failure: %q, %v after %d calls; want a second fetch", v, err, calls)
	}
	if v, _ := c.Fetch(t.Context(), "u", now.Add(30*time.Second), time.Second, fetch("b@x", nil)); v != "a@x" || calls != 2 {
		t.Fatalf("within the ttl: %q after %d calls; want the cached value", v, calls)
	}
	if v, _ := c.Fetch(t.Context(), "u", now.Add(2*time.Minute), time.Second, fetch("b@x", nil)); v != "b@x" || calls != 3 {
		t.Fatalf("after the ttl: %q after %d calls", v, calls)
	}
}
