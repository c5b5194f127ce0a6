package watch

import (
	"github.com/qlikbot/qlikbot/store"
)

// An alert is one store record (at most store.MaxWatchRecord) holding its
// sealed detail and the destination of every message posted about it: what
// does not fit there is not posted (targets) or not shown (items).

// Sizes for fitTargets and fitDetail: what a message entry holds besides its target and
// destination (its JSON keys and time), what an alert record holds besides
// its detail and messages, and the longest message id a platform returns
// (Slack's ts is 17 bytes, a Teams activity id under 100).
const (
	messageOverhead = 64
	alertOverhead   = 2048
	maxMessageID    = 128
)

// fitTargets keeps the targets whose messages fit in a's record once
// posted (store.MaxWatchRecord): a message posted but not recorded could
// never be updated. The ones left out are logged, once per rule.
func (w *Watcher) fitTargets(a store.Alert, targets []target) []target {
	used := alertOverhead + len(a.Detail) + messagesSize(a.Messages)
	for i, t := range targets {
		used += MessageRoom(w.sealer, t.dst)
		if used > store.MaxWatchRecord {
			if w.said.start("targets:" + a.Key.Rule) {
				w.log.Error("alert has more targets than its record holds: the rest are not posted to; said once per rule",
					"rule", a.Key.Rule, "site", a.Key.Site, "posted", len(a.Messages)+i, "left out", len(targets)-i)
			}
			return targets[:i]
		}
	}
	return targets
}

// fitDetail is d without its last items as far as needed for it to fit,
// sealed, in the record of a firing with a's messages: a detail that grew
// (more users at the limit) while the record was full of messages would
// never be written, nor its messages updated. The summary still counts
// every item. Cut the same way each round, it is no change to update.
func (w *Watcher) fitDetail(a store.Alert, d Detail) Detail {
	room := store.MaxWatchRecord - alertOverhead - messagesSize(a.Messages)
	n := len(d.Items)
	for len(d.Items) > 0 && len(sealDetail(w.sealer, a, d)) > room {
		d.Items = d.Items[:len(d.Items)-1]
	}
	if len(d.Items) < n && w.said.start("detail:"+a.Key.Rule) {
		w.log.Warn("alert's messages show fewer items than fire: its record is full of messages; said once per rule",
			"rule", a.Key.Rule, "site", a.Key.Site, "shown", len(d.Items), "firing", n)
	}
	return d
}

// messagesSize is what msgs take in an alert record, at most.
func messagesSize(msgs []store.AlertMessage) int {
	n := 0
	for _, m := range msgs {
		n += messageOverhead + len(m.Target) + len(m.Dest)
	}
	return n
}
