package slackbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/qlikbot/qlikbot/bot"
)

// noticeTimeout bounds a notice sent for an acked request that will not
// run (the dispatcher is closed, the replay guard failed).
const noticeTimeout = 10 * time.Second

// runSocket connects with the app token and serves envelopes until ctx is
// done. socketmode reconnects by itself when Slack asks it to.
func (a *Adapter) runSocket(ctx context.Context) error {
	a.link.set(false, "connecting")
	defer a.submits.Wait() // acked envelopes end queued or with a notice; each step is bounded
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := socketmode.New(a.api, socketmode.OptionLog(slog.NewLogLogger(a.log.Handler(), slog.LevelDebug)))
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-errc
			a.link.set(false, "stopped")
			return nil
		case err := <-errc:
			if ctx.Err() != nil {
				a.link.set(false, "stopped")
				return nil
			}
			a.link.fail("stopped: " + a.scrub(err.Error()))
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-client.Events:
			a.onSocketEvent(ctx, client, evt)
		}
	}
}

// acker is the part of the socket-mode client the event handler needs.
type acker interface {
	AckCtx(ctx context.Context, envelopeID string, payload any) error
}

// onSocketEvent acks an envelope first (Slack's 3 s deadline), then hands
// the request to the Submitter.
func (a *Adapter) onSocketEvent(ctx context.Context, client acker, evt socketmode.Event) {
	received := a.now()
	envelope := ""
	if evt.Request != nil {
		envelope = evt.Request.EnvelopeID
	}
	ack := func(payload any) bool {
		if envelope == "" {
			return true
		}
		if err := client.AckCtx(ctx, envelope, payload); err != nil {
			a.log.ErrorContext(ctx, "slack ack failed", "envelope", envelope, "err", err)
			return false
		}
		return true
	}
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			ack(nil)
			return
		}
		req, err := a.fromCommand(cmd, received)
		if err != nil {
			a.log.WarnContext(ctx, "slack slash command refused", "err", err)
			var answer any // a malformed command gets a bare ack, as a 400 in HTTP mode says nothing either
			if errors.Is(err, ErrUnknownCommand) {
				answer = slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: "This app answers " + a.cfg.Command + " only."}
			}
			ack(answer)
			return
		}
		if ack(nil) {
			a.submits.Go(func() { a.submitEnvelope(ctx, envelope, req, cmd.TeamID) })
		}
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			ack(nil)
			return
		}
		req, err := a.fromInteraction(cb, received)
		if !ack(nil) || err != nil {
			if err != nil && !errors.Is(err, ErrNotAClick) {
				a.log.WarnContext(ctx, "slack interaction refused", "err", err)
			}
			return
		}
		a.submits.Go(func() { a.submitEnvelope(ctx, envelope, req, cb.Team.ID) })
	case socketmode.EventTypeEventsAPI:
		ack(nil)
		if ev, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
			a.onEventsAPI(ctx, ev)
		}
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello,
		socketmode.EventTypeDisconnect:
		a.log.DebugContext(ctx, "slack socket mode", "event", string(evt.Type))
		a.trackSocket(evt)
	case socketmode.EventTypeConnectionError:
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			a.log.WarnContext(ctx, "slack socket mode reconnecting", "attempt", ce.Attempt, "backoff", ce.Backoff, "err", ce.ErrorObj)
		}
		a.trackSocket(evt)
	case socketmode.EventTypeInvalidAuth, socketmode.EventTypeIncomingError,
		socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		a.log.WarnContext(ctx, "slack socket mode problem", "event", string(evt.Type))
		a.trackSocket(evt)
		ack(nil)
	default:
		ack(nil) // events we do not use are still acknowledged, or Slack retries them
	}
}

// submitEnvelope queues the request of an acked envelope unless Slack
// delivered that envelope before. It runs on a goroutine of its own
// (tracked by a.submits): the dedupe is a store write and the e-mail
// lookup may take up to lookupTimeout, and the event loop must not hold
// the next envelope's ack that long. A redelivery is acked like the
// first delivery, so deduping after the ack changes nothing for Slack.
//
// The envelope is acked, so the request must end queued or with a notice
// even when the connection is shutting down: ctx's cancellation is
// dropped, the dedupe and the e-mail lookup have bounds of their own.
func (a *Adapter) submitEnvelope(ctx context.Context, envelope string, req bot.Request, team string) {
	ctx = context.WithoutCancel(ctx)
	dctx, cancel := context.WithTimeout(ctx, guardTimeout)
	dup := a.redelivered(dctx, envelope)
	cancel()
	if dup {
		return
	}
	a.submitAcked(ctx, req, team)
}

// submitAcked looks up the e-mail and queues an acked request that came
// from the workspace team.
func (a *Adapter) submitAcked(ctx context.Context, req bot.Request, team string) {
	a.withEmail(ctx, &req, team)
	a.queue(ctx, req)
}

// queue hands an acked request to the dispatcher, which never waits.
func (a *Adapter) queue(ctx context.Context, req bot.Request) {
	err := a.sub.Submit(ctx, req)
	switch {
	case errors.Is(err, bot.ErrClosed):
		// The request is acked already: say so through the responder.
		a.notify(ctx, req, restartingText)
	case err != nil:
		// The dispatcher answers "busy" / "slow down" through ReplyTo itself.
		a.log.InfoContext(ctx, "slack request not queued", "request_id", req.ID, "err", err)
	}
}

// notify tells the user of an acked request why nothing more comes,
// through the responder, even though ctx may be ending with a shutdown,
// within a short bound.
func (a *Adapter) notify(ctx context.Context, req bot.Request, text string) {
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noticeTimeout)
	defer cancel()
	if err := req.ReplyTo.Respond(nctx, bot.Reply{Kind: bot.Error, Title: text}); err != nil {
		a.log.WarnContext(ctx, "slack notice not delivered", "request_id", req.ID, "err", err)
	}
}

// redelivered reports an envelope Slack sent again (it retries when an ack
// is late), using the replay guard when there is one. A guard failure lets
// the envelope through: a rare double answer beats a lost command.
func (a *Adapter) redelivered(ctx context.Context, envelope string) bool {
	if a.verify.guard == nil || envelope == "" {
		return false
	}
	seen, err := a.verify.guard.SeenBefore(ctx, "slack:envelope:"+envelope, replayTTL)
	if err != nil {
		a.log.WarnContext(ctx, "slack envelope dedupe failed", "err", err)
		return false
	}
	if seen {
		a.log.InfoContext(ctx, "slack envelope delivered again; ignored", "envelope", envelope)
	}
	return seen
}
