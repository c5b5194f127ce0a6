package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

// testCanceled: a canceled context is reported as such and changes nothing.
func testCanceled(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	mustCreate(t, s, newPending("live", time.Hour))
	mustCreate(t, s, newPending("job", time.Hour))
	_, jl, err := s.StartJob(t.Context(), jobStart("job", "h"))
	if err != nil {
		t.Fatalf("StartJob: %v", err)
	}
	held := mustAcquire(t, s, "held", "h", time.Minute)
	watch := mustAcquire(t, s, store.WatchLease, "h", time.Minute)
	alert := mustPutAlert(t, s, watch, firing(limitKey, base))
	mustAppend(t, s, watch, sample("prod", base, map[store.SeriesKey]float64{finCentral: 1}))
	ctx := ctxCanceled(t)
	checks := map[string]error{
		"CreatePending":  s.CreatePending(ctx, newPending("new", time.Hour)),
		"AppendAudit":    s.AppendAudit(ctx, event(1)),
		"AppendAudit()":  s.AppendAudit(ctx),
		"Ping":           s.Ping(ctx),
		"ReleaseLease":   s.ReleaseLease(ctx, held),
		"RecordJobBatch": s.RecordJobBatch(ctx, jl, "job", []byte("b"), []store.Event{event(2)}),
		"FinishJob":      s.FinishJob(ctx, jl, "job", base, nil, nil),
	}
	_, checks["AcquireLease"] = s.AcquireLease(ctx, "new", "h", time.Minute)
	_, checks["RenewLease"] = s.RenewLease(ctx, held, time.Minute)
	_, _, checks["StartJob"] = s.StartJob(ctx, jobStart("live", "h"))
	_, _, checks["GetJob"] = s.GetJob(ctx, "job")
	_, checks["ListJobs"] = s.ListJobs(ctx, false, 5)
	_, checks["ListJobs(0)"] = s.ListJobs(ctx, false, 0)
	_, checks["GetPending"] = s.GetPending(ctx, "live")
	_, checks["Claim"] = s.Claim(ctx, "live", store.StateApproved, "slack:U1", base)
	_, checks["ExpireDue"] = s.ExpireDue(ctx, base.Add(2*time.Hour), nil)
	_, checks["RecentAudit"] = s.RecentAudit(ctx, 1)
	_, checks["RecentAudit(0)"] = s.RecentAudit(ctx, 0)
	_, checks["SeenBefore"] = s.SeenBefore(ctx, "k", time.Minute)
	checks["AppendSample"] = s.AppendSample(ctx, watch, sample("prod", base.Add(time.Minute), map[store.SeriesKey]float64{finCentral: 2}))
	_, checks["QueryHistory"] = s.QueryHistory(ctx, store.HistoryQuery{Site: "prod", From: base, To: base.Add(time.Hour)})
	checks["Compact"] = s.Compact(ctx, base.Add(30*24*time.Hour))
	_, checks["GetAlert"] = s.GetAlert(ctx, limitKey)
	_, checks["ListAlerts"] = s.ListAlerts(ctx)
	_, checks["PutAlert"] = s.PutAlert(ctx, watch, alert)
	checks["PutSubscription"] = s.PutSubscription(ctx, store.Subscription{Platform: "slack", Channel: "C1", At: base})
	_, checks["DeleteSubscription"] = s.DeleteSubscription(ctx, "slack", "C1")
	_, checks["ListSubscriptions"] = s.ListSubscriptions(ctx)
	checks["PutSilence"] = s.PutSilence(ctx, store.Silence{ID: "s", Rule: "cpu", Until: base.Add(time.Hour), CreatedAt: base})
	_, checks["EndSilence"] = s.EndSilence(ctx, "s")
	_, checks["ListSilences"] = s.ListSilences(ctx, base)
	for name, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context = %v, want context.Canceled", name, err)
		}
	}
	if p := mustGet(t, s, "live"); p.State != store.StatePending {
		t.Errorf("live action is %q after canceled calls, want pending", p.State)
	}
	if _, err := s.GetPending(t.Context(), "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetPending(new) = %v, want ErrNotFound", err)
	}
	// Only StartJob's approve row: nothing from the canceled calls.
	if got, err := s.RecentAudit(t.Context(), 5); err != nil || len(got) != 1 || got[0].Action != "approve" {
		t.Errorf("RecentAudit = %+v, %v; want StartJob's row only", got, err)
	}
	if j, batches, err := s.GetJob(t.Context(), "job"); err != nil || len(batches) != 0 || j.Finished() {
		t.Errorf("job after canceled calls = %+v, %d batches, %v; want untouched", j, len(batches), err)
	}
	if _, err := s.AcquireLease(t.Context(), "held", "other", time.Minute); !errors.Is(err, store.ErrLeaseHeld) {
		t.Errorf("lease after a canceled release: %v, want still held", err)
	}
	if _, err := s.AcquireLease(t.Context(), "new", "other", time.Minute); err != nil {
		t.Errorf("lease taken by a canceled acquire: %v", err)
	}
	if seen, err := s.SeenBefore(t.Context(), "k", time.Minute); err != nil || seen {
		t.Errorf("SeenBefore(k) = %v, %v; want false, nil", seen, err)
	}
	checkAlert(t, mustGetAlert(t, s, limitKey), alert)
	h := mustQuery(t, s, store.HistoryQuery{Site: "prod", From: base, To: base.Add(time.Hour)})
	checkHistory(t, h, want(0, map[store.SeriesKey][]store.Point{finCentral: {raw(0, 1)}}, finCentral))
	if subs := listSubscriptions(t, s); len(subs) != 0 {
		t.Errorf("subscriptions after canceled calls: %+v", subs)
	}
	if sils := listSilences(t, s, base); len(sils) != 0 {
		t.Errorf("silences after canceled calls: %+v", sils)
	}
}

