package bot

import (
	"fmt"
	"strings"
	"time"
)

// Finisher is an optional interface of a Responder. The dispatcher calls
// Finish once it will send no more replies for a submitted request: after
// the final reply, after a "slow down" or "busy" notice, or when the
// request is abandoned at shutdown. The console uses it to wait for an
// answer before reading the next line.
type Finisher interface {
	Finish()
}

func finish(r Responder) {
	if f, ok := r.(Finisher); ok {
		f.Finish()
	}
}

// commandOf names a request for logs and metrics: the action id of a click,
// else the first word of the text.
func commandOf(req Request) string {
	c := ""
	if req.Action != nil {
		c = req.Action.ID
	} else if f := strings.Fields(req.Text); len(f) > 0 {
		c = f[0]
	}
	const maxLen = 64
	if len(c) > maxLen {
		c = c[:maxLen]
	}
	// Metric libraries refuse invalid UTF-8 in label values.
	return strings.ToValidUTF8(c, "")
}

func slowDownReply(retryIn time.Duration) Reply {
	secs := int((retryIn + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return Reply{Kind: Usage, Title: fmt.Sprintf("Slow down: too many requests; try again in %ds.", secs)}
}

func busyReply() Reply {
	return Reply{Kind: Warning, Title: "Busy, try again in a moment."}
}

func closedReply() Reply {
	return Reply{Kind: Error, Title: "qlikbot is shutting down; try again in a moment."}
}

func internalErrorReply(id string) Reply {
	return Reply{Kind: Error, Title: "internal error, logged as " + id}
}

func timeoutReply(d time.Duration, id string) Reply {
	return Reply{Kind: Error, Title: fmt.Sprintf("Timed out after %v (request %s).", d, id)}
}
