package store_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// redisServer is one redis-server per test function; each store in it gets
// its own key prefix, so tests never see each other's keys.
type redisServer struct {
	addr   string
	prefix atomic.Int64
}

func newRedisServer(t *testing.T) *redisServer {
	return &redisServer{addr: storetest.StartRedis(t)}
}

func (s *redisServer) nextPrefix() string {
	return fmt.Sprintf("test%d:", s.prefix.Add(1))
}

func (s *redisServer) open(t *testing.T, opts ...store.Option) *store.Redis {
	t.Helper()
	r, err := store.NewRedis(&redis.Options{Addr: s.addr}, opts...)
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// client is a plain go-redis client for looking at what the store wrote.
func (s *redisServer) client(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisSuite(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return srv.open(t, store.WithKeyPrefix(srv.nextPrefix()), store.WithAuditLimit(storetest.AuditLimit))
	})
}

// TestRedisTwoClients plays two replicas: separate clients (separate
// connection pools) on one server race for the same actions.
func TestRedisTwoClients(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	ctx := t.Context()
	prefix := srv.nextPrefix()
	replicas := []*store.Redis{srv.open(t, store.WithKeyPrefix(prefix)), srv.open(t, store.WithKeyPrefix(prefix))}

	p := store.Pending{ID: "kick-1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := replicas[0].CreatePending(ctx, p); err != nil {
		t.Fatalf("CreatePending: %v", err)
	}
	if err := replicas[1].CreatePending(ctx, p); err == nil {
		t.Fatal("the other replica created the same id again")
	}
	storetest.ClaimRace(t, replicas[1], "kick-1", 50, func(i int, by string) (store.Pending, error) {
		return replicas[i%2].Claim(ctx, "kick-1", store.StateApproved, by, t0.Add(time.Minute))
	})

	// Both replicas sweep at once: every expiry is reported by one of them.
	const actions = 40
	for i := range actions {
		q := store.Pending{ID: fmt.Sprintf("e%d", i), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		if err := replicas[i%2].CreatePending(ctx, q); err != nil {
			t.Fatalf("CreatePending: %v", err)
		}
	}
	swept := make([][]store.Pending, len(replicas))
	errs := make([]error, len(replicas))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range replicas {
		wg.Go(func() {
			<-start
			swept[i], errs[i] = r.ExpireDue(ctx, t0.Add(time.Hour), nil)
		})
	}
	close(start)
	wg.Wait()
	count := map[string]int{}
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d ExpireDue: %v", i, errs[i])
		}
		for _, q := range swept[i] {
			count[q.ID]++
		}
	}
	if len(count) != actions {
		t.Errorf("%d actions expired, want %d", len(count), actions)
	}
	for id, n := range count {
		if n != 1 {
			t.Errorf("%s reported %d times, want once", id, n)
		}
	}
}

