package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrConflict: a compare-and-set write found the record changed since the
// caller read it (another replica, or a restarted watcher, wrote first).
// Nothing was written; the returned record is the stored one.
var ErrConflict = errors.New("store: changed since read")

// ErrLimit: a new alert, subscription or silence would pass MaxAlerts,
// MaxSubscriptions or MaxSilences; nothing was written.
var ErrLimit = errors.New("store: limit reached")

// Bounds on the watcher's records: counts, so that a runaway rule cannot
// fill the store, and sizes of one record.
const (
	MaxAlerts        = 10000
	MaxSubscriptions = 10000
	MaxSilences      = 10000
	// MaxWatchRecord bounds one alert, subscription or silence as stored.
	MaxWatchRecord = 64 << 10
	maxWatchField  = 512
)

// AlertState is where an alert stands.
type AlertState string

// Alert states.
const (
	AlertFiring   AlertState = "firing"
	AlertResolved AlertState = "resolved"
)

// AlertKey names one alert: its rule, its site ("" for a rule that is not
// per site) and its group within them ("" when the rule groups per rule and
// site only; a node, a virtual proxy...). The watcher's spelling.
type AlertKey struct {
	Rule  string
	Site  string
	Group string
}

func (k AlertKey) String() string { return k.Rule + "/" + k.Site + "/" + k.Group }

// AlertMessage is one message posted for an alert.
type AlertMessage struct {
	// Target names where it posts, in the watcher's spelling ("slack:C123");
	// one message per target.
	Target string
	// Dest is the posted message's bot.Destination, encoded by the caller
	// (opaque here), handed back to Deliver to update it in place.
	Dest []byte
	At   time.Time // last posted or updated
}

// Alert is the state of one alert, written only by the watcher: fenced by
// its lease and compare-and-set on Version, so that two watchers (a stale
// one and its successor, or a restart) never both notify.
//
// Notify exactly once: write the alert with LastNotified and Notifications
// moved on (PutAlert with the Version read) before posting; only the
// writer that wins posts. Then record the posted messages in Messages
// (PutAlert again). A crash between the two leaves a notification counted
// but its message unrecorded: at most once, never twice.
type Alert struct {
	Key   AlertKey
	State AlertState
	// Since is when the alert entered State; FiredAt when it last started
	// firing (kept once resolved, for "fired 10:02, resolved 10:14").
	Since   time.Time
	FiredAt time.Time
	// LastNotified is when the alert was last posted or re-notified (the
	// repeat interval counts from it); Notifications how many times.
	LastNotified  time.Time
	Notifications int
	Messages      []AlertMessage
	// Detail is the watcher's own account of the alert (figures, the user
	// at the limit), opaque to the store.
	Detail []byte
	// Version is set by the store: 0 for an alert never written, one more
	// after every write. PutAlert writes only over the Version it is given.
	Version uint64
}

// Message returns the message posted to target, if any.
func (a Alert) Message(target string) (AlertMessage, bool) {
	for _, m := range a.Messages {
		if m.Target == target {
			return m, true
		}
	}
	return AlertMessage{}, false
}

// Subscription is a channel that asked for alerts (/qlik subscribe): the
// watcher posts there the alerts of the rules it names.
type Subscription struct {
	Platform string // with Channel, the subscription's key
	Channel  string // the channel or conversation id ("" for the console)
	// Dest is the bot.Destination to post to proactively (for Teams, the
	// conversation reference), encoded by the caller, opaque here.
	Dest  []byte
	Rules []string // the rules it receives; empty: every rule
	By    string   // who subscribed
	At    time.Time
}

// Wants reports whether the subscription receives alerts of rule.
func (s Subscription) Wants(rule string) bool {
	return len(s.Rules) == 0 || slices.Contains(s.Rules, rule)
}

