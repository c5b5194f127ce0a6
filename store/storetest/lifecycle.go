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
	ctx := ctxCanceled(t)
	checks := map[string]error{
		"CreatePending": s.CreatePending(ctx, newPending("new", time.Hour)),
		"AppendAudit":   s.AppendAudit(ctx, event(1)),
		"Ping":          s.Ping(ctx),
	}
	_, checks["GetPending"] = s.GetPending(ctx, "live")
	_, checks["Claim"] = s.Claim(ctx, "live", store.StateApproved, "slack:U1", base)
	_, checks["ExpireDue"] = s.ExpireDue(ctx, base.Add(2*time.Hour))
	_, checks["RecentAudit"] = s.RecentAudit(ctx, 1)
	_, checks["RecentAudit(0)"] = s.RecentAudit(ctx, 0)
	_, checks["SeenBefore"] = s.SeenBefore(ctx, "k", time.Minute)
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
	if got, err := s.RecentAudit(t.Context(), 5); err != nil || len(got) != 0 {
		t.Errorf("RecentAudit = %d events, %v; want none", len(got), err)
	}
	if seen, err := s.SeenBefore(t.Context(), "k", time.Minute); err != nil || seen {
		t.Errorf("SeenBefore(k) = %v, %v; want false, nil", seen, err)
	}
}

func testPingClose(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	mustCreate(t, s, newPending("x", time.Hour))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// After Close every call fails cleanly rather than panicking.
	ctx := t.Context()
	checks := map[string]error{
		"Ping":          s.Ping(ctx),
		"CreatePending": s.CreatePending(ctx, newPending("y", time.Hour)),
		"AppendAudit":   s.AppendAudit(ctx, store.Event{Time: base}),
	}
	_, checks["GetPending"] = s.GetPending(ctx, "x")
	_, checks["Claim"] = s.Claim(ctx, "x", store.StateApproved, "slack:U1", base)
	_, checks["ExpireDue"] = s.ExpireDue(ctx, base)
	_, checks["RecentAudit"] = s.RecentAudit(ctx, 1)
	_, checks["SeenBefore"] = s.SeenBefore(ctx, "k", time.Minute)
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
