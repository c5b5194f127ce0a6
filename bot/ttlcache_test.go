package bot

import (
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
