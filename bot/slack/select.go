package slackbot

import (
	"fmt"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// Select menu limits (Block Kit reference: static_select, option object).
const (
	maxSelectOptions  = 100
	maxOptionText     = 75
	maxOptionValue    = 150
	maxPlaceholder    = 150
	maxSelectsPerMenu = 10
)

// selectMenus renders a menu as static_select elements of at most 100
// options each. A menu of more options becomes several selects, each
// naming the first and last of its options; a static_select filters as
// the user types, so a long list stays quick to search. This keeps every
// option reachable without an options endpoint (external_select would
// need one, answered within 3 s in both socket and HTTP mode) for what is
// rare: more than 100 virtual proxies, or a menu of users on a page, which
// never has more than the 99 rows of a Slack table. An option whose value
// is longer than Slack carries cannot be offered: the note says so and the
// command still works typed. uniqueID gives each select its action id;
// room is how many elements are left in the message.
func selectMenus(m bot.Menu, uniqueID func(string) string, room int) ([]slack.BlockElement, string) {
	var opts []*slack.OptionBlockObject
	tooLong := 0
	for _, o := range m.Options {
		if len(o.Value) > maxOptionValue || o.Value == "" || !utf8.ValidString(o.Value) {
			tooLong++
			continue
		}
		label := bot.Clip(bot.OneLine(o.Label), maxOptionText)
		if label == "" {
			label = bot.Clip(o.Value, maxOptionText)
		}
		opts = append(opts, slack.NewOptionBlockObject(o.Value, plain(label), nil))
	}
	var out []slack.BlockElement
	left := 0
	for start := 0; start < len(opts); start += maxSelectOptions {
		chunk := opts[start:min(start+maxSelectOptions, len(opts))]
		if len(out) == min(room, maxSelectsPerMenu) || m.ActionID == "" || len(m.ActionID) > maxActionID-4 || !utf8.ValidString(m.ActionID) {
			left = len(opts) - start
			break
		}
		label := m.Label
		if len(opts) > maxSelectOptions {
			label = fmt.Sprintf("%s: %s … %s", m.Label, chunk[0].Text.Text, chunk[len(chunk)-1].Text.Text)
		}
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(bot.Clip(bot.OneLine(label), maxPlaceholder)), uniqueID(m.ActionID), chunk...)
		if m.Confirm != "" {
			sel.Confirm = confirmFor(bot.Button{Label: "Yes", Confirm: m.Confirm, Style: bot.Danger})
		}
		out = append(out, sel)
	}
	note := ""
	switch {
	case tooLong > 0 && left > 0:
		note = fmt.Sprintf("%s: %d choice(s) too long for a Slack menu and %d more than fit; type the command instead.", m.Label, tooLong, left)
	case tooLong > 0:
		note = fmt.Sprintf("%s: %d choice(s) too long for a Slack menu; type the command instead.", m.Label, tooLong)
	case left > 0:
		note = fmt.Sprintf("%s: %d more choice(s) than fit in this message; type the command instead.", m.Label, left)
	}
	return out, note
}

// actionValue is what a block_actions click carries: a button's value, or
// the value of the option chosen in a select or overflow menu.
func actionValue(a *slack.BlockAction) string {
	if a.Value == "" && a.SelectedOption.Value != "" {
		return a.SelectedOption.Value
	}
	return a.Value
}
