package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/storetest"
)

// TestRedisRestartLosesNothing: Redis run as the package doc says
// (appendonly) is killed with SIGKILL in the middle of a job and started
// again on the same port and data: everything the store acknowledged is
// there, what failed while it was down is not, and the job goes on.
func TestRedisRestartLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := storetest.StartRedisServer(t, storetest.RedisConfig{Persist: true})
	s, err := store.Open(ctx, srv.URL("", ""), store.WithKeyPrefix("restart:"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	ev := func(i int) store.Event {
		return store.Event{Time: t0.Add(time.Duration(i) * time.Second), Action: "delete", Target: fmt.Sprintf("t%d", i), Pending: "kick"}
	}

	for _, id := range []string{"kick", "other"} {
		must("CreatePending", s.CreatePending(ctx, store.Pending{ID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	}
	_, l, err := s.StartJob(ctx, store.JobStart{PendingID: "kick", By: "slack:ULEAD", Now: t0, Data: []byte("job"),
		Holder: "replica-a", LeaseTTL: time.Hour, Events: []store.Event{ev(0)}})
	must("StartJob", err)
	must("RecordJobBatch", s.RecordJobBatch(ctx, l, "kick", []byte("b1"), []store.Event{ev(1), ev(2)}))
	must("AppendAudit", s.AppendAudit(ctx, ev(3)))
	seen, err := s.SeenBefore(ctx, "slack:req-1", time.Hour)
	must("SeenBefore", err)
	if seen {
		t.Fatal("fresh replay key reported seen")
	}
	must("PutBlob", s.PutBlob(ctx, "csv", []byte("a,b\n"), time.Hour))
	watcher, err := s.AcquireLease(ctx, "watcher", "replica-a", time.Hour)
	must("AcquireLease", err)

	srv.Kill(t)
	if err := s.RecordJobBatch(ctx, l, "kick", []byte("lost"), []store.Event{ev(99)}); err == nil {
		t.Fatal("RecordJobBatch succeeded with Redis down")
	}
	srv.Start(t)
	awaitPing(t, s)

	if p, err := s.GetPending(ctx, "kick"); err != nil || p.State != store.StateApproved || p.DecidedBy != "slack:ULEAD" {
		t.Errorf("approval after restart = %+v, %v", p, err)
	}
	if p, err := s.GetPending(ctx, "other"); err != nil || p.State != store.StatePending {
		t.Errorf("pending approval after restart = %+v, %v", p, err)
	}
	checkJob(t, s, "kick", "replica-a", "b1")
	if seen, err := s.SeenBefore(ctx, "slack:req-1", time.Hour); err != nil || !seen {
		t.Errorf("replay after restart: seen=%v, %v; want caught", seen, err)
	}
	if b, err := s.GetBlob(ctx, "csv"); err != nil || string(b) != "a,b\n" {
		t.Errorf("blob after restart = %q, %v", b, err)
	}
	if _, err := s.AcquireLease(ctx, "watcher", "replica-b", time.Hour); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("watcher lease after restart: %v, want still held", err)
	}
	next, err := s.AcquireLease(ctx, "fresh", "replica-b", time.Hour)
	if err != nil || next.Token <= watcher.Token {
		t.Errorf("token after restart = %d (%v), want more than %d", next.Token, err, watcher.Token)
	}

	// The job goes on with its lease, and its end survives another crash.
	must("RecordJobBatch after restart", s.RecordJobBatch(ctx, l, "kick", []byte("b2"), []store.Event{ev(4)}))
	must("FinishJob", s.FinishJob(ctx, l, "kick", t0.Add(time.Minute), []byte("done"), []store.Event{ev(5)}))
	srv.Kill(t)
	srv.Start(t)
	awaitPing(t, s)
	j := checkJob(t, s, "kick", "", "b1", "b2")
	if !j.Finished() || string(j.Result) != "done" {
		t.Errorf("job after the second restart = %+v, want finished with its result", j)
	}
	events, err := s.RecentAudit(ctx, 100)
	must("RecentAudit", err)
	var got []string
	for _, e := range events {
		got = append([]string{e.Target}, got...)
	}
	if want := "[t0 t1 t2 t3 t4 t5]"; fmt.Sprint(got) != want {
		t.Errorf("audit after restarts = %v, want %s", got, want)
	}
}

func checkJob(t *testing.T, s store.Store, id, holder string, batches ...string) store.Job {
	t.Helper()
	j, got, err := s.GetJob(t.Context(), id)
	if err != nil {
		t.Fatalf("GetJob: %v", err)
	}
	if j.Holder != holder {
		t.Errorf("job holder = %q, want %q", j.Holder, holder)
	}
	var gotS []string
	for _, b := range got {
		gotS = append(gotS, string(b))
	}
	if fmt.Sprint(gotS) != fmt.Sprint(batches) {
		t.Errorf("journal = %q, want %q", gotS, batches)
	}
	return j
}

// awaitPing waits (bounded) until the store's client reaches the restarted
// server: its pooled connections died with the old process.
func awaitPing(t *testing.T, s store.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.Ping(t.Context())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not reach the restarted Redis: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
