package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/qlikbot/qlikbot/bot"
)

// maxBody caps an inbound request before it is read: slash commands and
// button clicks are a few KB; a block_actions payload with a big message
// stays well under 64 KB.
const maxBody = 64 << 10

// Handler serves Slack's HTTP mode: POST /slack/commands (slash commands)
// and POST /slack/interactions (button clicks).
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", a.serveCommand)
	mux.HandleFunc("POST /slack/interactions", a.serveInteraction)
	return mux
}

// ackWait bounds how long an ack waits for the replay guard. The guard is
// a write to the shared store (bolt's is an fsync, shared with the
// workers' audit rows), so under a burst it can be slow; past ackWait the
// ack goes out anyway and the guard's verdict is awaited after it. Either
// way nothing is dispatched before the guard has passed the request.
const ackWait = 25 * time.Millisecond

// guardTimeout bounds one replay check that runs past the ack.
const guardTimeout = 10 * time.Second

// readSigned reads the capped body, checks its signature and starts the
// replay check, whose verdict admit awaits. On failure it has answered
// already and returns ok=false.
func (a *Adapter) readSigned(w http.ResponseWriter, r *http.Request) ([]byte, <-chan error, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.log.WarnContext(r.Context(), "slack request too large", "limit", maxBody)
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return nil, nil, false
		}
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return nil, nil, false
	}
	key, err := a.verify.check(r.Header, body, a.now())
	if err != nil {
		a.refuse(w, r, err)
		return nil, nil, false
	}
	verdict := make(chan error, 1)
	// Detached: the check must finish, and count, even if Slack hangs up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), guardTimeout)
	go func() {
		defer cancel()
		verdict <- a.verify.fresh(ctx, key)
	}()
	return body, verdict, true
}

// refuse answers a request that failed verification.
func (a *Adapter) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrMissingHeaders), errors.Is(err, ErrBadTimestamp), errors.Is(err, ErrStaleTimestamp),
		errors.Is(err, ErrBadSignature), errors.Is(err, ErrReplay):
		a.log.WarnContext(r.Context(), "slack request refused", "reason", err, "remote", r.RemoteAddr)
		http.Error(w, "invalid request", http.StatusUnauthorized)
	default: // the replay guard is down: refuse, nothing ran
		a.log.ErrorContext(r.Context(), "slack request not verified", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
	}
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	received := a.now()
	body, verdict, ok := a.readSigned(w, r)
	if !ok {
		return
	}
	cmd, err := parseCommandForm(body)
	if err != nil {
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	req, err := a.fromCommand(cmd, received)
	switch {
	case errors.Is(err, ErrUnknownCommand):
		ackText(w, "This app answers "+a.cfg.Command+" only.")
		return
	case err != nil:
		http.Error(w, "malformed slash command", http.StatusBadRequest)
		return
	}
	a.admit(w, r, verdict, req)
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	received := a.now()
	body, verdict, ok := a.readSigned(w, r)
	if !ok {
		return
	}
	cb, err := parseInteractionForm(body)
	if err != nil {
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	req, err := a.fromInteraction(cb, received)
	switch {
	case errors.Is(err, ErrNotAClick):
		w.WriteHeader(http.StatusOK) // other interaction types: acknowledged, ignored
		return
	case err != nil:
		http.Error(w, "malformed interaction", http.StatusBadRequest)
		return
	}
	a.admit(w, r, verdict, req)
}

// admit answers a signed request by the replay guard's verdict: 401 for a
// replay, 503 when the guard is down, else an ack, and then queues it.
// When the guard takes longer than ackWait, the ack goes first and the
// verdict decides afterwards whether the request is queued (a replay is
// dropped, a guard failure is told to the user); nothing runs before it.
// Whatever may still be slow after the ack (that verdict, an e-mail
// lookup) runs off the handler, so the connection is free for Slack's
// next request at once.
func (a *Adapter) admit(w http.ResponseWriter, r *http.Request, verdict <-chan error, req bot.Request) {
	ctx := context.WithoutCancel(r.Context()) // the work outlives this exchange, which ends with the ack
	t := time.NewTimer(a.ackWait)
	defer t.Stop()
	select {
	case err := <-verdict:
		if err != nil {
			a.refuse(w, r, err)
			return
		}
		a.ack(w, r, req)
		if a.cachedEmail(&req) {
			a.queue(ctx, req) // never waits: the dispatcher answers "busy" itself
			return
		}
		a.submits.Go(func() { a.submitAcked(ctx, req) })
	case <-t.C:
		a.ack(w, r, req)
		a.submits.Go(func() {
			if err := <-verdict; err != nil {
				a.refuseAcked(ctx, req, err)
				return
			}
			a.submitAcked(ctx, req)
		})
	}
}

// ack answers 200, complete (Content-Length: 0) and flushed, before the
// e-mail lookup and the queue: neither counts against Slack's 3 s, and a
// worker that starts on this request cannot delay its ack. The work and
// its answer go through the dispatcher and the responder, never this
// response.
func (a *Adapter) ack(w http.ResponseWriter, r *http.Request, req bot.Request) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	if err := http.NewResponseController(w).Flush(); err != nil {
		a.log.DebugContext(r.Context(), "slack ack not flushed; sent when the handler returns", "err", err)
	}
	a.log.DebugContext(r.Context(), "slack request acked", "request_id", req.ID)
}

// refuseAcked handles a request the replay guard refused after its ack: a
// replay is dropped, a guard failure is told to the user (nothing ran).
func (a *Adapter) refuseAcked(ctx context.Context, req bot.Request, err error) {
	if errors.Is(err, ErrReplay) {
		a.log.WarnContext(ctx, "slack request refused after its ack", "reason", err, "request_id", req.ID)
		return
	}
	a.log.ErrorContext(ctx, "slack request not verified after its ack", "request_id", req.ID, "err", err)
	a.notify(ctx, req, guardDownText)
}

// guardDownText answers a request whose replay check failed after its ack.
const guardDownText = "qlikbot could not check this request (its state store did not answer), so nothing was done. Please try again in a minute."

// restartingText answers a request that arrives while qlikbot shuts down.
const restartingText = "qlikbot is restarting; please try again in a minute."

// ackText answers in the HTTP response with an ephemeral message.
func ackText(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: text})
}