// Silence keeps alerts from notifying: those of Rule, on Site ("" for
// every site), of Group ("" for every group).
type Silence struct {
	ID    string
	Rule  string
	Site  string
	Group string
	// Until is when the silence ends. UntilResolved instead keeps it until
	// the alert it silences resolves (the watcher ends it then, with
	// EndSilence); Until is then zero.
	Until         time.Time
	UntilResolved bool
	By            string // who silenced
	Reason        string
	CreatedAt     time.Time
}

// Matches reports whether the silence covers alert k.
func (s Silence) Matches(k AlertKey) bool {
	return s.Rule == k.Rule && (s.Site == "" || s.Site == k.Site) && (s.Group == "" || s.Group == k.Group)
}

// Active reports whether the silence holds at now.
func (s Silence) Active(now time.Time) bool {
	return s.UntilResolved || now.Before(s.Until)
}

// Holds reports whether the silence holds back alert k, firing since
// firedAt, at now. An until-resolved silence holds only the firing it was
// made in (one that started at or before CreatedAt): should its end at
// that firing's resolution be missed (made while the watcher resolved it,
// or the write failed), it never holds back a later firing. Whoever makes
// one dates it no earlier than the FiredAt of the firing it read, so the
// clocks of replicas need not agree for it to hold that firing.
func (s Silence) Holds(k AlertKey, firedAt, now time.Time) bool {
	if !s.Matches(k) || !s.Active(now) {
		return false
	}
	return !s.UntilResolved || !firedAt.After(s.CreatedAt)
}

// alertField is an alert's key as stored: its parts joined by NUL, which
// no part may hold, so the stored order is Rule, Site, Group.
func alertField(k AlertKey) string { return k.Rule + "\x00" + k.Site + "\x00" + k.Group }

func subField(platform, channel string) string { return platform + "\x00" + channel }

func checkWatchField(what, v string, required bool) error {
	switch {
	case required && v == "":
		return fmt.Errorf("empty %s", what)
	case len(v) > maxWatchField:
		return fmt.Errorf("%s of %d bytes is longer than %d", what, len(v), maxWatchField)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%s holds a NUL byte", what)
	}
	return nil
}

func checkAlertKey(k AlertKey) error {
	if err := checkWatchField("alert rule", k.Rule, true); err != nil {
		return err
	}
	if k.Site != "" {
		if err := checkSite(k.Site); err != nil {
			return fmt.Errorf("alert %w", err)
		}
	}
	return checkWatchField("alert group", k.Group, false)
}

// alertRecord is the stored (JSON) form of Alert; see pendingRecord.
type alertRecord struct {
	Rule          string         `json:"rule"`
	Site          string         `json:"site,omitempty"`
	Group         string         `json:"group,omitempty"`
	State         AlertState     `json:"state"`
	Since         time.Time      `json:"since"`
	FiredAt       time.Time      `json:"fired_at"`
	LastNotified  time.Time      `json:"last_notified"`
	Notifications int            `json:"notifications,omitempty"`
	Messages      []alertMessage `json:"messages,omitempty"`
	Detail        jsonBytes      `json:"detail,omitempty"`
	Version       uint64         `json:"version"`
}

type alertMessage struct {
	Target string    `json:"target"`
	Dest   jsonBytes `json:"dest,omitempty"`
	At     time.Time `json:"at"`
}

// jsonBytes is opaque bytes stored in a JSON record: as they are when
// they are a JSON object (the caller's sealed records are), so they are
// not inflated by base64 a second time, else as a base64 string, which
// is also how records written before were stored.
type jsonBytes []byte

func (b jsonBytes) MarshalJSON() ([]byte, error) {
	if b.storedRaw() {
		return b, nil
	}
	return json.Marshal([]byte(b))
}

// storedRaw reports whether b is a JSON object that encoding/json writes
// back byte for byte: compact, and nothing it escapes (<, >, &, U+2028,
// U+2029).
func (b jsonBytes) storedRaw() bool {
	if len(b) == 0 || b[0] != '{' || bytes.ContainsAny(b, "<>&\u2028\u2029") {
		return false
	}
	var buf bytes.Buffer
	return json.Compact(&buf, b) == nil && bytes.Equal(buf.Bytes(), b)
}