// TestRedisTTLs checks the expiry Redis enforces itself, by reading the
// keys' TTLs instead of waiting for them.
func TestRedisTTLs(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	ctx := t.Context()
	prefix := srv.nextPrefix()
	const keep = 36 * time.Hour
	r := srv.open(t, store.WithKeyPrefix(prefix), store.WithRetention(keep))
	c := srv.client(t)

	seenCases := []struct {
		name     string
		key      string
		ttl      time.Duration
		min, max time.Duration
	}{
		{"minutes", "slack:a", 5 * time.Minute, 5*time.Minute - 10*time.Second, 5 * time.Minute},
		{"sub-second", "slack:b", 750 * time.Millisecond, time.Millisecond, 750 * time.Millisecond},
		{"sub-millisecond rounds up", "slack:c", 300 * time.Microsecond, 0, time.Millisecond},
	}
	for _, tc := range seenCases {
		if _, err := r.SeenBefore(ctx, tc.key, tc.ttl); err != nil {
			t.Fatalf("%s: SeenBefore: %v", tc.name, err)
		}
		pttl, err := c.PTTL(ctx, prefix+"seen:"+tc.key).Result()
		if err != nil {
			t.Fatalf("%s: PTTL: %v", tc.name, err)
		}
		// A sub-millisecond key may already be gone (-2); otherwise the
		// TTL must be the one asked for.
		if pttl == -2*time.Nanosecond && tc.min == 0 {
			continue
		}
		if pttl < tc.min || pttl > tc.max {
			t.Errorf("%s: replay key TTL %s, want within [%s, %s]", tc.name, pttl, tc.min, tc.max)
		}
	}

	for _, id := range []string{"a", "b"} {
		if err := r.CreatePending(ctx, store.Pending{ID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatalf("CreatePending: %v", err)
		}
	}
	if ttl, err := c.PTTL(ctx, prefix+"pending:a").Result(); err != nil || ttl != -1*time.Nanosecond {
		t.Fatalf("pending key TTL = %v, %v; want none (-1) while pending", ttl, err)
	}
	if _, err := r.Claim(ctx, "a", store.StateApproved, "slack:U1", t0); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if _, err := r.ExpireDue(ctx, t0.Add(2*time.Hour), nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	for _, id := range []string{"a", "b"} {
		ttl, err := c.PTTL(ctx, prefix+"pending:"+id).Result()
		if err != nil || ttl <= keep-time.Minute || ttl > keep {
			t.Errorf("decided %s: TTL %v (%v), want about the retention %s", id, ttl, err, keep)
		}
	}
	if n, err := c.ZCard(ctx, prefix+"due").Result(); err != nil || n != 0 {
		t.Errorf("due index holds %d (%v), want 0 once nothing is pending", n, err)
	}
}

// TestRedisExpireBatches: a backlog larger than one script batch is expired
// completely, each action once.
func TestRedisExpireBatches(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	ctx := t.Context()
	r := srv.open(t, store.WithKeyPrefix(srv.nextPrefix()))
	const n = 1234
	pipe := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			pipe <- r.CreatePending(ctx, store.Pending{ID: fmt.Sprintf("b%04d", i), ExpiresAt: t0.Add(time.Duration(i) * time.Millisecond)})
		})
	}
	wg.Wait()
	close(pipe)
	for err := range pipe {
		if err != nil {
			t.Fatalf("CreatePending: %v", err)
		}
	}
	got, err := r.ExpireDue(ctx, t0.Add(time.Hour), nil)
	if err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	ids := map[string]bool{}
	for i, p := range got {
		ids[p.ID] = true
		if i > 0 && p.ExpiresAt.Before(got[i-1].ExpiresAt) {
			t.Fatalf("expiries out of order at %d", i)
		}
	}
	if len(got) != n || len(ids) != n {
		t.Fatalf("ExpireDue returned %d (%d distinct), want %d", len(got), len(ids), n)
	}
}

