package main

import (
	"log/slog"
	"strings"
	"testing"
)

// TestRedisLogQuiet: go-redis's pool reports each failed dial while Redis
// is down; qlikbot logs the first and then one per redisLogEvery.
func TestRedisLogQuiet(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	r := newRedisLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	for i := range 20 {
		r.Printf(t.Context(), "redis: connection pool: failed to dial after %d attempts", i)
		if i == 5 { // another message within the flood is not hidden by it
			r.Printf(t.Context(), "redis: auth failed: %s", "WRONGPASS")
		}
	}
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 2 || !strings.Contains(out, "after 0 attempts") || !strings.Contains(out, "WRONGPASS") {
		t.Errorf("20 dial failures and an auth error within %s logged as %d lines, want the first of each:\n%s", redisLogEvery, n, out)
	}
}
