package watch

import (
	"strings"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/store"
	"github.com/qlikbot/qlikbot/store/seal"
)

// detailRoom is the room kept for an alert's sealed detail when telling
// in advance how many targets a rule may have (TargetRoom): a detail of
// maxItems rows of a few cells each.
const detailRoom = 16 << 10

// TargetRoom is the room an alert record leaves for its messages with a
// detail of usual size: what the messages of a rule's targets may take
// together (MessageRoom each) for every one of them to be posted to and
// recorded. subscribe refuses a channel past it; the watcher itself
// measures each alert as it is (fitTargets).
const TargetRoom = store.MaxWatchRecord - alertOverhead - detailRoom

// MessageRoom is the room a message to d takes in an alert record once
// posted: its entry, its target name and its sealed destination with the
// longest message id a platform returns.
func MessageRoom(s *seal.Sealer, d bot.Destination) int {
	d.Message = strings.Repeat("x", maxMessageID)
	return messageOverhead + len(TargetName(d)) + len(SealDestination(s, "", d))
}
