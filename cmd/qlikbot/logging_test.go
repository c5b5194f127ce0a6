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
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.Contains(buf.String(), "after 0 attempts") {
		t.Errorf("20 messages within %s logged as %d lines, want the first only:\n%s", redisLogEvery, n, buf.String())
	}
}
