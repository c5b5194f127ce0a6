package storetest

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/store"
)

func checkSubscription(t *testing.T, got, want store.Subscription) {
	t.Helper()
	if got.Platform != want.Platform || got.Channel != want.Channel || !bytes.Equal(got.Dest, want.Dest) ||
		!slices.Equal(got.Rules, want.Rules) || got.By != want.By || !got.At.Equal(want.At) {
		t.Errorf("subscription = %+v\nwant           %+v", got, want)
	}
}

func listSubscriptions(t *testing.T, s store.Store) []store.Subscription {
	t.Helper()
	subs, err := s.ListSubscriptions(t.Context())
	if err != nil {
		t.Fatalf("ListSubscriptions: %v", err)
	}
	return subs
}

func testSubscriptions(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	if subs := listSubscriptions(t, s); subs == nil || len(subs) != 0 {
		t.Fatalf("ListSubscriptions of an empty store = %#v, want empty, non-nil", subs)
	}
	teams := store.Subscription{Platform: "teams", Channel: "19:abc@thread.tacv2", Dest: []byte(`{"conversation":"ref"}`),
		By: "teams:aad-1", At: base}
	slack := store.Subscription{Platform: "slack", Channel: "C1", Dest: []byte(`{"channel":"C1"}`),
		Rules: []string{"session-limit", "node-down"}, By: "slack:U1", At: base.Add(time.Minute)}
	console := store.Subscription{Platform: "console", By: "console:oncall", At: base}
	for _, sub := range []store.Subscription{teams, slack, console} {
		if err := s.PutSubscription(ctx, sub); err != nil {
			t.Fatalf("PutSubscription(%s %s): %v", sub.Platform, sub.Channel, err)
		}
	}
	// Subscribing again replaces the channel's subscription.
	slack.Rules, slack.At = []string{"cpu"}, base.Add(time.Hour)
	if err := s.PutSubscription(ctx, slack); err != nil {
		t.Fatalf("PutSubscription again: %v", err)
	}
	subs := listSubscriptions(t, s)
	want := []store.Subscription{console, slack, teams}
	if len(subs) != len(want) {
		t.Fatalf("ListSubscriptions = %+v, want %d", subs, len(want))
	}
	for i := range want {
		checkSubscription(t, subs[i], want[i])
	}
	if !teams.Wants("anything") || !slack.Wants("cpu") || slack.Wants("node-down") {
		t.Error("Wants: empty Rules must mean every rule, others only those listed")
	}

	got, err := s.DeleteSubscription(ctx, "slack", "C1")
	if err != nil {
		t.Fatalf("DeleteSubscription: %v", err)
	}
	checkSubscription(t, got, slack)
	if _, err := s.DeleteSubscription(ctx, "slack", "C1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSubscription twice = %v, want ErrNotFound", err)
	}
	if _, err := s.DeleteSubscription(ctx, "teams", "C1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSubscription of another platform's channel = %v, want ErrNotFound", err)
	}
	subs = listSubscriptions(t, s)
	if len(subs) != 2 || subs[0].Platform != "console" || subs[1].Platform != "teams" {
		t.Errorf("after delete: %+v, want console and teams", subs)
	}

	for name, bad := range map[string]store.Subscription{
		"no platform":    {Channel: "C2", At: base},
		"NUL in channel": {Platform: "slack", Channel: "C\x002", At: base},
		"empty rule":     {Platform: "slack", Channel: "C2", Rules: []string{""}, At: base},
		"oversized":      {Platform: "slack", Channel: "C2", Dest: make([]byte, store.MaxWatchRecord), At: base},
		"long channel":   {Platform: "slack", Channel: strings.Repeat("c", 600), At: base},
	} {
		if err := s.PutSubscription(ctx, bad); err == nil {
			t.Errorf("%s: PutSubscription succeeded", name)
		}
	}
	if subs := listSubscriptions(t, s); len(subs) != 2 {
		t.Errorf("refused subscriptions were stored: %+v", subs)
	}
}

func listSilences(t *testing.T, s store.Store, now time.Time) []store.Silence {
	t.Helper()
	ss, err := s.ListSilences(t.Context(), now)
	if err != nil {
		t.Fatalf("ListSilences: %v", err)
	}
	return ss
}

