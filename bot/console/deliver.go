package console

import (
	"context"
	"fmt"

	"github.com/qlikbot/qlikbot/bot"
)

// Speaker is the user a reply without a request is printed as: qlikbot
// speaking unprompted ("[console:qlikbot] ..."), e.g. the outcome of a job
// resumed after a restart.
const Speaker = "qlikbot"

var _ bot.Deliverer = (*Console)(nil)

// Deliver prints r, which no request waits for (the console has one
// screen: the destination's message, if any, cannot be replaced, so the
// reply is printed after everything else, and the destination returned
// names no message).
func (c *Console) Deliver(ctx context.Context, dst bot.Destination, r bot.Reply) (bot.Destination, error) {
	if err := ctx.Err(); err != nil {
		return dst, fmt.Errorf("console deliver: %w", err)
	}
	if dst.Platform != "" && dst.Platform != bot.Console {
		return dst, fmt.Errorf("console deliver: destination on %s", dst.Platform)
	}
	if err := c.show(bot.User{ID: Speaker}, r, true); err != nil {
		return dst, fmt.Errorf("console deliver: %w", err)
	}
	return bot.Destination{Platform: bot.Console, Channel: Channel}, nil
}
