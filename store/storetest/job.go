package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// jobEvent is an audit row a job step writes; n tells them apart.
func jobEvent(id, action string, n int) store.Event {
	return store.Event{
		Time:    base.Add(time.Duration(n) * time.Millisecond),
		Subject: "slack:ULEAD",
		Action:  action,
		Target:  fmt.Sprintf("finance@pro2-win1.lab/%08x", n),
		Outcome: "deleted",
		Pending: id,
	}
}

func jobStart(id, holder string) store.JobStart {
	return store.JobStart{
		PendingID: id,
		By:        "slack:ULEAD",
		Now:       base.Add(time.Minute),
		Data:      []byte("sealed job " + id),
		Holder:    holder,
		LeaseTTL:  time.Minute,
		Events:    []store.Event{jobEvent(id, "approve", 0)},
	}
}

// auditOf returns the whole audit trail, oldest first.
func auditOf(t *testing.T, s store.Store) []store.Event {
	t.Helper()
	got, err := s.RecentAudit(t.Context(), AuditLimit)
	if err != nil {
		t.Fatalf("RecentAudit: %v", err)
	}
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	return got
}

func checkAudit(t *testing.T, s store.Store, want ...store.Event) {
	t.Helper()
	got := auditOf(t, s)
	if len(got) != len(want) {
		t.Fatalf("audit trail holds %d events %v, want %d", len(got), actions(got), len(want))
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("audit %d: Time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time = want[i].Time
		if got[i] != want[i] {
			t.Errorf("audit %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func actions(es []store.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action + ":" + e.Target
	}
	return out
}

func mustGetJob(t *testing.T, s store.Store, id string) (store.Job, [][]byte) {
	t.Helper()
	j, batches, err := s.GetJob(t.Context(), id)
	if err != nil {
		t.Fatalf("GetJob(%s): %v", id, err)
	}
	if j.ID != id || j.Batches != len(batches) {
		t.Fatalf("GetJob(%s) = id %q with Batches %d and %d batches", id, j.ID, j.Batches, len(batches))
	}
	return j, batches
}

func checkBatches(t *testing.T, got [][]byte, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("journal holds %d batches %q, want %q", len(got), got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("batch %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func testJobLifecycle(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	p := newPending("kick-1", time.Hour)
	mustCreate(t, s, p)
	st := jobStart("kick-1", "replica-a")
	got, l, err := s.StartJob(ctx, st)
	if err != nil {
		t.Fatalf("StartJob: %v", err)
	}
	p.State, p.DecidedBy, p.DecidedAt = store.StateApproved, st.By, st.Now
	checkPending(t, got, p)
	checkPending(t, mustGet(t, s, "kick-1"), p)
	if l.Name != store.JobLease("kick-1") || l.Holder != "replica-a" || l.Token == 0 {
		t.Fatalf("StartJob lease = %+v", l)
	}
	j, batches := mustGetJob(t, s, "kick-1")
	if !j.CreatedAt.Equal(st.Now) || !bytes.Equal(j.Data, st.Data) || j.Finished() || j.Holder != "replica-a" || len(batches) != 0 {
		t.Fatalf("new job = %+v, %d batches", j, len(batches))
	}
	if _, err := s.AcquireLease(ctx, l.Name, "replica-b", time.Minute); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("another replica took a running job's lease: %v", err)
	}

	want := []store.Event{st.Events[0]}
	for i := 1; i <= 3; i++ {
		evs := []store.Event{jobEvent("kick-1", "delete", 2*i), jobEvent("kick-1", "delete", 2*i+1)}
		if err := s.RecordJobBatch(ctx, l, "kick-1", []byte(fmt.Sprintf("batch %d", i)), evs); err != nil {
			t.Fatalf("RecordJobBatch %d: %v", i, err)
		}
		want = append(want, evs...)
	}
	// The last batch again (a retry whose answer was lost) writes nothing.
	if err := s.RecordJobBatch(ctx, l, "kick-1", []byte("batch 3"), []store.Event{jobEvent("kick-1", "delete", 7)}); err != nil {
		t.Fatalf("RecordJobBatch of the last batch again: %v", err)
	}
	_, batches = mustGetJob(t, s, "kick-1")
	checkBatches(t, batches, "batch 1", "batch 2", "batch 3")
	checkAudit(t, s, want...)
	if open, err := s.ListJobs(ctx, true, 10); err != nil || len(open) != 1 || open[0].ID != "kick-1" || open[0].Batches != 3 {
		t.Fatalf("ListJobs(unfinished) = %+v, %v", open, err)
	}

	end := jobEvent("kick-1", "job-finished", 100)
	finishedAt := base.Add(5 * time.Minute)
	if err := s.FinishJob(ctx, l, "kick-1", finishedAt, []byte("sealed result"), []store.Event{end}); err != nil {
		t.Fatalf("FinishJob: %v", err)
	}
	want = append(want, end)
	checkAudit(t, s, want...)
	j, batches = mustGetJob(t, s, "kick-1")
	if !j.FinishedAt.Equal(finishedAt) || string(j.Result) != "sealed result" || j.Holder != "" || !bytes.Equal(j.Data, st.Data) {
		t.Fatalf("finished job = %+v", j)
	}
	checkBatches(t, batches, "batch 1", "batch 2", "batch 3")
	if open, err := s.ListJobs(ctx, true, 10); err != nil || len(open) != 0 {
		t.Fatalf("ListJobs(unfinished) after finish = %+v, %v; want none", open, err)
	}
	if all, err := s.ListJobs(ctx, false, 10); err != nil || len(all) != 1 || !all[0].Finished() {
		t.Fatalf("ListJobs(all) after finish = %+v, %v", all, err)
	}

	// The lease went with the finish: the old one writes nothing more, and
	// a new holder finds the job finished.
	if err := s.RecordJobBatch(ctx, l, "kick-1", []byte("late"), []store.Event{jobEvent("kick-1", "delete", 200)}); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("RecordJobBatch after FinishJob = %v, want ErrLeaseLost", err)
	}
	l2 := mustAcquire(t, s, store.JobLease("kick-1"), "replica-b", time.Minute)
	if err := s.RecordJobBatch(ctx, l2, "kick-1", []byte("late"), nil); !errors.Is(err, store.ErrJobFinished) {
		t.Errorf("RecordJobBatch on a finished job = %v, want ErrJobFinished", err)
	}
	if err := s.FinishJob(ctx, l2, "kick-1", finishedAt, nil, nil); !errors.Is(err, store.ErrJobFinished) {
		t.Errorf("FinishJob twice = %v, want ErrJobFinished", err)
	}
	_, batches = mustGetJob(t, s, "kick-1")
	checkBatches(t, batches, "batch 1", "batch 2", "batch 3")
	checkAudit(t, s, want...)
}

// testStartJobRefused: every refusal writes nothing: no job, no lease, no
// audit row, the approval as it was.
func testStartJobRefused(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	mustCreate(t, s, newPending("rejected", time.Hour))
	if _, err := s.Claim(ctx, "rejected", store.StateRejected, "slack:UOTHER", base); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	mustCreate(t, s, newPending("late", time.Minute))
	mustCreate(t, s, newPending("leased", time.Hour))
	mustAcquire(t, s, store.JobLease("leased"), "intruder", time.Hour)
	mustCreate(t, s, newPending("ok", time.Hour))

	big := jobStart("ok", "h")
	big.Data = make([]byte, store.MaxBlobSize+1)
	cases := []struct {
		name  string
		start store.JobStart
		is    error // nil: a plain input error
		state store.State
	}{
		{"unknown", jobStart("nope", "h"), store.ErrNotFound, ""},
		{"decided", jobStart("rejected", "h"), store.ErrDecided, store.StateRejected},
		{"expired", func() store.JobStart { s := jobStart("late", "h"); s.Now = base.Add(2 * time.Minute); return s }(), store.ErrExpired, store.StatePending},
		{"lease held", jobStart("leased", "h"), store.ErrLeaseHeld, store.StatePending},
		{"no approver", func() store.JobStart { s := jobStart("ok", "h"); s.By = ""; return s }(), nil, store.StatePending},
		{"no time", func() store.JobStart { s := jobStart("ok", "h"); s.Now = time.Time{}; return s }(), nil, store.StatePending},
		{"no holder", jobStart("ok", ""), nil, store.StatePending},
		{"no ttl", func() store.JobStart { s := jobStart("ok", "h"); s.LeaseTTL = 0; return s }(), nil, store.StatePending},
		{"data too large", big, nil, store.StatePending},
	}
	for _, tc := range cases {
		p, l, err := s.StartJob(ctx, tc.start)
		switch {
		case tc.is != nil && !errors.Is(err, tc.is):
			t.Errorf("%s: StartJob = %v, want %v", tc.name, err, tc.is)
		case tc.is == nil && (err == nil || errors.Is(err, store.ErrDecided) || errors.Is(err, store.ErrNotFound)):
			t.Errorf("%s: StartJob = %v, want an input error", tc.name, err)
		case l.Token != 0:
			t.Errorf("%s: a refused StartJob returned lease %+v", tc.name, l)
		}
		if tc.is == store.ErrDecided && p.DecidedBy != "slack:UOTHER" {
			t.Errorf("%s: ErrDecided came with %+v, want who decided", tc.name, p)
		}
		id := tc.start.PendingID
		if _, _, err := s.GetJob(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: GetJob after a refused start = %v, want ErrNotFound", tc.name, err)
		}
		if tc.state != "" {
			if got := mustGet(t, s, id); got.State != tc.state {
				t.Errorf("%s: approval is %q after a refused start, want %q", tc.name, got.State, tc.state)
			}
		}
	}
	checkAudit(t, s)
	if jobs, err := s.ListJobs(ctx, false, 10); err != nil || len(jobs) != 0 {
		t.Errorf("ListJobs after refused starts = %+v, %v; want none", jobs, err)
	}
	// The expired approval is the sweep's: expired and audited once.
	swept, err := s.ExpireDue(ctx, base.Add(2*time.Minute), expiryEvent)
	if err != nil || len(swept) != 1 || swept[0].ID != "late" {
		t.Fatalf("ExpireDue = %v, %v; want late", ids(swept), err)
	}
	checkAudit(t, s, expiryEvent(swept[0]))
	// The valid one still starts.
	if _, _, err := s.StartJob(ctx, jobStart("ok", "h")); err != nil {
		t.Fatalf("StartJob after refused calls: %v", err)
	}
}

func testListJobs(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	leases := map[string]store.Lease{}
	for i := range 5 {
		id := fmt.Sprintf("j%d", i)
		mustCreate(t, s, newPending(id, time.Hour))
		st := jobStart(id, "h")
		st.Now = base.Add(time.Duration(i) * time.Second)
		_, l, err := s.StartJob(ctx, st)
		if err != nil {
			t.Fatalf("StartJob %s: %v", id, err)
		}
		leases[id] = l
	}
	for _, id := range []string{"j1", "j3"} {
		if err := s.FinishJob(ctx, leases[id], id, base.Add(time.Minute), nil, nil); err != nil {
			t.Fatalf("FinishJob %s: %v", id, err)
		}
	}
	cases := []struct {
		name       string
		unfinished bool
		limit      int
		want       []string
	}{
		{"all", false, 10, []string{"j4", "j3", "j2", "j1", "j0"}},
		{"unfinished", true, 10, []string{"j4", "j2", "j0"}},
		{"newest two", false, 2, []string{"j4", "j3"}},
		{"newest unfinished", true, 1, []string{"j4"}},
		{"none", false, 0, nil},
	}
	for _, tc := range cases {
		jobs, err := s.ListJobs(ctx, tc.unfinished, tc.limit)
		if err != nil {
			t.Fatalf("%s: ListJobs: %v", tc.name, err)
		}
		got := make([]string, len(jobs))
		for i, j := range jobs {
			got[i] = j.ID
			if j.Finished() != (j.ID == "j1" || j.ID == "j3") {
				t.Errorf("%s: %s Finished = %v", tc.name, j.ID, j.Finished())
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: ListJobs = %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := s.ListJobs(ctx, false, -1); err == nil {
		t.Error("ListJobs(-1) succeeded")
	}
}

// testJobRetention: finished jobs are dropped by ExpireDue after the
// retention (the suite's stores keep the default), unfinished ones never.
func testJobRetention(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	for _, id := range []string{"done", "running"} {
		mustCreate(t, s, newPending(id, time.Hour))
	}
	_, l, err := s.StartJob(ctx, jobStart("done", "h"))
	if err != nil {
		t.Fatalf("StartJob: %v", err)
	}
	if _, _, err := s.StartJob(ctx, jobStart("running", "h")); err != nil {
		t.Fatalf("StartJob: %v", err)
	}
	if err := s.RecordJobBatch(ctx, l, "done", []byte("b"), nil); err != nil {
		t.Fatalf("RecordJobBatch: %v", err)
	}
	end := base.Add(time.Hour)
	if err := s.FinishJob(ctx, l, "done", end, nil, nil); err != nil {
		t.Fatalf("FinishJob: %v", err)
	}
	if _, err := s.ExpireDue(ctx, end.Add(store.DefaultRetention), nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	mustGetJob(t, s, "done") // kept up to the retention
	if _, err := s.ExpireDue(ctx, end.Add(store.DefaultRetention+time.Nanosecond), nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	if _, _, err := s.GetJob(ctx, "done"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetJob past the retention = %v, want ErrNotFound", err)
	}
	if _, err := s.ExpireDue(ctx, end.Add(100*store.DefaultRetention), nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	jobs, err := s.ListJobs(ctx, false, 10)
	if err != nil || len(jobs) != 1 || jobs[0].ID != "running" {
		t.Errorf("ListJobs after the sweeps = %+v, %v; want only the unfinished job", jobs, err)
	}
}