func (b *jsonBytes) UnmarshalJSON(v []byte) error {
	if len(v) > 0 && v[0] == '{' {
		*b = append((*b)[:0], v...)
		return nil
	}
	var raw []byte
	if err := json.Unmarshal(v, &raw); err != nil {
		return err
	}
	*b = raw
	return nil
}

// encodeAlert validates a (to be stored with version) and encodes it.
func encodeAlert(a Alert, version uint64) ([]byte, error) {
	if err := checkAlertKey(a.Key); err != nil {
		return nil, err
	}
	if a.State != AlertFiring && a.State != AlertResolved {
		return nil, fmt.Errorf("alert %s: state %q: want %q or %q", a.Key, a.State, AlertFiring, AlertResolved)
	}
	if err := checkTime("alert since", a.Since); err != nil {
		return nil, fmt.Errorf("alert %s: %w", a.Key, err)
	}
	rec := alertRecord{Rule: a.Key.Rule, Site: a.Key.Site, Group: a.Key.Group, State: a.State, Since: a.Since,
		FiredAt: a.FiredAt, LastNotified: a.LastNotified, Notifications: a.Notifications, Detail: jsonBytes(a.Detail), Version: version}
	seen := map[string]bool{}
	for _, m := range a.Messages {
		if err := checkWatchField("alert message target", m.Target, true); err != nil {
			return nil, fmt.Errorf("alert %s: %w", a.Key, err)
		}
		if seen[m.Target] {
			return nil, fmt.Errorf("alert %s: two messages to %s", a.Key, m.Target)
		}
		seen[m.Target] = true
		rec.Messages = append(rec.Messages, alertMessage{Target: m.Target, Dest: jsonBytes(m.Dest), At: m.At})
	}
	return checkedJSON("alert "+a.Key.String(), rec)
}

func decodeAlert(b []byte) (Alert, error) {
	var r alertRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return Alert{}, fmt.Errorf("decode alert: %w", err)
	}
	a := Alert{Key: AlertKey{Rule: r.Rule, Site: r.Site, Group: r.Group}, State: r.State, Since: r.Since,
		FiredAt: r.FiredAt, LastNotified: r.LastNotified, Notifications: r.Notifications, Detail: []byte(r.Detail), Version: r.Version}
	for _, m := range r.Messages {
		a.Messages = append(a.Messages, AlertMessage{Target: m.Target, Dest: []byte(m.Dest), At: m.At})
	}
	if err := checkAlertKey(a.Key); err != nil || a.Version == 0 {
		return Alert{}, fmt.Errorf("decode alert: bad record")
	}
	return a, nil
}

// subscriptionRecord is the stored (JSON) form of Subscription.
type subscriptionRecord struct {
	Platform string    `json:"platform"`
	Channel  string    `json:"channel,omitempty"`
	Dest     []byte    `json:"dest,omitempty"`
	Rules    []string  `json:"rules,omitempty"`
	By       string    `json:"by,omitempty"`
	At       time.Time `json:"at"`
}

func encodeSubscription(s Subscription) ([]byte, error) {
	if err := checkWatchField("subscription platform", s.Platform, true); err != nil {
		return nil, err
	}
	if err := checkWatchField("subscription channel", s.Channel, false); err != nil {
		return nil, err
	}
	for _, r := range s.Rules {
		if err := checkWatchField("subscription rule", r, true); err != nil {
			return nil, err
		}
	}
	return checkedJSON("subscription", subscriptionRecord(s))
}

func decodeSubscription(b []byte) (Subscription, error) {
	var r subscriptionRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Platform == "" {
		return Subscription{}, fmt.Errorf("decode subscription: bad record")
	}
	return Subscription(r), nil
}