func silenceIDs(ss []store.Silence) []string {
	ids := []string{}
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

func testSilences(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	ctx := t.Context()
	hour := store.Silence{ID: "s1", Rule: "session-limit", Site: "prod", Group: `LAB\testuser_1`,
		Until: base.Add(time.Hour), By: "slack:U1", Reason: "known, user warned", CreatedAt: base}
	resolved := store.Silence{ID: "s2", Rule: "node-down", Site: "prod", UntilResolved: true, By: "slack:U2", CreatedAt: base.Add(time.Minute)}
	rule := store.Silence{ID: "s3", Rule: "cpu", Until: base.Add(10 * time.Minute), By: "teams:x", CreatedAt: base.Add(-time.Minute)}
	for _, sl := range []store.Silence{hour, resolved, rule} {
		if err := s.PutSilence(ctx, sl); err != nil {
			t.Fatalf("PutSilence(%s): %v", sl.ID, err)
		}
	}
	tests := []struct {
		at   time.Duration
		want []string
	}{
		{0, []string{"s3", "s1", "s2"}},
		{10 * time.Minute, []string{"s1", "s2"}}, // ends at its Until
		{2 * time.Hour, []string{"s2"}},
		{365 * 24 * time.Hour, []string{"s2"}}, // until resolved: until ended
	}
	for _, tt := range tests {
		if got := silenceIDs(listSilences(t, s, base.Add(tt.at))); !slices.Equal(got, tt.want) {
			t.Errorf("ListSilences at +%s = %v, want %v", tt.at, got, tt.want)
		}
	}
	got := listSilences(t, s, base)[1]
	if got.Group != hour.Group || got.Reason != hour.Reason || got.By != hour.By || !got.Until.Equal(hour.Until) || !got.CreatedAt.Equal(base) {
		t.Errorf("silence read back = %+v, want %+v", got, hour)
	}

	// Matching: rule, then site and group when the silence names them.
	matches := []struct {
		sl   store.Silence
		k    store.AlertKey
		want bool
	}{
		{hour, store.AlertKey{Rule: "session-limit", Site: "prod", Group: `LAB\testuser_1`}, true},
		{hour, store.AlertKey{Rule: "session-limit", Site: "prod", Group: `LAB\testuser_2`}, false},
		{hour, store.AlertKey{Rule: "session-limit", Site: "test", Group: `LAB\testuser_1`}, false},
		{resolved, store.AlertKey{Rule: "node-down", Site: "prod", Group: "dev1"}, true},
		{rule, store.AlertKey{Rule: "cpu", Site: "test", Group: "n1"}, true},
		{rule, store.AlertKey{Rule: "node-down", Site: "test"}, false},
	}
	for _, m := range matches {
		if got := m.sl.Matches(m.k); got != m.want {
			t.Errorf("silence %s Matches(%s) = %v, want %v", m.sl.ID, m.k, got, m.want)
		}
	}

	ended, err := s.EndSilence(ctx, "s2")
	if err != nil || ended.ID != "s2" || ended.Rule != "node-down" || !ended.UntilResolved {
		t.Fatalf("EndSilence(s2) = %+v, %v", ended, err)
	}
	if _, err := s.EndSilence(ctx, "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSilence twice = %v, want ErrNotFound", err)
	}
	// Compact drops the silences ended before its time, for good.
	mustCompact(t, s, base.Add(30*time.Minute))
	if got := silenceIDs(listSilences(t, s, base)); !slices.Equal(got, []string{"s1"}) {
		t.Errorf("ListSilences after Compact, asked at an earlier time = %v, want [s1]", got)
	}

	for name, bad := range map[string]store.Silence{
		"no id":             {Rule: "cpu", Until: base, CreatedAt: base},
		"no rule":           {ID: "b1", Until: base, CreatedAt: base},
		"no end":            {ID: "b2", Rule: "cpu", CreatedAt: base},
		"end and resolved":  {ID: "b3", Rule: "cpu", Until: base, UntilResolved: true, CreatedAt: base},
		"bad site":          {ID: "b4", Rule: "cpu", Site: "a/b", Until: base, CreatedAt: base},
		"oversized reason":  {ID: "b5", Rule: "cpu", Until: base, Reason: strings.Repeat("r", store.MaxWatchRecord), CreatedAt: base},
		"end out of range":  {ID: "b6", Rule: "cpu", Until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), CreatedAt: base},
		"NUL in the group":  {ID: "b7", Rule: "cpu", Group: "\x00", Until: base, CreatedAt: base},
		"long id":           {ID: strings.Repeat("i", 600), Rule: "cpu", Until: base, CreatedAt: base},
		"long rule":         {ID: "b8", Rule: strings.Repeat("r", 600), Until: base, CreatedAt: base},
		"NUL in rule":       {ID: "b9", Rule: "c\x00", Until: base, CreatedAt: base},
		"oversized silence": {ID: "b10", Rule: "cpu", Until: base, By: strings.Repeat("b", store.MaxWatchRecord), CreatedAt: base},
	} {
		if err := s.PutSilence(ctx, bad); err == nil {
			t.Errorf("%s: PutSilence succeeded", name)
		}
	}
	if got := silenceIDs(listSilences(t, s, base.Add(-time.Hour))); !slices.Equal(got, []string{"s1"}) {
		t.Errorf("refused silences were stored: %v", got)
	}
}
