package watch

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
)

// The life of an alert, as Alertmanager's: one per rule and site, posted
// once when it fires, its messages updated in place while what fires
// changes, marked resolved when it clears, posted anew after the rule's
// repeat interval (or when a silence that held it ends). Never posted
// twice: every change is written first (PutAlert, fenced by the lease and
// a compare-and-set on the alert's version), and only the writer that
// wins posts; the messages posted are written after (store.Alert). A post
// lost to a crash in between is not retried before the repeat interval.

// round is what one settling round reads once.
type round struct {
	now time.Time
	// alerts are the stored alerts, kept up to date with the round's own
	// writes (put), so the round ends with the alerts as stored.
	alerts   map[store.AlertKey]store.Alert
	silences []store.Silence
	subs     []store.Subscription
}

// settleAll applies every rule to every reading and settles the alerts.
func (w *Watcher) settleAll(ctx context.Context, readings []Reading, now time.Time) {
	rules := w.rules()
	rd, err := w.readRound(ctx, now)
	if err != nil {
		w.log.Warn("watcher: read the alerts", "err", err)
		return
	}
	settled := map[store.AlertKey]bool{}
	for _, r := range rules {
		targets := w.targets(r, rd.subs)
		for _, reading := range readings {
			if !r.AppliesTo(reading.Site) {
				continue
			}
			v := evalRule(r, reading, w.streaks)
			key := store.AlertKey{Rule: r.Name, Site: reading.Site}
			settled[key] = true
			if !v.known {
				continue
			}
			if !w.settle(ctx, rd, key, r, v.detail, targets) {
				return // the lease is lost
			}
		}
	}
	// A firing alert no rule or site gives any more (the policy changed):
	// resolved, so its messages do not say "firing" for ever.
	for key, a := range rd.alerts {
		if a.State == store.AlertFiring && !settled[key] && !w.served(key, rules) {
			if !w.settle(ctx, rd, key, authz.AlertRule{Name: key.Rule}, nil, nil) {
				return
			}
		}
	}
	w.endResolvedSilences(ctx, rd)
}

