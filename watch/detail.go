package watch

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// Detail is the watcher's account of one alert (store.Alert.Detail): what
// fires, as a short table with one row per item (a user, a node, a
// virtual proxy). It is what a message about the alert shows.
type Detail struct {
	Type    authz.AlertType `json:"type"`
	Summary string          `json:"summary"` // one line: "1 user at or above 5 sessions"
	Columns []string        `json:"columns,omitempty"`
	Items   []Item          `json:"items,omitempty"`
	// Silenced: a silence held the alert's notifications back since it
	// last notified, so it notifies anew when the silence ends.
	Silenced bool `json:"silenced,omitempty"`
}

// Item is one thing an alert is about.
type Item struct {
	Key   string   `json:"key"`   // the user (DIR\ID), node or virtual proxy
	Cells []string `json:"cells"` // its row, under Detail.Columns
	// Why names what fires about it ("saturated", "cpu"), so that a new
	// reason updates the message while changing figures do not.
	Why string `json:"why,omitempty"`
	// User is the user to log out (user-sessions alerts), as DIR\ID.
	User string `json:"user,omitempty"`
}

// maxItems bounds the rows of one alert's message; the summary counts
// them all.
const maxItems = 50

// signature is what, when it changes, updates a firing alert's messages:
// the items and why they fire, not their figures.
func (d Detail) signature() string {
	var b strings.Builder
	b.WriteString(d.Summary)
	for _, it := range d.Items {
		b.WriteString("\x00" + it.Key + "\x01" + it.Why)
	}
	return b.String()
}

// detailKind is the seal kind of a stored alert's Detail: it names the
// users a Kick button logs out, so one that does not verify is not shown.
const detailKind = "alert-detail"

// detailID binds a Detail to its alert and firing: it cannot be replayed
// on another alert, nor on a later firing of the same one.
func detailID(a store.Alert) string {
	return "detail:" + a.Key.String() + "@" + strconv.FormatInt(a.FiredAt.UnixNano(), 10)
}

// sealDetail is d as stored in a's Detail, sealed by s.
func sealDetail(s *seal.Sealer, a store.Alert, d Detail) []byte {
	b, _ := json.Marshal(d) // strings and slices always encode
	return s.Seal(detailKind, detailID(a), b)
}

// OpenDetail verifies and decodes a stored alert's Detail. Errors wrap
// seal.ErrTampered when it was forged or altered (or not sealed).
func OpenDetail(s *seal.Sealer, a store.Alert) (Detail, error) {
	var d Detail
	b, err := s.Open(detailKind, detailID(a), a.Detail)
	if err != nil {
		return d, fmt.Errorf("open alert detail %s: %w", a.Key, err)
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return Detail{}, fmt.Errorf("open alert detail %s: %w", a.Key, err)
	}
	return d, nil
}

// Notice is an alert as a message about it shows it.
type Notice struct {
	Key           store.AlertKey
	State         store.AlertState
	FiredAt       time.Time // when it started firing
	Since         time.Time // when it entered State (resolved: when it cleared)
	Notifications int
	Detail        Detail
	// Silence is the silence holding it, if any.
	Silence *store.Silence
	Now     time.Time
}

// NoticeOf makes the Notice of a stored alert: its Detail verified with
// s, the watcher's sealer (a Detail that does not verify is left out: the
// notice shows the alert's key and state only, and no user to kick), with
// the first of silences that holds it at now.
func NoticeOf(s *seal.Sealer, a store.Alert, silences []store.Silence, now time.Time) Notice {
	n := Notice{Key: a.Key, State: a.State, FiredAt: a.FiredAt, Since: a.Since, Notifications: a.Notifications, Now: now}
	if d, err := OpenDetail(s, a); err == nil {
		n.Detail = d
	}
	n.Silence = matchingSilence(a.Key, a.FiredAt, silences, now)
	return n
}

// matchingSilence is the first of silences that holds back alert k,
// firing since firedAt, at now.
func matchingSilence(k store.AlertKey, firedAt time.Time, silences []store.Silence, now time.Time) *store.Silence {
	for i := range silences {
		if silences[i].Holds(k, firedAt, now) {
			s := silences[i]
			return &s
		}
	}
	return nil
}

// Renderer turns a Notice into the message posted about it (package
// commands renders alerts, with their buttons, like any other reply).
type Renderer func(Notice) bot.Reply