// TestRedisPasswordHidden: a password in the URL shows up neither in errors
// nor in logs, whether the server is unreachable or refuses it.
func TestRedisPasswordHidden(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	const secret = "s3cr3t-Pa55"
	tests := []struct {
		name string
		url  string
	}{
		{"nothing listening", "redis://:" + secret + "@127.0.0.1:1/0?max_retries=-1"},
		{"server without a password", "redis://qlikbot:" + secret + "@" + srv.addr + "/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s, err := store.Open(t.Context(), tt.url, store.WithLogger(logger))
			if err != nil {
				t.Fatalf("Open must not dial, got %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			err = s.Ping(t.Context())
			if err == nil {
				t.Fatal("Ping succeeded")
			}
			_, claimErr := s.Claim(t.Context(), "x", store.StateApproved, "slack:U1", t0)
			for _, text := range []string{err.Error(), fmt.Sprint(claimErr), logs.String()} {
				if strings.Contains(text, secret) {
					t.Errorf("password leaked: %s", text)
				}
			}
			// "store opened" waits for a store that answered.
			if l := logs.String(); !strings.Contains(l, "store configured") || strings.Contains(l, "store opened") {
				t.Errorf("want a configured line and no open line before a good Ping: %q", l)
			}
		})
	}
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer = testkit.Buffer

// TestRedisTwoClientsJobs plays two replicas on one server: they race to
// start the same approved job, exactly one wins; when the winner stalls
// past its lease the other resumes the job and the stalled one is fenced.
func TestRedisTwoClientsJobs(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	ctx := t.Context()
	prefix := srv.nextPrefix()
	replicas := []*store.Redis{srv.open(t, store.WithKeyPrefix(prefix)), srv.open(t, store.WithKeyPrefix(prefix))}
	if err := replicas[0].CreatePending(ctx, store.Pending{ID: "kick-1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatalf("CreatePending: %v", err)
	}
	leases := make([]store.Lease, 50)
	storetest.StartJobRace(t, replicas[1], "kick-1", len(leases), func(i int, st store.JobStart) (store.Pending, store.Lease, error) {
		p, l, err := replicas[i%2].StartJob(ctx, st)
		leases[i] = l
		return p, l, err
	})
	var won store.Lease
	for _, l := range leases {
		if l.Token != 0 {
			won = l
		}
	}
	if err := replicas[0].RecordJobBatch(ctx, won, "kick-1", []byte("b1"), nil); err != nil {
		t.Fatalf("RecordJobBatch by the winner through another client: %v", err)
	}
	// The winner stalls: its lease runs out; the resume loop on the other
	// replica takes the job over.
	won, err := replicas[0].RenewLease(ctx, won, time.Millisecond)
	if err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	var taken store.Lease
	deadline := time.Now().Add(10 * time.Second)
	for {
		open, err := replicas[1].ListJobs(ctx, true, 10)
		if err != nil || len(open) != 1 {
			t.Fatalf("ListJobs(unfinished) = %+v, %v", open, err)
		}
		if taken, err = replicas[1].AcquireLease(ctx, store.JobLease(open[0].ID), "resumer", time.Minute); err == nil {
			break
		}
		if !errors.Is(err, store.ErrLeaseHeld) || time.Now().After(deadline) {
			t.Fatalf("AcquireLease by the resumer: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := replicas[0].RecordJobBatch(ctx, won, "kick-1", []byte("stale"), nil); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("stalled holder's RecordJobBatch = %v, want ErrLeaseLost", err)
	}
	if err := replicas[1].FinishJob(ctx, taken, "kick-1", t0.Add(time.Minute), []byte("done"), nil); err != nil {
		t.Fatalf("FinishJob by the resumer: %v", err)
	}
	j, batches, err := replicas[0].GetJob(ctx, "kick-1")
	if err != nil || !j.Finished() || len(batches) != 1 || string(batches[0]) != "b1" {
		t.Fatalf("job = %+v, %q, %v; want finished with only b1", j, batches, err)
	}
}

// TestRedisForeignRecords: records something else wrote into Redis neither
// crash the store nor stall its sweeps and listings: an undecodable job is
// listed by id alone (its seal check upstream refuses it), an undecodable
// approval still expires with its audit row, a malformed index member is
// dropped.
func TestRedisForeignRecords(t *testing.T) {
	t.Parallel()
	srv := newRedisServer(t)
	ctx := t.Context()
	prefix := srv.nextPrefix()
	r := srv.open(t, store.WithKeyPrefix(prefix))
	c := srv.client(t)
	ck := "00000000000000000001"
	writes := []error{
		c.HSet(ctx, prefix+"job:forged", "rec", "{not json", "ck", ck).Err(),
		c.ZAdd(ctx, prefix+"jobs_open", redis.Z{Member: ck + ":forged"}).Err(),
		c.ZAdd(ctx, prefix+"jobs_open", redis.Z{Member: "short"}).Err(),
		c.HSet(ctx, prefix+"pending:bad", "rec", "garbage", "exp", ck, "state", "pending").Err(),
		c.ZAdd(ctx, prefix+"due", redis.Z{Member: ck + ":bad"}).Err(),
		c.ZAdd(ctx, prefix+"due", redis.Z{Member: "0"}).Err(), // due, malformed
	}
	if err := errors.Join(writes...); err != nil {
		t.Fatal(err)
	}
	jobs, err := r.ListJobs(ctx, true, 10)
	if err != nil || len(jobs) != 1 || jobs[0].ID != "forged" || jobs[0].Data != nil {
		t.Fatalf("ListJobs = %+v, %v; want the forged job by id, without data", jobs, err)
	}
	expired, err := r.ExpireDue(ctx, t0, func(p store.Pending) store.Event {
		return store.Event{Time: t0, Action: "expire", Pending: p.ID}
	})
	if err != nil || len(expired) != 1 || expired[0].ID != "bad" || expired[0].State != store.StateExpired {
		t.Fatalf("ExpireDue = %+v, %v; want the bad approval expired", expired, err)
	}
	events, err := r.RecentAudit(ctx, 10)
	if err != nil || len(events) != 1 || events[0].Pending != "bad" {
		t.Fatalf("audit = %+v, %v; want the bad approval's expiry", events, err)
	}
	if n, err := c.ZCard(ctx, prefix+"due").Result(); err != nil || n != 0 {
		t.Errorf("due index holds %d (%v) after the sweep, want 0", n, err)
	}
}
