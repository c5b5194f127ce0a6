package slackbot

import (
	"context"
	"fmt"
	"regexp"

	"github.com/qlikbot/qlikbot/bot"
)

// Slack's spelling of a bot.Destination: Channel is the channel id (a
// conversation id, D... for a direct message; a user id U... or W... for
// the direct message with them, as a click on App Home leaves: Deliver
// returns the D... id it posted to), Message the ts of the
// message to replace ("" posts a new one), Conversation unused. Request
// Origin carries it: the channel of a slash command, the channel and
// message of a click (no message for an ephemeral one: the bot token
// cannot update those).
func origin(channel string, ref messageRef) bot.Destination {
	d := bot.Destination{Platform: bot.Slack, Channel: channel}
	if ref.TS != "" && !ref.Ephemeral {
		d.Message = ref.TS
	}
	return d
}

// tsRE is a Slack message ts: seconds, a dot, microseconds.
var tsRE = regexp.MustCompile(`^[0-9]{1,12}\.[0-9]{1,9}$`)

var (
	_ bot.Deliverer = (*Adapter)(nil)
	_ bot.Fitter    = (*Adapter)(nil)
)

// Fit is the adapter's Request.Fit (see Fit).
func (a *Adapter) Fit(r bot.Reply) int { return Fit(r) }

// Deliver posts r where no request waits for it (a resumed job's outcome),
// with the bot token: chat.update of dst.Message when r replaces the
// original and dst names one, else chat.postMessage to dst.Channel. Files
// are shared as for a reply in the channel. It returns the message posted
// or replaced.
func (a *Adapter) Deliver(ctx context.Context, dst bot.Destination, r bot.Reply) (bot.Destination, error) {
	if dst.Platform != bot.Slack {
		return dst, fmt.Errorf("slack deliver: destination on %q", dst.Platform)
	}
	if !validID(dst.Channel) || (dst.Message != "" && !tsRE.MatchString(dst.Message)) {
		return dst, fmt.Errorf("slack deliver: %w: bad channel or message ts", ErrBadPayload)
	}
	if r.Visibility != bot.InChannel && !isDM(dst.Channel) && !isUser(dst.Channel) {
		// Nobody asked, so there is nobody to show a private reply to.
		return dst, fmt.Errorf("slack deliver: a private reply cannot be delivered to channel %s", dst.Channel)
	}
	r = bot.FitDelivered(r, Fit, true)
	blocks, text := render(r)
	out := dst
	if r.ReplaceOriginal && dst.Message != "" && !isUser(dst.Channel) {
		if err := a.post.update(ctx, dst.Channel, dst.Message, blocks, text); err != nil {
			return dst, fmt.Errorf("slack deliver: %w", err)
		}
	} else {
		// A user id cannot be updated or shared to: post, and keep the
		// direct message's channel the post went to.
		channel, ts, err := a.post.postMessage(ctx, dst.Channel, blocks, text)
		if err != nil {
			return dst, fmt.Errorf("slack deliver: %w", err)
		}
		out.Channel, out.Message = channel, ts
	}
	for _, f := range r.Files {
		if err := a.post.upload(ctx, out.Channel, f); err != nil {
			return out, fmt.Errorf("slack deliver: %w", err)
		}
	}
	return out, nil
}
