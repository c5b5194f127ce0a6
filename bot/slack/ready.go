package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// maxReasonLen bounds the reason Ready gives.
const maxReasonLen = 200

// link is what Ready reports: written by the goroutine running Start,
// read by probes. The mutex keeps up and reason consistent.
type link struct {
	mu     sync.Mutex
	up     bool
	reason string // why not up; "" until Start runs
	failed bool   // reason is an error
}

func (l *link) set(up bool, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.up, l.reason, l.failed = up, reason, false
}

func (l *link) fail(reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.up, l.reason, l.failed = false, reason, true
}

// lost marks the link down unless an error already did: the error says
// more than "reconnecting".
func (l *link) lost(reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.failed {
		l.up, l.reason = false, reason
	}
}

func (l *link) get() (bool, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.up, l.reason
}

// Ready reports, for /readyz, whether Slack can reach qlikbot. It reads
// state kept by Start and never calls Slack.
//
// Socket mode: ready from Slack's hello on the socket-mode WebSocket
// until that connection is lost (read error, ping timeout, a reconnect
// Slack asked for, a failed connection attempt); not ready again until
// the next hello.
//
// HTTP mode: Slack calls us, so there is no connection to watch. Ready
// while Start runs (the caller serves Handler from then on); replies that
// fail show in the logs and the chat-API metrics, not here.
//
// Either mode, while up: with e-mail lookups asked for (WithUserEmails)
// but the token lacking users:read.email, Ready returns an error wrapping
// bot.ErrDegraded. /readyz shows it as a note and still answers ready:
// commands work, only e-mail grants do not match.
func (a *Adapter) Ready(_ context.Context) error {
	up, reason := a.link.get()
	if up {
		return a.emailReady()
	}
	if reason == "" {
		reason = "not started"
	}
	if a.cfg.Mode == ModeHTTP {
		return fmt.Errorf("slack HTTP mode: not serving (last: %s)", reason)
	}
	return fmt.Errorf("slack socket mode: not connected (last: %s)", reason)
}

// trackSocket follows the socket-mode client's connection events.
func (a *Adapter) trackSocket(evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		// Also the first sign of a dropped connection or a ping timeout:
		// the client reports those only by connecting again.
		if up, _ := a.link.get(); up {
			a.link.lost("connection lost; reconnecting")
		} else {
			a.link.lost("connecting")
		}
	case socketmode.EventTypeConnected:
		a.link.set(false, "connected, waiting for Slack's hello")
	case socketmode.EventTypeHello:
		a.link.set(true, "")
	case socketmode.EventTypeDisconnect:
		a.link.set(false, "Slack asked to reconnect")
	case socketmode.EventTypeInvalidAuth:
		a.link.fail("app token refused (invalid_auth)")
	case socketmode.EventTypeConnectionError:
		reason := "connection error"
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok && ce.ErrorObj != nil {
			reason += ": " + a.scrub(ce.ErrorObj.Error())
		}
		a.link.fail(reason)
	case socketmode.EventTypeIncomingError:
		ie, ok := evt.Data.(*slack.IncomingEventError)
		if !ok || ie.ErrorObj == nil {
			return
		}
		// A malformed message leaves the connection up (socketmode keeps
		// reading); anything else ends it.
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(ie.ErrorObj, &syntax) || errors.As(ie.ErrorObj, &typ) {
			return
		}
		a.link.fail("read failed: " + a.scrub(ie.ErrorObj.Error()))
	}
}

// runHTTP marks the adapter ready and waits for ctx. Readiness checks
// nothing on the network: inbound requests need only the signing secret,
// which New checked. auth.test is not used for it: slack-go sends the bot
// token in the request body, where qlikbot's leak checks forbid it.
func (a *Adapter) runHTTP(ctx context.Context) error {
	a.link.set(true, "")
	<-ctx.Done()
	a.link.set(false, "stopped")
	return nil
}

var (
	tokenLike = regexp.MustCompile(`x(?:ox[a-z]|app)-[A-Za-z0-9-]+`)
	urlQuery  = regexp.MustCompile(`((?:https?|wss?)://[^\s"'?]*)\?[^\s"']*`)
)

// scrub makes an error text fit for /readyz: no tokens, no URL queries
// (the socket-mode URL carries a ticket), bounded length.
func (a *Adapter) scrub(s string) string {
	for _, secret := range []string{a.cfg.BotToken.Reveal(), a.cfg.AppToken.Reveal()} {
		if len(secret) >= 8 { // short test values would mangle the text
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	s = urlQuery.ReplaceAllString(s, "$1?[redacted]")
	s = tokenLike.ReplaceAllString(s, "[redacted]")
	if len(s) > maxReasonLen {
		s = strings.ToValidUTF8(s[:maxReasonLen], "") + "..."
	}
	return s
}
