package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

var limitKey = store.AlertKey{Rule: "session-limit", Site: "prod", Group: `LAB\testuser_1`}

func firing(k store.AlertKey, at time.Time) store.Alert {
	return store.Alert{
		Key: k, State: store.AlertFiring, Since: at, FiredAt: at,
		Detail: []byte(`{"user":"LAB\\testuser_1","sessions":5}`),
	}
}

func mustPutAlert(t *testing.T, s store.Store, l store.Lease, a store.Alert) store.Alert {
	t.Helper()
	got, err := s.PutAlert(t.Context(), l, a)
	if err != nil {
		t.Fatalf("PutAlert(%s, version %d): %v", a.Key, a.Version, err)
	}
	if got.Version != a.Version+1 {
		t.Fatalf("PutAlert(%s) returned version %d after %d", a.Key, got.Version, a.Version)
	}
	return got
}

func mustGetAlert(t *testing.T, s store.Store, k store.AlertKey) store.Alert {
	t.Helper()
	a, err := s.GetAlert(t.Context(), k)
	if err != nil {
		t.Fatalf("GetAlert(%s): %v", k, err)
	}
	return a
}

// checkAlert compares field by field: times with Equal, bytes with Equal.
func checkAlert(t *testing.T, got, want store.Alert) {
	t.Helper()
	same := got.Key == want.Key && got.State == want.State && got.Since.Equal(want.Since) &&
		got.FiredAt.Equal(want.FiredAt) && got.LastNotified.Equal(want.LastNotified) &&
		got.Notifications == want.Notifications && bytes.Equal(got.Detail, want.Detail) &&
		got.Version == want.Version && len(got.Messages) == len(want.Messages)
	for i := 0; same && i < len(want.Messages); i++ {
		g, w := got.Messages[i], want.Messages[i]
		same = g.Target == w.Target && bytes.Equal(g.Dest, w.Dest) && g.At.Equal(w.At)
	}
	if !same {
		t.Errorf("alert = %+v\nwant    %+v", got, want)
	}
}

// testAlertLifecycle: fire, notify, update in place, resolve, delete; each
// write over the version read.
func testAlertLifecycle(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	if _, err := s.GetAlert(ctx, limitKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetAlert before any write = %v, want ErrNotFound", err)
	}
	a := mustPutAlert(t, s, l, firing(limitKey, base))
	checkAlert(t, mustGetAlert(t, s, limitKey), a)

	// Notify: count it first, then record where the message went.
	a.LastNotified, a.Notifications = base.Add(time.Second), 1
	a = mustPutAlert(t, s, l, a)
	a.Messages = []store.AlertMessage{
		{Target: "slack:C1", Dest: []byte(`{"platform":"slack","channel":"C1","message":"1700000000.1"}`), At: base.Add(2 * time.Second)},
		{Target: "teams:19:abc", Dest: []byte(`{"platform":"teams","conversation":"x"}`), At: base.Add(2 * time.Second)},
	}
	a = mustPutAlert(t, s, l, a)
	checkAlert(t, mustGetAlert(t, s, limitKey), a)
	if m, ok := a.Message("teams:19:abc"); !ok || !bytes.Contains(m.Dest, []byte("teams")) {
		t.Errorf("Message(teams:19:abc) = %+v, %v", m, ok)
	}

	// A write over an older version is refused and told what is stored.
	stale := a
	stale.Version--
	stale.State = store.AlertResolved
	got, err := s.PutAlert(ctx, l, stale)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutAlert over an old version = %v, want ErrConflict", err)
	}
	checkAlert(t, got, a)
	if _, err := s.PutAlert(ctx, l, firing(limitKey, base)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutAlert of a new alert over a stored one = %v, want ErrConflict", err)
	}
	checkAlert(t, mustGetAlert(t, s, limitKey), a)

	a.State, a.Since = store.AlertResolved, base.Add(10*time.Minute)
	a = mustPutAlert(t, s, l, a)
	others := []store.Alert{
		mustPutAlert(t, s, l, firing(store.AlertKey{Rule: "node-down", Site: "prod", Group: "dev1"}, base)),
		mustPutAlert(t, s, l, firing(store.AlertKey{Rule: "node-down", Site: "prod"}, base)),
		mustPutAlert(t, s, l, firing(store.AlertKey{Rule: "session-limit", Site: "dev"}, base)),
		mustPutAlert(t, s, l, firing(store.AlertKey{Rule: "cpu"}, base)),
	}
	list, err := s.ListAlerts(ctx)
	if err != nil {
		t.Fatalf("ListAlerts: %v", err)
	}
	wantOrder := []store.Alert{others[3], others[1], others[0], others[2], a}
	if len(list) != len(wantOrder) {
		t.Fatalf("ListAlerts = %d alerts, want %d", len(list), len(wantOrder))
	}
	for i := range wantOrder {
		checkAlert(t, list[i], wantOrder[i])
	}
}

