package teams

import (
	"encoding/json"
	"fmt"

	"github.com/qlikbot/qlikbot/bot"
)

// RenderCard is the adapter's pure renderer, returning the Adaptive Card
// as the JSON that goes into an activity attachment. It is exported for
// measurement by cmd/qlikbench; the adapter itself does not use this name.
func RenderCard(r bot.Reply) ([]byte, error) {
	b, err := json.Marshal(render(r))
	if err != nil {
		return nil, fmt.Errorf("encode card: %w", err)
	}
	return b, nil
}
