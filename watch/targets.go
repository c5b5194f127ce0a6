package watch

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/qlikbot/qlikbot/authz"
	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// Where alerts go. A destination kept in the store (a subscription's, a
// posted message's) is sealed under the state key like a pending
// approval: a Teams destination names the service URL that receives the
// bot's token, so whoever can write to the store alone must not be able
// to choose it. A record that does not verify is not posted to.

// sealKind is the seal kind of a stored destination.
const sealKind = "alert-destination"

// SealDestination seals d for the store, bound to id (SubscriptionID, or
// an alert's message).
func SealDestination(s *seal.Sealer, id string, d bot.Destination) []byte {
	b, _ := json.Marshal(d) // strings always encode
	return s.Seal(sealKind, id, b)
}

// OpenDestination verifies and decodes what SealDestination sealed for
// id. Errors wrap seal.ErrTampered when the record was forged or altered.
func OpenDestination(s *seal.Sealer, id string, sealed []byte) (bot.Destination, error) {
	b, err := s.Open(sealKind, id, sealed)
	if err != nil {
		return bot.Destination{}, fmt.Errorf("open destination %s: %w", id, err)
	}
	var d bot.Destination
	if err := json.Unmarshal(b, &d); err != nil || d.Platform == "" {
		return bot.Destination{}, fmt.Errorf("open destination %s: bad record", id)
	}
	return d, nil
}

// SubscriptionID is the seal id of the subscription of a channel.
func SubscriptionID(platform, channel string) string { return "sub:" + platform + "/" + channel }

// messageID is the seal id of an alert's message to target.
func messageID(k store.AlertKey, target string) string { return "msg:" + k.String() + "|" + target }

// TargetName names a destination in an alert's messages: "slack:C0OPS",
// "teams:19:abc@thread.tacv2", "console" (the console has one screen).
func TargetName(d bot.Destination) string {
	if d.Platform == bot.Console {
		return string(bot.Console)
	}
	return string(d.Platform) + ":" + d.Channel
}

// target is one place an alert posts to.
type target struct {
	name string
	dst  bot.Destination
}

// targets lists where rule r posts: its own channels, then the channels
// that subscribed to it, each place once.
func (w *Watcher) targets(r authz.AlertRule, subs []store.Subscription) []target {
	var out []target
	add := func(d bot.Destination) {
		d.Message = ""
		name := TargetName(d)
		if !slices.ContainsFunc(out, func(t target) bool { return t.name == name }) {
			out = append(out, target{name: name, dst: d})
		}
	}
	for _, c := range r.Post.Slack {
		add(bot.Destination{Platform: bot.Slack, Channel: c})
	}
	for _, tc := range r.Post.Teams {
		if w.teams == nil {
			if w.said.start("teams:" + r.Name) {
				w.log.Warn("alert rule posts to Teams, but Teams is not configured here; said once", "rule", r.Name)
			}
			continue
		}
		add(w.teams(tc))
	}
	if r.Post.Console {
		add(bot.Destination{Platform: bot.Console})
	}
	if !r.Post.Subscribers {
		return out
	}
	for _, s := range subs {
		if !s.Wants(r.Name) {
			continue
		}
		id := SubscriptionID(s.Platform, s.Channel)
		d, err := OpenDestination(w.sealer, id, s.Dest)
		if err != nil || string(d.Platform) != s.Platform {
			if w.said.start("forged:" + id) {
				w.log.Error("subscription failed verification: not posted to; said once", "platform", s.Platform, "channel", s.Channel, "err", err)
			}
			continue
		}
		w.said.end("forged:" + id) // saved anew: a later failure is said again
		add(d)
	}
	return out
}
