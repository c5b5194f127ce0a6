package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

func testStartJobConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustCreate(t, s, newPending("race", time.Hour))
	StartJobRace(t, s, "race", racers, func(i int, st store.JobStart) (store.Pending, store.Lease, error) {
		return s.StartJob(t.Context(), st)
	})
}

// StartJobRace releases n concurrent StartJob calls on approval id, caller
// i running start(i, st) with its own approver and holder, and checks that
// exactly one won: the approval decided by the winner, one job held by the
// winner, only the winner's audit row, every loser told ErrDecided (or
// ErrLeaseHeld). Backend tests use it for their cross-replica variants.
func StartJobRace(t *testing.T, s store.Store, id string, n int, start func(i int, st store.JobStart) (store.Pending, store.Lease, error)) {
	t.Helper()
	type result struct {
		st  store.JobStart
		p   store.Pending
		l   store.Lease
		err error
	}
	results := make([]result, n)
	for i := range n {
		st := jobStart(id, fmt.Sprintf("replica-%02d", i))
		st.By = fmt.Sprintf("slack:U%02d", i)
		st.Events = []store.Event{jobEvent(id, "approve", i)}
		results[i].st = st
	}
	together(n, func(i int) {
		r := &results[i]
		r.p, r.l, r.err = start(i, r.st)
	})
	win := -1
	for i, r := range results {
		if r.err == nil {
			if win >= 0 {
				t.Fatalf("StartJob won by both %d and %d", win, i)
			}
			win = i
		}
	}
	if win < 0 {
		t.Fatalf("no StartJob won: %v", results[0].err)
	}
	w := results[win]
	for i, r := range results {
		if i != win && !errors.Is(r.err, store.ErrDecided) && !errors.Is(r.err, store.ErrLeaseHeld) {
			t.Errorf("loser %d: %v, want ErrDecided", i, r.err)
		}
	}
	if p := mustGet(t, s, id); p.State != store.StateApproved || p.DecidedBy != w.st.By {
		t.Errorf("approval = %q by %q, want approved by the winner %q", p.State, p.DecidedBy, w.st.By)
	}
	j, _ := mustGetJob(t, s, id)
	if j.Holder != w.st.Holder || w.l.Holder != w.st.Holder {
		t.Errorf("job held by %q (lease %+v), want the winner %q", j.Holder, w.l, w.st.Holder)
	}
	checkAudit(t, s, w.st.Events...)
}

// testJobFencing: a holder whose lease ran out and was taken over is
// refused, and what it tried to write is nowhere.
func testJobFencing(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	mustCreate(t, s, newPending("j", time.Hour))
	st := jobStart("j", "replica-a")
	_, a, err := s.StartJob(ctx, st)
	if err != nil {
		t.Fatalf("StartJob: %v", err)
	}
	first := jobEvent("j", "delete", 1)
	if err := s.RecordJobBatch(ctx, a, "j", []byte("a1"), []store.Event{first}); err != nil {
		t.Fatalf("RecordJobBatch: %v", err)
	}
	// replica-a stalls: its lease runs out and replica-b resumes the job.
	if a, err = s.RenewLease(ctx, a, time.Millisecond); err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	b := awaitLease(t, s, store.JobLease("j"), "replica-b", time.Minute)
	if j, _ := mustGetJob(t, s, "j"); j.Holder != "replica-b" {
		t.Errorf("job holder after takeover = %q, want replica-b", j.Holder)
	}
	if err := s.RecordJobBatch(ctx, a, "j", []byte("a2"), []store.Event{jobEvent("j", "delete", 2)}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("stale RecordJobBatch = %v, want ErrLeaseLost", err)
	}
	if err := s.FinishJob(ctx, a, "j", base, []byte("a done"), []store.Event{jobEvent("j", "job-finished", 3)}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("stale FinishJob = %v, want ErrLeaseLost", err)
	}
	second := jobEvent("j", "delete", 4)
	if err := s.RecordJobBatch(ctx, b, "j", []byte("b1"), []store.Event{second}); err != nil {
		t.Fatalf("RecordJobBatch by the new holder: %v", err)
	}
	// A lease of another job does not fence this one.
	mustCreate(t, s, newPending("k", time.Hour))
	_, other, err := s.StartJob(ctx, jobStart("k", "replica-a"))
	if err != nil {
		t.Fatalf("StartJob k: %v", err)
	}
	if err := s.RecordJobBatch(ctx, other, "j", []byte("wrong"), nil); err == nil {
		t.Error("RecordJobBatch on j with k's lease succeeded")
	}
	j, batches := mustGetJob(t, s, "j")
	checkBatches(t, batches, "a1", "b1")
	if j.Finished() {
		t.Error("a stale FinishJob finished the job")
	}
	k := jobStart("k", "replica-a").Events[0]
	checkAudit(t, s, st.Events[0], first, second, k)
}

// testJobBatchesConcurrent: batches written at once by the holder are all
// kept, each once.
func testJobBatchesConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustCreate(t, s, newPending("j", time.Hour))
	_, l, err := s.StartJob(t.Context(), jobStart("j", "h"))
	if err != nil {
		t.Fatalf("StartJob: %v", err)
	}
	const n = 20
	errs := make([]error, n)
	together(n, func(i int) {
		errs[i] = s.RecordJobBatch(t.Context(), l, "j", []byte(fmt.Sprintf("b%02d", i)), nil)
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	_, batches := mustGetJob(t, s, "j")
	seen := map[string]bool{}
	for _, b := range batches {
		seen[string(b)] = true
	}
	if len(batches) != n || len(seen) != n {
		t.Fatalf("%d batches (%d distinct), want %d", len(batches), len(seen), n)
	}
}