// endResolvedSilences ends every until-resolved silence that holds no
// firing alert any more: its alert resolved this round, or before (the
// silence was saved while the watcher resolved it, or its end failed).
func (w *Watcher) endResolvedSilences(ctx context.Context, rd round) {
	var firing []store.Alert
	for _, a := range rd.alerts {
		if a.State == store.AlertFiring {
			firing = append(firing, a)
		}
	}
	for _, s := range rd.silences {
		if !s.UntilResolved || slices.ContainsFunc(firing, func(a store.Alert) bool { return s.Holds(a.Key, a.FiredAt, rd.now) }) {
			continue
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		target := s.Rule + " on site " + anySite(s.Site)
		if _, err := w.st.EndSilence(sctx, s.ID); err == nil {
			w.audit(sctx, store.Event{Action: "unsilence", Target: target, Site: s.Site,
				Reason: "silenced by " + s.By + " until resolved", Outcome: "ended: the alert resolved", Pending: s.ID})
		} else if !errors.Is(err, store.ErrNotFound) {
			w.log.Warn("watcher: end a silence", "silence", s.ID, "err", err)
		}
		cancel()
	}
}

func anySite(site string) string {
	if site == "" {
		return "every site"
	}
	return site
}

// served reports whether a rule still watches the alert's site.
func (w *Watcher) served(k store.AlertKey, rules []authz.AlertRule) bool {
	i := slices.IndexFunc(rules, func(r authz.AlertRule) bool { return r.Name == k.Rule })
	if i < 0 || !rules[i].AppliesTo(k.Site) {
		return false
	}
	return slices.ContainsFunc(w.sites, func(s Site) bool { return s.Name == k.Site })
}

func (w *Watcher) readRound(ctx context.Context, now time.Time) (round, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	rd := round{now: now, alerts: map[store.AlertKey]store.Alert{}}
	as, err := w.st.ListAlerts(ctx)
	if err != nil {
		return rd, err
	}
	for _, a := range as {
		rd.alerts[a.Key] = a
	}
	if rd.silences, err = w.st.ListSilences(ctx, now); err != nil {
		return rd, err
	}
	if rd.subs, err = w.st.ListSubscriptions(ctx); err != nil {
		return rd, err
	}
	return rd, nil
}

// settle moves one alert along: d is what fires now (nil: nothing). It
// returns false when the lease was lost.
func (w *Watcher) settle(ctx context.Context, rd round, key store.AlertKey, r authz.AlertRule, d *Detail, targets []target) bool {
	stored, has := rd.alerts[key]
	firingBefore := has && stored.State == store.AlertFiring
	firedAt := rd.now
	var old Detail
	if firingBefore {
		firedAt = stored.FiredAt
		old = w.openDetail(stored) // one that does not verify differs from d: rewritten
	}
	silence := matchingSilence(key, firedAt, rd.silences, rd.now)
	if d != nil && firingBefore {
		*d = w.fitDetail(stored, *d)
	}
	switch {
	case d == nil && !firingBefore:
		return true
	case d == nil:
		return w.resolve(ctx, rd, stored)
	case !firingBefore:
		// It fires (again): a new alert, with its own messages.
		a := store.Alert{Key: key, State: store.AlertFiring, Since: rd.now, FiredAt: rd.now, Version: stored.Version}
		return w.notify(ctx, rd, a, *d, silence, targets)
	case silence != nil:
		if old.Silenced {
			return true
		}
		// Held back from now on: its messages say so.
		d.Silenced = true
		_, ok := w.update(ctx, rd, stored, *d, silence)
		return ok
	case old.Silenced || rd.now.Sub(stored.LastNotified) >= r.Repeat:
		// The silence ended, or the repeat interval passed: post anew.
		return w.notify(ctx, rd, stored, *d, nil, targets)
	}
	a := stored
	if d.signature() != old.signature() {
		var ok bool
		if a, ok = w.update(ctx, rd, stored, *d, nil); !ok || a.Version == stored.Version {
			return ok
		}
	} else {
		*d = old
	}
	// A channel that subscribed since the alert was posted gets it now.
	var fresh []target
	for _, t := range targets {
		if _, ok := a.Message(t.name); !ok {
			fresh = append(fresh, t)
		}
	}
	if fresh = w.fitTargets(a, fresh); len(fresh) == 0 {
		return true
	}
	return w.postNew(ctx, rd, a, *d, fresh)
}

// notify claims a notification in the store, then posts the alert to
// every target and records the messages. Under a silence it is only
// recorded, as held back.
func (w *Watcher) notify(ctx context.Context, rd round, a store.Alert, d Detail, silence *store.Silence, targets []target) bool {
	d.Silenced = silence != nil
	if silence != nil {
		a.Detail = sealDetail(w.sealer, a, d)
		if _, ok := w.put(ctx, rd, a); !ok {
			return w.Holding()
		}
		return true
	}
	a.LastNotified = rd.now
	a.Notifications++
	a.Messages = nil
	w.log.Info("alert firing", "rule", a.Key.Rule, "site", a.Key.Site, "targets", len(targets), "notification", a.Notifications)
	return w.postNew(ctx, rd, a, d, targets)
}

// postNew posts a to targets at most once each: it writes a with a
// message entry per target and no destination yet (the claim: only the
// writer that wins posts, and a target with an entry is never posted to
// again for this notification), posts, then writes the destinations of
// the messages posted, so they can be updated in place.
func (w *Watcher) postNew(ctx context.Context, rd round, a store.Alert, d Detail, targets []target) bool {
	a.Detail = sealDetail(w.sealer, a, d)
	targets = w.fitTargets(a, targets)
	for _, t := range targets {
		a.Messages = append(a.Messages, store.AlertMessage{Target: t.name, At: rd.now})
	}
	a, ok := w.put(ctx, rd, a)
	if !ok {
		return w.Holding()
	}
	if len(targets) == 0 {
		return true
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	reply := w.render(noticeOf(a, d, nil, rd.now))
	posted := 0
	for _, t := range targets {
		dst, err := w.post(pctx, t.dst, reply)
		if err != nil {
			continue
		}
		i := slices.IndexFunc(a.Messages, func(m store.AlertMessage) bool { return m.Target == t.name })
		a.Messages[i].Dest = SealDestination(w.sealer, messageID(a.Key, t.name), dst)
		posted++
	}
	if posted == 0 {
		return true
	}
	_, ok = w.put(pctx, rd, a)
	return ok || w.Holding()
}

// update writes a firing alert's new detail and updates its messages in
// place; it returns the alert as written.
func (w *Watcher) update(ctx context.Context, rd round, a store.Alert, d Detail, silence *store.Silence) (store.Alert, bool) {
	a.Detail = sealDetail(w.sealer, a, d)
	a, ok := w.put(ctx, rd, a)
	if !ok {
		return a, w.Holding()
	}
	return w.repost(ctx, rd, a, noticeOf(a, d, silence, rd.now)), true
}

// resolve marks a firing alert resolved and updates its messages; the
// silences that held until it resolved end at the round's end
// (endResolvedSilences).
func (w *Watcher) resolve(ctx context.Context, rd round, a store.Alert) bool {
	d := w.openDetail(a)
	a.State, a.Since = store.AlertResolved, rd.now
	a, ok := w.put(ctx, rd, a)
	if !ok {
		return w.Holding()
	}
	w.log.Info("alert resolved", "rule", a.Key.Rule, "site", a.Key.Site)
	w.repost(ctx, rd, a, noticeOf(a, d, nil, rd.now))
	return true
}

// openDetail is a stored alert's verified Detail; one that does not
// verify is logged and left out (the zero Detail).
func (w *Watcher) openDetail(a store.Alert) Detail {
	d, err := OpenDetail(w.sealer, a)
	if err != nil {
		w.log.Error("alert detail failed verification: not shown", "rule", a.Key.Rule, "site", a.Key.Site, "err", err)
	}
	return d
}

// repost replaces every message of a with the notice n and returns a as
// written. A message not posted, or that does not verify, is left alone.
func (w *Watcher) repost(ctx context.Context, rd round, a store.Alert, n Notice) store.Alert {
	if !slices.ContainsFunc(a.Messages, func(m store.AlertMessage) bool { return len(m.Dest) > 0 }) {
		return a
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyTimeout)
	defer cancel()
	reply := w.render(n)
	reply.ReplaceOriginal = true
	changed := false
	for i, m := range a.Messages {
		if len(m.Dest) == 0 {
			continue // claimed, never posted (or its post was lost)
		}
		dst, err := OpenDestination(w.sealer, messageID(a.Key, m.Target), m.Dest)
		if err != nil {
			w.log.Error("alert message failed verification: not updated", "rule", a.Key.Rule, "site", a.Key.Site, "target", m.Target, "err", err)
			continue
		}
		got, err := w.post(pctx, dst, reply)
		if err != nil {
			continue
		}
		if got != dst {
			a.Messages[i] = store.AlertMessage{Target: m.Target, Dest: SealDestination(w.sealer, messageID(a.Key, m.Target), got), At: rd.now}
			changed = true
		}
	}
	if changed {
		if got, ok := w.put(pctx, rd, a); ok {
			return got
		}
	}
	return a
}

// post delivers one message; a failure is logged and that target left
// out (it is not retried before the alert notifies again).
func (w *Watcher) post(ctx context.Context, dst bot.Destination, r bot.Reply) (bot.Destination, error) {
	if w.deliver == nil {
		return dst, errors.New("no deliverer")
	}
	got, err := w.deliver.Deliver(ctx, dst, r)
	if err != nil {
		w.log.Warn("watcher: post an alert", "target", TargetName(dst), "err", err)
	}
	return got, err
}

// put writes a under the lease and keeps rd's alerts up to date. On a
// conflict (someone else wrote first) or a lost lease it returns false,
// and the caller posts nothing; Holding then says whether the lease is
// still held.
//
// A stored record that does not decode (ListAlerts leaves it out, so the
// round took the alert for new) is written over at its version, or it
// would block the alert for ever. When the store's answer is lost (a
// timeout, a dropped connection) the alert is read back: the write took
// place if the stored one is a, one version on.
func (w *Watcher) put(ctx context.Context, rd round, a store.Alert) (store.Alert, bool) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	got, err := w.st.PutAlert(ctx, w.lease, a)
	if errors.Is(err, store.ErrConflict) && got.Key.Rule == "" && got.Version != a.Version {
		w.log.Warn("watcher: alert record in the store does not decode; written over", "rule", a.Key.Rule, "site", a.Key.Site, "version", got.Version)
		a.Version = got.Version
		got, err = w.st.PutAlert(ctx, w.lease, a)
	}
	if err != nil && !errors.Is(err, store.ErrLeaseLost) && !errors.Is(err, store.ErrConflict) {
		if stored, ok := w.readBack(ctx, a); ok {
			got, err = stored, nil
		}
	}
	switch {
	case err == nil:
		rd.alerts[got.Key] = got
		return got, true
	case errors.Is(err, store.ErrLeaseLost):
		w.log.Warn("watcher: lease lost while settling an alert; another replica goes on", "rule", a.Key.Rule, "site", a.Key.Site)
		w.lost()
	case errors.Is(err, store.ErrConflict):
		w.log.Warn("watcher: alert changed in the store since read; left to the next round", "rule", a.Key.Rule, "site", a.Key.Site)
	default:
		w.log.Warn("watcher: write an alert", "rule", a.Key.Rule, "site", a.Key.Site, "err", err)
	}
	return a, false
}

// readBack reports whether a write of a whose answer was lost took place:
// the stored alert is a at the next version.
func (w *Watcher) readBack(ctx context.Context, a store.Alert) (store.Alert, bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	s, err := w.st.GetAlert(ctx, a.Key)
	if err != nil || s.Version != a.Version+1 || s.State != a.State || !s.Since.Equal(a.Since) ||
		!s.LastNotified.Equal(a.LastNotified) || s.Notifications != a.Notifications || !bytes.Equal(s.Detail, a.Detail) ||
		!slices.EqualFunc(s.Messages, a.Messages, func(x, y store.AlertMessage) bool { return x.Target == y.Target && bytes.Equal(x.Dest, y.Dest) }) {
		return store.Alert{}, false
	}
	return s, true
}

func (w *Watcher) audit(ctx context.Context, ev store.Event) {
	ev.Time, ev.Subject, ev.Platform, ev.RequestID = w.now(), "watcher", "", bot.NewRequestID()
	if err := w.st.AppendAudit(ctx, ev); err != nil {
		w.log.Error("AUDIT WRITE FAILED", "action", ev.Action, "target", ev.Target, "err", err)
	}
}

func noticeOf(a store.Alert, d Detail, silence *store.Silence, now time.Time) Notice {
	return Notice{Key: a.Key, State: a.State, FiredAt: a.FiredAt, Since: a.Since, Notifications: a.Notifications,
		Detail: d, Silence: silence, Now: now}
}
