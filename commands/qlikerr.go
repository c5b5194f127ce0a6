package commands

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/qlikbot/qlikbot/bot"
	"github.com/qlikbot/qlikbot/qlik"
)

// Qlik errors in chat: people get one plain sentence (what failed, where,
// and what may help), never a Go error chain, a URL or a field name; the
// whole error goes to the log under the request id, which the reply
// shows. Everything shown passes through redactIDs, so no session id
// reaches chat even if an error text held one.

// qlikReason says in words why a Qlik call failed. long adds the client's
// hint for the operator (what to check), for a reply of its own; table
// cells get the short form.
func qlikReason(err error, long bool) string {
	var (
		he *qlik.HTTPError
		ce *qlik.ConnError
		s  string
	)
	switch {
	case errors.As(err, &he):
		s = fmt.Sprintf("Qlik answered %d %s", he.Status, http.StatusText(he.Status))
		if u, perr := url.Parse(he.URL); perr == nil && u.Hostname() != "" {
			s = fmt.Sprintf("Qlik on %s answered %d %s", u.Hostname(), he.Status, http.StatusText(he.Status))
		}
		if long && he.Hint != "" {
			s += " (" + he.Hint + ")"
		}
	case errors.As(err, &ce):
		s = ce.Hint // names the host and what to check, without the error chain
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		s = "no answer in time"
	default:
		s = "the call failed"
	}
	return redactIDs(s)
}

// pairFailure is a warning for a (virtual proxy, node) that did not answer.
func pairFailure(lead string, pe *qlik.PairError) string {
	return fmt.Sprintf("%s %s for virtual proxy %s: %s", lead, nodeLabel(pe.Proxy.Node), prefixLabel(pe.VirtualProxy.Prefix), qlikReason(pe.Err, false))
}

// qlikError is the reply to a failed Qlik call.
func (e *Engine) qlikError(c *call, what string, err error) bot.Reply {
	e.log.Warn("qlik call failed", "request_id", c.id, "what", what, "err", redactIDs(err.Error()))
	title := "Qlik request failed"
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		title = "Qlik did not answer in time"
	}
	return bot.Reply{Kind: bot.Error, Title: title, Summary: []string{
		"Could not " + what + ": " + qlikReason(err, true) + ".",
		"Nothing was changed. The operators have the details in the log (request " + c.id + ").",
	}, Visibility: bot.Ephemeral}
}