// testAlertFencing: a watcher whose lease was taken over writes nothing.
func testAlertFencing(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	a := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	stored := mustPutAlert(t, s, a, firing(limitKey, base))
	if err := s.ReleaseLease(ctx, a); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	b := mustAcquire(t, s, store.WatchLease, "replica-b", time.Minute)
	update := stored
	update.LastNotified, update.Notifications = base.Add(time.Minute), 1
	if _, err := s.PutAlert(ctx, a, update); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("PutAlert with a released lease = %v, want ErrLeaseLost", err)
	}
	if _, err := s.PutAlert(ctx, a, firing(store.AlertKey{Rule: "cpu"}, base)); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("PutAlert of a new alert with a released lease = %v, want ErrLeaseLost", err)
	}
	checkAlert(t, mustGetAlert(t, s, limitKey), stored)
	if _, err := s.GetAlert(ctx, store.AlertKey{Rule: "cpu"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAlert of the refused new alert = %v, want ErrNotFound", err)
	}
	mustPutAlert(t, s, b, update)
	// A live lease of another name (a job's) does not fence the
	// watcher's writes.
	job := mustAcquire(t, s, store.JobLease("j1"), "replica-b", time.Minute)
	if _, err := s.PutAlert(ctx, job, firing(store.AlertKey{Rule: "cpu"}, base)); err == nil {
		t.Error("PutAlert under a job's lease was written")
	}
	if err := s.AppendSample(ctx, job, sample("prod", base, map[store.SeriesKey]float64{finCentral: 1})); err == nil {
		t.Error("AppendSample under a job's lease was written")
	}
	if _, err := s.GetAlert(ctx, store.AlertKey{Rule: "cpu"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAlert of the alert written under a job's lease = %v, want ErrNotFound", err)
	}
}

// testAlertRace: watchers that read the same version race to notify;
// exactly one write wins, so exactly one posts.
func testAlertRace(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	var posted atomic.Int32
	race := func(read store.Alert) store.Alert {
		results := make([]store.Alert, racers)
		errs := make([]error, racers)
		together(racers, func(i int) {
			a := read
			a.LastNotified, a.Notifications = base.Add(time.Duration(i)*time.Second), read.Notifications+1
			a.Detail = []byte(fmt.Sprintf("racer %d", i))
			if results[i], errs[i] = s.PutAlert(t.Context(), l, a); errs[i] == nil {
				posted.Add(1)
			}
		})
		win := -1
		for i, err := range errs {
			if err == nil {
				win = i
			} else if !errors.Is(err, store.ErrConflict) {
				t.Errorf("racer %d: %v, want ErrConflict", i, err)
			}
		}
		if win < 0 {
			t.Fatal("no racer won")
		}
		for i, err := range errs {
			if err != nil {
				checkAlert(t, results[i], results[win]) // the loser is told what won
			}
		}
		checkAlert(t, mustGetAlert(t, s, limitKey), results[win])
		return results[win]
	}
	first := race(firing(limitKey, base))
	second := race(first)
	if n := posted.Load(); n != 2 {
		t.Errorf("%d writes won two races, want 2", n)
	}
	if second.Version != 2 || second.Notifications != 2 {
		t.Errorf("after two races: version %d, %d notifications; want 2 and 2", second.Version, second.Notifications)
	}
}

func testAlertInvalid(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	bad := func(edit func(a *store.Alert)) store.Alert {
		a := firing(limitKey, base)
		edit(&a)
		return a
	}
	tests := []struct {
		name string
		l    store.Lease
		a    store.Alert
	}{
		{"no lease", store.Lease{}, firing(limitKey, base)},
		{"no rule", l, bad(func(a *store.Alert) { a.Key.Rule = "" })},
		{"NUL in group", l, bad(func(a *store.Alert) { a.Key.Group = "a\x00b" })},
		{"bad site", l, bad(func(a *store.Alert) { a.Key.Site = "prod test" })},
		{"long group", l, bad(func(a *store.Alert) { a.Key.Group = strings.Repeat("g", 600) })},
		{"no state", l, bad(func(a *store.Alert) { a.State = "" })},
		{"no since", l, bad(func(a *store.Alert) { a.Since = time.Time{} })},
		{"two messages to one target", l, bad(func(a *store.Alert) {
			a.Messages = []store.AlertMessage{{Target: "slack:C1"}, {Target: "slack:C1"}}
		})},
		{"message without target", l, bad(func(a *store.Alert) { a.Messages = []store.AlertMessage{{Dest: []byte("x")}} })},
		{"oversized detail", l, bad(func(a *store.Alert) { a.Detail = make([]byte, store.MaxWatchRecord) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.PutAlert(ctx, tt.l, tt.a)
			if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrLeaseLost) {
				t.Fatalf("PutAlert = %v, want an input error", err)
			}
		})
	}
	if list, err := s.ListAlerts(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListAlerts after refused writes = %+v, %v; want none", list, err)
	}
}

// testAlertRetention: Compact drops alerts resolved longer than the
// retention (the default 7 days) ago, and keeps firing ones.
func testAlertRetention(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	resolved := firing(limitKey, base.Add(-time.Hour))
	resolved.State, resolved.Since = store.AlertResolved, base
	resolved = mustPutAlert(t, s, l, resolved)
	old := mustPutAlert(t, s, l, firing(store.AlertKey{Rule: "node-down", Site: "prod"}, base.Add(-30*24*time.Hour)))

	mustCompact(t, s, base.Add(store.DefaultRetention-time.Minute))
	checkAlert(t, mustGetAlert(t, s, limitKey), resolved)
	mustCompact(t, s, base.Add(store.DefaultRetention+time.Minute))
	if _, err := s.GetAlert(t.Context(), limitKey); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alert resolved past the retention: %v, want ErrNotFound", err)
	}
	checkAlert(t, mustGetAlert(t, s, old.Key), old)
}

