package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

func event(i int) store.Event {
	return store.Event{
		Time:      base.Add(time.Duration(i) * time.Second),
		RequestID: fmt.Sprintf("req-%d", i),
		Platform:  "slack",
		Subject:   "slack:U123",
		UserName:  "Ada",
		Channel:   "C42",
		Action:    "delete",
		Command:   `/qlik kick finance --user LAB\testuser_1`,
		Decision:  "allowed",
		Reason:    "role ops on finance",
		Target:    fmt.Sprintf("finance@pro2-win1.lab/%d", i),
		Outcome:   "deleted",
		Pending:   "p-1",
	}
}

func checkEvents(t *testing.T, got []store.Event, want ...int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		e := event(w)
		g := got[i]
		if !g.Time.Equal(e.Time) {
			t.Errorf("event %d: Time %v, want %v (event %d)", i, g.Time, e.Time, w)
		}
		g.Time = e.Time
		if g != e {
			t.Errorf("event %d = %+v, want %+v", i, g, e)
		}
	}
}

func testAuditOrder(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	if got, err := s.RecentAudit(t.Context(), 10); err != nil || len(got) != 0 {
		t.Fatalf("RecentAudit on an empty trail = %v, %v", got, err)
	}
	for i := range 5 {
		if err := s.AppendAudit(t.Context(), event(i)); err != nil {
			t.Fatalf("AppendAudit(%d): %v", i, err)
		}
	}
	tests := []struct {
		name string
		n    int
		want []int
	}{
		{"newest three", 3, []int{4, 3, 2}},
		{"all", 5, []int{4, 3, 2, 1, 0}},
		{"more than there are", 100, []int{4, 3, 2, 1, 0}},
		{"one", 1, []int{4}},
		{"none", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.RecentAudit(t.Context(), tt.n)
			if err != nil {
				t.Fatalf("RecentAudit(%d): %v", tt.n, err)
			}
			checkEvents(t, got, tt.want...)
		})
	}
}

func testAuditLimit(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	const extra = 7
	for i := range AuditLimit + extra {
		if err := s.AppendAudit(t.Context(), event(i)); err != nil {
			t.Fatalf("AppendAudit(%d): %v", i, err)
		}
	}
	got, err := s.RecentAudit(t.Context(), 10*AuditLimit)
	if err != nil {
		t.Fatalf("RecentAudit: %v", err)
	}
	want := make([]int, 0, AuditLimit)
	for i := AuditLimit + extra - 1; i >= extra; i-- {
		want = append(want, i)
	}
	checkEvents(t, got, want...)
}

func testAuditInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	if err := s.AppendAudit(t.Context(), event(1)); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if _, err := s.RecentAudit(t.Context(), -1); err == nil {
		t.Fatal("RecentAudit(-1) succeeded")
	}
	got, err := s.RecentAudit(t.Context(), 5)
	if err != nil {
		t.Fatalf("RecentAudit: %v", err)
	}
	checkEvents(t, got, 1)
}

func testSeenBefore(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	steps := []struct {
		name string
		key  string
		want bool
	}{
		{"first sight", "slack:req-1", false},
		{"replay", "slack:req-1", true},
		{"other key", "slack:req-2", false},
		{"replay again", "slack:req-1", true},
		{"other replay", "slack:req-2", true},
	}
	for _, st := range steps {
		got, err := s.SeenBefore(t.Context(), st.key, time.Hour)
		if err != nil {
			t.Fatalf("%s: SeenBefore(%s): %v", st.name, st.key, err)
		}
		if got != st.want {
			t.Fatalf("%s: SeenBefore(%s) = %v, want %v", st.name, st.key, got, st.want)
		}
	}
}

func testSeenBeforeConcurrent(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	seen := make([]bool, racers)
	errs := make([]error, racers)
	together(racers, func(i int) {
		seen[i], errs[i] = s.SeenBefore(t.Context(), "teams:activity-77", time.Hour)
	})
	fresh := 0
	for i := range racers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !seen[i] {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d of %d concurrent callers were told the key is new, want exactly 1", fresh, racers)
	}
}

func testSeenBeforeInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	tests := []struct {
		name string
		key  string
		ttl  time.Duration
	}{
		{"empty key", "", time.Minute},
		{"zero ttl", "k1", 0},
		{"negative ttl", "k1", -time.Minute},
		{"huge key", string(make([]byte, 2000)), time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.SeenBefore(t.Context(), tt.key, tt.ttl); err == nil {
				t.Fatal("SeenBefore succeeded")
			}
		})
	}
	// The refused calls recorded nothing.
	if seen, err := s.SeenBefore(t.Context(), "k1", time.Minute); err != nil || seen {
		t.Fatalf("SeenBefore(k1) after refused calls = %v, %v; want false, nil", seen, err)
	}
}

// testAuditBatch: several events in one call land in order, all or none.
func testAuditBatch(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	if err := s.AppendAudit(ctx); err != nil {
		t.Fatalf("AppendAudit of nothing: %v", err)
	}
	if err := s.AppendAudit(ctx, event(0), event(1), event(2)); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	if err := s.AppendAudit(ctx, event(3)); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	got, err := s.RecentAudit(ctx, 10)
	if err != nil {
		t.Fatalf("RecentAudit: %v", err)
	}
	checkEvents(t, got, 3, 2, 1, 0)
	// One call with more than the limit keeps the newest.
	many := make([]store.Event, AuditLimit+5)
	for i := range many {
		many[i] = event(10 + i)
	}
	if err := s.AppendAudit(ctx, many...); err != nil {
		t.Fatalf("AppendAudit of %d: %v", len(many), err)
	}
	got, err = s.RecentAudit(ctx, 3)
	if err != nil {
		t.Fatalf("RecentAudit: %v", err)
	}
	checkEvents(t, got, 10+len(many)-1, 10+len(many)-2, 10+len(many)-3)
	if all, err := s.RecentAudit(ctx, 10*AuditLimit); err != nil || len(all) != AuditLimit {
		t.Fatalf("RecentAudit(all) = %d events, %v; want %d", len(all), err, AuditLimit)
	}
}