// silenceRecord is the stored (JSON) form of Silence.
type silenceRecord struct {
	ID            string    `json:"id"`
	Rule          string    `json:"rule"`
	Site          string    `json:"site,omitempty"`
	Group         string    `json:"group,omitempty"`
	Until         time.Time `json:"until"`
	UntilResolved bool      `json:"until_resolved,omitempty"`
	By            string    `json:"by,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

func encodeSilence(s Silence) ([]byte, error) {
	if !validID(s.ID) {
		return nil, fmt.Errorf("silence id of %d bytes: must be 1 to %d bytes", len(s.ID), maxIDLen)
	}
	if err := checkAlertKey(AlertKey{Rule: s.Rule, Site: s.Site, Group: s.Group}); err != nil {
		return nil, fmt.Errorf("silence %s: %w", s.ID, err)
	}
	if s.UntilResolved == !s.Until.IsZero() {
		return nil, fmt.Errorf("silence %s: give either an end time or until-resolved", s.ID)
	}
	if !s.UntilResolved {
		if err := checkTime("silence end", s.Until); err != nil {
			return nil, fmt.Errorf("silence %s: %w", s.ID, err)
		}
	}
	return checkedJSON("silence "+s.ID, silenceRecord(s))
}

func decodeSilence(b []byte) (Silence, error) {
	var r silenceRecord
	if err := json.Unmarshal(b, &r); err != nil || !validID(r.ID) || r.Rule == "" {
		return Silence{}, fmt.Errorf("decode silence: bad record")
	}
	return Silence(r), nil
}

// checkedJSON encodes rec, bounded by MaxWatchRecord.
func checkedJSON(what string, rec any) ([]byte, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	if len(b) > MaxWatchRecord {
		return nil, fmt.Errorf("%s of %d bytes is larger than %d", what, len(b), MaxWatchRecord)
	}
	return b, nil
}

// alertDue reports whether a stored alert has passed its retention: it
// resolved more than retention before now.
func alertDue(a Alert, now time.Time, retention time.Duration) bool {
	return a.State == AlertResolved && a.Since.Add(retention).Before(now)
}

// sortSilences orders silences by creation, then id.
func sortSilences(ss []Silence) {
	slices.SortFunc(ss, func(a, b Silence) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// A stored alert is its version as 20 decimal digits, then its JSON: the
// compare-and-set reads the version without decoding the record (in Lua,
// too).
const versionLen = 20

func versionPrefix(v uint64) string { return fmt.Sprintf("%020d", v) }

// prepareAlert validates a fenced alert write and returns the stored form
// of a at its next version.
func prepareAlert(l Lease, a Alert) ([]byte, error) {
	if err := checkWatchLease(l); err != nil {
		return nil, err
	}
	if a.Version >= 1<<62 {
		return nil, fmt.Errorf("version %d out of range", a.Version)
	}
	rec, err := encodeAlert(a, a.Version+1)
	if err != nil {
		return nil, err
	}
	return append([]byte(versionPrefix(a.Version+1)), rec...), nil
}

// storedVersion reads a stored alert's version; 0 when it has none.
func storedVersion(v []byte) uint64 {
	if len(v) < versionLen {
		return 0
	}
	var n uint64
	for _, c := range v[:versionLen] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// decodeStoredAlert decodes a stored alert and returns its version too,
// which is good for a compare-and-set even when the record is not.
func decodeStoredAlert(v []byte) (Alert, uint64, error) {
	ver := storedVersion(v)
	if ver == 0 {
		return Alert{}, 0, errors.New("decode alert: no version")
	}
	a, err := decodeAlert(v[versionLen:])
	if err != nil {
		return Alert{Version: ver}, ver, err
	}
	if a.Version != ver {
		return Alert{Version: ver}, ver, errors.New("decode alert: version mismatch")
	}
	return a, ver, nil
}