// testSweepCompacts: the periodic sweep (ExpireDue), which every replica
// runs, prunes resolved alerts, ended silences and history past their
// retention when no watcher compacts; it compacts at most once per
// AggregateStep.
func testSweepCompacts(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	l := mustAcquire(t, s, store.WatchLease, "replica-a", time.Minute)
	first := firing(store.AlertKey{Rule: "cpu", Site: "prod"}, base)
	first.State = store.AlertResolved
	mustPutAlert(t, s, l, first)
	if err := s.ReleaseLease(ctx, l); err != nil {
		t.Fatal(err)
	}
	after := base.Add(store.DefaultRetention + time.Minute)
	if _, err := s.ExpireDue(ctx, after, nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	if _, err := s.GetAlert(ctx, first.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alert resolved past the retention, after a sweep: %v, want ErrNotFound", err)
	}
	// A sweep an AggregateStep later compacts again; one sooner does not.
	if err := s.PutSilence(ctx, store.Silence{ID: "s1", Rule: "cpu", Until: after.Add(time.Minute), CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExpireDue(ctx, after.Add(2*time.Minute), nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	if ss, err := s.ListSilences(ctx, base); err != nil || len(ss) != 1 {
		t.Errorf("silences after a sweep sooner than an AggregateStep: %+v, %v; want it kept until the next compaction", ss, err)
	}
	if _, err := s.ExpireDue(ctx, after.Add(store.AggregateStep), nil); err != nil {
		t.Fatalf("ExpireDue: %v", err)
	}
	if ss, err := s.ListSilences(ctx, base); err != nil || len(ss) != 0 {
		t.Errorf("silences after the next sweep: %+v, %v; want the ended one pruned", ss, err)
	}
}
