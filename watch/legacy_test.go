package watch_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/qlikbot/qlikbot/internal/testkit"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/watch"
)

// legacyAlert is an alert record as qlikbot stored it before its Detail
// was sealed: []byte fields, so the Detail (plain JSON) and each sealed
// destination are base64 strings.
type legacyAlert struct {
	Rule         string           `json:"rule"`
	Site         string           `json:"site,omitempty"`
	State        store.AlertState `json:"state"`
	Since        time.Time        `json:"since"`
	FiredAt      time.Time        `json:"fired_at"`
	LastNotified time.Time        `json:"last_notified"`
	Notif        int              `json:"notifications,omitempty"`
	Messages     []legacyMessage  `json:"messages,omitempty"`
	Detail       []byte           `json:"detail,omitempty"`
	Version      uint64           `json:"version"`
}

type legacyMessage struct {
	Target string    `json:"target"`
	Dest   []byte    `json:"dest,omitempty"`
	At     time.Time `json:"at"`
}

// TestAlertRecordWrittenBefore: a firing alert stored by an older qlikbot
// (its Detail unsealed, its destinations base64'd twice) still reads; its
// Detail is not trusted (no user shown, so no Kick button), and the
// watcher's next round seals a fresh one and updates the alert's messages
// in place, through the old destinations.
func TestAlertRecordWrittenBefore(t *testing.T) {
	t.Parallel()
	st, c := redisRaw(t)
	clk := testkit.NewClock(t0)
	r := newRig(t, st, clk)
	w := r.fireOnce(t)
	as, err := st.ListAlerts(t.Context())
	if err != nil || len(as) != 1 || len(as[0].Messages) != 1 {
		t.Fatalf("alerts: %+v, %v", as, err)
	}
	a := as[0]
	plain, _ := json.Marshal(watch.Detail{Type: "user-sessions", Summary: "1 user", Items: []watch.Item{{Key: `LAB\kiosk`, User: `LAB\kiosk`}}})
	old := legacyAlert{Rule: a.Key.Rule, Site: a.Key.Site, State: a.State, Since: a.Since, FiredAt: a.FiredAt,
		LastNotified: a.LastNotified, Notif: a.Notifications, Detail: plain, Version: a.Version}
	for _, m := range a.Messages {
		old.Messages = append(old.Messages, legacyMessage{Target: m.Target, Dest: m.Dest, At: m.At})
	}
	rec, _ := json.Marshal(old)
	field := a.Key.Rule + "\x00" + a.Key.Site + "\x00" + a.Key.Group
	if err := c.HSet(t.Context(), store.DefaultKeyPrefix+"alerts", field, fmt.Sprintf("%020d", a.Version)+string(rec)).Err(); err != nil {
		t.Fatal(err)
	}

	as, err = st.ListAlerts(t.Context())
	if err != nil || len(as) != 1 || len(as[0].Messages) != 1 || !slices.Equal(as[0].Messages[0].Dest, a.Messages[0].Dest) {
		t.Fatalf("the old record read back: %+v, %v", as, err)
	}
	if n := watch.NoticeOf(r.sealer, as[0], nil, clk.Now()); len(n.Detail.Items) != 0 {
		t.Errorf("an unsealed detail was trusted: %+v", n.Detail)
	}
	before := len(r.chat.all())
	clk.Advance(time.Minute)
	if !w.Step(t.Context()) {
		t.Fatal("no sample")
	}
	after := r.chat.all()[before:]
	if len(after) != 1 || !after[0].reply.ReplaceOriginal || after[0].dst.Message != "m1" {
		t.Fatalf("posts after the upgrade: %+v; want the message m1 updated in place", after)
	}
	as, _ = st.ListAlerts(t.Context())
	if d, err := watch.OpenDetail(r.sealer, as[0]); err != nil || len(d.Items) != 1 || d.Items[0].User != `LAB\kiosk` {
		t.Errorf("detail after the watcher's round: %+v, %v; want it sealed anew", d, err)
	}
}
