package store_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// benchStores returns one store per backend for a benchmark.
func benchStores(b *testing.B) map[string]store.Store {
	bolt, err := store.OpenBolt(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = bolt.Close() })
	stores := map[string]store.Store{"bolt": bolt}
	if _, err := exec.LookPath("redis-server"); err == nil {
		r, err := store.NewRedis(&redis.Options{Addr: storetest.StartRedis(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = r.Close() })
		stores["redis"] = r
	}
	return stores
}

// BenchmarkCreateClaim measures one approval round trip: create, claim.
func BenchmarkCreateClaim(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("bench-%d", i)
				i++
				if err := s.CreatePending(ctx, store.Pending{ID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Claim(ctx, id, store.StateApproved, "slack:U1", t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendAudit(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			e := store.Event{Time: t0, Subject: "slack:U1", Action: "command", Command: "/qlik sessions finance"}
			for b.Loop() {
				if err := s.AppendAudit(b.Context(), e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSeenBefore(b *testing.B) {
	for name, s := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if _, err := s.SeenBefore(b.Context(), fmt.Sprintf("evt-%d", i), time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
