package slackbot

import (
	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// RenderBlocks is the adapter's pure renderer (Block Kit blocks and the
// notification fallback text), exported for measurement by
// cmd/qlikbench; the adapter itself does not use this name.
func RenderBlocks(r bot.Reply) ([]slack.Block, string) { return render(r) }