func testPingClose(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	mustCreate(t, s, newPending("x", time.Hour))
	mustCreate(t, s, newPending("job", time.Hour))
	_, jl, err := s.StartJob(t.Context(), jobStart("job", "h"))
	if err != nil {
		t.Fatalf("StartJob: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// After Close every call fails cleanly rather than panicking.
	ctx := t.Context()
	checks := map[string]error{
		"Ping":          s.Ping(ctx),
		"CreatePending": s.CreatePending(ctx, newPending("y", time.Hour)),
		"AppendAudit":   s.AppendAudit(ctx, store.Event{Time: base}),
		"ReleaseLease":  s.ReleaseLease(ctx, jl),
		"RecordJob":     s.RecordJobBatch(ctx, jl, "job", []byte("b"), nil),
		"FinishJob":     s.FinishJob(ctx, jl, "job", base, nil, nil),
	}
	_, checks["AcquireLease"] = s.AcquireLease(ctx, "n", "h", time.Minute)
	_, checks["RenewLease"] = s.RenewLease(ctx, jl, time.Minute)
	_, _, checks["StartJob"] = s.StartJob(ctx, jobStart("x", "h"))
	_, _, checks["GetJob"] = s.GetJob(ctx, "job")
	_, checks["ListJobs"] = s.ListJobs(ctx, false, 5)
	_, checks["GetPending"] = s.GetPending(ctx, "x")
	_, checks["Claim"] = s.Claim(ctx, "x", store.StateApproved, "slack:U1", base)
	_, checks["ExpireDue"] = s.ExpireDue(ctx, base, nil)
	_, checks["RecentAudit"] = s.RecentAudit(ctx, 1)
	_, checks["SeenBefore"] = s.SeenBefore(ctx, "k", time.Minute)
	checks["AppendSample"] = s.AppendSample(ctx, jl, sample("prod", base, map[store.SeriesKey]float64{finCentral: 2}))
	_, checks["QueryHistory"] = s.QueryHistory(ctx, store.HistoryQuery{Site: "prod", From: base, To: base.Add(time.Hour)})
	checks["Compact"] = s.Compact(ctx, base)
	_, checks["GetAlert"] = s.GetAlert(ctx, limitKey)
	_, checks["ListAlerts"] = s.ListAlerts(ctx)
	_, checks["PutAlert"] = s.PutAlert(ctx, jl, firing(limitKey, base))
	checks["PutSubscription"] = s.PutSubscription(ctx, store.Subscription{Platform: "slack", Channel: "C1", At: base})
	_, checks["ListSubscriptions"] = s.ListSubscriptions(ctx)
	checks["PutSilence"] = s.PutSilence(ctx, store.Silence{ID: "s", Rule: "cpu", Until: base.Add(time.Hour), CreatedAt: base})
	_, checks["ListSilences"] = s.ListSilences(ctx, base)
	for name, err := range checks {
		if err == nil {
			t.Errorf("%s after Close succeeded", name)
		}
	}
}

// ctxCanceled returns a context that is already canceled.
func ctxCanceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
